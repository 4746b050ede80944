//! The forms on the resident's claim page that are not about documents: the payee account
//! and the appeal. A refusal re-renders the claim page with the message beside its form, in
//! the reader's language.
use super::ctx::{see_other, Ctx, PageError};
use super::resident::{claim_view, load_own};
use crate::domain::case::Subject;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::service::payments::{self, AccountInput};
use actix_web::http::StatusCode;
use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

/// The claim page again, with `extra` fields (the refusal and what was typed), as 422.
async fn refused(
    ctx: &Ctx,
    claim_id: i64,
    extra: &[(&str, Value)],
) -> Result<HttpResponse, PageError> {
    let d = load_own(ctx, claim_id).await?;
    let mut view = claim_view(ctx, &d);
    if let Value::Object(m) = &mut view {
        for (k, v) in extra {
            m.insert((*k).into(), v.clone());
        }
    }
    let title = format!("{} #{claim_id}", ctx.t("claim.title"));
    ctx.page_titled("claim", title, view, StatusCode::UNPROCESSABLE_ENTITY)
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
            refused(
                &ctx,
                claim_id,
                &[("appeal_error", json!(ctx.pick(&zh, &en)))],
            )
            .await
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
            let extra = [
                ("account_error", json!(ctx.pick(&zh, &en))),
                ("account_bank", json!(form.bank)),
                ("account_holder", json!(form.holder)),
            ];
            refused(&ctx, claim_id, &extra).await
        }
    }
}
