//! The OpenAPI 3 document, generated from the handlers' annotations.
use actix_web::{get, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "claimflow API", description = "Manual medical-insurance claims review and fund supervision. Money is integer fen; times are ms since the epoch."),
    paths(
        super::api::health::healthz,
        super::api::health::readyz,
        super::metrics::metrics_endpoint,
        openapi_json,
        super::api::auth::login,
        super::api::auth::me,
        super::api::auth::logout,
        super::api::accounts::disable_user,
        super::api::accounts::set_roles,
        super::api::accounts::reset_password,
        super::api::accounts::lift_lockout,
        super::api::accounts::enable_user,
        super::api::accounts::link_person,
        super::api::accounts::account,
        super::api::accounts::change_own_password,
        super::api::claims::submit,
        super::api::claims::my_claims,
        super::api::claims::get_claim,
        super::api::claims::upload_document,
        super::api::claims::download_document,
        super::api::claims::reject_document,
        super::api::cases::get_case,
        super::api::cases::take_action,
        super::api::cases::case_events,
        super::api::cases::override_finding,
        super::api::workflows::list_workflows,
        super::api::queue::list,
        super::api::queue::next,
        super::api::queue::claim,
        super::api::queue::release,
        super::api::desk::reassign_many,
        super::api::desk::reassign_one,
        super::api::desk::add_absence,
        super::api::desk::reviewer_metrics,
        super::api::desk::list_outbox,
        super::api::supervision::violation_types,
        super::api::supervision::record_inspection,
        super::api::supervision::add_violation,
        super::api::supervision::get_violation,
        super::api::supervision::upload_evidence,
        super::api::supervision::impose_sanction,
        super::api::supervision::record_payment,
        super::api::supervision::decide_approval,
        super::api::supervision::propose_write_off,
        super::api::reports::dashboard,
        super::api::reports::submit,
        super::api::reports::track,
        super::api::reports::attach,
        super::api::reports::get_report,
        super::api::reports::link_violation,
        super::api::reports::pay_reward,
        super::api::payments::get_account,
        super::api::payments::put_account,
        super::api::payments::claim_payment,
        super::api::payments::create_batch,
        super::api::payments::list_batches,
        super::api::payments::get_batch,
        super::api::payments::export_batch,
        super::api::payments::import_results,
        super::api::payments::reconciliation,
        super::api::payments::file_appeal,
        super::api::payments::get_appeal,
        super::api::admin::add_person,
        super::api::admin::get_person,
        super::api::admin::add_enrolment,
        super::api::admin::add_facility,
        super::api::admin::list_facilities,
        super::api::admin::get_facility,
        super::api::admin::change_status,
        super::api::facility::list,
        super::api::facility::get_case,
        super::api::facility::act,
        super::api::facility::upload,
        super::api::facility::download,
        super::api::facility::correct_invoice,
        super::api::facility::dashboard,
        super::api::facility::staff,
        super::api::facility::add_staff,
        super::api::facility::disclose,
        super::api::facility::add_account,
        super::api::facility::set_contact,
    ),
    modifiers(&BearerAuth, &SharedErrors)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The errors every handler can answer through the shared extractors, declared on each
/// operation that uses them, so that the document lists every 4xx an operation returns:
/// - 401 from the bearer check (and 403 from the role check that follows it);
/// - 404 from a path id that does not parse or names nothing;
/// - 400 and 422 from a query string of the wrong shape or out of range;
/// - 400, 413, 415 and 422 from a JSON or multipart body that is malformed, too large, of
///   another type, or whose fields are wrong.
struct SharedErrors;

impl SharedErrors {
    const TEXT: [(&'static str, &'static str); 7] = [
        ("400", "malformed request (query string or body)"),
        ("401", "no valid session: sign in again"),
        ("403", "your role or region may not do this"),
        ("404", "no such resource, or not one you may see"),
        ("413", "the body is larger than allowed"),
        ("415", "the body is not of the documented type"),
        ("422", "field errors, each naming its field"),
    ];

    fn response(code: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let text = Self::TEXT
            .iter()
            .find(|(c, _)| *c == code)
            .map_or("error", |(_, t)| t);
        ResponseBuilder::new()
            .description(text)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
            .into()
    }
}

impl Modify for SharedErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{Operation, ParameterIn};
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/api/") || path == "/api/openapi.json" {
                continue;
            }
            let ops: [&mut Option<Operation>; 4] = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                let has = |op: &Operation, place: ParameterIn| {
                    op.parameters
                        .iter()
                        .flatten()
                        .any(|p| p.parameter_in == place)
                };
                let mut codes = Vec::new();
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    codes.extend(["401", "403"]);
                }
                if has(op, ParameterIn::Path) || path.contains('{') {
                    codes.push("404");
                }
                if has(op, ParameterIn::Query) {
                    codes.extend(["400", "422"]);
                }
                if op.request_body.is_some() {
                    codes.extend(["400", "413", "415", "422"]);
                }
                for code in codes {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| Self::response(code));
                }
            }
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "ops", responses((status = 200, description = "OpenAPI 3 document")))]
#[get("/api/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    /// utoipa names a schema after its type alone: two types of one name would share one
    /// schema, and the document would describe one response with the other's fields (the
    /// facility's dashboard once replaced the supervisor's). Every type deriving `ToSchema`
    /// has a name of its own, unless the two have the same fields.
    #[test]
    fn every_schema_name_is_one_type() {
        fn walk(dir: &Path, found: &mut HashMap<String, Vec<(String, String)>>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, found);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let mut derives_schema = false;
                let lines: Vec<&str> = text.lines().collect();
                for (i, line) in lines.iter().enumerate() {
                    let line = line.trim();
                    if line.starts_with("#[derive(") {
                        derives_schema = line.contains("ToSchema");
                        continue;
                    }
                    let item = line
                        .strip_prefix("pub struct ")
                        .or_else(|| line.strip_prefix("pub enum "));
                    if let (true, Some(rest)) = (derives_schema, item) {
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        // The body up to its closing brace, without comments: the shape.
                        let shape: String = lines[i..]
                            .iter()
                            .take_while(|l| !l.starts_with('}'))
                            .map(|l| l.trim())
                            .filter(|l| !l.starts_with("//") && !l.starts_with("#["))
                            .collect::<Vec<_>>()
                            .join(" ");
                        found
                            .entry(name)
                            .or_default()
                            .push((path.display().to_string(), shape));
                    }
                    if !line.starts_with("#[") && !line.starts_with("///") {
                        derives_schema = false;
                    }
                }
            }
        }
        let mut found = HashMap::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(
            found.len() > 50,
            "the scan finds the schemas: {}",
            found.len()
        );
        let clashes: Vec<_> = found
            .iter()
            .filter(|(_, types)| types.iter().any(|t| t.1 != types[0].1))
            .collect();
        assert!(
            clashes.is_empty(),
            "schema names used by different types: {clashes:#?}"
        );
    }
}
