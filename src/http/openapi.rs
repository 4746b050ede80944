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
        super::api::admin::add_person,
        super::api::admin::get_person,
        super::api::admin::add_enrolment,
        super::api::admin::add_facility,
        super::api::admin::list_facilities,
        super::api::admin::get_facility,
        super::api::admin::change_status,
    ),
    modifiers(&BearerAuth)
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

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "ops", responses((status = 200, description = "OpenAPI 3 document")))]
#[get("/api/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
