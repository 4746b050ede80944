//! Wiring: `Application::build` prepares everything (pool, migrations, workflows, keys) and
//! binds; `run` serves until stopped. Tests build the same application on port 0.
use crate::auth::JwtKeys;
use crate::core::Core;
use crate::error::{AppError, Msg};
use crate::http::{self, metrics::Metrics, AppState};
use actix_web::dev::{Server, Service};
use actix_web::{error::JsonPayloadError, web, App, HttpServer};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;
use tracing_actix_web::TracingLogger;

pub struct Application {
    port: u16,
    server: Server,
    pub state: web::Data<AppState>,
}

/// Serde's messages name fields and expected values, which helps; its Rust type names do
/// not, so they are replaced by what the caller sent them as.
fn plain_serde_message(message: &str) -> String {
    let mut out = Vec::new();
    let mut words = message.split(' ').peekable();
    while let Some(word) = words.next() {
        match word {
            "struct" | "tuple" | "enum" if words.peek().is_some() => {
                let name = words.next().unwrap_or_default();
                let tail = name.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_');
                out.push(format!(
                    "{}{tail}",
                    if word == "enum" {
                        "one of the documented values"
                    } else {
                        "an object"
                    }
                ));
            }
            other => out.push(other.to_string()),
        }
    }
    out.join(" ")
}

fn query_error(e: &actix_web::error::QueryPayloadError) -> String {
    match e {
        actix_web::error::QueryPayloadError::Deserialize(e) => {
            let message = e.to_string();
            // Unknown, missing and enumerated parameters are named by serde; a number that
            // does not parse is not, so say what the parameters must look like.
            if ["unknown field", "missing field", "unknown variant"]
                .iter()
                .any(|p| message.starts_with(p))
            {
                format!("bad query string: {}", plain_serde_message(&message))
            } else {
                "bad query string: a parameter is not of its documented type (whole numbers, \
                 true or false, or one of the listed values)"
                    .into()
            }
        }
        _ => "bad query string".into(),
    }
}

fn json_error(err: JsonPayloadError, _: &actix_web::HttpRequest) -> actix_web::Error {
    match err {
        JsonPayloadError::ContentType => AppError::UnsupportedMedia(Msg::new("media-json")),
        JsonPayloadError::Deserialize(e) => AppError::field(
            "body",
            Msg::new("field-body-json").text("detail", plain_serde_message(&e.to_string())),
        ),
        JsonPayloadError::Overflow { limit }
        | JsonPayloadError::OverflowKnownLength { limit, .. } => {
            AppError::PayloadTooLarge(Msg::new("too-large-json").count("limit", limit as i64))
        }
        other => AppError::BadRequest(Msg::new("bad-json").text("detail", other.to_string())),
    }
    .into()
}

impl Application {
    pub fn build(core: Core) -> anyhow::Result<Application> {
        let keys = Arc::new(JwtKeys::new(
            &core.config.jwt_secret,
            core.config.jwt_ttl_minutes,
        )?);
        let state = web::Data::new(AppState {
            pool: core.pool,
            reads: core.reads,
            defs: core.defs,
            notifier: core.notifier,
            accounts: core.accounts,
            keys,
            config: core.config.clone(),
            metrics: Arc::new(Metrics::new()?),
        });
        let ui = web::Data::new(
            crate::http::pages::WebUi::load(
                &core.config.web_templates_dir,
                &core.config.locales_dir,
                &core.config.static_dir,
            )
            .map_err(|errors| {
                anyhow::anyhow!(
                    "the web interface files have errors:\n{}",
                    errors.join("\n")
                )
            })?,
        );
        let listener = TcpListener::bind(&core.config.bind)?;
        let port = listener.local_addr()?.port();
        let data = state.clone();
        let server = HttpServer::new(move || {
            let metrics = data.metrics.clone();
            App::new()
                .app_data(data.clone())
                .app_data(ui.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(1 << 20)
                        .error_handler(json_error),
                )
                // An id that is not a number (or beyond i64) names nothing: a plain 404.
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|_, _| AppError::NotFound("no such resource".into()).into()),
                )
                .app_data(web::QueryConfig::default().error_handler(|e, _| {
                    AppError::BadRequest(Msg::new("bad-query").text("detail", query_error(&e)))
                        .into()
                }))
                .wrap(security_headers())
                .wrap_fn(move |req, srv| {
                    let started = Instant::now();
                    // HSTS only where the browser really reached us over TLS.
                    let tls = crate::http::pages::session::over_tls(req.request());
                    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
                    let method = req.method().to_string();
                    let metrics = metrics.clone();
                    let lang = crate::http::errors::caller_lang(req.request());
                    let fut = srv.call(req);
                    async move {
                        let mut res = crate::http::errors::localise(fut.await?, lang);
                        if tls {
                            res.headers_mut().insert(
                                actix_web::http::header::STRICT_TRANSPORT_SECURITY,
                                actix_web::http::header::HeaderValue::from_static(
                                    "max-age=31536000; includeSubDomains",
                                ),
                            );
                        }
                        metrics.observe(
                            &route,
                            &method,
                            res.status().as_u16(),
                            started.elapsed().as_secs_f64(),
                        );
                        Ok(res)
                    }
                })
                .wrap(TracingLogger::default())
                .configure(http::routes)
                .configure(crate::http::pages::routes)
                .default_service(web::to(crate::http::pages::signin::fallback))
        })
        .listen(listener)?
        .run();
        Ok(Application {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The headers every response carries: a strict Content-Security-Policy (the pages use no
/// inline script or style), no framing, no sniffing, no referrer beyond the origin, and no
/// powerful browser features.
fn security_headers() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"))
}
