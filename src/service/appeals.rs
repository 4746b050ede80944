//! Filing an appeal against a claim decision (申诉/复核; handbook §8.3): by the resident or a
//! clerk within `appeal_days` of the decision, one per decision, opening a re-review on the
//! `appeal` workflow (its outcome: `appeal_decision.rs`).
use super::cases::OpenCase;
use super::Env;
use crate::auth::Principal;
use crate::domain::audit::Event;
use crate::domain::case::Subject;
use crate::domain::claim::Decision;
use crate::domain::roles::Role;
use crate::domain::workflow::CaseFacts;
use crate::error::Msg;
use crate::error::{AppError, AppResult, RuleKind};
use crate::store::appeals::{self as store, AppealRow, NewAppeal};
use crate::store::{audit, cases as case_store, claims as claim_store, regions, DbConn};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const WORKFLOW: &str = "appeal";
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealInput {
    /// Why the decision is wrong, in the resident's words.
    #[schema(max_length = 2000)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AppealView {
    pub appeal: AppealRow,
    /// The appeal's own case (its re-review), linked to the claim's.
    pub case_id: i64,
    pub stage: Option<String>,
    pub deadline_ms: i64,
}

/// The last day a decision closed at `decided_ms` may be appealed.
pub fn deadline(decided_ms: i64, days: u32) -> i64 {
    decided_ms + i64::from(days) * DAY_MS
}

fn view(conn: &mut DbConn, appeal: AppealRow, days: u32) -> AppResult<AppealView> {
    let case = case_store::for_subject(conn, Subject::Appeal(appeal.id))?
        .ok_or_else(|| AppError::NotFound(format!("appeal {}", appeal.id)))?;
    let claim_case = case_store::get(conn, appeal.claim_case_id)?
        .ok_or_else(|| AppError::NotFound(format!("case {}", appeal.claim_case_id)))?;
    Ok(AppealView {
        case_id: case.id,
        stage: case.stage,
        deadline_ms: deadline(claim_case.stage_entered_at, days),
        appeal,
    })
}

/// The appeal of a claim the principal may see, if one was filed.
pub fn of_claim(
    conn: &mut DbConn,
    p: &Principal,
    claim_id: i64,
    days: u32,
) -> AppResult<Option<AppealView>> {
    crate::service::scope::case_of(conn, p, Subject::Claim(claim_id))?;
    match store::of_claim(conn, claim_id)? {
        Some(a) => view(conn, a, days).map(Some),
        None => Ok(None),
    }
}

/// Files an appeal: the resident for their own claim, or a clerk for a claim in their region.
pub fn file(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    claim_id: i64,
    input: &AppealInput,
    now_ms: i64,
) -> AppResult<AppealView> {
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(AppError::rule_on_msg(
            "reason",
            "appeal_reason",
            Msg::new("rule-appeal-reason"),
        ));
    }
    conn.write_tx(|conn| {
        let claim_case = crate::service::scope::case_of(conn, p, Subject::Claim(claim_id))?;
        let role = if claim_case.owner_user_id == Some(p.user_id) {
            Role::Resident
        } else if p.has(Role::Clerk) {
            Role::Clerk
        } else {
            return Err(AppError::rule_msg(
                RuleKind::Forbidden,
                "appeal_filer",
                Msg::new("rule-appeal-filer"),
            ));
        };
        if !matches!(
            claim_case.outcome.as_deref(),
            Some("approved" | "partially_approved" | "rejected")
        ) {
            return Err(AppError::rule_msg(
                RuleKind::Conflict,
                "appeal_not_decided",
                Msg::new("rule-appeal-not-decided"),
            ));
        }
        let due = deadline(claim_case.stage_entered_at, env.appeal_days);
        if now_ms > due {
            let day = env.defs.calendar().local_date(due);
            return Err(AppError::rule_msg(
                RuleKind::Invalid,
                "appeal_deadline_passed",
                Msg::new("rule-appeal-deadline-passed")
                    .text("appeal_days", env.appeal_days.to_string())
                    .text("day", day.to_string()),
            ));
        }
        if store::of_claim(conn, claim_id)?.is_some() {
            return Err(AppError::rule_msg(
                RuleKind::Conflict,
                "appeal_exists",
                Msg::new("rule-appeal-exists"),
            ));
        }
        let record = claim_store::get(conn, claim_id)?
            .ok_or_else(|| AppError::NotFound(format!("claim {claim_id}")))?;
        let old = record.decision.as_ref().map_or(0, Decision::reimbursed_fen);
        let id = store::insert(
            conn,
            &NewAppeal {
                claim_id,
                claim_case_id: claim_case.id,
                filed_by: p.user_id,
                reason,
                filed_at: now_ms,
                old_reimbursed_fen: old,
            },
        )?;
        let workflow = env.defs.latest(WORKFLOW).ok_or_else(|| {
            AppError::internal(anyhow::anyhow!("the `appeal` workflow is not published"))
        })?;
        let region = regions::get(conn, &claim_case.region_code)?
            .ok_or_else(|| AppError::NotFound(format!("region {}", claim_case.region_code)))?;
        let case_id = super::cases::open(
            conn,
            &OpenCase {
                calendar: env.defs.calendar_for(&region.path),
                subject: Subject::Appeal(id),
                workflow: &workflow,
                region: &region,
                org: &claim_case.org,
                owner_user_id: claim_case.owner_user_id,
                facts: &CaseFacts::default(),
                actor: p,
                actor_role: role,
                now_ms,
                risk_score: 0,
            },
        )?;
        audit::append(
            conn,
            claim_case.id,
            Event::new(
                Some(p.user_id),
                &p.username,
                role.as_str(),
                "appeal_filed",
                now_ms,
            )
            .values("{}", json!({ "appeal_id": id, "appeal_case_id": case_id }))
            .comment(reason),
        )?;
        let appeal = store::get(conn, id)?.expect("the appeal just written");
        view(conn, appeal, env.appeal_days)
    })
}
