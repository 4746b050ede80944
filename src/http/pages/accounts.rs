//! Accounts in the browser: an administrator's page for one user (disable or enable, lift a
//! lockout, reset the password, change roles and region, link a resident to an insured
//! person, and the account's history), and every user's own password change, which is all a
//! session opens after an administrator's reset.
use super::ctx::{see_other, Ctx, PageError, PASSWORD_PAGE};
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::error::Msg;
use crate::service::auth::{account_view, change_account, parse_roles, AccountChange, AccountView};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde_json::{json, Map, Value};

/// What the account forms send; `roles` repeats once per ticked role.
#[derive(Default)]
struct AccountForm {
    password: String,
    current_password: String,
    confirm_password: String,
    region_code: String,
    id_number: String,
    roles: Vec<String>,
    confirm: bool,
    csrf: String,
}

impl AccountForm {
    fn parse(body: &[u8]) -> AccountForm {
        let mut form = AccountForm::default();
        for (key, value) in form_urlencoded::parse(body) {
            let value = value.into_owned();
            match key.as_ref() {
                "password" => form.password = value,
                "current_password" => form.current_password = value,
                "confirm_password" => form.confirm_password = value,
                "region_code" => form.region_code = value,
                "id_number" => form.id_number = value,
                "roles" => form.roles.push(value),
                "confirm" => form.confirm = true,
                "_csrf" => form.csrf = value,
                _ => {}
            }
        }
        form
    }
}

/// The actions of the account page, by the last segment of their address.
const ACTIONS: [&str; 6] = ["disable", "enable", "unlock", "password", "roles", "person"];

fn errors_in_place(ctx: &Ctx, err: AppError) -> Result<Map<String, Value>, PageError> {
    match err {
        // A refusal that names no field is shown above the forms, not as an error page.
        AppError::Rule(rule) if rule.fields.is_empty() => {
            let mut m = Map::new();
            m.insert("form".into(), ctx.pick(&rule.zh, &rule.en).into());
            Ok(m)
        }
        other => ctx.form_errors(other, str::to_string),
    }
}

async fn account_page(
    ctx: &Ctx,
    id: i64,
    sent: &AccountForm,
    done: Option<&str>,
    errors: Map<String, Value>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let admin = ctx.require(&[Role::Admin])?;
    let policy = ctx.state.config.login;
    let view: AccountView = ctx
        .db(move |conn, _| account_view(conn, &admin, id, &policy, crate::store::now_ms()))
        .await?;
    let chosen: Vec<String> = if sent.roles.is_empty() {
        view.roles.clone()
    } else {
        sent.roles.clone()
    };
    let role_title = |r: &str| ctx.t(&format!("roles.{r}"));
    let events: Vec<Value> = view
        .events
        .iter()
        .map(|(e, by)| {
            json!({
                "at": ctx.when(e.at_ms),
                "action": ctx.t(&format!("account.event_{}", e.action)),
                "by": by,
                "detail": if e.detail == "{}" { String::new() } else { e.detail.clone() },
            })
        })
        .collect();
    // Not `user`: the layout's signed-in user goes by that name.
    let page = json!({
        "account": {
            "id": view.id,
            "username": view.username,
            "name": view.display_name,
            "org": view.org,
            "region": view.region_code,
            "roles": view.roles.iter().map(|r| role_title(r)).collect::<Vec<_>>().join("、"),
            "disabled_at": view.disabled_at.map(|t| ctx.when(t)),
            "reset_at": view.password_reset_at.map(|t| ctx.when(t)),
            "locked_minutes": (view.locked_for_ms > 0).then(|| (view.locked_for_ms + 59_999) / 60_000),
            "is_resident": view.roles.iter().any(|r| r == Role::Resident.as_str()),
        },
        "person": view.person.as_ref().map(|(pid, name, masked)| json!({"id": pid, "name": name, "masked": masked})),
        "events": events,
        "done": done.filter(|d| ACTIONS.contains(d)).map(|d| ctx.t(&format!("account.done_{d}"))),
        "region_code": if sent.region_code.is_empty() { view.region_code.clone() } else { sent.region_code.clone() },
        "id_number": sent.id_number,
        "role_options": Role::ALL.iter().map(|r| json!({"code": r.as_str(), "label": role_title(r.as_str()), "checked": chosen.iter().any(|c| c == r.as_str())})).collect::<Vec<_>>(),
        "has_errors": !errors.is_empty(),
        "errors": super::field_errors_for(errors, &["form", "password", "roles", "region_code", "id_number", "confirm"]),
    });
    ctx.page_titled(
        "admin_user",
        format!("{} · {}", ctx.t("account.title"), view.username),
        page,
        status,
    )
}

#[derive(serde::Deserialize)]
struct Done {
    done: Option<String>,
}

#[get("/admin/users/{id}")]
pub async fn account_get(
    ctx: Ctx,
    id: web::Path<i64>,
    q: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let done = q.into_inner().done;
    account_page(
        &ctx,
        id.into_inner(),
        &AccountForm::default(),
        done.as_deref(),
        Map::new(),
        StatusCode::OK,
    )
    .await
}

/// One action on the account; each is audited and the destructive one (disable) asks for
/// a tick of confirmation first.
#[post("/admin/users/{id}/{action}")]
pub async fn account_post(
    ctx: Ctx,
    path: web::Path<(i64, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let admin = ctx.require(&[Role::Admin])?;
    let (id, action) = path.into_inner();
    let form = AccountForm::parse(&body);
    ctx.check_csrf(&form.csrf)?;
    let change = match action.as_str() {
        "disable" if !form.confirm => Err(AppError::rule_on_msg(
            "confirm",
            "confirm_required",
            Msg::new("rule-confirm-required"),
        )),
        "disable" => Ok(Some(AccountChange::Disable)),
        "enable" => Ok(Some(AccountChange::Enable)),
        "password" => Ok(Some(AccountChange::Password(form.password.clone()))),
        "roles" => parse_roles(&form.roles).map(|roles| {
            Some(AccountChange::RolesAndRegion {
                roles,
                region_code: form.region_code.trim().to_string(),
            })
        }),
        "person" => Ok(Some(AccountChange::LinkPerson(form.id_number.clone()))),
        "unlock" => Ok(None),
        _ => return Err(ctx.fail(AppError::NotFound(format!("account action {action}")))),
    };
    let policy = ctx.state.config.login;
    let done = crate::http::db(&ctx.state, move |conn, _| {
        let now = crate::store::now_ms();
        match change? {
            Some(change) => change_account(conn, &admin, id, &change, now).map(|_| ()),
            None => {
                let user = crate::store::users::get(conn, id)?
                    .ok_or_else(|| AppError::NotFound(format!("user {id}")))?;
                crate::service::auth::lift_lockout(conn, &admin, &user.username, &policy, now)
                    .map(|_| ())
            }
        }
    })
    .await;
    match done {
        Ok(()) => Ok(see_other(&format!("/admin/users/{id}?done={action}"))),
        Err(e) => {
            let errors = errors_in_place(&ctx, e)?;
            account_page(
                &ctx,
                id,
                &form,
                None,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn password_page(
    ctx: &Ctx,
    errors: Map<String, Value>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let Some(user) = &ctx.user else {
        return Err(PageError::redirect(format!("/login?next={PASSWORD_PAGE}")));
    };
    let uid = user.user_id;
    let reset = ctx
        .db(move |conn, _| {
            Ok(crate::store::users::get(conn, uid)?.and_then(|u| u.password_reset_at))
        })
        .await?;
    let view = json!({
        "reset": reset.is_some(),
        "min": crate::service::auth::MIN_PASSWORD_CHARS,
        "has_errors": !errors.is_empty(),
        "errors": super::field_errors_for(errors, &["current_password", "password", "confirm_password"]),
    });
    ctx.page_titled(
        "account_password",
        ctx.t("account.password_title"),
        view,
        status,
    )
}

#[get("/account/password")]
pub async fn password_get(ctx: Ctx) -> Result<HttpResponse, PageError> {
    password_page(&ctx, Map::new(), StatusCode::OK).await
}

#[post("/account/password")]
pub async fn password_post(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Err(PageError::redirect(format!("/login?next={PASSWORD_PAGE}")));
    };
    let form = AccountForm::parse(&body);
    ctx.check_csrf(&form.csrf)?;
    if form.password != form.confirm_password {
        let mut errors = Map::new();
        errors.insert("confirm_password".into(), ctx.t("account.mismatch").into());
        return password_page(&ctx, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let policy = ctx.state.config.login;
    let done = crate::http::db(&ctx.state, move |conn, _| {
        crate::service::auth::change_own_password(
            conn,
            &policy,
            &user,
            &form.current_password,
            &form.password,
            crate::store::now_ms(),
        )
    })
    .await;
    match done {
        Ok(()) => Ok(see_other("/")),
        Err(AppError::Throttled { retry_after_secs }) => {
            let mut errors = Map::new();
            let text = ctx
                .t("account.throttled")
                .replace("{secs}", &retry_after_secs.to_string());
            errors.insert("current_password".into(), text.into());
            password_page(&ctx, errors, StatusCode::TOO_MANY_REQUESTS).await
        }
        Err(e) => {
            let errors = errors_in_place(&ctx, e)?;
            password_page(&ctx, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}
