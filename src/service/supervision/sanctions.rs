//! Sanctions inside the article's range, suspensions and terminations written into the
//! designation history, and payments towards what is owed.
use super::violations::violation_case;
use super::*;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SanctionInput {
    /// The case version you saw (optimistic concurrency).
    pub expected_version: i64,
    pub fine_fen: i64,
    /// 0 for no suspension.
    #[serde(default)]
    pub suspension_months: u32,
    /// First day of the suspension (or termination), YYYY-MM-DD.
    #[serde(default)]
    pub suspended_from: Option<String>,
    #[serde(default)]
    pub terminate: bool,
    /// Why; required for any choice outside the article's range.
    #[serde(default)]
    pub reason: String,
    /// When the facility must have rectified, YYYY-MM-DD.
    pub rectification_due: String,
}

/// Records the sanction and moves the case to rectification, in one transaction: the
/// choice is checked against the article's range, repayment and fine are ordered, and a
/// suspension or termination changes the facility's designation from its first day and
/// flags the claims in flight whose stay falls inside it.
pub fn impose_sanction(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    violation_id: i64,
    input: &SanctionInput,
    now_ms: i64,
) -> AppResult<ViolationView> {
    p.require_any(&[Role::Supervisor])?;
    let current = view(conn, env.defs, p, violation_id)?;
    if current.stage.as_deref() != Some("decision") {
        return Err(AppError::Conflict(format!(
            "violation {violation_id} is at stage {}, not decision",
            current.stage.as_deref().unwrap_or("(closed)")
        )));
    }
    let choice = SanctionChoice {
        fine_fen: input.fine_fen,
        suspension_months: input.suspension_months,
        terminate: input.terminate,
        reason: &input.reason,
    };
    let outside = supervision::check_choice(&current.allowed, &choice).map_err(|errs| {
        AppError::Validation(
            errs.into_iter()
                .map(|(field, message)| FieldError {
                    field: field.into(),
                    message,
                })
                .collect(),
        )
    })?;
    let mut errors = Vec::new();
    date_field(&mut errors, "rectification_due", &input.rectification_due);
    let from = input.suspended_from.as_deref().map(str::trim);
    let needs_from = input.suspension_months > 0 || input.terminate;
    match from {
        Some(f) => date_field(&mut errors, "suspended_from", f),
        None if needs_from => errors.push(FieldError {
            field: "suspended_from".into(),
            message: "a suspension or termination needs its first day".into(),
        }),
        None => {}
    }
    fail_if_any(errors)?;
    let from_day = from.and_then(parse_iso_date);
    let until_day = match (from_day, input.suspension_months) {
        (Some(d), m) if m > 0 && !input.terminate => supervision::months_after(d, m),
        _ => None,
    };
    let v = &current.violation;
    conn.write_tx(|conn| {
        let from_text = from_day.map(|d| d.to_string());
        let until_text = until_day.map(|d| d.to_string());
        store::record_sanction(conn, violation_id, &SanctionRecord {
            repay_fen: Some(current.allowed.repay_fen),
            fine_fen: Some(input.fine_fen),
            suspension_months: Some(input.suspension_months as i32),
            suspended_from: if needs_from { from_text.as_deref() } else { None },
            suspended_until: until_text.as_deref(),
            terminated: Some(input.terminate),
            sanction_reason: Some(input.reason.trim()),
            sanctioned_by: Some(p.user_id),
            sanctioned_at: Some(now_ms),
            rectification_due: Some(input.rectification_due.trim()),
        })?;
        store::order_recovery(conn, violation_id, "repay", current.allowed.repay_fen, now_ms)?;
        store::order_recovery(conn, violation_id, "fine", input.fine_fen, now_ms)?;
        let why = format!("violation {violation_id}: {}", current.type_zh);
        let mut flagged = Vec::new();
        if let (true, Some(from)) = (needs_from, from_text.as_deref()) {
            let status = if input.terminate { "terminated" } else { "suspended" };
            facilities::add_status(conn, &v.facility_code, status, from, &why, now_ms)?;
            if let Some(until) = until_text.as_deref() {
                facilities::add_status(conn, &v.facility_code, "designated", until, &format!("{why}: suspension ends"), now_ms)?;
            }
            let until = until_text.as_deref().unwrap_or("9999-12-31");
            for (case_id, claim_id) in store::open_claims_at(conn, &v.facility_code, from, until)? {
                findings_store::insert_all(conn, [(case_id, &NewFinding {
                    code: "facility_suspended",
                    severity: "error",
                    zh: format!("就诊机构 {} 自 {from} 起{}，本申请的住院日期在此期间，请复核", v.facility_code, if input.terminate { "终止协议" } else { "暂停医保服务" }),
                    en: format!("Facility {} is {status} from {from}; this claim's stay falls inside it: review it", v.facility_code),
                    evidence: json!({ "violation_id": violation_id, "facility": v.facility_code, "from": from, "until": until_text, "claim_id": claim_id }),
                })], now_ms)?;
                flagged.push(claim_id);
            }
        }
        let comment = format!(
            "repay {} fen, fine {} fen{}{}{}",
            current.allowed.repay_fen,
            input.fine_fen,
            if input.suspension_months > 0 { format!(", suspended {} months from {}", input.suspension_months, from_text.as_deref().unwrap_or("")) } else { String::new() },
            if input.terminate { ", agreement terminated" } else { "" },
            if outside { format!("; outside the range because: {}", input.reason.trim()) } else if input.reason.trim().is_empty() { String::new() } else { format!("; {}", input.reason.trim()) },
        );
        cases::act(conn, env, p, &ActionRequest::simple(current.case_id, "impose_sanction", &comment, input.expected_version, now_ms))?;
        if !flagged.is_empty() {
            tracing::info!(violation_id, ?flagged, "claims in flight flagged for review");
        }
        view(conn, env.defs, p, violation_id)
    })
}

/// Records a payment towards a repayment or fine; the amount may not exceed what is owed.
pub fn record_payment(
    conn: &mut DbConn,
    p: &Principal,
    recovery_id: i64,
    amount_fen: i64,
    now_ms: i64,
) -> AppResult<RecoveryRow> {
    p.require_any(&[Role::Supervisor])?;
    conn.write_tx(|conn| {
        let r = store::recovery(conn, recovery_id)?
            .ok_or_else(|| AppError::NotFound(format!("recovery {recovery_id}")))?;
        violation_case(conn, p, r.violation_id)?;
        if amount_fen <= 0 {
            return Err(AppError::field("amount_fen", "must be more than 0"));
        }
        if !store::add_payment(conn, recovery_id, amount_fen, now_ms)? {
            return Err(AppError::field(
                "amount_fen",
                format!(
                    "{amount_fen} fen is more than the {} fen still owed",
                    r.amount_fen - r.paid_fen
                ),
            ));
        }
        store::recovery(conn, recovery_id)?
            .ok_or_else(|| AppError::NotFound(format!("recovery {recovery_id}")))
    })
}
