//! Paying the resident over HTTP: payee accounts, a claim's payment, batches, the bank file,
//! the bank's results and reconciliation.
use crate::domain::case::Subject;
use crate::domain::payment::{Reconciliation, RowError};
use crate::error::Msg;
use crate::error::{AppError, AppResult, RuleKind};
use crate::http::auth::AuthUser;
use crate::http::{db, State};
use crate::service::payments::{
    self as svc, AccountInput, BatchReport, NewBatchRequest, PayeeAccountView, PaymentView,
    ResultSummary,
};
use crate::store::now_ms;
use crate::store::payments::BatchRow;
use actix_web::{get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};

/// A person's payee account, masked. The resident reads their own; clerks and admins anyone
/// in their region; anyone else gets 404.
#[utoipa::path(get, path = "/api/persons/{id}/payee-account", tag = "payments", security(("bearer" = [])),
    params(("id" = i64, Path, description = "person id")),
    responses((status = 200, body = Option<PayeeAccountView>), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/persons/{id}/payee-account")]
pub async fn get_account(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let v = db(&state, move |conn, _| svc::account(conn, &user.0, id)).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Sets a person's payee account (the number is validated, stored encrypted, shown masked).
/// Failed or returned payments of the person go back to payable.
#[utoipa::path(put, path = "/api/persons/{id}/payee-account", tag = "payments", security(("bearer" = [])),
    params(("id" = i64, Path, description = "person id")), request_body = AccountInput,
    responses((status = 200, body = PayeeAccountView), (status = 404, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[put("/api/persons/{id}/payee-account")]
pub async fn put_account(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<AccountInput>,
) -> AppResult<HttpResponse> {
    let (id, input) = (id.into_inner(), body.into_inner());
    let v = db(&state, move |conn, env| {
        svc::set_account(conn, env, &user.0, id, &input, now_ms())
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// A claim's payment: amount, status, and "paid on DATE to ****1234" once paid.
#[utoipa::path(get, path = "/api/claims/{id}/payment", tag = "payments", security(("bearer" = [])),
    params(("id" = i64, Path, description = "claim id")),
    responses((status = 200, body = Option<PaymentView>), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/claims/{id}/payment")]
pub async fn claim_payment(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let v = db(&state, move |conn, _| {
        crate::service::scope::case_of(conn, &user.0, Subject::Claim(id))?;
        svc::payment_view(conn, id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedBatch {
    pub batch: BatchRow,
    /// Payable claims left out because their person has no payee account yet.
    pub waiting_for_account: usize,
}

/// Creates a payment batch from the payable claims of a region up to a cut-off (supervisor).
#[utoipa::path(post, path = "/api/payment-batches", tag = "payments", security(("bearer" = [])),
    request_body = NewBatchRequest,
    responses((status = 201, body = CreatedBatch), (status = 403, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/payment-batches")]
pub async fn create_batch(
    state: State,
    user: AuthUser,
    body: web::Json<NewBatchRequest>,
) -> AppResult<HttpResponse> {
    let req = body.into_inner();
    let (batch, waiting) = db(&state, move |conn, _| {
        svc::create_batch(conn, &user.0, &req, now_ms())
    })
    .await?;
    Ok(HttpResponse::Created().json(CreatedBatch {
        batch,
        waiting_for_account: waiting,
    }))
}

/// Payment batches in the caller's region, newest first.
#[utoipa::path(get, path = "/api/payment-batches", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = Vec<BatchRow>), (status = 403, body = crate::http::errors::ErrorBody)))]
#[get("/api/payment-batches")]
pub async fn list_batches(state: State, user: AuthUser) -> AppResult<HttpResponse> {
    let v = db(&state, move |conn, _| svc::batches(conn, &user.0)).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// A batch with its items and their results: total = paid + pending + failed + returned.
#[utoipa::path(get, path = "/api/payment-batches/{id}", tag = "payments", security(("bearer" = [])),
    params(("id" = i64, Path, description = "batch id")),
    responses((status = 200, body = BatchReport), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/payment-batches/{id}")]
pub async fn get_batch(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let v = db(&state, move |conn, _| svc::batch_report(conn, &user.0, id)).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// The bank file of a batch (CSV, columns in the README, a control row last). The first
/// export locks the batch; a repeat returns the same file and changes nothing.
#[utoipa::path(post, path = "/api/payment-batches/{id}/export", tag = "payments", security(("bearer" = [])),
    params(("id" = i64, Path, description = "batch id")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody)))]
#[post("/api/payment-batches/{id}/export")]
pub async fn export_batch(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let export = db(&state, move |conn, env| {
        svc::export_as(conn, env, &user.0, id, now_ms())
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"payment-batch-{id}.csv\""),
        ))
        .insert_header(("X-Claimflow-First-Export", export.first.to_string()))
        .body(export.csv))
}

/// Why a result file was refused, every row at once, in both languages.
pub fn rejected(errors: &[RowError]) -> AppError {
    let zh: Vec<String> = errors
        .iter()
        .map(|e| crate::messages::row_error_text(e, "zh-CN"))
        .collect();
    let en: Vec<String> = errors
        .iter()
        .map(|e| crate::messages::row_error_text(e, "en"))
        .collect();
    AppError::rule_msg(
        RuleKind::Invalid,
        "bank_result_rejected",
        Msg::new("rule-bank-result-rejected").both("problems", zh.join("；"), en.join("; ")),
    )
}

/// Applies the bank's result file (CSV body: reference,status,date,amount_yuan,reason).
/// Any bad row and nothing is applied; a repeated file changes nothing.
#[utoipa::path(post, path = "/api/payment-results", tag = "payments", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ResultSummary), (status = 403, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/payment-results")]
pub async fn import_results(state: State, user: AuthUser, body: String) -> AppResult<HttpResponse> {
    let summary = db(&state, move |conn, env| {
        svc::import_as(conn, env, &user.0, &body, now_ms())?.map_err(|errors| rejected(&errors))
    })
    .await?;
    Ok(HttpResponse::Ok().json(summary))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// First day, YYYY-MM-DD (UTC).
    pub from: String,
    /// Day after the last, YYYY-MM-DD (UTC).
    pub to: String,
}

fn day_ms(field: &'static str, s: &str) -> AppResult<i64> {
    crate::domain::dates::parse_iso_date(s)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .ok_or_else(|| {
            AppError::rule_on_msg(
                field,
                "bad_date",
                Msg::new("rule-bad-date").text("value", s.to_string()),
            )
        })
}

/// Reconciliation of the claims approved in a period: approved = paid + in flight + failed,
/// to the fen, with every difference listed.
#[utoipa::path(get, path = "/api/payments/reconciliation", tag = "payments", security(("bearer" = [])),
    params(PeriodQuery),
    responses((status = 200, body = Reconciliation), (status = 403, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[get("/api/payments/reconciliation")]
pub async fn reconciliation(
    state: State,
    user: AuthUser,
    q: web::Query<PeriodQuery>,
) -> AppResult<HttpResponse> {
    let (from, to) = (day_ms("from", &q.from)?, day_ms("to", &q.to)?);
    let v = db(&state, move |conn, _| {
        svc::period_report(conn, &user.0, from, to)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Appeals against a claim decision (申诉): the resident, or a clerk for them, within
/// `appeal_days` of the decision. Opens a re-review on the `appeal` workflow.
#[utoipa::path(post, path = "/api/claims/{id}/appeal", tag = "appeals", security(("bearer" = [])),
    params(("id" = i64, Path, description = "claim id")), request_body = crate::service::appeals::AppealInput,
    responses((status = 201, body = crate::service::appeals::AppealView), (status = 403, body = crate::http::errors::ErrorBody),
        (status = 404, body = crate::http::errors::ErrorBody), (status = 409, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/claims/{id}/appeal")]
pub async fn file_appeal(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<crate::service::appeals::AppealInput>,
) -> AppResult<HttpResponse> {
    let (id, input) = (id.into_inner(), body.into_inner());
    let v = db(&state, move |conn, env| {
        crate::service::appeals::file(conn, env, &user.0, id, &input, now_ms())
    })
    .await?;
    Ok(HttpResponse::Created().json(v))
}

/// The appeal of a claim, if one was filed: its case, stage, outcome and the deadline.
#[utoipa::path(get, path = "/api/claims/{id}/appeal", tag = "appeals", security(("bearer" = [])),
    params(("id" = i64, Path, description = "claim id")),
    responses((status = 200, body = Option<crate::service::appeals::AppealView>), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/claims/{id}/appeal")]
pub async fn get_appeal(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let v = db(&state, move |conn, env| {
        crate::service::appeals::of_claim(conn, &user.0, id, env.appeal_days)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}
