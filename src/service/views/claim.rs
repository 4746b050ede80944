//! A claim with its case, documents, breakdown and history; and a resident's list of their
//! own claims in plain language.
use super::case::{case_view, CaseView};
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::case::Subject;
use crate::domain::claim::Decision;
use crate::domain::policy::Breakdown;
use crate::error::{AppError, AppResult};
use crate::service::timeline::{timeline, TimelineItem};
use crate::store::cases::{self as case_store, CaseRow};
use crate::store::claims::{self as claim_store, ClaimRecord, DocumentRow};
use crate::store::findings::Finding;
use crate::store::DbConn;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ClaimDetail {
    pub claim: ClaimRecord,
    pub case: CaseView,
    pub documents: Vec<DocumentRow>,
    /// The benefit calculation, step by step (recomputed at decision).
    pub breakdown: Option<Breakdown>,
    /// The decision record: computed and decided amounts, override reason or reason code.
    pub decision: Option<Decision>,
    /// Plain-language history for the resident (no internal comments).
    pub timeline: Vec<TimelineItem>,
    /// Intake findings (staff only; empty for residents).
    pub findings: Vec<Finding>,
    /// What the latest return for documents asked for, with the reviewer's comment.
    pub requests: Vec<crate::domain::claim::DocumentRequest>,
    /// The payment of an approved claim: payable, with the bank, paid (date, masked account).
    pub payment: Option<crate::service::payments::PaymentView>,
    /// When the decision was made (the case closed), for the appeal deadline.
    pub decided_at: Option<i64>,
    /// The resident's appeal against the decision, if filed.
    pub appeal: Option<crate::store::appeals::AppealRow>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MyClaim {
    pub claim_id: i64,
    pub case_id: i64,
    pub family: String,
    pub family_zh: String,
    pub family_en: String,
    pub submitted_at: i64,
    pub admission_date: String,
    pub total_fen: i64,
    pub payable_fen: Option<i64>,
    pub decided_fen: Option<i64>,
    pub stage: Option<String>,
    pub outcome: Option<String>,
    /// Where the claim stands, in plain language.
    pub status_zh: String,
    pub status_en: String,
}

pub fn claim_detail(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    case: CaseRow,
) -> AppResult<ClaimDetail> {
    let id = case.subject_id;
    let mut claim =
        claim_store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("claim {id}")))?;
    let documents = claim_store::documents(conn, id)?;
    let events = crate::store::audit::for_case(conn, case.id)?;
    let findings = if p.is_staff() {
        crate::store::findings::for_case(conn, case.id)?
    } else {
        Vec::new()
    };
    let breakdown = claim.breakdown.take();
    let decision = claim.decision.take();
    // The resident's timeline never names an investigation.
    let confidential = !p.is_staff()
        && defs
            .get(conn, &case.workflow, case.workflow_version)?
            .confidential;
    let decided_at = case.outcome.is_some().then_some(case.stage_entered_at);
    Ok(ClaimDetail {
        decided_at,
        appeal: crate::store::appeals::of_claim(conn, id)?,
        claim,
        case: case_view(conn, defs, p, case)?,
        documents,
        breakdown,
        decision,
        timeline: timeline(&events, confidential),
        findings,
        requests: claim_store::latest_requests(conn, id)?,
        payment: crate::service::payments::payment_view(conn, id)?,
    })
}

/// A resident's own claims, newest first, each with where it stands in plain language.
pub fn my_claim_list(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
) -> AppResult<Vec<MyClaim>> {
    let claims = claim_store::for_resident(conn, p.user_id)?;
    let mut out = Vec::with_capacity(claims.len());
    for claim in claims {
        let Some(case) = case_store::for_subject(conn, Subject::Claim(claim.id))? else {
            continue;
        };
        let wf = defs.get(conn, &case.workflow, case.workflow_version)?;
        // The family's title, also while the claim is under investigation.
        let family = defs
            .latest(claim.claim.family.as_str())
            .unwrap_or(wf.clone());
        let events = crate::store::audit::for_case(conn, case.id)?;
        let last = timeline(&events, wf.confidential).pop();
        out.push(MyClaim {
            claim_id: claim.id,
            case_id: case.id,
            family_zh: family.title.zh.clone(),
            family_en: family.title.en.clone(),
            family: claim.claim.family.as_str().to_string(),
            submitted_at: claim.created_at,
            admission_date: claim.claim.admission_date.to_string(),
            total_fen: claim.claim.total_fen.0,
            payable_fen: claim.payable_fen,
            decided_fen: claim.decided_fen,
            stage: case.stage,
            outcome: case.outcome,
            status_zh: last.as_ref().map_or_else(String::new, |l| l.zh.clone()),
            status_en: last.map_or_else(String::new, |l| l.en),
        });
    }
    Ok(out)
}
