//! A facility's tasks as cases move: a case arriving at a stage the workflow gives the
//! facility opens a task for the facility of its claim or violation and tells it; leaving
//! closes the task (and acknowledges what the facility sent); a decision on a case the
//! facility was heard in is sent to it; a deadline a day away is a reminder. The case engine
//! calls this on every move; the facility's own use cases (`service::facility`) sit above.
use super::notify::{self, Letter};
use super::Env;
use crate::domain::case::Subject;
use crate::domain::roles::Role;
use crate::domain::workflow::Workflow;
use crate::error::AppResult;
use crate::mail::{Notice, Recipient};
use crate::store::cases::CaseRow;
use crate::store::facility_side as store;
use crate::store::DbConn;
use serde_json::{json, Value};

/// The action a workflow names for a hospital's correction of a claim's invoice: taken only
/// with the corrected amounts, which it records first.
pub const CORRECT_INVOICE: &str = "correct_invoice";

/// Who moved the case, as its audit event names them.
#[derive(Clone, Copy)]
pub struct Mover<'a> {
    pub id: Option<i64>,
    pub role: &'a str,
}

/// The facility a case's subject concerns: the claim's facility, or the violation's.
pub fn facility_of(conn: &mut DbConn, case: &CaseRow) -> AppResult<Option<String>> {
    Ok(match case.subject() {
        Subject::Claim(id) => store::claim_facility(conn, id)?,
        Subject::Violation(id) => {
            crate::store::supervision::violation(conn, id)?.map(|v| v.facility_code)
        }
        Subject::Report(_) | Subject::Appeal(_) => None,
    })
}

/// Tasks for cases opened at one of the facility's stages (a claim the hospital reviews
/// first); no letter: the facility's list and the deadline reminder tell it.
pub fn opened(
    conn: &mut DbConn,
    case_id: i64,
    subject: Subject,
    wf: &Workflow,
    now_ms: i64,
) -> AppResult<()> {
    let stage = wf.initial_stage();
    if !stage.is_facility_stage() {
        return Ok(());
    }
    let code = match subject {
        Subject::Claim(id) => store::claim_facility(conn, id)?,
        _ => None,
    };
    if let Some(code) = code {
        store::open_task(conn, case_id, &code, &stage.id, now_ms)?;
    }
    Ok(())
}

/// What a move means for the facility: leaving one of its stages closes its task (and
/// acknowledges what the facility sent), arriving at one opens a task and tells it, and a
/// decision on a case it was heard in is sent to it.
#[allow(clippy::too_many_arguments)]
pub fn after_move(
    conn: &mut DbConn,
    env: Env<'_>,
    before: &CaseRow,
    moved: &CaseRow,
    wf: &Workflow,
    action: &str,
    by: Mover<'_>,
    now_ms: i64,
) -> AppResult<()> {
    let at_facility = |stage: Option<&str>| {
        stage
            .and_then(|s| wf.stage(s))
            .is_some_and(|s| s.is_facility_stage())
    };
    let left = at_facility(before.stage.as_deref());
    let arrived = at_facility(moved.stage.as_deref());
    if !left && !arrived && action != "impose_sanction" && moved.outcome.is_none() {
        return Ok(());
    }
    let Some(code) = facility_of(conn, moved)? else {
        return Ok(());
    };
    let had_task =
        left || !store::tasks_on(conn, moved.id, std::slice::from_ref(&code))?.is_empty();
    let version = moved.version.to_string();
    if left {
        store::close_tasks(conn, moved.id, action, by.id, now_ms)?;
        let by_facility = by.role.parse::<Role>().is_ok_and(Role::is_facility);
        if by_facility {
            let extra = json!({ "what_zh": stage_title(wf, before, true), "what_en": stage_title(wf, before, false) });
            tell(
                conn,
                env,
                moved,
                &code,
                Letter {
                    template: "facility_received",
                    dedupe: &version,
                    extra,
                },
                now_ms,
            )?;
        }
    }
    if arrived {
        let stage = moved.stage.as_deref().unwrap_or_default();
        store::open_task(conn, moved.id, &code, stage, now_ms)?;
        tell(
            conn,
            env,
            moved,
            &code,
            Letter {
                template: "facility_notified",
                dedupe: &version,
                extra: json!({}),
            },
            now_ms,
        )?;
    }
    if had_task && (action == "impose_sanction" || moved.outcome.is_some()) {
        let outcome = moved
            .outcome
            .as_deref()
            .and_then(|o| wf.title_of_outcome(o));
        let extra = json!({
            "decision_zh": outcome.map_or_else(|| "已作出处理决定".to_string(), |t| t.zh.clone()),
            "decision_en": outcome.map_or_else(|| "a sanction was imposed".to_string(), |t| t.en.clone()),
        });
        tell(
            conn,
            env,
            moved,
            &code,
            Letter {
                template: "facility_decision",
                dedupe: &version,
                extra,
            },
            now_ms,
        )?;
    }
    Ok(())
}

fn stage_title(wf: &Workflow, case: &CaseRow, zh: bool) -> String {
    case.stage
        .as_deref()
        .and_then(|s| wf.stage(s))
        .map(|s| {
            if zh {
                s.title.zh.clone()
            } else {
                s.title.en.clone()
            }
        })
        .unwrap_or_default()
}

/// A letter to the facility: to its contact address, and into the inbox of everyone who
/// speaks for it, leading to the case on the facility's pages.
pub fn tell(
    conn: &mut DbConn,
    env: Env<'_>,
    case: &CaseRow,
    code: &str,
    letter: Letter<'_>,
    now_ms: i64,
) -> AppResult<()> {
    let dedupe_key = format!("{}:{}:{code}:{}", letter.template, case.id, letter.dedupe);
    let href = format!("/facility/cases/{}", case.id);
    for user_id in store::user_ids_of(conn, code)? {
        notify::to_inbox(
            conn,
            user_id,
            letter.template,
            case,
            &dedupe_key,
            &href,
            now_ms,
        )?;
    }
    let Some(email) = store::contact_email(conn, code)? else {
        return Ok(());
    };
    let facility = crate::store::facilities::get(conn, code)?;
    let mut data = notify::case_fields(conn, env.defs, case, None)?;
    if let (Some(map), Value::Object(extra)) = (data.as_object_mut(), letter.extra) {
        map.extend(extra);
        map.insert("facility_code".into(), code.into());
        map.insert("href".into(), href.into());
    }
    let to = Recipient {
        email,
        name: facility.map_or_else(|| code.to_string(), |f| f.name),
        lang: "zh-CN".into(),
    };
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
    )?;
    Ok(())
}

/// The "deadline approaching" letters: every open task whose case falls due within the next
/// `within_ms`, once per task.
pub fn remind(conn: &mut DbConn, env: Env<'_>, now_ms: i64, within_ms: i64) -> AppResult<Value> {
    conn.write_tx(|conn| {
        let mut letters = 0;
        for line in store::task_lines(conn, store::Tasks::DueBetween(now_ms, now_ms + within_ms))? {
            let case = crate::service::scope::load(conn, line.task.case_id)?;
            let dedupe = line.task.id.to_string();
            tell(
                conn,
                env,
                &case,
                &line.task.facility_code,
                Letter {
                    template: "facility_deadline",
                    dedupe: &dedupe,
                    extra: json!({}),
                },
                now_ms,
            )?;
            letters += 1;
        }
        Ok(json!({ "reminded": letters }))
    })
}
