//! The administrator's read-only view of what this instance publishes: every workflow's
//! current version drawn as a diagram from its file, and the benefit policies. Both passed
//! `claimflow check` when the service started; a file that fails it stops the service, so
//! whatever is listed here is in force.
use super::ctx::{see_other, Ctx, PageError};
use super::svg;
use crate::domain::facility::status_on;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::http::api::admin::admin_in;
use crate::service::registries::{self, FacilityInput, StatusInput};
use crate::store::{facilities, regions, users};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub const ADMIN_ROLES: &[Role] = &[Role::Admin, Role::Auditor];

#[get("/admin/workflows")]
pub async fn workflows(ctx: Ctx) -> Result<HttpResponse, PageError> {
    ctx.require(ADMIN_ROLES)?;
    let en = ctx.lang == "en";
    let registry = &ctx.state.registry;
    let workflows: Vec<Value> = registry
        .latest_all()
        .iter()
        .map(|wf| {
            json!({
                "name": wf.name,
                "version": wf.version,
                "title": ctx.pick(&wf.title.zh, &wf.title.en),
                "stages": wf.stages.len(),
                "actions": wf.stages.iter().map(|s| s.actions.len()).sum::<usize>(),
                "diagram": svg::workflow_diagram(wf, en),
            })
        })
        .collect();
    let policies: Vec<Value> = registry
        .policies()
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "title": ctx.pick(&p.title.zh, &p.title.en),
                "region": p.region,
                "valid": format!("{} – {}", p.valid_from, p.valid_to),
            })
        })
        .collect();
    ctx.page(
        "admin_workflows",
        "admin.title",
        json!({"workflows": workflows, "policies": policies}),
    )
}

#[derive(Deserialize, Serialize, Default)]
pub struct FacilityForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    region_code: String,
    #[serde(default)]
    ownership: String,
    #[serde(default)]
    designated_from: String,
    #[serde(default, rename = "_csrf", skip_serializing)]
    csrf: String,
}

#[derive(Deserialize, Serialize, Default)]
pub struct StatusForm {
    #[serde(default)]
    facility: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    effective_from: String,
    #[serde(default)]
    reason: String,
    #[serde(default, rename = "_csrf", skip_serializing)]
    csrf: String,
}

/// The admin's registry page: users and their roles, regions, and facilities with their
/// designation today, a form to add a facility and one to change a designation.
async fn registry_page(
    ctx: &Ctx,
    facility_form: &FacilityForm,
    status_form: &StatusForm,
    errors: Map<String, Value>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    ctx.require(&[Role::Admin])?;
    let today = chrono::Utc::now().date_naive();
    let (people, region_rows, facility_rows, history) = ctx
        .db(|conn, _| {
            Ok((
                users::all_with_roles(conn)?,
                regions::list(conn)?,
                facilities::list(conn)?,
                facilities::all_history(conn)?,
            ))
        })
        .await?;
    let role_title = |r: &str| {
        r.parse::<Role>().map_or_else(
            |_| r.to_string(),
            |role| ctx.t(&format!("roles.{}", role.as_str())),
        )
    };
    let people: Vec<Value> = people
        .iter()
        .map(|(u, roles)| {
            json!({
                "username": u.username,
                "name": u.display_name,
                "roles": roles.iter().map(|r| role_title(r)).collect::<Vec<_>>().join("、"),
                "region": u.region_code,
                "org": u.org,
            })
        })
        .collect();
    let region_list: Vec<Value> = region_rows
        .iter()
        .map(|r| json!({"code": r.code, "name": ctx.pick(&r.name_zh, &r.name_en), "level": r.level, "path": r.path}))
        .collect();
    let facility_list: Vec<Value> = facility_rows
        .iter()
        .map(|f| {
            let rows: Vec<_> = history
                .iter()
                .filter(|h| h.facility_code == f.code)
                .cloned()
                .collect();
            let changes = facilities::to_changes(&rows);
            let st = status_on(&changes, today).unwrap_or("none");
            json!({
                "code": f.code,
                "name": f.name,
                "region": f.region_code,
                "level": ctx.t(&format!("facilities.level_{}", f.level)),
                "status": st,
                "status_label": ctx.t(&format!("facilities.status_{st}")),
                "selected": f.code == status_form.facility,
            })
        })
        .collect();
    let options = |values: &[&str], prefix: &str, chosen: &str| -> Vec<Value> {
        values
            .iter()
            .map(|v| json!({"code": v, "label": ctx.t(&format!("{prefix}{v}")), "selected": *v == chosen}))
            .collect()
    };
    let view = json!({
        "people": people,
        "regions": region_list,
        "facilities": facility_list,
        "levels": options(&facilities::LEVELS, "facilities.level_", &facility_form.level),
        "ownerships": options(&["public", "private"], "admin.ownership_", &facility_form.ownership),
        "statuses": options(&facilities::STATUSES, "facilities.status_", &status_form.status),
        "facility_form": facility_form,
        "status_form": status_form,
        "has_errors": !errors.is_empty(),
        "errors": super::field_errors_for(errors, &[
            "facility_code", "facility_name", "facility_level", "facility_region_code", "facility_ownership",
            "facility_designated_from", "status_facility", "status_status", "status_effective_from", "status_reason",
        ]),
    });
    ctx.page_titled("admin_registry", ctx.t("admin.registry"), view, status)
}

#[get("/admin/registry")]
pub async fn registry_page_get(ctx: Ctx) -> Result<HttpResponse, PageError> {
    registry_page(
        &ctx,
        &FacilityForm::default(),
        &StatusForm::default(),
        Map::new(),
        StatusCode::OK,
    )
    .await
}

fn errors_of(ctx: &Ctx, prefix: &str, err: AppError) -> Result<Map<String, Value>, PageError> {
    match err {
        AppError::Validation(fields) => {
            let mut map = Map::new();
            for f in fields {
                let text = format!("{}{}", ctx.t("errors.field_prefix"), f.message);
                map.entry(format!("{prefix}{}", f.field))
                    .or_insert(Value::String(text));
            }
            Ok(map)
        }
        other => Err(ctx.fail(other)),
    }
}

#[post("/admin/facilities")]
pub async fn add_facility(
    ctx: Ctx,
    form: web::Form<FacilityForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Admin])?;
    let form = form.into_inner();
    ctx.check_csrf(&form.csrf)?;
    let input = FacilityInput {
        code: form.code.trim().to_string(),
        name: form.name.trim().to_string(),
        level: form.level.clone(),
        region_code: form.region_code.trim().to_string(),
        ownership: form.ownership.clone(),
        designated_from: form.designated_from.trim().to_string(),
    };
    let done = crate::http::db(&ctx.state, move |conn, _| {
        admin_in(conn, &user, &input.region_code)?;
        registries::add_facility(conn, &input, crate::store::now_ms())
    })
    .await;
    match done {
        Ok(()) => Ok(see_other("/admin/registry#facilities")),
        Err(e) => {
            let errors = errors_of(&ctx, "facility_", e)?;
            registry_page(
                &ctx,
                &form,
                &StatusForm::default(),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[post("/admin/facilities/status")]
pub async fn change_status(
    ctx: Ctx,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Admin])?;
    let form = form.into_inner();
    ctx.check_csrf(&form.csrf)?;
    let code = form.facility.clone();
    let input = StatusInput {
        status: form.status.clone(),
        effective_from: form.effective_from.trim().to_string(),
        reason: form.reason.trim().to_string(),
    };
    let done = crate::http::db(&ctx.state, move |conn, _| {
        let facility = facilities::get(conn, &code)?
            .ok_or_else(|| AppError::field("facility", format!("no facility `{code}`")))?;
        admin_in(conn, &user, &facility.region_code)?;
        registries::change_status(conn, &code, &input, crate::store::now_ms())
    })
    .await;
    match done {
        Ok(()) => Ok(see_other("/admin/registry#facilities")),
        Err(e) => {
            let errors = errors_of(&ctx, "status_", e)?;
            registry_page(
                &ctx,
                &FacilityForm::default(),
                &form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
