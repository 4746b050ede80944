//! Error findings and their one way out. An error finding (ineligible on the service date, a
//! facility not designated, a liable third party, an investigation hit, a suspended person)
//! blocks every action that pays or clears the claim; the engine enforces it. Only the
//! sign-off may override one: a supervisor at the workflow's sign-off stage who took no part
//! in the review, with a coded reason and a comment, recorded in the audit trail with the
//! finding it names.
use super::scope;
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::audit::Event;
use crate::domain::controls::OverrideReason;
use crate::error::Msg;
use crate::error::{AppError, AppResult, RuleKind};
use crate::store::findings::{self as findings_store, Finding};
use crate::store::{audit, cases as case_store, DbConn};
use serde_json::json;

pub struct OverrideRequest<'a> {
    pub case_id: i64,
    pub finding_id: i64,
    pub reason_code: &'a str,
    pub comment: &'a str,
    pub now_ms: i64,
}

fn reason<'d>(
    defs: &'d Definitions,
    code: &str,
    finding: &Finding,
) -> AppResult<&'d OverrideReason> {
    let reasons = &defs.controls().override_reasons;
    let Some(reason) = defs.controls().override_reason(code) else {
        let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
        return Err(AppError::rule_on_msg(
            "reason_code",
            "unknown_override_reason",
            Msg::new("rule-unknown-override-reason")
                .text("code", code.to_string())
                .both("allowed", codes.join("、"), codes.join(", ")),
        ));
    };
    if !reason.applies_to(&finding.code) {
        return Err(AppError::rule_on_msg(
            "reason_code",
            "override_reason_not_applicable",
            Msg::new("rule-override-reason-not-applicable")
                .both("reason", reason.zh.to_string(), reason.code.to_string())
                .both(
                    "finding",
                    finding.message_zh.to_string(),
                    finding.code.to_string(),
                ),
        ));
    }
    Ok(reason)
}

/// Overrides one error finding at sign-off. Everything is checked, then the finding is
/// marked and the audit event naming it is appended, in one transaction.
pub fn override_finding(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    req: &OverrideRequest<'_>,
) -> AppResult<Finding> {
    let comment = req.comment.trim();
    if comment.is_empty() || comment.len() > 4000 {
        return Err(AppError::rule_on_msg(
            "comment",
            "override_comment_required",
            Msg::new("rule-override-comment-required"),
        ));
    }
    conn.write_tx(|conn| {
        let case = scope::case(conn, p, req.case_id)?;
        let wf = defs.get(conn, &case.workflow, case.workflow_version)?;
        let sign_off = wf.authority_stage.map(|i| &wf.stages[i]);
        let Some(stage) = sign_off.filter(|s| case.stage.as_deref() == Some(s.id.as_str())) else {
            let at = case.stage.as_deref().unwrap_or("closed");
            return Err(AppError::rule_msg(
                RuleKind::Conflict,
                "override_only_at_sign_off",
                Msg::new("rule-override-only-at-sign-off")
                    .text("case", case.id.to_string())
                    .text("at", at.to_string()),
            ));
        };
        let acting = p.has(stage.role) || scope::stand_in(p, &case).is_some();
        if !acting {
            return Err(AppError::rule_msg(
                RuleKind::Forbidden,
                "override_needs_sign_off_role",
                Msg::new("rule-override-needs-sign-off-role").both(
                    "role",
                    stage.role.title_zh().to_string(),
                    stage.role.to_string(),
                ),
            ));
        }
        let history = case_store::stage_actors(conn, case.id)?;
        if let Some(earlier) = history
            .iter()
            .find(|h| h.actor_id == p.user_id && h.stage != stage.id)
        {
            return Err(AppError::rule_msg(
                RuleKind::Forbidden,
                "four_eyes",
                Msg::new("rule-four-eyes").text("stage", earlier.stage.to_string()),
            ));
        }
        let finding = findings_store::get(conn, case.id, req.finding_id)?.ok_or_else(|| {
            AppError::NotFound(format!("finding {} of case {}", req.finding_id, case.id))
        })?;
        if finding.severity != "error" {
            return Err(AppError::rule_msg(
                RuleKind::Invalid,
                "finding_not_blocking",
                Msg::new("rule-finding-not-blocking"),
            ));
        }
        let reason = reason(defs, req.reason_code, &finding)?;
        if !findings_store::mark_overridden(
            conn,
            finding.id,
            p.user_id,
            &reason.code,
            comment,
            req.now_ms,
        )? {
            return Err(AppError::rule_msg(
                RuleKind::Conflict,
                "finding_already_overridden",
                Msg::new("rule-finding-already-overridden").text("id", finding.id.to_string()),
            ));
        }
        let value = json!({
            "finding_id": finding.id, "code": finding.code,
            "reason_code": reason.code, "reason_zh": reason.zh, "reason_en": reason.en,
        });
        audit::append(
            conn,
            case.id,
            Event::new(
                Some(p.user_id),
                &p.username,
                stage.role.as_str(),
                "finding_overridden",
                req.now_ms,
            )
            .stages(Some(&stage.id), None)
            .values(
                json!({ "finding_id": finding.id, "overridden": false }),
                value,
            )
            .comment(comment)
            .internal(),
        )?;
        findings_store::get(conn, case.id, finding.id)?
            .ok_or_else(|| AppError::NotFound(format!("finding {}", finding.id)))
    })
}

/// A facility suspended or terminated from `from` (until `until`, or for good): each open
/// claim whose stay falls inside gets an `error` finding, which gates its payment. The one
/// rule for every way a designation changes: a sanction, or an administrator's status
/// change. `evidence` says what changed it. Returns the claims gated.
pub fn gate_claims_at_facility(
    conn: &mut DbConn,
    facility_code: &str,
    status: &str,
    from: &str,
    until: Option<&str>,
    evidence: serde_json::Value,
    now_ms: i64,
) -> AppResult<Vec<i64>> {
    let terminated = status == "terminated";
    let mut gated = Vec::new();
    for (case_id, claim_id) in crate::store::supervision::open_claims_at(
        conn,
        facility_code,
        from,
        until.unwrap_or("9999-12-31"),
    )? {
        let mut evidence = evidence.clone();
        if let Some(map) = evidence.as_object_mut() {
            map.extend([
                ("facility".to_string(), json!(facility_code)),
                ("from".to_string(), json!(from)),
                ("until".to_string(), json!(until)),
                ("claim_id".to_string(), json!(claim_id)),
            ]);
        }
        let finding = findings_store::NewFinding {
            code: "facility_suspended",
            severity: "error",
            zh: format!("就诊机构 {facility_code} 自 {from} 起{}，本申请的住院日期在此期间，请复核", if terminated { "终止协议" } else { "暂停医保服务" }),
            en: format!("Facility {facility_code} is {status} from {from}; this claim's stay falls inside it: review it"),
            evidence,
        };
        findings_store::insert_all(conn, [(case_id, &finding)], now_ms)?;
        gated.push(claim_id);
    }
    Ok(gated)
}
