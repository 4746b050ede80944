//! The browser interface: server-rendered pages from `templates/web/*.hbs` with strings from
//! `locales/`, in Simplified Chinese by default and English. Pages call the same services as
//! the API; these modules only read forms, check the session and CSRF, and render.
pub mod accounts;
pub mod admin;
pub mod audit;
mod case_documents;
mod case_page;
mod claim_forms;
pub mod ctx;
mod decision;
mod evidence;
pub mod facility_desk;
pub mod i18n;
mod inbox;
pub mod inspect;
pub mod intake;
pub mod listing;
mod payment;
mod payments;
pub mod public;
mod recoveries;
mod recovery_view;
pub mod report_desk;
mod resident;
mod review;
pub mod session;
pub mod signin;
pub mod svg;
pub mod team;
pub mod violations;
pub mod whatif;

use crate::auth::Principal;
use crate::domain::roles::Role;
use handlebars::Handlebars;
use serde::Serialize;
use serde_json::{json, Value};
use std::path::Path;

/// Shared pieces: the frame around every page, and a labelled form field with its error.
pub const PARTIALS: [&str; 5] = ["layout", "field", "audit_tabs", "doc_upload", "decision"];

/// Every page template; each is checked at start, so a broken one stops the service
/// instead of failing a user.
pub const PAGES: [&str; 38] = [
    "whatif",
    "whatif_run",
    "facility_home",
    "facility_case",
    "facility_staff",
    "case_confirm",
    "reassign",
    "intake",
    "login",
    "payments",
    "payment_batch",
    "error",
    "my_claims",
    "claim",
    "letter",
    "new_claim",
    "queue",
    "case",
    "admin_workflows",
    "facilities",
    "team",
    "audit",
    "audit_violations",
    "audit_claims",
    "audit_events",
    "report",
    "report_done",
    "report_track",
    "facility",
    "inspection_new",
    "violation_new",
    "violation",
    "admin_registry",
    "admin_user",
    "account_password",
    "reports",
    "report_case",
    "inbox",
];

pub struct WebUi {
    templates: Handlebars<'static>,
    catalogs: Vec<(&'static str, i18n::Catalog)>,
    /// Each catalog as the nested JSON a template reads (`{{t.login.title}}`), built once.
    strings: Vec<(&'static str, Value)>,
    pub css: String,
}

impl WebUi {
    /// Loads templates, locales and the stylesheet; every problem is reported with its path.
    pub fn load(
        templates_dir: &Path,
        locales_dir: &Path,
        static_dir: &Path,
    ) -> Result<WebUi, Vec<String>> {
        let mut errors = Vec::new();
        let mut templates = Handlebars::new();
        // Strict: a misspelt field or string key is an error, never an empty gap on a page.
        templates.set_strict_mode(true);
        for name in PARTIALS.into_iter().chain(PAGES) {
            let path = templates_dir.join(format!("{name}.hbs"));
            match std::fs::read_to_string(&path) {
                Ok(source) => {
                    let registered = if PARTIALS.contains(&name) {
                        templates.register_partial(name, source)
                    } else {
                        templates.register_template_string(name, source)
                    };
                    if let Err(e) = registered {
                        errors.push(format!("{}: {e}", path.display()));
                    }
                }
                Err(e) => errors.push(format!("{}: cannot read: {e}", path.display())),
            }
        }
        let catalogs = match i18n::load(locales_dir) {
            Ok(c) => c,
            Err(e) => {
                errors.extend(e);
                Vec::new()
            }
        };
        let css = std::fs::read_to_string(static_dir.join("app.css")).unwrap_or_else(|e| {
            errors.push(format!(
                "{}: cannot read: {e}",
                static_dir.join("app.css").display()
            ));
            String::new()
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        let strings = catalogs.iter().map(|(l, c)| (*l, c.to_json())).collect();
        Ok(WebUi {
            templates,
            catalogs,
            strings,
            css,
        })
    }

    /// The string `key` in `lang`. A missing key shows as `⟦key⟧`: loud on the page and
    /// caught by the browser tests, rather than a blank.
    pub fn text(&self, lang: &str, key: &str) -> String {
        self.lookup(lang, key)
            .map_or_else(|| format!("⟦{key}⟧"), str::to_string)
    }

    pub fn has(&self, lang: &str, key: &str) -> bool {
        self.lookup(lang, key).is_some()
    }

    fn lookup(&self, lang: &str, key: &str) -> Option<&str> {
        self.catalogs
            .iter()
            .find(|(l, _)| *l == lang)
            .and_then(|(_, c)| c.get(key))
    }

    /// Renders `page` inside the layout. `view` is the page's own data; the frame (strings,
    /// language, navigation, user, CSRF token) is added here.
    pub fn render(
        &self,
        page: &str,
        frame: &Frame,
        view: Value,
    ) -> Result<String, handlebars::RenderError> {
        let strings = self
            .strings
            .iter()
            .find(|(l, _)| *l == frame.lang)
            .map_or(Value::Null, |(_, s)| s.clone());
        let mut data = json!({
            "t": strings,
            "lang": frame.lang,
            "other_lang": other_lang(frame.lang),
            "title": frame.title,
            "path": frame.path,
            "csrf": frame.csrf,
            "session_csrf": frame.session_csrf,
            "user": frame.user.as_ref().map(|u| json!({"display_name": u.display_name, "username": u.username})),
            "nav": navigation(self, frame),
            "flash": frame.flash.as_ref().map(|(kind, text)| json!({"kind": kind, "text": text})),
            "unread": frame.unread,
        });
        if let (Some(data), Value::Object(view)) = (data.as_object_mut(), view) {
            data.extend(view);
        }
        self.templates.render(page, &data)
    }
}

/// What every page's frame needs to know about the request.
pub struct Frame {
    pub lang: &'static str,
    pub title: String,
    pub path: String,
    pub csrf: String,
    /// The signed-in session's token, for the header's sign-out form: a public page's own
    /// forms carry another token.
    pub session_csrf: String,
    pub user: Option<Principal>,
    pub flash: Option<(&'static str, String)>,
    pub unread: i64,
}

fn other_lang(lang: &str) -> Value {
    match lang {
        "en" => json!({"code": "zh-CN", "label": "中文"}),
        _ => json!({"code": "en", "label": "English"}),
    }
}

#[derive(Serialize)]
struct NavItem {
    href: &'static str,
    label: String,
    current: bool,
}

/// The links a user's roles open, in a fixed order; a page the role may not see is not
/// offered (and refused if typed in).
fn navigation(ui: &WebUi, frame: &Frame) -> Vec<NavItem> {
    let Some(user) = &frame.user else {
        return [("/report", "nav.report"), ("/report/track", "nav.track")]
            .into_iter()
            .map(|(href, key)| NavItem {
                href,
                label: ui.text(frame.lang, key),
                current: frame.path.split('?').next() == Some(href),
            })
            .collect();
    };
    let links: [(&'static str, &str, &[Role]); 15] = [
        ("/my/claims", "nav.my_claims", &[Role::Resident]),
        ("/my/claims/new", "nav.new_claim", &[Role::Resident]),
        ("/intake", "nav.intake", intake::INTAKE_ROLES),
        ("/queue", "nav.queue", review::QUEUE_ROLES),
        ("/team", "nav.team", &[Role::Supervisor]),
        (
            "/payments",
            "nav.payments",
            &[Role::Supervisor, Role::Director, Role::Auditor],
        ),
        ("/facilities", "nav.facilities", inspect::INSPECT_ROLES),
        ("/reports", "nav.reports", report_desk::DESK_ROLES),
        ("/audit", "nav.audit", audit::AUDIT_ROLES),
        ("/whatif", "nav.whatif", whatif::WHATIF_ROLES),
        ("/admin/workflows", "nav.workflows", admin::ADMIN_ROLES),
        ("/admin/registry", "nav.registry", &[Role::Admin]),
        ("/report", "nav.report", &[Role::Resident]),
        (
            "/facility",
            "nav.facility_desk",
            facility_desk::FACILITY_ROLES,
        ),
        (
            "/facility/staff",
            "nav.facility_staff",
            &[Role::FacilityAdmin],
        ),
    ];
    let path = frame.path.split('?').next().unwrap_or_default();
    // The most specific link that matches is the current one (`/my/claims/new` over `/my/claims`).
    let current = links
        .iter()
        .filter(|(href, _, _)| path == *href || path.starts_with(&format!("{href}/")))
        .map(|(href, _, _)| *href)
        .max_by_key(|href| href.len());
    links
        .into_iter()
        .filter(|(_, _, roles)| roles.iter().any(|r| user.has(*r)))
        .map(|(href, key, _)| NavItem {
            href,
            label: ui.text(frame.lang, key),
            current: current == Some(href),
        })
        .collect()
}

/// Routes of the browser interface. `/my/claims/new` comes before `/my/claims/{id}`.
pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.service(signin::index)
        .service(signin::stylesheet)
        .service(signin::login_form)
        .service(signin::login)
        .service(signin::logout)
        .service(signin::switch_lang)
        .service(resident::my_claims)
        .service(resident::new_claim_form)
        .service(resident::submit_claim)
        .service(intake::search)
        .service(intake::new_claim)
        .service(intake::submit)
        .service(resident::claim_page)
        .service(resident::letter)
        .service(resident::upload)
        .service(resident::resubmit)
        .service(claim_forms::set_account)
        .service(claim_forms::file_appeal)
        .service(whatif::whatif_desk)
        .service(whatif::upload_draft)
        .service(whatif::run_page)
        .service(whatif::start)
        .service(payments::payments_desk)
        .service(payments::create_batch)
        .service(payments::results)
        .service(payments::batch_page)
        .service(payments::export)
        .service(review::queue_page)
        .service(review::queue_csv)
        .service(review::next_case)
        .service(case_page::case_page)
        .service(case_page::act)
        .service(case_page::override_finding)
        .service(case_documents::add_document)
        .service(case_documents::reject_document)
        .service(case_documents::document)
        .service(facility_desk::home)
        .service(facility_desk::case)
        .service(facility_desk::act)
        .service(facility_desk::upload)
        .service(facility_desk::correct_invoice)
        .service(facility_desk::staff)
        .service(facility_desk::add_staff)
        .service(admin::workflows)
        .service(inspect::facilities_page)
        .service(inspect::facilities_csv)
        .service(team::board)
        .service(team::board_csv)
        .service(team::reassign)
        .service(team::reassign_review)
        .service(audit::search_page)
        .service(audit::cases_csv)
        .service(audit::claims_page)
        .service(audit::claims_csv)
        .service(audit::events_page)
        .service(audit::events_csv)
        .service(audit::violations_page)
        .service(audit::violations_csv)
        .service(public::report_page)
        .service(public::submit_report)
        .service(public::track)
        .service(public::track_post)
        .service(public::attach)
        .service(violations::facility_page)
        .service(violations::new_inspection)
        .service(violations::record_inspection)
        .service(violations::new_violation)
        .service(violations::log_violation)
        .service(violations::violation)
        .service(evidence::upload_evidence)
        .service(evidence::disclose)
        .service(violations::sanction)
        .service(recoveries::record_payment)
        .service(inbox::inbox_page)
        .service(inbox::open_item)
        .service(inbox::read_all)
        .service(report_desk::triage)
        .service(report_desk::report)
        .service(report_desk::link)
        .service(report_desk::pay_reward)
        .service(report_desk::evidence)
        .service(recoveries::propose_write_off)
        .service(recoveries::decide)
        .service(admin::registry_page_get)
        .service(admin::add_facility)
        .service(admin::change_status)
        .service(admin::set_contact)
        .service(admin::add_user)
        .service(accounts::account_get)
        .service(accounts::account_post)
        .service(accounts::password_get)
        .service(accounts::password_post)
        .service(admin::add_region);
}

/// A form's field errors with every field of the form present (null when it has none), so
/// that strict templates can pass `errors.<field>` to the field partial.
pub fn field_errors_for(mut errors: serde_json::Map<String, Value>, fields: &[&str]) -> Value {
    for f in fields {
        errors.entry(f.to_string()).or_insert(Value::Null);
    }
    Value::Object(errors)
}

/// An amount typed in yuan ("12,500.50", "0.5") as exact fen; the error is a locale key.
/// At most two decimals: rounding what a person typed would change what they claimed.
pub fn yuan_to_fen(text: &str) -> Result<i64, &'static str> {
    use rust_decimal::prelude::ToPrimitive;
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | ' '))
        .collect();
    if cleaned.is_empty() {
        return Err("errors.required");
    }
    let value: rust_decimal::Decimal = cleaned.parse().map_err(|_| "errors.amount")?;
    if value.is_sign_negative() || value.scale() > 2 {
        return Err("errors.amount");
    }
    (value * rust_decimal::Decimal::ONE_HUNDRED)
        .to_i64()
        .filter(|fen| *fen <= 100_000_000_000)
        .ok_or("errors.amount")
}

/// Money for people: fen as yuan with two decimals and thousands separators.
pub fn yuan(fen: i64) -> String {
    crate::domain::money::Fen(fen).yuan_text()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_groups_thousands_and_keeps_the_fen() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(123_456_789), "1,234,567.89");
        assert_eq!(yuan(-100_000), "-1,000.00");
    }

    #[test]
    fn yuan_typed_by_people_becomes_exact_fen() {
        assert_eq!(yuan_to_fen("12,500.50"), Ok(1_250_050));
        assert_eq!(yuan_to_fen(" 0.5 "), Ok(50));
        assert_eq!(yuan_to_fen("3"), Ok(300));
        assert_eq!(yuan_to_fen("1.005"), Err("errors.amount"));
        assert_eq!(yuan_to_fen("-1"), Err("errors.amount"));
        assert_eq!(yuan_to_fen("abc"), Err("errors.amount"));
        assert_eq!(yuan_to_fen(""), Err("errors.required"));
    }

    #[test]
    fn shipped_templates_and_locales_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let ui = WebUi::load(
            &root.join("templates/web"),
            &root.join("locales"),
            &root.join("static"),
        )
        .unwrap_or_else(|e| panic!("{}", e.join("\n")));
        let frame = Frame {
            lang: "zh-CN",
            title: "登录".into(),
            path: "/login".into(),
            csrf: "x".into(),
            session_csrf: "x".into(),
            user: None,
            flash: None,
            unread: 0,
        };
        let html = ui
            .render(
                "login",
                &frame,
                json!({"failed": false, "username": "", "errors": {}, "next": "/"}),
            )
            .unwrap();
        assert!(
            html.contains("<html lang=\"zh-CN\">") && html.contains("用户名"),
            "{html}"
        );
        assert!(!html.contains("{{"), "{html}");
        // Every letter about a case also lands in the inbox, which names it in both languages.
        let inbox_kinds = crate::mail::templates::TEMPLATES
            .into_iter()
            .filter(|t| *t != "digest")
            .chain(["documents_arrived"]);
        for kind in inbox_kinds {
            for lang in ["zh-CN", "en"] {
                assert!(
                    ui.has(lang, &format!("inbox.kind_{kind}")),
                    "{lang}: inbox {kind}"
                );
            }
        }
        for action in audit::SYSTEM_ACTIONS {
            for lang in ["zh-CN", "en"] {
                assert!(
                    ui.has(lang, &format!("actions.{action}")),
                    "{lang}: {action}"
                );
            }
        }
    }
}
