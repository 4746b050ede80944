//! One page request: its language, the signed-in user (if any), and the frame every page
//! shares. Failures become pages in the user's language, never JSON, and signing in is a
//! redirect rather than a 401.
use super::session::{self, LANG_COOKIE, SESSION_COOKIE};
use super::{i18n, Frame, WebUi};
use crate::auth::Principal;
use crate::domain::roles::Role;
use crate::error::Msg;
use crate::error::{AppError, AppResult};
use crate::http::State;
use crate::service::auth::Access;
use crate::store::DbConn;
use actix_web::http::{header, StatusCode};
use actix_web::{dev::Payload, web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde_json::{json, Value};

pub type Ui = web::Data<WebUi>;

pub struct Ctx {
    pub state: State,
    pub ui: Ui,
    pub lang: &'static str,
    /// Path and query of this request, for the language switch and the return after sign-in.
    pub here: String,
    pub token: Option<String>,
    pub user: Option<Principal>,
    pub secure: bool,
    /// The session is live but an administrator reset its password: every signed-in page
    /// leads to the password change until it is made.
    pub pending_reset: bool,
    /// Unread items in the signed-in user's inbox, for the header's badge.
    pub unread: i64,
}

/// The page a session with a pending password reset may open (besides signing out and the
/// language switch).
pub const PASSWORD_PAGE: &str = "/account/password";

impl FromRequest for Ctx {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Ctx, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ctx = Ctx::of(req);
        Box::pin(async move {
            let mut ctx = ctx?;
            // A session that ended (signed out, disabled, roles changed) is no session.
            if let Some(claimed) = ctx.user.take() {
                let path = ctx.here.split('?').next().unwrap_or_default();
                let access = if [PASSWORD_PAGE, "/logout", "/lang"].contains(&path) {
                    Access::PasswordChange
                } else {
                    Access::Full
                };
                match crate::http::auth::live_for(&ctx.state, claimed, access).await {
                    Ok(p) => {
                        let user_id = p.user_id;
                        ctx.user = Some(p);
                        ctx.unread = crate::http::db(&ctx.state, move |conn, _| {
                            Ok(crate::store::inbox::unread(conn, user_id)?)
                        })
                        .await
                        .unwrap_or(0);
                    }
                    Err(e) => {
                        ctx.pending_reset = e.code() == "password_change_required";
                        ctx.token = None;
                    }
                }
            }
            Ok(ctx)
        })
    }
}

impl Ctx {
    fn of(req: &HttpRequest) -> AppResult<Ctx> {
        let missing = || AppError::internal(anyhow::anyhow!("application state missing"));
        let state = req.app_data::<State>().cloned().ok_or_else(missing)?;
        let ui = req.app_data::<Ui>().cloned().ok_or_else(missing)?;
        let lang = i18n::pick(req.cookie(LANG_COOKIE).as_ref().map(|c| c.value()));
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        // An expired or forged cookie is the same as none: the user signs in again.
        let user = token.as_deref().and_then(|t| state.keys.verify(t).ok());
        let token = user.as_ref().and(token);
        let here = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.path().to_string(), |p| p.as_str().to_string());
        Ok(Ctx {
            state,
            ui,
            lang,
            here,
            token,
            user,
            secure: session::over_tls(req),
            pending_reset: false,
            unread: 0,
        })
    }

    /// A moment as people read it: the agency's local time (the working calendar's
    /// `utc_offset_hours`; China Standard Time as shipped), to the minute.
    pub fn when(&self, ms: i64) -> String {
        self.state.defs.calendar().minute_text(ms)
    }

    /// A deadline as people read it: the date it was given as, else the local minute.
    pub fn due(&self, ms: i64) -> String {
        self.state.defs.calendar().deadline_text(ms)
    }

    /// How far east of UTC the agency's zone is, in ms.
    pub fn utc_offset_ms(&self) -> i64 {
        i64::from(self.state.defs.calendar().offset.local_minus_utc()) * 1000
    }

    pub fn t(&self, key: &str) -> String {
        self.ui.text(self.lang, key)
    }

    /// A control's refusal next to each field it names, in this page's language.
    pub fn rule_errors(
        &self,
        rule: &crate::error::Rule,
        name: impl Fn(&str) -> String,
    ) -> serde_json::Map<String, Value> {
        let text = self.pick(&rule.zh, &rule.en).to_string();
        rule.fields
            .iter()
            .map(|f| (name(f), Value::String(text.clone())))
            .collect()
    }

    /// Picks the Chinese or the English of a pair of optional texts.
    pub fn pick_opt<'a>(&self, zh: &'a Option<String>, en: &'a Option<String>) -> Option<&'a str> {
        if self.lang == "en" {
            en.as_deref()
        } else {
            zh.as_deref()
        }
    }

    /// Picks the Chinese or the English of a pair.
    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.lang == "en" {
            en
        } else {
            zh
        }
    }

    /// A stage's title in the case's own workflow: the same stage id means different things
    /// in different workflows (`initial_review` is 初审 for a claim and 疑点初审 in a fraud
    /// investigation). Falls back to [`Ctx::stage_title`].
    pub fn stage_title_in(&self, workflow: &str, id: &str) -> String {
        self.state
            .defs
            .latest(workflow)
            .and_then(|wf| {
                wf.stage(id)
                    .map(|s| self.pick(&s.title.zh, &s.title.en).to_string())
            })
            .unwrap_or_else(|| self.stage_title(id))
    }

    /// A stage's title as the published workflows name it, when the workflow is not known
    /// (a filter over several), or the id itself. The claim families' workflows are asked
    /// first: their meaning of a shared id (初审) is the everyday one.
    pub fn stage_title(&self, id: &str) -> String {
        let mut workflows = self.state.defs.latest_all();
        workflows.sort_by_key(|wf| crate::domain::claim::Family::parse(&wf.name).is_none());
        workflows
            .iter()
            .find_map(|wf| {
                wf.stage(id)
                    .map(|s| self.pick(&s.title.zh, &s.title.en).to_string())
            })
            .unwrap_or_else(|| id.to_string())
    }

    /// A string of the catalog if it has `key`, else `fallback` as it is (codes recorded before
    /// a label existed stay readable).
    pub fn t_or(&self, key: &str, fallback: &str) -> String {
        if self.ui.has(self.lang, key) {
            self.t(key)
        } else {
            fallback.to_string()
        }
    }

    /// A role as people call it; `system` and `public` for events with no user behind them.
    pub fn role_label(&self, role: &str) -> String {
        self.t_or(&format!("roles.{role}"), role)
    }

    /// An audit event's action as people call it: the workflows' title of the action, else
    /// the name of a system action (opened, leased, escalated, …), else the code itself.
    pub fn action_label(&self, action: &str) -> String {
        self.state
            .defs
            .latest_all()
            .iter()
            .flat_map(|wf| wf.stages.iter().flat_map(|s| &s.actions))
            .find(|a| a.name == action)
            .map(|a| self.pick(&a.title.zh, &a.title.en).to_string())
            .unwrap_or_else(|| self.t_or(&format!("actions.{action}"), action))
    }

    pub fn csrf(&self) -> String {
        self.token
            .as_deref()
            .map(|t| session::csrf_token(&self.state.config.jwt_secret, t))
            .unwrap_or_default()
    }

    /// The signed-in user if they hold one of `roles`. Signed out: to the sign-in page and
    /// back here afterwards. Signed in without the role: a 403 page.
    pub fn require(&self, roles: &[Role]) -> Result<Principal, PageError> {
        if self.pending_reset {
            return Err(PageError::redirect(PASSWORD_PAGE.to_string()));
        }
        let Some(user) = &self.user else {
            let back = if self.here.starts_with('/') {
                self.here.as_str()
            } else {
                "/"
            };
            return Err(PageError::redirect(format!(
                "/login?next={}",
                encode_component(back)
            )));
        };
        if roles.iter().any(|r| user.has(*r)) {
            Ok(user.clone())
        } else {
            Err(self.fail(AppError::Forbidden(Msg::new("forbidden-page"))))
        }
    }

    /// A signed-in form's CSRF token must be this session's.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), PageError> {
        let ok = self
            .token
            .as_deref()
            .is_some_and(|t| session::csrf_ok(&self.state.config.jwt_secret, t, submitted));
        if ok {
            Ok(())
        } else {
            Err(self.fail(AppError::Forbidden(Msg::new("forbidden-csrf"))))
        }
    }

    /// A page with a form for visitors who are not signed in (sign-in, whistleblower): its
    /// CSRF token is an HMAC of a fresh nonce, which goes out in a cookie of its own.
    pub fn public_page(
        &self,
        template: &str,
        title: String,
        view: Value,
        status: StatusCode,
    ) -> Result<HttpResponse, PageError> {
        let nonce = session::new_nonce();
        let mut frame = self.frame(title);
        frame.csrf = session::login_token(&self.state.config.jwt_secret, &nonce);
        let mut res = self.render_frame(template, &frame, view, status)?;
        res.add_cookie(&session::nonce_cookie(nonce, self.secure))
            .map_err(|e| self.fail(AppError::internal(e)))?;
        Ok(res)
    }

    /// A signed-out form's token must belong to the nonce cookie it was issued with.
    pub fn check_public_csrf(
        &self,
        req: &actix_web::HttpRequest,
        submitted: &str,
    ) -> Result<(), PageError> {
        let nonce = req
            .cookie(session::NONCE_COOKIE)
            .map(|c| c.value().to_string())
            .unwrap_or_default();
        if !nonce.is_empty()
            && session::login_token_ok(&self.state.config.jwt_secret, &nonce, submitted)
        {
            Ok(())
        } else {
            Err(self.fail(AppError::Forbidden(Msg::new("forbidden-csrf"))))
        }
    }

    /// Runs service code on the blocking pool; its errors become pages.
    pub async fn db<T, F>(&self, f: F) -> Result<T, PageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn, crate::service::Env<'_>) -> AppResult<T> + Send + 'static,
    {
        crate::http::db(&self.state, f)
            .await
            .map_err(|e| self.fail(e))
    }

    /// [`crate::http::db_read`]: a read that may lag a little (the read replica's).
    pub async fn db_read<T, F>(&self, f: F) -> Result<T, PageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn, crate::service::Env<'_>) -> AppResult<T> + Send + 'static,
    {
        crate::http::db_read(&self.state, f)
            .await
            .map_err(|e| self.fail(e))
    }

    pub fn frame(&self, title: String) -> Frame {
        Frame {
            lang: self.lang,
            title,
            path: self.here.clone(),
            csrf: self.csrf(),
            session_csrf: self.csrf(),
            user: self.user.clone(),
            flash: None,
            unread: self.unread,
        }
    }

    /// A page with the title from `title_key`.
    pub fn page(
        &self,
        template: &str,
        title_key: &str,
        view: Value,
    ) -> Result<HttpResponse, PageError> {
        self.page_titled(template, self.t(title_key), view, StatusCode::OK)
    }

    pub fn page_titled(
        &self,
        template: &str,
        title: String,
        view: Value,
        status: StatusCode,
    ) -> Result<HttpResponse, PageError> {
        self.render_frame(template, &self.frame(title), view, status)
    }

    fn render_frame(
        &self,
        template: &str,
        frame: &Frame,
        view: Value,
        status: StatusCode,
    ) -> Result<HttpResponse, PageError> {
        match self.ui.render(template, frame, view) {
            Ok(body) => Ok(html(status, body)),
            Err(e) => Err(self.fail(AppError::internal(anyhow::anyhow!(
                "template {template}: {e}"
            )))),
        }
    }

    /// The error page for `err`: the heading and explanation in the user's language. Details
    /// are shown only where they help and reveal nothing (a conflict, a refused value);
    /// "not found" and "forbidden" say no more than that.
    /// A service's field errors as the form's messages, keyed by the form's field name
    /// (`form_field` maps a service field to it). The service explains in English; the page
    /// says that it is about that field in the user's language. First message per field.
    pub fn field_messages(
        &self,
        fields: Vec<crate::error::FieldError>,
        form_field: impl Fn(&str) -> String,
    ) -> serde_json::Map<String, Value> {
        self.field_messages_in(fields, form_field, None)
    }

    /// As [`Ctx::field_messages`], but a form whose locale `section` has `err_FIELD` says
    /// that in Chinese instead of the service's English (which English pages keep: it names
    /// the figures).
    pub fn field_messages_in(
        &self,
        fields: Vec<crate::error::FieldError>,
        form_field: impl Fn(&str) -> String,
        section: Option<&str>,
    ) -> serde_json::Map<String, Value> {
        let own = |field: &str| {
            let key = format!("{}.err_{field}", section?);
            (self.lang != "en" && self.ui.has(self.lang, &key)).then(|| self.t(&key))
        };
        let mut map = serde_json::Map::new();
        for f in fields {
            let text = own(&f.field).unwrap_or_else(|| crate::messages::render(&f.msg, self.lang));
            map.entry(form_field(&f.field))
                .or_insert(Value::String(text));
        }
        map
    }

    /// A field-level refusal as the form's messages; anything else as an error page.
    pub fn form_errors(
        &self,
        err: AppError,
        form_field: impl Fn(&str) -> String,
    ) -> Result<serde_json::Map<String, Value>, PageError> {
        match err {
            AppError::Validation(fields) => Ok(self.field_messages(fields, form_field)),
            AppError::Rule(rule) if !rule.fields.is_empty() => {
                Ok(self.rule_errors(&rule, form_field))
            }
            other => Err(self.fail(other)),
        }
    }

    pub fn fail(&self, err: AppError) -> PageError {
        if let AppError::Unauthorized(_) = err {
            return PageError::redirect("/login".into());
        }
        let status = err.status_code();
        if status.is_server_error() {
            tracing::error!(error = ?err, "page failed");
        }
        let (title_key, text_key) = match status {
            StatusCode::FORBIDDEN => match &err {
                AppError::Forbidden(m) if m.code == "forbidden-csrf" => {
                    ("errors.forbidden_title", "errors.csrf")
                }
                _ => ("errors.forbidden_title", "errors.forbidden"),
            },
            StatusCode::NOT_FOUND => ("errors.not_found_title", "errors.not_found"),
            StatusCode::CONFLICT => ("errors.conflict_title", "errors.stale"),
            s if s.is_client_error() => ("errors.invalid_title", "errors.invalid"),
            _ => ("errors.internal_title", "errors.internal"),
        };
        let detail = match &err {
            AppError::Validation(_)
            | AppError::BadRequest(_)
            | AppError::Conflict(_)
            | AppError::Refused(_)
            | AppError::PayloadTooLarge(_)
            | AppError::UnsupportedMedia(_)
            | AppError::TooManyRequests(_) => Some(err.text(self.lang)),
            AppError::Rule(r) => Some(self.pick(&r.zh, &r.en).to_string()),
            _ => None,
        };
        let view = json!({"status": status.as_u16(), "heading": self.t(title_key), "text": self.t(text_key), "detail": detail});
        let frame = self.frame(self.t(title_key));
        let body = self.ui.render("error", &frame, view).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the error page itself failed");
            format!(
                "<!doctype html><title>{}</title><h1>{}</h1>",
                status.as_u16(),
                status.as_u16()
            )
        });
        PageError {
            status,
            location: None,
            body,
        }
    }
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

/// A page that could not be shown as asked: an error page, or a redirect (to sign in).
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl PageError {
    pub fn redirect(to: String) -> PageError {
        PageError {
            status: StatusCode::SEE_OTHER,
            location: Some(to),
            body: String::new(),
        }
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "page error {}", self.status)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        match &self.location {
            Some(to) => see_other(to),
            None => html(self.status, self.body.clone()),
        }
    }
}

/// Percent-encodes a query value (the return path after sign-in).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A local path to return to, or `/`: an open redirect would let a link send users away.
pub fn local_path(candidate: &str) -> &str {
    if candidate.starts_with('/') && !candidate.starts_with("//") && !candidate.contains('\\') {
        candidate
    } else {
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(local_path("/cases/7?x=1"), "/cases/7?x=1");
        assert_eq!(local_path("//evil.example/"), "/");
        assert_eq!(local_path("https://evil.example/"), "/");
        assert_eq!(local_path("/\\evil.example"), "/");
    }

    #[test]
    fn return_paths_are_encoded() {
        assert_eq!(
            encode_component("/queue?sla=at_risk&mine=true"),
            "/queue%3Fsla%3Dat_risk%26mine%3Dtrue"
        );
    }
}
