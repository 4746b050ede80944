//! The finance desk: payment batches with their bank files and results, and this month's
//! reconciliation charted (approved = paid + in flight + failed).
use super::ctx::{see_other, Ctx, PageError};
use super::{svg, yuan};
use crate::domain::roles::Role;
use crate::error::{AppError, RuleKind};
use crate::http::upload::{read_upload, refuse_declared_oversize};
use crate::service::payments::{self as svc, NewBatchRequest};
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::Datelike;
use serde::Deserialize;
use serde_json::{json, Value};

const READERS: &[Role] = &[Role::Supervisor, Role::Director, Role::Auditor];

/// The first of this month and of the next, in Unix ms (UTC).
fn this_month(now_ms: i64) -> (i64, i64) {
    let today = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    let ms = |d: chrono::NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp_millis()
    };
    (ms(first), ms(next))
}

async fn desk(
    ctx: &Ctx,
    error: Option<String>,
    notice: Option<String>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(READERS)?;
    let now = crate::store::now_ms();
    let (from, to) = this_month(now);
    let (batches, rec) = ctx
        .db(move |conn, _| {
            Ok((
                svc::batches(conn, &user)?,
                svc::period_report(conn, &user, from, to)?,
            ))
        })
        .await?;
    let rows: Vec<Value> = batches
        .iter()
        .map(|b| {
            json!({
                "id": b.id, "region": b.region_code, "status": b.status,
                "status_label": ctx.t(&format!("payments.status_{}", b.status)),
                "count": b.item_count, "total": yuan(b.total_fen), "created": ctx.when(b.created_at),
            })
        })
        .collect();
    let parts = [
        (
            format!("{} {}", ctx.t("payments.paid"), yuan(rec.paid_fen)),
            rec.paid_fen,
            "s1",
        ),
        (
            format!(
                "{} {}",
                ctx.t("payments.in_flight"),
                yuan(rec.in_flight_fen)
            ),
            rec.in_flight_fen,
            "s2",
        ),
        (
            format!("{} {}", ctx.t("payments.failed"), yuan(rec.failed_fen)),
            rec.failed_fen,
            "s4",
        ),
    ];
    let differences: Vec<Value> = rec
        .differences
        .iter()
        .map(|d| json!({"claim_id": d.claim_id, "text": ctx.pick(&d.zh, &d.en)}))
        .collect();
    let view = json!({
        "batches": rows,
        "region": ctx.user.as_ref().map(|u| u.region.clone()),
        "can_act": ctx.user.as_ref().is_some_and(|u| u.has(Role::Supervisor)),
        "approved": yuan(rec.approved_fen),
        "approved_count": rec.approved_count,
        "balances": rec.balances(),
        "chart": svg::split_bar(&ctx.t("payments.reconciliation"), &parts),
        "differences": differences,
        "error": error,
        "notice": notice,
    });
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    ctx.page_titled("payments", ctx.t("payments.title"), view, status)
}

#[get("/payments")]
pub async fn payments_desk(ctx: Ctx) -> Result<HttpResponse, PageError> {
    desk(&ctx, None, None).await
}

#[derive(Deserialize)]
pub struct BatchForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    region: String,
    /// The last day (the agency's local day) whose approvals go in; empty for now.
    #[serde(default)]
    cutoff: String,
}

/// The text of a refusal a person can correct, in their language; anything else fails the page.
fn correctable(ctx: &Ctx, e: AppError) -> Result<String, PageError> {
    match e {
        AppError::Rule(r) if r.kind == RuleKind::Invalid || r.kind == RuleKind::Conflict => {
            Ok(ctx.pick(&r.zh, &r.en).to_string())
        }
        other => Err(ctx.fail(other)),
    }
}

#[post("/payments")]
pub async fn create_batch(ctx: Ctx, form: web::Form<BatchForm>) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Supervisor])?;
    ctx.check_csrf(&form.csrf)?;
    let cutoff = form.cutoff.trim();
    let cutoff_ms = match (
        cutoff.is_empty(),
        crate::domain::dates::parse_iso_date(cutoff)
            .map(|d| ctx.state.defs.calendar().end_of_date(d)),
    ) {
        (true, _) => None,
        (false, Some(ms)) => Some(ms),
        (false, None) => {
            let msg = ctx.pick(
                "截止日期应为 YYYY-MM-DD 格式的日期",
                "the cut-off must be a date, YYYY-MM-DD",
            );
            return desk(&ctx, Some(msg.to_string()), None).await;
        }
    };
    let req = NewBatchRequest {
        region: form.region.trim().to_string(),
        cutoff_ms,
    };
    let made = ctx
        .db(move |conn, _| Ok(svc::create_batch(conn, &user, &req, crate::store::now_ms())))
        .await?;
    match made {
        Ok((batch, _)) => Ok(see_other(&format!("/payments/{}", batch.id))),
        Err(e) => desk(&ctx, Some(correctable(&ctx, e)?), None).await,
    }
}

#[get("/payments/{id}")]
pub async fn batch_page(ctx: Ctx, id: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let user = ctx.require(READERS)?;
    let id = id.into_inner();
    let report = ctx
        .db(move |conn, _| svc::batch_report(conn, &user, id))
        .await?;
    let items: Vec<Value> = report
        .items
        .iter()
        .map(|i| {
            json!({
                "reference": i.reference, "claim_id": i.claim_id, "holder": i.holder,
                "account": crate::domain::payment::masked(&i.account_last4),
                "amount": yuan(i.amount_fen),
                "result": ctx.t(&format!("payments.result_{}", i.result)),
                "result_on": i.result_on, "reason": i.reason,
            })
        })
        .collect();
    let b = &report.batch;
    let view = json!({
        "id": b.id, "region": b.region_code, "open": b.status == "open",
        "status_label": ctx.t(&format!("payments.status_{}", b.status)),
        "count": b.item_count, "total": yuan(b.total_fen), "sha256": b.file_sha256,
        "paid": yuan(report.paid_fen), "pending": yuan(report.pending_fen),
        "failed": yuan(report.failed_fen), "returned": yuan(report.returned_fen),
        "balances": report.balances, "items": items,
        "can_act": ctx.user.as_ref().is_some_and(|u| u.has(Role::Supervisor)),
    });
    ctx.page_titled(
        "payment_batch",
        format!("{} #{}", ctx.t("payments.batch"), b.id),
        view,
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(rename = "_csrf")]
    csrf: String,
}

/// The bank file as a download; the first export locks the batch.
#[post("/payments/{id}/export")]
pub async fn export(
    ctx: Ctx,
    id: web::Path<i64>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Supervisor])?;
    ctx.check_csrf(&form.csrf)?;
    let id = id.into_inner();
    let export = ctx
        .db(move |conn, env| svc::export_as(conn, env, &user, id, crate::store::now_ms()))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"payment-batch-{id}.csv\""),
        ))
        .body(export.csv))
}

/// The bank's result file, uploaded: applied whole, or every bad row listed on the page.
#[post("/payments/results")]
pub async fn results(
    ctx: Ctx,
    req: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Supervisor])?;
    let limit = ctx.state.config.upload_max_bytes;
    refuse_declared_oversize(&req, limit).map_err(|e| ctx.fail(e))?;
    let upload = read_upload(form, limit).await.map_err(|e| ctx.fail(e))?;
    ctx.check_csrf(upload.csrf.as_deref().unwrap_or_default())?;
    let Ok(text) = String::from_utf8(upload.bytes) else {
        let msg = ctx.pick(
            "银行结果文件应为 UTF-8 编码的 CSV 文本",
            "the bank result file must be CSV text in UTF-8",
        );
        return desk(&ctx, Some(msg.to_string()), None).await;
    };
    let applied = ctx
        .db(move |conn, env| svc::import_as(conn, env, &user, &text, crate::store::now_ms()))
        .await?;
    match applied {
        Ok(s) => {
            let notice = ctx
                .t("payments.applied")
                .replace("{paid}", &s.paid.to_string())
                .replace("{failed}", &s.failed.to_string())
                .replace("{returned}", &s.returned.to_string())
                .replace("{unchanged}", &s.unchanged.to_string());
            desk(&ctx, None, Some(notice)).await
        }
        Err(errors) => {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| crate::messages::row_error_text(e, ctx.lang))
                .collect();
            desk(
                &ctx,
                Some(format!(
                    "{} {}",
                    ctx.t("payments.nothing_applied"),
                    lines.join("; ")
                )),
                None,
            )
            .await
        }
    }
}
