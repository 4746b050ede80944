//! The administrator's read-only view of what this instance publishes: every workflow's
//! current version drawn as a diagram from its file, and the benefit policies. Both passed
//! `claimflow check` when the service started; a file that fails it stops the service, so
//! whatever is listed here is in force.
use super::ctx::{see_other, Ctx, PageError};
use super::svg;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::error::Msg;
use crate::service::registries::admin_in;
use crate::service::registries::{self, FacilityInput, StatusInput};
use crate::store::facilities;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub const ADMIN_ROLES: &[Role] = &[Role::Admin, Role::Auditor];

#[get("/admin/workflows")]
pub async fn workflows(ctx: Ctx) -> Result<HttpResponse, PageError> {
    ctx.require(ADMIN_ROLES)?;
    let en = ctx.lang == "en";
    let defs = &ctx.state.defs;
    let workflows: Vec<Value> = defs
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
    let policies: Vec<Value> = defs
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

#[derive(Deserialize, Serialize, Default)]
pub struct ContactForm {
    #[serde(default)]
    facility: String,
    #[serde(default)]
    email: String,
    #[serde(default, rename = "_csrf", skip_serializing)]
    csrf: String,
}

/// The admin's registry page: users and their roles, regions, and facilities with their
/// designation today, a form to add a facility and one to change a designation.
/// What the registry page's forms were sent with, to show them again next to their errors.
#[derive(Default)]
struct Sent {
    facility: FacilityForm,
    status: StatusForm,
    contact: ContactForm,
    user: UserForm,
    region: RegionForm,
}

async fn registry_page(
    ctx: &Ctx,
    sent: &Sent,
    errors: Map<String, Value>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let (facility_form, status_form) = (&sent.facility, &sent.status);
    let user = ctx.require(&[Role::Admin])?;
    let today = chrono::Utc::now().date_naive();
    let board = ctx
        .db(move |conn, _| crate::service::views::registry::registry_board(conn, &user))
        .await?;
    let (people, region_rows, facility_rows, history) =
        (board.users, board.regions, board.facilities, board.history);
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
                "id": u.id,
                "username": u.username,
                "disabled": u.disabled_at.is_some(),
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
    let statuses = facilities::statuses_on(&history, today);
    let facility_list: Vec<Value> = facility_rows
        .iter()
        .map(|f| {
            let st = statuses.get(&f.code).map_or("none", String::as_str);
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
        "contact_form": sent.contact,
        "user_form": {"username": sent.user.username, "display_name": sent.user.display_name, "region_code": sent.user.region_code, "org": sent.user.org, "facility_codes": sent.user.facility_codes},
        "region_form": sent.region,
        "role_options": Role::ALL.iter().map(|r| json!({"code": r.as_str(), "label": ctx.t(&format!("roles.{}", r.as_str())), "checked": sent.user.roles.iter().any(|x| x == r.as_str())})).collect::<Vec<_>>(),
        "has_errors": !errors.is_empty(),
        "errors": super::field_errors_for(errors, &[
            "facility_code", "facility_name", "facility_level", "facility_region_code", "facility_ownership",
            "facility_designated_from", "status_facility", "status_status", "status_effective_from", "status_reason",
            "contact_email", "contact_facility",
            "user_username", "user_password", "user_roles", "user_region_code", "user_facility_codes", "region_code", "region_name_zh",
            "region_name_en", "region_parent",
        ]),
    });
    ctx.page_titled("admin_registry", ctx.t("admin.registry"), view, status)
}

#[get("/admin/registry")]
pub async fn registry_page_get(ctx: Ctx) -> Result<HttpResponse, PageError> {
    registry_page(&ctx, &Sent::default(), Map::new(), StatusCode::OK).await
}

fn errors_of(ctx: &Ctx, prefix: &str, err: AppError) -> Result<Map<String, Value>, PageError> {
    ctx.form_errors(err, |f| format!("{prefix}{f}"))
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
            let sent = Sent {
                facility: form,
                ..Sent::default()
            };
            registry_page(&ctx, &sent, errors, StatusCode::UNPROCESSABLE_ENTITY).await
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
        crate::service::views::registry::change_status(
            conn,
            &user,
            &code,
            &input,
            crate::store::now_ms(),
        )
        .map(drop)
        .map_err(|e| match e {
            AppError::NotFound(_) => AppError::field(
                "facility",
                Msg::new("field-unknown-facility").text("code", code),
            ),
            other => other,
        })
    })
    .await;
    match done {
        Ok(()) => Ok(see_other("/admin/registry#facilities")),
        Err(e) => {
            let errors = errors_of(&ctx, "status_", e)?;
            let sent = Sent {
                status: form,
                ..Sent::default()
            };
            registry_page(&ctx, &sent, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// Where a facility's letters go (the address its notices, decisions and reminders reach).
#[post("/admin/facilities/contact")]
pub async fn set_contact(
    ctx: Ctx,
    form: web::Form<ContactForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Admin])?;
    let form = form.into_inner();
    ctx.check_csrf(&form.csrf)?;
    let (code, email) = (form.facility.clone(), form.email.clone());
    let done = crate::http::db(&ctx.state, move |conn, _| {
        registries::set_facility_contact(conn, &user, &code, &email).map_err(|e| match e {
            AppError::NotFound(_) => AppError::field(
                "facility",
                Msg::new("field-unknown-facility").text("code", code),
            ),
            other => other,
        })
    })
    .await;
    match done {
        Ok(()) => Ok(see_other("/admin/registry#facilities")),
        Err(e) => {
            let errors = errors_of(&ctx, "contact_", e)?;
            let sent = Sent {
                contact: form,
                ..Sent::default()
            };
            registry_page(&ctx, &sent, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// The new-user form: `roles` repeats once per ticked role, so the body is read pair by pair.
#[derive(Default)]
pub struct UserForm {
    username: String,
    display_name: String,
    password: String,
    region_code: String,
    org: String,
    roles: Vec<String>,
    /// A facility account's facility codes, separated by commas or spaces.
    facility_codes: String,
    csrf: String,
}

impl UserForm {
    fn parse(body: &[u8]) -> UserForm {
        let mut form = UserForm::default();
        for (key, value) in form_urlencoded::parse(body) {
            let value = value.into_owned();
            match key.as_ref() {
                "username" => form.username = value,
                "display_name" => form.display_name = value,
                "password" => form.password = value,
                "region_code" => form.region_code = value,
                "org" => form.org = value,
                "roles" => form.roles.push(value),
                "facility_codes" => form.facility_codes = value,
                "_csrf" => form.csrf = value,
                _ => {}
            }
        }
        form
    }
}

/// Creates an account: the admin sets a first password, which is stored only as an argon2id
/// hash; roles are limited to the eight the system knows.
#[post("/admin/users")]
pub async fn add_user(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, PageError> {
    let admin = ctx.require(&[Role::Admin])?;
    let form = UserForm::parse(&body);
    ctx.check_csrf(&form.csrf)?;
    let roles: Result<Vec<Role>, String> = form
        .roles
        .iter()
        .map(|r| r.parse::<Role>().map_err(|_| r.clone()))
        .collect();
    let lang = ctx.lang.to_string();
    let (username, display_name, password, region_code, org) = (
        form.username.clone(),
        form.display_name.clone(),
        form.password.clone(),
        form.region_code.clone(),
        form.org.clone(),
    );
    let facilities: Vec<String> = form
        .facility_codes
        .split([',', '，', ' ', '\n'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    let done = crate::http::db(&ctx.state, move |conn, _| {
        let roles = roles.map_err(|r| {
            AppError::field("roles", Msg::new("field-unknown-role").text("value", r))
        })?;
        registries::admin_add_user(
            conn,
            &admin,
            &registries::UserInput {
                username: &username,
                password: &password,
                display_name: &display_name,
                region_code: &region_code,
                org: &org,
                email: None,
                lang: &lang,
                roles: &roles,
                facilities: &facilities,
            },
            crate::store::now_ms(),
        )
    })
    .await;
    match done {
        Ok(_) => Ok(see_other("/admin/registry#users")),
        Err(e) => {
            let errors = errors_of(&ctx, "user_", e)?;
            let sent = Sent {
                user: form,
                ..Sent::default()
            };
            registry_page(&ctx, &sent, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

#[derive(Deserialize, Serialize, Default)]
pub struct RegionForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    parent: String,
    #[serde(default, rename = "_csrf", skip_serializing)]
    csrf: String,
}

/// Adds a region inside the admin's own region.
#[post("/admin/regions")]
pub async fn add_region(ctx: Ctx, form: web::Form<RegionForm>) -> Result<HttpResponse, PageError> {
    let admin = ctx.require(&[Role::Admin])?;
    let form = form.into_inner();
    ctx.check_csrf(&form.csrf)?;
    let (code, zh, en, parent) = (
        form.code.trim().to_string(),
        form.name_zh.clone(),
        form.name_en.clone(),
        Some(form.parent.trim().to_string()).filter(|p| !p.is_empty()),
    );
    let done = crate::http::db(&ctx.state, move |conn, _| {
        match parent.as_deref() {
            Some(p) => registries::admin_in_as(conn, &admin, p, "parent")?,
            None if !admin.region_path.contains('/') => {}
            None => {
                return Err(AppError::field(
                    "parent",
                    Msg::new("field-province-admin-only"),
                ))
            }
        }
        registries::add_region(conn, &code, &zh, &en, parent.as_deref())
    })
    .await;
    match done {
        Ok(_) => Ok(see_other("/admin/registry#regions")),
        Err(e) => {
            let errors = errors_of(&ctx, "region_", e)?;
            let sent = Sent {
                region: form,
                ..Sent::default()
            };
            registry_page(&ctx, &sent, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}
