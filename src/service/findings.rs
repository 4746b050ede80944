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
        return Err(AppError::rule_on(
            "reason_code",
            "unknown_override_reason",
            format!("未知的否决理由代码“{code}”，可选：{}", codes.join("、")),
            format!(
                "unknown override reason `{code}`; expected one of {}",
                codes.join(", ")
            ),
        ));
    };
    if !reason.applies_to(&finding.code) {
        return Err(AppError::rule_on(
            "reason_code",
            "override_reason_not_applicable",
            format!("理由“{}”不适用于“{}”类发现", reason.zh, finding.message_zh),
            format!(
                "reason `{}` does not apply to a `{}` finding",
                reason.code, finding.code
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
        return Err(AppError::rule_on(
            "comment",
            "override_comment_required",
            "否决一项错误级发现须说明理由（1 至 4000 字节）",
            "overriding an error finding needs a comment of 1 to 4000 bytes",
        ));
    }
    conn.write_tx(|conn| {
        let case = scope::case(conn, p, req.case_id)?;
        let wf = defs.get(conn, &case.workflow, case.workflow_version)?;
        let sign_off = wf.authority_stage.map(|i| &wf.stages[i]);
        let Some(stage) = sign_off.filter(|s| case.stage.as_deref() == Some(s.id.as_str())) else {
            let at = case.stage.as_deref().unwrap_or("closed");
            return Err(AppError::rule(
                RuleKind::Conflict,
                "override_only_at_sign_off",
                format!("只有在审批签发环节才能否决错误级发现；本案当前在“{at}”"),
                format!("an error finding is overridden only at sign-off; case {} is at `{at}`", case.id),
            ));
        };
        let acting = p.has(stage.role) || scope::stand_in(p, &case).is_some();
        if !acting {
            return Err(AppError::rule(
                RuleKind::Forbidden,
                "override_needs_sign_off_role",
                format!("否决须由签发环节的“{}”进行", stage.role.title_zh()),
                format!("an override is taken by the sign-off's `{}`", stage.role),
            ));
        }
        let history = case_store::stage_actors(conn, case.id)?;
        if let Some(earlier) = history
            .iter()
            .find(|h| h.actor_id == p.user_id && h.stage != stage.id)
        {
            return Err(AppError::rule(
                RuleKind::Forbidden,
                "four_eyes",
                format!("您曾在本案“{}”环节办理，否决须由未参与审核的负责人进行", earlier.stage),
                format!("you acted in stage `{}` of this case; an override needs someone who took no part in the review", earlier.stage),
            ));
        }
        let finding = findings_store::get(conn, case.id, req.finding_id)?
            .ok_or_else(|| AppError::NotFound(format!("finding {} of case {}", req.finding_id, case.id)))?;
        if finding.severity != "error" {
            return Err(AppError::rule(
                RuleKind::Invalid,
                "finding_not_blocking",
                "只有错误级发现会阻止支付，无需否决",
                "only error findings block payment; this one needs no override",
            ));
        }
        let reason = reason(defs, req.reason_code, &finding)?;
        if !findings_store::mark_overridden(conn, finding.id, p.user_id, &reason.code, comment, req.now_ms)? {
            return Err(AppError::rule(
                RuleKind::Conflict,
                "finding_already_overridden",
                "该发现已被否决",
                format!("finding {} was already overridden", finding.id),
            ));
        }
        let value = json!({
            "finding_id": finding.id, "code": finding.code,
            "reason_code": reason.code, "reason_zh": reason.zh, "reason_en": reason.en,
        });
        audit::append(
            conn,
            case.id,
            Event::new(Some(p.user_id), &p.username, stage.role.as_str(), "finding_overridden", req.now_ms)
                .stages(Some(&stage.id), None)
                .values(json!({ "finding_id": finding.id, "overridden": false }), value)
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
