//! Sign-in and sign-out, the language switch, the home redirect and the stylesheet.
use super::ctx::{local_path, see_other, Ctx, PageError, Ui};
use super::i18n;
use super::session::{self, NONCE_COOKIE, SESSION_COOKIE};
use crate::auth::Principal;
use crate::domain::roles::Role;
use crate::error::AppError;
use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// Where a user lands after signing in: the first page their roles open.
pub fn home_of(user: &Principal) -> &'static str {
    if user.has(Role::Resident) {
        "/my/claims"
    } else if user.is_facility() {
        "/facility"
    } else if user.has(Role::Inspector) {
        "/facilities"
    } else if user.has(Role::Auditor) {
        "/audit"
    } else if user.has(Role::Admin) {
        "/admin/workflows"
    } else {
        "/queue"
    }
}

#[get("/")]
pub async fn index(ctx: Ctx) -> HttpResponse {
    match &ctx.user {
        Some(user) => see_other(home_of(user)),
        None => see_other("/login"),
    }
}

#[get("/static/app.css")]
pub async fn stylesheet(ui: Ui) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(ui.css.clone())
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// The sign-in page; like every form for visitors who are not signed in, its CSRF token is
/// bound to a nonce cookie (there is no session yet).
fn login_page(ctx: &Ctx, view: Value, status: StatusCode) -> Result<HttpResponse, PageError> {
    ctx.public_page("login", ctx.t("login.title"), view, status)
}

#[get("/login")]
pub async fn login_form(ctx: Ctx, q: web::Query<NextQuery>) -> Result<HttpResponse, PageError> {
    if let Some(user) = &ctx.user {
        return Ok(see_other(home_of(user)));
    }
    let next = local_path(&q.next).to_string();
    login_page(
        &ctx,
        json!({"failed": false, "username": "", "errors": {}, "next": next}),
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

#[post("/login")]
pub async fn login(
    ctx: Ctx,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    ctx.check_public_csrf(&req, &form.csrf)?;
    let next = local_path(&form.next).to_string();
    let mut errors = Map::new();
    if form.username.trim().is_empty() {
        errors.insert("username".into(), ctx.t("errors.required").into());
    }
    if form.password.is_empty() {
        errors.insert("password".into(), ctx.t("errors.required").into());
    }
    if !errors.is_empty() {
        let view =
            json!({"failed": false, "username": form.username, "errors": errors, "next": next});
        return login_page(&ctx, view, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (username, password) = (form.username.trim().to_string(), form.password);
    let checked = crate::http::auth::sign_in(&ctx.state, &req, username, password).await;
    let principal = match checked {
        Ok(p) => p,
        Err(AppError::Unauthorized(_)) => {
            let view =
                json!({"failed": true, "username": form.username, "errors": {}, "next": next});
            return login_page(&ctx, view, StatusCode::UNAUTHORIZED);
        }
        Err(AppError::Throttled { retry_after_secs }) => {
            let text = ctx
                .pick(
                    &format!("登录尝试过多，请 {retry_after_secs} 秒后再试。"),
                    &format!("Too many sign-in attempts: try again in {retry_after_secs} s."),
                )
                .to_string();
            let view = json!({"failed": false, "throttled": text, "username": form.username, "errors": {}, "next": next});
            let mut res = login_page(&ctx, view, StatusCode::TOO_MANY_REQUESTS)?;
            res.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(retry_after_secs),
            );
            return Ok(res);
        }
        Err(e) => return Err(ctx.fail(e)),
    };
    let token = ctx
        .state
        .keys
        .issue(&principal, chrono::Utc::now().timestamp())
        .map_err(|e| ctx.fail(e.into()))?;
    let to = if next == "/" {
        home_of(&principal)
    } else {
        next.as_str()
    };
    let mut res = see_other(to);
    let ttl = ctx.state.keys.ttl_seconds() / 60;
    res.add_cookie(&session::session_cookie(token, ctx.secure, ttl))
        .and_then(|_| res.add_removal_cookie(&session::removal(NONCE_COOKIE)))
        .map_err(|e| ctx.fail(AppError::internal(e)))?;
    Ok(res)
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default, rename = "_csrf")]
    pub csrf: String,
}

#[post("/logout")]
pub async fn logout(ctx: Ctx, form: web::Form<CsrfOnly>) -> Result<HttpResponse, PageError> {
    ctx.check_csrf(&form.csrf)?;
    if let Some(user) = ctx.user.clone() {
        // The cookie goes, and so does the session: a copy of the cookie opens nothing.
        crate::http::db(&ctx.state, move |conn, _| {
            crate::service::auth::end_session(conn, &user, crate::store::now_ms())
        })
        .await
        .map_err(|e| ctx.fail(e))?;
    }
    let mut res = see_other("/login");
    res.add_removal_cookie(&session::removal(SESSION_COOKIE))
        .map_err(|e| ctx.fail(AppError::internal(e)))?;
    Ok(res)
}

#[derive(Deserialize)]
pub struct LangForm {
    lang: String,
    #[serde(default)]
    back: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// The language switch. Signed out there is no session to bind a token to, and the switch
/// changes nothing but a display preference; signed in, the token is checked.
#[post("/lang")]
pub async fn switch_lang(ctx: Ctx, form: web::Form<LangForm>) -> Result<HttpResponse, PageError> {
    if ctx.user.is_some() {
        ctx.check_csrf(&form.csrf)?;
    }
    let lang = i18n::pick(Some(&form.lang));
    let mut res = see_other(local_path(&form.back));
    res.add_cookie(&session::lang_cookie(lang, ctx.secure))
        .map_err(|e| ctx.fail(AppError::internal(e)))?;
    Ok(res)
}

/// Unknown routes: JSON under `/api/`, otherwise the same not-found page as unknown records.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    use actix_web::{FromRequest, ResponseError};
    if req.path().starts_with("/api/") {
        return AppError::NotFound("route".into()).error_response();
    }
    match Ctx::extract(&req).await {
        Ok(ctx) => ctx.fail(AppError::NotFound("page".into())).error_response(),
        Err(e) => e.error_response(),
    }
}
