//! Who gets which email, and with what in it. Every notice is queued in the caller's
//! transaction through [`crate::mail::Notifier`]; nothing here sends.
use crate::definitions::Definitions;
use crate::domain::documents::document_kind;
use crate::domain::money::Fen;
use crate::domain::roles::Role;
use crate::error::AppResult;
use crate::mail::{Notice, Recipient};
use crate::service::Env;
use crate::store::cases::CaseRow;
use crate::store::claims::ClaimRecord;
use crate::store::users::Staff;
use crate::store::{claims as claim_store, persons, users, DbConn};
use serde_json::{json, Value};

/// Amounts in letters as on every screen: yuan, thousands separated, two decimals.
pub fn yuan(fen: i64) -> String {
    Fen(fen).yuan_text()
}

/// A local date and time for a letter: `2026-11-23 10:30`.
pub fn local_time(defs: &Definitions, region_path: &str, ms: i64) -> String {
    let cal = defs.calendar_for(region_path);
    chrono::TimeZone::timestamp_millis_opt(&cal.offset, ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

pub fn staff_recipient(s: &Staff) -> Recipient {
    Recipient {
        email: s.email.clone().unwrap_or_default(),
        name: s.display_name.clone(),
        lang: s.lang.clone(),
    }
}

/// The resident a claim belongs to: their account (if any), and their account's address and
/// language, or else the contact address in the registry (in Chinese).
pub fn resident_of(
    conn: &mut DbConn,
    claim: &ClaimRecord,
) -> AppResult<(Option<i64>, Option<Recipient>)> {
    let person = match claim.person_id {
        Some(id) => persons::get(conn, id)?,
        None => None,
    };
    let user = match claim
        .resident_user_id
        .or(person.as_ref().and_then(|p| p.user_id))
    {
        Some(id) => users::get(conn, id)?,
        None => None,
    };
    let name = person
        .as_ref()
        .map(|p| p.name.clone())
        .or(user.as_ref().map(|u| u.display_name.clone()))
        .unwrap_or_default();
    let email = user
        .as_ref()
        .and_then(|u| u.email.clone())
        .or(person.as_ref().and_then(|p| p.email.clone()));
    let user_id = user.as_ref().map(|u| u.id);
    Ok((
        user_id,
        email.map(|email| Recipient {
            email,
            name,
            lang: user.map_or_else(|| "zh-CN".to_string(), |u| u.lang),
        }),
    ))
}

/// Where a case's inbox item leads a member of staff: the page the case is worked on.
pub fn staff_href(case: &CaseRow) -> String {
    use crate::domain::case::Subject;
    match case.subject() {
        Subject::Violation(id) => format!("/violations/{id}"),
        Subject::Report(id) => format!("/reports/{id}"),
        Subject::Claim(_) | Subject::Appeal(_) => format!("/cases/{}", case.id),
    }
}

/// Puts an item in a user's inbox, once per key, in the caller's transaction.
pub fn to_inbox(
    conn: &mut DbConn,
    user_id: i64,
    kind: &str,
    case: &CaseRow,
    dedupe_key: &str,
    href: &str,
    now_ms: i64,
) -> AppResult<bool> {
    Ok(crate::store::inbox::insert(
        conn,
        &crate::store::inbox::NewInboxItem {
            user_id,
            dedupe_key,
            kind,
            case_id: Some(case.id),
            href,
            created_at: now_ms,
        },
    )?)
}

/// The documents as the letter lists them.
pub fn document_list(kinds: &[String]) -> Value {
    kinds
        .iter()
        .map(|k| {
            let kind = document_kind(k);
            json!({ "code": k, "zh": kind.map_or(k.as_str(), |d| d.zh), "en": kind.map_or(k.as_str(), |d| d.en) })
        })
        .collect()
}

/// What a return asked for, as the letter lists it: each kind by its name, an extra
/// document by its description.
pub fn requested_list(requested: &Value) -> Value {
    requested
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let code = r["kind"].as_str().unwrap_or_default();
            let description = r["description"].as_str().unwrap_or_default();
            let kind = document_kind(code);
            let name = |n: &str, sep: &str| match description {
                "" => n.to_string(),
                d => format!("{n}{sep}{d}"),
            };
            json!({ "code": code, "zh": name(kind.map_or(code, |d| d.zh), "："), "en": name(kind.map_or(code, |d| d.en), ": ") })
        })
        .collect()
}

/// What every case letter says about the case. A letter to the resident about a claim on a
/// confidential workflow (an investigation) names the claim's family and "under review".
pub(crate) fn case_fields(
    conn: &mut DbConn,
    defs: &Definitions,
    case: &CaseRow,
    for_resident: Option<&ClaimRecord>,
) -> AppResult<Value> {
    let wf = defs.get(conn, &case.workflow, case.workflow_version)?;
    let stage = case.stage.as_deref().and_then(|s| wf.stage(s));
    let mut titles = (
        wf.title.clone(),
        stage.map(|s| s.title.clone()).unwrap_or_default(),
    );
    if let Some(claim) = for_resident.filter(|_| wf.confidential) {
        if let Some(family) = defs.latest(claim.claim.family.as_str()) {
            titles.0 = family.title.clone();
        }
        if !stage.is_some_and(|s| s.waiting) {
            titles.1 = crate::domain::workflow::Title::under_review();
        }
    }
    let (workflow, stage) = titles;
    Ok(json!({
        "case_id": case.id,
        "claim_id": case.subject().claim(),
        "workflow_zh": workflow.zh, "workflow_en": workflow.en,
        "stage_zh": stage.zh, "stage_en": stage.en,
        "due": case.due_at.map(|d| local_time(defs, &case.region_path, d)).unwrap_or_default(),
    }))
}

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

/// One letter about a case: its template, the key that queues it once, and the fields the
/// template needs beyond what every case letter says.
pub struct Letter<'a> {
    pub template: &'static str,
    pub dedupe: &'a str,
    pub extra: Value,
}

/// Queues a letter to the resident of a claim case; quietly nothing when there is no
/// address.
pub fn to_resident(
    conn: &mut DbConn,
    env: Env<'_>,
    case: &CaseRow,
    letter: Letter<'_>,
    now_ms: i64,
) -> AppResult<bool> {
    let Some(claim_id) = case.subject().claim() else {
        return Ok(false);
    };
    let Some(claim) = claim_store::get(conn, claim_id)? else {
        return Ok(false);
    };
    let (user_id, to) = resident_of(conn, &claim)?;
    let dedupe_key = format!("{}:{}:{}", letter.template, case.id, letter.dedupe);
    // The resident's inbox has it even without an address to mail to.
    if let Some(user_id) = user_id {
        let href = format!("/my/claims/{claim_id}");
        to_inbox(
            conn,
            user_id,
            letter.template,
            case,
            &dedupe_key,
            &href,
            now_ms,
        )?;
    }
    let Some(to) = to else {
        return Ok(false);
    };
    let data = merge(
        case_fields(conn, env.defs, case, Some(&claim))?,
        merge(
            json!({ "total_yuan": yuan(claim.claim.total_fen.0) }),
            letter.extra,
        ),
    );
    env.notifier.enqueue(
        conn,
        Notice {
            template: letter.template,
            to: &to,
            dedupe_key,
            case_id: Some(case.id),
            data,
        },
        now_ms,
    )
}

/// Queues a letter about a case to one staff member.
pub fn to_staff(
    conn: &mut DbConn,
    env: Env<'_>,
    case: &CaseRow,
    staff: &Staff,
    letter: Letter<'_>,
    now_ms: i64,
) -> AppResult<bool> {
    let data = merge(case_fields(conn, env.defs, case, None)?, letter.extra);
    let dedupe_key = format!(
        "{}:{}:{}:{}",
        letter.template, case.id, staff.id, letter.dedupe
    );
    let href = staff_href(case);
    to_inbox(
        conn,
        staff.id,
        letter.template,
        case,
        &dedupe_key,
        &href,
        now_ms,
    )?;
    env.notifier.enqueue(
        conn,
        Notice {
            template: letter.template,
            to: &staff_recipient(staff),
            dedupe_key,
            case_id: Some(case.id),
            data,
        },
        now_ms,
    )
}

/// Everyone holding `role` over the case's region.
pub fn role_holders(conn: &mut DbConn, role: Role, case: &CaseRow) -> AppResult<Vec<Staff>> {
    Ok(users::staff_covering(conn, role, &case.region_path)?)
}
