//! The HTTP shell: JSON API, health and metrics, OpenAPI. Handlers authenticate, call a
//! service function on a blocking thread with a pooled connection, and map errors.
pub mod api;
pub mod auth;
pub mod errors;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod upload;

use crate::auth::JwtKeys;
use crate::config::Config;
use crate::definitions::Definitions;
use crate::error::AppResult;
use crate::service::Env;
use crate::store::{DbConn, Pool};
use actix_web::web;
use std::sync::Arc;

pub struct AppState {
    pub pool: Pool,
    pub reads: crate::store::replica::ReadRoute,
    pub defs: Arc<Definitions>,
    pub notifier: Arc<crate::mail::Notifier>,
    pub accounts: Arc<crate::service::cipher::AccountCipher>,
    pub keys: Arc<JwtKeys>,
    pub config: Arc<Config>,
    pub metrics: Arc<metrics::Metrics>,
}

pub type State = web::Data<AppState>;

/// The client's address for rate limits and the sign-in log: the TCP peer. (Behind a proxy,
/// rate-limit at the proxy too; forwarded headers are not trusted.)
pub fn client_addr(req: &actix_web::HttpRequest) -> String {
    req.peer_addr()
        .map_or_else(|| "unknown".into(), |a| a.ip().to_string())
}

/// Which database a handler's work runs on.
#[derive(Clone, Copy)]
enum Target {
    /// Writes, and reads that must see the latest state (their own writes among it).
    Primary,
    /// Reads that tolerate `read_max_lag_ms`: the replica while it keeps up.
    Replica,
}

/// Runs store or service code on the blocking pool with a connection to the primary.
pub async fn db<T, F>(state: &State, f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, Env<'_>) -> AppResult<T> + Send + 'static,
{
    run(state, Target::Primary, f).await
}

/// Runs a read that may be up to `read_max_lag_ms` stale (listings, reports, the audit
/// search) on the read replica while it keeps up, else on the primary. Nothing that writes,
/// and nothing a user reads right after their own write to check it, goes here.
pub async fn db_read<T, F>(state: &State, f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, Env<'_>) -> AppResult<T> + Send + 'static,
{
    run(state, Target::Replica, f).await
}

async fn run<T, F>(state: &State, target: Target, f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, Env<'_>) -> AppResult<T> + Send + 'static,
{
    let pool = state.pool.clone();
    let reads = state.reads.clone();
    let defs = state.defs.clone();
    let notifier = state.notifier.clone();
    let accounts = state.accounts.clone();
    let config = state.config.clone();
    web::block(move || {
        let mut conn = match target {
            Target::Primary => pool.get()?,
            Target::Replica => reads.get()?,
        };
        let env = Env::new(&defs, &notifier, &accounts, &config);
        f(&mut conn, env)
    })
    .await?
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(api::health::healthz)
        .service(api::health::readyz)
        .service(metrics::metrics_endpoint)
        .service(openapi::openapi_json)
        .service(api::auth::login)
        .service(api::auth::me)
        .service(api::auth::logout)
        .service(api::accounts::disable_user)
        .service(api::accounts::set_roles)
        .service(api::accounts::reset_password)
        .service(api::accounts::lift_lockout)
        .service(api::accounts::enable_user)
        .service(api::accounts::link_person)
        .service(api::accounts::account)
        .service(api::accounts::change_own_password)
        .service(api::claims::submit)
        .service(api::claims::my_claims)
        .service(api::claims::get_claim)
        .service(api::claims::upload_document)
        .service(api::claims::download_document)
        .service(api::claims::reject_document)
        .service(api::cases::get_case)
        .service(api::cases::take_action)
        .service(api::cases::case_events)
        .service(api::cases::override_finding)
        .service(api::workflows::list_workflows)
        .service(api::queue::list)
        .service(api::queue::next)
        .service(api::queue::claim)
        .service(api::queue::release)
        .service(api::desk::reassign_many)
        .service(api::desk::reassign_one)
        .service(api::desk::add_absence)
        .service(api::desk::reviewer_metrics)
        .service(api::desk::list_outbox)
        .service(api::admin::add_person)
        .service(api::admin::get_person)
        .service(api::admin::add_enrolment)
        .service(api::admin::add_facility)
        .service(api::admin::list_facilities)
        .service(api::admin::get_facility)
        .service(api::admin::change_status)
        .service(api::facility::list)
        .service(api::facility::get_case)
        .service(api::facility::act)
        .service(api::facility::upload)
        .service(api::facility::download)
        .service(api::facility::correct_invoice)
        .service(api::facility::dashboard)
        .service(api::facility::staff)
        .service(api::facility::add_staff)
        .service(api::facility::disclose)
        .service(api::facility::add_account)
        .service(api::facility::set_contact)
        .service(api::supervision::violation_types)
        .service(api::supervision::record_inspection)
        .service(api::supervision::add_violation)
        .service(api::supervision::get_violation)
        .service(api::supervision::upload_evidence)
        .service(api::supervision::impose_sanction)
        .service(api::supervision::record_payment)
        .service(api::supervision::decide_approval)
        .service(api::supervision::propose_write_off)
        .service(api::reports::dashboard)
        .service(api::reports::submit)
        .service(api::reports::track)
        .service(api::reports::attach)
        .service(api::reports::get_report)
        .service(api::reports::link_violation)
        .service(api::reports::pay_reward)
        .service(api::payments::get_account)
        .service(api::payments::put_account)
        .service(api::payments::claim_payment)
        .service(api::payments::create_batch)
        .service(api::payments::list_batches)
        .service(api::payments::get_batch)
        .service(api::payments::export_batch)
        .service(api::payments::import_results)
        .service(api::payments::reconciliation)
        .service(api::payments::file_appeal)
        .service(api::payments::get_appeal);
}
