//! Whistleblower reports (举报, handbook §7): submitted without login, rate limited per client
//! address, followed with a tracking code shown once (only its hash is kept), triaged as a
//! `whistleblower_report` case, linked to the violations they led to, and rewarded from the
//! amount recovered (rate, floor and cap from the sanctions table) until the reward is paid.
use super::cases::{self, OpenCase};
use super::supervision::{attach_file, Attacher};
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::case::Subject;
use crate::domain::money::Fen;
use crate::domain::person::IdNumber;
use crate::domain::roles::Role;
use crate::domain::supervision::reward;
use crate::domain::workflow::CaseFacts;
use crate::error::Msg;
use crate::error::{AppError, AppResult, FieldError, RuleKind};
use crate::store::cases::{self as case_store, CaseRow};
use crate::store::regions::{self, Region};
use crate::store::reports::{self as store, NewReport, ReportRow};
use crate::store::supervision::{self as supervision_store, EvidenceRow};
use crate::store::{claims as claim_store, facilities, DbConn};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

pub const REPORT_WORKFLOW: &str = "whistleblower_report";
/// Attachments a reporter may add to one report.
pub const MAX_ATTACHMENTS: usize = 5;
const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    /// The facility concerned, if any.
    #[serde(default)]
    pub facility_code: Option<String>,
    /// The insured person concerned (ID number), if any.
    #[serde(default)]
    #[schema(pattern = r"^[0-9]{17}[0-9Xx]$")]
    pub person_id_number: Option<String>,
    /// The claim concerned, if known.
    #[serde(default)]
    pub claim_id: Option<i64>,
    /// What happened: 10 to 5,000 characters.
    #[schema(min_length = 10, max_length = 5000)]
    pub description: String,
    /// Optional contact (phone or email); anonymous reports leave it out.
    #[serde(default)]
    pub contact: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Submitted {
    pub report_id: i64,
    /// Shown once: the only way to follow an anonymous report. Only its hash is stored.
    pub tracking_code: String,
}

/// What the reporter sees: where the report stands, in plain words, and the reward.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicStatus {
    pub submitted_at: i64,
    pub status: String,
    pub status_zh: String,
    pub status_en: String,
    pub attachments: usize,
    pub reward_fen: Option<i64>,
    pub reward_paid_fen: i64,
}

/// What staff see.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub report: ReportRow,
    pub case_id: i64,
    pub stage: Option<String>,
    pub outcome: Option<String>,
    pub version: i64,
    pub violation_ids: Vec<i64>,
    pub attachments: Vec<EvidenceRow>,
    /// Repayments recovered so far on the linked violations.
    pub recovered_fen: i64,
    /// The reward the recovered amount earns (rate, floor, cap); 0 until confirmed.
    pub reward_due_fen: i64,
}

/// The code's hash, on its canonical form: a code typed in lower case, without its dashes or
/// with spaces is the same code.
fn hash(code: &str) -> String {
    hex::encode(Sha256::digest(canonical_code(code).as_bytes()))
}

/// Letters and digits only, upper case, in groups of five joined by dashes (the form the
/// code is shown in).
fn canonical_code(code: &str) -> String {
    let plain: Vec<char> = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    plain
        .chunks(5)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// 20 characters from an alphabet without look-alikes (no 0/O, 1/I/L): about 99 bits.
fn new_tracking_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut rng = rand::rng();
    (0..20)
        .map(|i| {
            let c = ALPHABET[rng.random_range(0..ALPHABET.len())] as char;
            if i > 0 && i % 5 == 0 {
                format!("-{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The principal public submissions act as: no user, no roles.
fn public() -> Principal {
    Principal {
        user_id: 0,
        username: "public".into(),
        display_name: "举报人".into(),
        roles: Vec::new(),
        region: String::new(),
        region_path: String::new(),
        org: String::new(),
        lang: "zh-CN".into(),
        facilities: Vec::new(),
        session_id: String::new(),
    }
}

fn clean(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Files a report from the public form. `client_addr` is the submitter's address; more than
/// `per_hour` reports from it in an hour are refused with 429.
pub fn submit(
    conn: &mut DbConn,
    defs: &Definitions,
    input: &ReportInput,
    client_addr: &str,
    per_hour: i64,
    now_ms: i64,
) -> AppResult<Submitted> {
    let mut errors = Vec::new();
    let description = input.description.trim();
    let chars = description.chars().count();
    if !(10..=5000).contains(&chars) {
        errors.push(FieldError::new(
            "description",
            Msg::new("field-length-got")
                .count("min", 10)
                .count("max", 5000)
                .count("got", chars as i64),
        ));
    }
    let person = clean(&input.person_id_number);
    if let Some(id) = person {
        if let Err(e) = IdNumber::parse(id) {
            errors.push(FieldError::new("person_id_number", e));
        }
    }
    if clean(&input.contact).is_some_and(|c| c.chars().count() > 200) {
        errors.push(FieldError::new(
            "contact",
            Msg::new("field-at-most-chars").count("max", 200),
        ));
    }
    let facility_code = clean(&input.facility_code);
    if facility_code.is_none() && person.is_none() && input.claim_id.is_none() {
        errors.push(FieldError::new(
            "facility_code",
            Msg::new("field-report-subject"),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let workflow = defs.latest(REPORT_WORKFLOW).ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "workflow {REPORT_WORKFLOW} is not published"
        ))
    })?;
    conn.write_tx(|conn| {
        if store::submitted_since(conn, client_addr, now_ms - HOUR_MS)? >= per_hour {
            return Err(AppError::TooManyRequests(
                Msg::new("too-many-reports").count("max", per_hour),
            ));
        }
        // A claim number that names no claim is kept in the text, not refused: the public
        // form must not tell anyone which claim numbers exist.
        let claim_id = match input.claim_id {
            Some(id) if claim_store::get(conn, id)?.is_some() => Some(id),
            _ => None,
        };
        let noted;
        let description = match (input.claim_id, claim_id) {
            (Some(given), None) => {
                noted = format!(
                    "{description}\n（举报人提供的申请编号 / claim number given: {given}）"
                );
                noted.as_str()
            }
            _ => description,
        };
        let region = report_region(conn, facility_code, claim_id)?;
        let code = new_tracking_code();
        let row = store::insert(
            conn,
            &NewReport {
                tracking_hash: &hash(&code),
                facility_code,
                person_id_number: person,
                claim_id,
                description,
                contact: clean(&input.contact),
                client_addr,
                region_code: &region.code,
                created_at: now_ms,
            },
        )?;
        let actor = public();
        cases::open(
            conn,
            &OpenCase {
                calendar: defs.calendar_for(&region.path),
                subject: Subject::Report(row.id),
                workflow: &workflow,
                region: &region,
                org: "",
                owner_user_id: None,
                facts: &CaseFacts::default(),
                actor: &actor,
                actor_role: Role::Resident,
                now_ms,
                risk_score: 0,
            },
        )?;
        Ok(Submitted {
            report_id: row.id,
            tracking_code: code,
        })
    })
}

/// Where the report is handled: the facility's region, else the claim's, else the top of
/// the tree. Unknown facilities and claims are field errors.
fn report_region(
    conn: &mut DbConn,
    facility: Option<&str>,
    claim_id: Option<i64>,
) -> AppResult<Region> {
    let code = if let Some(code) = facility {
        facilities::get(conn, code)?
            .ok_or_else(|| {
                AppError::field(
                    "facility_code",
                    Msg::new("field-unknown-facility").text("code", code),
                )
            })?
            .region_code
    } else if let Some(id) = claim_id {
        claim_store::get(conn, id)?
            .ok_or_else(|| AppError::field("claim_id", Msg::new("field-no-claim").count("id", id)))?
            .region_code
    } else {
        regions::list(conn)?
            .into_iter()
            .find(|r| r.parent_code.is_none())
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("no regions")))?
            .code
    };
    regions::get(conn, &code)?.ok_or_else(|| AppError::NotFound(format!("region {code}")))
}

fn by_code(conn: &mut DbConn, code: &str) -> AppResult<(ReportRow, CaseRow)> {
    let not_found = || AppError::NotFound("report with this tracking code".into());
    let report = store::by_tracking_hash(conn, &hash(code))?.ok_or_else(not_found)?;
    let case = case_store::for_subject(conn, Subject::Report(report.id))?.ok_or_else(not_found)?;
    Ok((report, case))
}

/// The reporter's view, by tracking code.
pub fn track(conn: &mut DbConn, code: &str) -> AppResult<PublicStatus> {
    let (report, case) = by_code(conn, code)?;
    let (status, zh, en) = match (case.stage.as_deref(), case.outcome.as_deref()) {
        (Some("triage"), _) => ("received", "已受理，正在分拣", "Received; being triaged"),
        (Some(_), _) => ("investigating", "正在核查", "Under investigation"),
        (_, Some("closed")) => (
            "confirmed",
            "经核查属实，已依法处理",
            "Confirmed and acted upon",
        ),
        _ => (
            "not_confirmed",
            "经核查未发现违规，或不予立案",
            "Not confirmed, or not taken up",
        ),
    };
    Ok(PublicStatus {
        submitted_at: report.created_at,
        status: status.into(),
        status_zh: zh.into(),
        status_en: en.into(),
        attachments: supervision_store::evidence_of(conn, "report", report.id)?.len(),
        reward_fen: report.reward_fen,
        reward_paid_fen: report.reward_paid_fen,
    })
}

/// A reporter adds a file while the report is open (at most [`MAX_ATTACHMENTS`]).
pub fn attach(
    conn: &mut DbConn,
    data_dir: &Path,
    code: &str,
    filename: &str,
    bytes: &[u8],
    now_ms: i64,
) -> AppResult<EvidenceRow> {
    let (report, case) = by_code(conn, code)?;
    if case.stage.is_none() {
        return Err(AppError::Conflict(Msg::new("conflict-report-closed")));
    }
    if supervision_store::evidence_of(conn, "report", report.id)?.len() >= MAX_ATTACHMENTS {
        return Err(AppError::field(
            "file",
            Msg::new("field-report-files").count("max", MAX_ATTACHMENTS as i64),
        ));
    }
    attach_file(
        conn,
        data_dir,
        &case,
        Attacher {
            user_id: None,
            name: "public",
            role: "public",
            purpose: "evidence",
        },
        filename,
        bytes,
        now_ms,
    )
}

fn report_case(conn: &mut DbConn, p: &Principal, id: i64) -> AppResult<CaseRow> {
    super::supervision::supervision_case(conn, p, Subject::Report(id))
}

/// Repayments actually recovered on the violations a report led to.
fn recovered(conn: &mut DbConn, violation_ids: &[i64]) -> AppResult<i64> {
    let mut paid = Vec::new();
    for id in violation_ids {
        paid.extend(
            supervision_store::recoveries_of(conn, *id)?
                .iter()
                .filter(|r| r.kind == "repay")
                .map(|r| r.paid_fen),
        );
    }
    Ok(crate::domain::money::sum_fen(paid))
}

pub fn view(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    id: i64,
) -> AppResult<ReportView> {
    let case = report_case(conn, p, id)?;
    let report = store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("report {id}")))?;
    let violation_ids = store::violations_of(conn, id)?;
    let recovered_fen = recovered(conn, &violation_ids)?;
    let reward_due_fen = if case.outcome.as_deref() == Some("closed") {
        reward(&defs.sanctions().reward, Fen(recovered_fen)).0
    } else {
        0
    };
    Ok(ReportView {
        attachments: supervision_store::evidence_of(conn, "report", id)?,
        report,
        case_id: case.id,
        stage: case.stage,
        outcome: case.outcome,
        version: case.version,
        violation_ids,
        recovered_fen,
        reward_due_fen,
    })
}

/// The inspectors' triage list: the reports in the reader's region, open ones unless
/// `with_closed`, newest first.
pub fn triage_list(
    conn: &mut DbConn,
    p: &Principal,
    with_closed: bool,
) -> AppResult<Vec<store::ReportListRow>> {
    p.require_any(&[Role::Inspector, Role::Supervisor, Role::Auditor])?;
    let path = crate::service::scope::staff_region(p)?;
    Ok(store::in_region(conn, path, with_closed, 500)?)
}

/// Links a violation the report led to (same region).
pub fn link_violation(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    id: i64,
    violation_id: i64,
) -> AppResult<ReportView> {
    p.require_any(&[Role::Inspector, Role::Supervisor])?;
    report_case(conn, p, id)?;
    let v_case = case_store::for_subject(conn, Subject::Violation(violation_id))?
        .filter(|c| p.covers_region(&c.region_path))
        .ok_or_else(|| {
            AppError::rule_on_msg(
                "violation_id",
                "no_such_violation",
                Msg::new("rule-no-such-violation").text("violation_id", violation_id.to_string()),
            )
        })?;
    conn.write_tx(|conn| store::link(conn, id, v_case.subject_id))?;
    view(conn, defs, p, id)
}

/// A supervisor records a reward payment. The reward is fixed from the amount recovered at
/// the first payment; payments beyond it are refused.
pub fn pay_reward(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    id: i64,
    amount_fen: i64,
    now_ms: i64,
) -> AppResult<ReportView> {
    p.require_any(&[Role::Supervisor])?;
    if amount_fen <= 0 {
        return Err(AppError::rule_on_msg(
            "amount_fen",
            "amount_not_positive",
            Msg::new("rule-amount-not-positive"),
        ));
    }
    conn.write_tx(|conn| {
        let current = view(conn, defs, p, id)?;
        if current.outcome.as_deref() != Some("closed") {
            return Err(AppError::rule_msg(
                RuleKind::Conflict,
                "report_not_confirmed",
                Msg::new("rule-report-not-confirmed"),
            ));
        }
        let due = current.report.reward_fen.unwrap_or(current.reward_due_fen);
        if due == 0 {
            return Err(AppError::rule_msg(
                RuleKind::Conflict,
                "nothing_recovered",
                Msg::new("rule-nothing-recovered"),
            ));
        }
        // Compared before adding, so that no amount can overflow the sum.
        if amount_fen > due - current.report.reward_paid_fen {
            let (due, paid) = (Fen(due), Fen(current.report.reward_paid_fen));
            let left = Fen(due.0 - paid.0);
            return Err(AppError::rule_on_msg(
                "amount_fen",
                "reward_above_due",
                Msg::new("rule-reward-above-due")
                    .fen("due", due.0)
                    .fen("paid", paid.0)
                    .fen("left", left.0),
            ));
        }
        let paid = current.report.reward_paid_fen + amount_fen;
        store::set_reward(conn, id, due, paid, (paid == due).then_some(now_ms))?;
        view(conn, defs, p, id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_found_however_it_is_typed() {
        let code = new_tracking_code();
        for typed in [
            code.clone(),
            code.to_lowercase(),
            code.replace('-', ""),
            format!("  {} ", code.replace('-', " ").to_lowercase()),
        ] {
            assert_eq!(hash(&typed), hash(&code), "{typed}");
        }
        assert_ne!(hash("ABCDE-FGHJK"), hash("ABCDE-FGHJM"));
    }
}
