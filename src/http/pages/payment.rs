//! The money on the resident's claim page: the one bill with its layers (charted), where the
//! payment stands, and the payee account form.
use super::ctx::{see_other, Ctx, PageError};
use super::{svg, yuan};
use crate::domain::case::Subject;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::service::payments::{self, AccountInput};
use crate::service::views::claim::ClaimDetail;
use actix_web::http::StatusCode;
use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The bill's parts in yuan, with a split bar: what each layer paid and what is left.
pub fn bill_fields(ctx: &Ctx, d: &ClaimDetail) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(b) = d
        .breakdown
        .as_ref()
        .map(|b| &b.bill)
        .filter(|b| b.total_fen > 0)
    else {
        return out;
    };
    let parts = [
        (ctx.t("bill.fund"), b.fund_fen, "s1"),
        (ctx.t("bill.catastrophic"), b.catastrophic_fen, "s2"),
        (ctx.t("bill.assistance"), b.assistance_fen, "s3"),
        (ctx.t("bill.self_pay"), b.self_pay_fen, "s4"),
    ];
    let labelled: Vec<(String, i64, &str)> = parts
        .iter()
        .map(|(label, fen, class)| {
            (
                format!("{label} {} {}", yuan(*fen), ctx.t("claims.yuan")),
                *fen,
                *class,
            )
        })
        .collect();
    out.insert(
        "bill".into(),
        json!({
            "rows": parts.iter().map(|(label, fen, _)| json!({"label": label, "amount": yuan(*fen)})).collect::<Vec<_>>(),
            "total": yuan(b.total_fen),
            "reimbursed": yuan(b.reimbursed_fen()),
            "chart": svg::split_bar(&ctx.t("bill.title"), &labelled),
        }),
    );
    out
}

/// Where the payment stands, and whether the account form is offered: once the claim is
/// approved, until it is paid.
pub fn payment_fields(ctx: &Ctx, d: &ClaimDetail) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(p) = &d.payment {
        out.insert("payment_text".into(), json!(ctx.pick(&p.zh, &p.en)));
        out.insert("payment_status".into(), json!(p.status));
        let open = matches!(p.status.as_str(), "payable" | "failed" | "returned");
        out.insert("account_form".into(), json!(open));
    }
    out
}

/// The appeal: its state once filed; the form while the decision may still be appealed.
pub fn appeal_fields(ctx: &Ctx, d: &ClaimDetail) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(a) = &d.appeal {
        let key = match a.outcome.as_deref() {
            Some("changed") => "appeal.changed",
            Some(_) => "appeal.upheld",
            None => "appeal.pending",
        };
        out.insert("appeal_text".into(), json!(ctx.t(key)));
        out.insert("appeal_reason".into(), json!(a.reason));
        if let Some(fen) = a
            .new_reimbursed_fen
            .filter(|_| a.outcome.as_deref() == Some("changed"))
        {
            out.insert("appeal_amount".into(), json!(yuan(fen)));
        }
        return out;
    }
    if let Some(decided) = d.decided_at {
        let due = crate::service::appeals::deadline(decided, ctx.state.config.appeal_days);
        if crate::store::now_ms() <= due {
            out.insert("appeal_form".into(), json!(true));
            out.insert(
                "appeal_until".into(),
                json!(crate::domain::dates::local_date(due)),
            );
        }
    }
    out
}

#[derive(Deserialize)]
pub struct AppealForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    reason: String,
}

/// Files the appeal from the claim page; a refusal is shown beside the form.
#[post("/my/claims/{id}/appeal")]
pub async fn file_appeal(
    ctx: Ctx,
    id: web::Path<i64>,
    form: web::Form<AppealForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Resident])?;
    ctx.check_csrf(&form.csrf)?;
    let claim_id = id.into_inner();
    let input = crate::service::appeals::AppealInput {
        reason: form.reason.clone(),
    };
    let done = ctx
        .db(move |conn, env| {
            match crate::service::appeals::file(
                conn,
                env,
                &user,
                claim_id,
                &input,
                crate::store::now_ms(),
            ) {
                Ok(_) => Ok(None),
                Err(AppError::Rule(r)) => Ok(Some((r.zh, r.en))),
                Err(e) => Err(e),
            }
        })
        .await?;
    match done {
        None => Ok(see_other(&format!("/my/claims/{claim_id}#appeal"))),
        Some((zh, en)) => {
            let d = super::resident::load_own(&ctx, claim_id).await?;
            let mut view = super::resident::claim_view(&ctx, &d);
            if let Value::Object(m) = &mut view {
                m.insert("appeal_error".into(), json!(ctx.pick(&zh, &en)));
            }
            let title = format!("{} #{claim_id}", ctx.t("claim.title"));
            ctx.page_titled("claim", title, view, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    bank: String,
    holder: String,
    number: String,
}

/// Sets the payee account from the claim page; a refusal is shown beside the form in the
/// reader's language, with what was typed kept (but never the number).
#[post("/my/claims/{id}/account")]
pub async fn set_account(
    ctx: Ctx,
    id: web::Path<i64>,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(&[Role::Resident])?;
    ctx.check_csrf(&form.csrf)?;
    let claim_id = id.into_inner();
    let form = form.into_inner();
    let input = AccountInput {
        bank: form.bank.clone(),
        holder: form.holder.clone(),
        number: form.number,
    };
    let done = ctx
        .db(move |conn, env| {
            crate::service::scope::case_of(conn, &user, Subject::Claim(claim_id))?;
            let record = crate::store::claims::get(conn, claim_id)?
                .ok_or_else(|| AppError::NotFound(format!("claim {claim_id}")))?;
            let person_id = record
                .person_id
                .ok_or_else(|| AppError::NotFound(format!("claim {claim_id}")))?;
            match payments::set_account(conn, env, &user, person_id, &input, crate::store::now_ms())
            {
                Ok(_) => Ok(None),
                Err(AppError::Rule(r)) => Ok(Some((r.zh, r.en))),
                Err(e) => Err(e),
            }
        })
        .await?;
    match done {
        None => Ok(see_other(&format!("/my/claims/{claim_id}#payment"))),
        Some((zh, en)) => {
            let d = super::resident::load_own(&ctx, claim_id).await?;
            let mut view = super::resident::claim_view(&ctx, &d);
            if let Value::Object(m) = &mut view {
                m.insert("account_error".into(), json!(ctx.pick(&zh, &en)));
                m.insert("account_bank".into(), json!(form.bank));
                m.insert("account_holder".into(), json!(form.holder));
            }
            let title = format!("{} #{claim_id}", ctx.t("claim.title"));
            ctx.page_titled("claim", title, view, StatusCode::UNPROCESSABLE_ENTITY)
        }
    }
}
