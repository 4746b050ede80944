//! Review operations beyond the queue: escalation by the scheduled job with mail through a
//! real SMTP server, one run per tick across instances, the outbox surviving an SMTP
//! outage, reassignment, auto-assignment with absences, resident letters, reminders,
//! auto-close, digests and reviewer metrics. Every scenario runs on SQLite and PostgreSQL.
use crate::common::{decoded, with_smtp, SmtpSink, TestApp};
use actix_web::web;
use claimflow::config::Job;
use claimflow::core::Core;
use claimflow::jobs::JobRunner;
use claimflow::store::{self, outbox};
use serde_json::{json, Value};
use std::sync::Arc;

crate::trials!(operations {
    scenarios: [
        a_breached_case_is_escalated_once_by_two_instances_and_the_supervisor_is_mailed,
        two_running_schedulers_escalate_once,
        mail_waits_in_the_outbox_while_smtp_is_down_and_goes_out_once,
        supervisors_reassign_one_or_many_cases_with_a_reason,
        residents_are_told_what_is_missing_reminded_and_closed_out,
        digests_and_reviewer_metrics
    ],
    backends: [auto_assignment],
    plain: [bad_schedules_are_refused_with_the_setting_named],
});

const DAY: i64 = 86_400_000;

async fn runner(config: claimflow::config::Config) -> Arc<JobRunner> {
    web::block(move || Arc::new(JobRunner::new(&Core::open(config).unwrap()).unwrap()))
        .await
        .unwrap()
}

/// Puts a case's due time an hour in the past. The letters queued so far (the demo
/// data's, the new case's) count as delivered, so that the scenario sees only its own mail.
fn breach(app: &TestApp, case_id: i64) {
    let past = store::now_ms() - 3_600_000;
    app.raw_sql(&format!(
        "UPDATE cases SET due_at = {past} WHERE id = {case_id}; \
         UPDATE mail_outbox SET status = 'sent' WHERE status = 'pending'"
    ))
    .unwrap();
}

/// Runs one tick of a job on two instances at the same moment.
async fn tick_on_both(
    a: &Arc<JobRunner>,
    b: &Arc<JobRunner>,
    job: Job,
    tick: i64,
) -> Vec<Option<Value>> {
    let (a, b) = (a.clone(), b.clone());
    web::block(move || {
        std::thread::scope(|s| {
            let ha = s.spawn(|| a.run_tick(job, tick).unwrap());
            let hb = s.spawn(|| b.run_tick(job, tick).unwrap());
            vec![ha.join().unwrap(), hb.join().unwrap()]
        })
    })
    .await
    .unwrap()
}

fn mail_for(app: &TestApp, case_id: i64) -> Vec<outbox::MailRow> {
    outbox::list(&mut app.conn(), Some(case_id), 100).unwrap()
}

fn count(actions: &[String], name: &str) -> usize {
    actions.iter().filter(|a| *a == name).count()
}

async fn a_breached_case_is_escalated_once_by_two_instances_and_the_supervisor_is_mailed(
    app: TestApp,
) {
    let sink = SmtpSink::start();
    let case = app.cases_in_initial_review(1).await[0];
    breach(&app, case);
    let config = with_smtp(app.config.clone(), sink.port);
    let (a, b) = (runner(config.clone()).await, runner(config).await);

    let tick = store::now_ms();
    let ran: Vec<Value> = tick_on_both(&a, &b, Job::Escalation, tick)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ran.len(), 1, "exactly one instance runs the tick: {ran:?}");
    assert_eq!(ran[0]["escalated"], 1, "{ran:?}");
    // A later tick finds nothing new: the breach is handled once per stage visit.
    let again = a.run_tick(Job::Escalation, tick + 1000).unwrap().unwrap();
    assert_eq!(again["escalated"], 0);

    let actions = app.event_actions(case).await;
    assert_eq!(count(&actions, "escalated"), 1, "{actions:?}");
    let supervisor = app.login("supervisor").await;
    let (_, view) = app.get(&supervisor, &format!("/api/cases/{case}")).await;
    assert_eq!(view["escalated_to"], "supervisor", "{view}");
    assert_eq!(view["sla"], "breached");

    // The letter goes out through the real SMTP server, once, whichever instance sends.
    let sent: Vec<Value> = tick_on_both(&a, &b, Job::MailDelivery, tick + 2000)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["sent"], 1, "{sent:?}");
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    let raw = &messages[0];
    assert!(
        raw.contains("supervisor@demo.claimflow.local"),
        "addressed to the supervisor: {raw}"
    );
    let body = decoded(raw);
    assert!(
        body.contains(&format!("案件 {case}")) && body.contains("超过办理时限"),
        "a Chinese letter naming the case: {body}"
    );
    let escalation_letters: Vec<_> = mail_for(&app, case)
        .into_iter()
        .filter(|m| m.template == "case_escalated")
        .collect();
    assert_eq!(escalation_letters.len(), 1);
    assert_eq!(escalation_letters[0].status, "sent");

    // The supervisor now holds the stage's actions as a stand-in, and acting clears the
    // escalation.
    let (_, queue) = app.get(&supervisor, "/api/queue?sla=breached").await;
    let row = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["case_id"] == case)
        .cloned()
        .unwrap_or_else(|| panic!("escalated case in the supervisor's queue: {queue}"));
    assert!(row["flags"]
        .as_array()
        .unwrap()
        .contains(&json!("sla_escalated")));
    let (status, moved) = app
        .act(&supervisor, case, "recommend_approve", "超时代办")
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["stage"], "second_review");
    assert_eq!(moved["escalated_to"], Value::Null);
}

async fn two_running_schedulers_escalate_once(app: TestApp) {
    let sink = SmtpSink::start();
    let case = app.cases_in_initial_review(1).await[0];
    let mut config = with_smtp(app.config.clone(), sink.port);
    config.jobs.schedules = [
        ("escalation".to_string(), "* * * * * *".to_string()),
        ("mail_delivery".to_string(), "* * * * * *".to_string()),
    ]
    .into_iter()
    .collect();
    let (a, b) = (runner(config.clone()).await, runner(config).await);
    let handles = [
        claimflow::jobs::spawn_scheduler(a.clone()).unwrap(),
        claimflow::jobs::spawn_scheduler(b.clone()).unwrap(),
    ];
    breach(&app, case);
    let runs = |app: &TestApp| {
        store::jobs::recent(&mut app.conn(), "escalation", 1000)
            .unwrap()
            .len()
    };
    // Wait for the letter, then for three more escalation ticks.
    let mut waited = 0;
    while sink.messages().is_empty() {
        assert!(waited < 600, "no escalation letter after 30 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    let seen = runs(&app);
    while runs(&app) < seen + 3 {
        assert!(waited < 1200, "the schedulers stopped ticking");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    for h in handles {
        h.abort();
    }
    let actions = app.event_actions(case).await;
    assert_eq!(count(&actions, "escalated"), 1, "{actions:?}");
    assert_eq!(sink.messages().len(), 1);
    let ticks = store::jobs::recent(&mut app.conn(), "escalation", 1000).unwrap();
    let mut distinct: Vec<i64> = ticks.iter().map(|t| t.0).collect();
    distinct.dedup();
    assert_eq!(distinct.len(), ticks.len(), "one run per tick");
}

async fn mail_waits_in_the_outbox_while_smtp_is_down_and_goes_out_once(app: TestApp) {
    let port = crate::common::free_port();
    let config = with_smtp(app.config.clone(), port);
    let a = runner(config.clone()).await;
    let case = app.cases_in_initial_review(1).await[0];
    breach(&app, case);
    let now = store::now_ms();
    a.run_now(Job::Escalation, now).unwrap();

    // Nothing listens on the port: the message stays, with the error and a retry time.
    let report = a.run_now(Job::MailDelivery, now).unwrap();
    assert_eq!(report, json!({"sent": 0, "retrying": 1, "failed": 0}));
    let row = &mail_for(&app, case)[0];
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert!(row.last_error.is_some());
    assert_eq!(row.next_attempt_at, now + 30_000, "first retry after 30 s");
    // Before the retry time nothing is attempted.
    let report = a.run_now(Job::MailDelivery, now + 10_000).unwrap();
    assert_eq!(report, json!({"sent": 0, "retrying": 0, "failed": 0}));

    // The server comes back; the retry delivers it.
    let sink = SmtpSink::start_on(port);
    let report = a.run_now(Job::MailDelivery, now + 31_000).unwrap();
    assert_eq!(report["sent"], 1, "{report}");
    // A restarted instance (a new core on the same database) does not send it again.
    let restarted = runner(with_smtp(app.config.clone(), port)).await;
    let report = restarted.run_now(Job::MailDelivery, now + 600_000).unwrap();
    assert_eq!(report["sent"], 0);
    assert_eq!(sink.messages().len(), 1);
    let row = &mail_for(&app, case)[0];
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2));
}

async fn supervisors_reassign_one_or_many_cases_with_a_reason(app: TestApp) {
    use claimflow::domain::roles::Role;
    let cases = app.cases_in_initial_review(3).await;
    app.add_user("reviewer2", &[Role::Reviewer], "330300");
    let user_id = |name: &str| {
        store::users::find_by_username(&mut app.conn(), name)
            .unwrap()
            .unwrap()
            .id
    };
    let (reviewer, reviewer2, clerk) =
        (user_id("reviewer"), user_id("reviewer2"), user_id("clerk"));
    let supervisor = app.login("supervisor").await;
    let reviewer_token = app.login("reviewer").await;

    let body =
        |to: i64, reason: &str| json!({"case_ids": cases, "to_user_id": to, "reason": reason});
    let (status, _) = app
        .post(&reviewer_token, "/api/cases/reassign", body(reviewer2, "x"))
        .await;
    assert_eq!(status, 403, "only supervisors reassign");
    let (status, err) = app
        .post(&supervisor, "/api/cases/reassign", body(reviewer2, " "))
        .await;
    assert_eq!(
        (status, err["fields"][0]["field"].as_str()),
        (422, Some("reason")),
        "{err}"
    );
    let (status, err) = app
        .post(&supervisor, "/api/cases/reassign", body(999_999, "休假"))
        .await;
    assert_eq!(status, 422, "{err}");
    let (status, err) = app
        .post(&supervisor, "/api/cases/reassign", body(clerk, "休假"))
        .await;
    assert_eq!(status, 422);
    assert!(
        err.to_string().contains("reviewer"),
        "names the missing role: {err}"
    );

    // All or nothing: one unknown case stops the lot.
    let (status, _) = app
        .post(
            &supervisor,
            "/api/cases/reassign",
            json!({"case_ids": [cases[0], 999_999], "to_user_id": reviewer2, "reason": "均衡工作量"}),
        )
        .await;
    assert_eq!(status, 404);
    let (_, view) = app
        .get(&supervisor, &format!("/api/cases/{}", cases[0]))
        .await;
    assert_eq!(view["assignee_id"], Value::Null, "nothing moved");

    let (status, moved) = app
        .post(
            &supervisor,
            "/api/cases/reassign",
            body(reviewer2, "均衡工作量"),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert!(moved
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["assignee_id"] == reviewer2));
    assert_eq!(count(&app.event_actions(cases[1]).await, "reassigned"), 1);
    // The assignee's claim-next returns the assigned case first.
    let r2 = app.login("reviewer2").await;
    let (status, next) = app.post(&r2, "/api/queue/next", json!({})).await;
    assert_eq!(status, 200);
    assert!(cases.contains(&next["id"].as_i64().unwrap()), "{next}");

    // One case, to a reviewer with an address: they get a letter.
    let (status, _) = app
        .post(
            &supervisor,
            &format!("/api/cases/{}/reassign", cases[2]),
            json!({"to_user_id": reviewer, "reason": "复杂案件"}),
        )
        .await;
    assert_eq!(status, 200);
    let letters = mail_for(&app, cases[2]);
    assert_eq!(letters[0].template, "case_assigned");
    assert!(
        letters[0].body_text.contains("复杂案件"),
        "{}",
        letters[0].body_text
    );

    // An absent reviewer takes no new work.
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let (status, err) = app
        .post(
            &supervisor,
            &format!("/api/users/{reviewer}/absences"),
            json!({"from": "2026-13-01", "to": "2026-12-02", "reason": "年假"}),
        )
        .await;
    assert_eq!(
        (status, err["fields"][0]["field"].as_str()),
        (422, Some("from"))
    );
    let (status, _) = app
        .post(
            &supervisor,
            &format!("/api/users/{reviewer}/absences"),
            json!({"from": today.to_string(), "to": (today + chrono::Days::new(3)).to_string(), "reason": "年假"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, err) = app
        .post(
            &supervisor,
            &format!("/api/cases/{}/reassign", cases[0]),
            json!({"to_user_id": reviewer, "reason": "x"}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(err.to_string().contains("absent"), "{err}");
}

async fn residents_are_told_what_is_missing_reminded_and_closed_out(app: TestApp) {
    let resident = app.login("resident").await;
    let (status, created) = app
        .post(&resident, "/api/claims", crate::common::trauma_claim())
        .await;
    assert_eq!(status, 201, "{created}");
    let case = created["case_id"].as_i64().unwrap();
    let letters = mail_for(&app, case);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].template, "claim_received");
    assert_eq!(letters[0].to_addr, "resident@demo.claimflow.local");
    assert!(
        letters[0].body_text.contains("12,500.00 元"),
        "{}",
        letters[0].body_text
    );

    let clerk = app.login("clerk").await;
    let (_, view) = app.get(&clerk, &format!("/api/cases/{case}")).await;
    let (status, body) = app
        .post(
            &clerk,
            &format!("/api/cases/{case}/actions"),
            json!({"action": "return_for_documents", "expected_version": view["version"], "comment": "请补充",
                   "missing_documents": ["invoice", "no_third_party_certificate"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let returned = mail_for(&app, case)
        .into_iter()
        .find(|m| m.template == "returned_for_documents")
        .expect("a return letter");
    assert!(
        returned.body_text.contains("医疗费用发票") && returned.body_text.contains("无第三方责任"),
        "lists exactly what is missing: {}",
        returned.body_text
    );
    assert!(
        returned.body_text.contains("审核人员说明：请补充"),
        "the reviewer's comment travels in the letter: {}",
        returned.body_text
    );
    let (_, detail) = app
        .get(&resident, &format!("/api/claims/{}", created["claim_id"]))
        .await;
    let requests = detail["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2, "{detail}");
    assert_eq!(requests[0]["comment"], "请补充", "and in the API: {detail}");

    let runner = runner(app.config.clone()).await;
    let now = store::now_ms();
    runner
        .run_now(Job::DocumentReminders, now + 8 * DAY)
        .unwrap();
    runner
        .run_now(Job::DocumentReminders, now + 8 * DAY + 1)
        .unwrap();
    let reminders = mail_for(&app, case)
        .into_iter()
        .filter(|m| m.template == "documents_reminder")
        .count();
    assert_eq!(reminders, 1, "one reminder per period");

    // Two reminders must have gone out (jobs.reminders_before_close) before the claim closes.
    let early = runner.run_now(Job::AutoClose, now + 61 * DAY).unwrap();
    assert_eq!(early["closed"], 0, "{early}");
    assert!(
        early["waiting_for_reminders"].as_i64().unwrap() >= 1,
        "{early}"
    );
    let (_, view) = app.get(&resident, &format!("/api/cases/{case}")).await;
    assert_eq!(view["outcome"], serde_json::Value::Null, "{view}");
    runner
        .run_now(Job::DocumentReminders, now + 15 * DAY)
        .unwrap();
    assert_eq!(
        count(&app.event_actions(case).await, "documents_reminded"),
        2
    );

    let summary = runner.run_now(Job::AutoClose, now + 61 * DAY).unwrap();
    assert!(summary["closed"].as_i64().unwrap() >= 1, "{summary}");
    let (_, view) = app.get(&resident, &format!("/api/cases/{case}")).await;
    assert_eq!(view["outcome"], "withdrawn", "{view}");
    assert_eq!(count(&app.event_actions(case).await, "auto_closed"), 1);
    assert!(mail_for(&app, case)
        .iter()
        .any(|m| m.template == "withdrawn_no_response"));
}

async fn digests_and_reviewer_metrics(app: TestApp) {
    let runner = runner(app.config.clone()).await;
    let now = store::now_ms();
    let first = runner.run_now(Job::DailyDigest, now).unwrap();
    assert!(first["letters"].as_i64().unwrap() >= 3, "{first}");
    let again = runner.run_now(Job::DailyDigest, now + 1000).unwrap();
    assert_eq!(again["letters"], 0, "one digest per person per day");
    let rows = outbox::list(&mut app.conn(), None, 500).unwrap();
    let digest = rows
        .iter()
        .find(|m| m.template == "digest" && m.to_addr == "reviewer@demo.claimflow.local")
        .expect("the reviewer's digest");
    assert!(digest.body_text.contains("待办："), "{}", digest.body_text);
    // Delivery through the in-memory backend hands every message over once.
    let sent = runner.run_now(Job::MailDelivery, now).unwrap();
    assert_eq!(
        sent["sent"].as_u64().unwrap() as usize,
        runner.transport.sent().len()
    );

    let supervisor = app.login("supervisor").await;
    let path = format!("/api/reports/reviewers?from=0&to={}", now + DAY);
    let (status, report) = app.get(&supervisor, &path).await;
    assert_eq!(status, 200, "{report}");
    let reviewer = report["reviewers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["username"] == "reviewer")
        .cloned()
        .unwrap_or_else(|| panic!("the demo reviewer has acted: {report}"));
    assert!(reviewer["figures"]["actions"].as_u64().unwrap() >= 1);
    assert!(reviewer["figures"]["median_ms_by_stage"]["initial_review"].is_i64());
    assert!(!report["teams"].as_array().unwrap().is_empty());
    let reviewer_token = app.login("reviewer").await;
    assert_eq!(app.get(&reviewer_token, &path).await.0, 403);
    let (status, _) = app
        .get(&supervisor, "/api/reports/reviewers?from=10&to=5")
        .await;
    assert_eq!(status, 422);
}

fn bad_schedules_are_refused_with_the_setting_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = claimflow::config::Config {
        data_dir: dir.path().into(),
        ..Default::default()
    };
    config
        .jobs
        .schedules
        .insert("escalation".into(), "every five minutes".into());
    let err = config.clone().finish().unwrap_err().to_string();
    assert!(err.contains("jobs.schedules.escalation"), "{err}");
    config.jobs.schedules.clear();
    config
        .jobs
        .schedules
        .insert("sweep".into(), "0 * * * * *".into());
    let err = config.clone().finish().unwrap_err().to_string();
    assert!(
        err.contains("unknown job") && err.contains("mail_delivery"),
        "{err}"
    );
    config.jobs.schedules.clear();
    config.mail.backend = "pigeon".into();
    assert!(config
        .finish()
        .unwrap_err()
        .to_string()
        .contains("mail.backend"));
}

/// The shipped workflows with auto-assignment switched on for initial review.
fn auto_assign_workflows(dir: &std::path::Path) -> std::path::PathBuf {
    let out = dir.join("workflows");
    std::fs::create_dir_all(&out).unwrap();
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    for entry in std::fs::read_dir(shipped).unwrap().flatten() {
        if entry.path().extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        std::fs::write(
            out.join(entry.file_name()),
            text.replace("auto_assign = false", "auto_assign = true"),
        )
        .unwrap();
    }
    out
}

async fn auto_assignment_balances_work_and_skips_absent_reviewers(backend: crate::common::Backend) {
    use claimflow::domain::roles::Role;
    let dir = tempfile::tempdir().unwrap();
    let Some(mut config) = crate::common::test_config(backend, dir.path()) else {
        return eprintln!("skipped: set CLAIMFLOW_TEST_POSTGRES_URL to run on PostgreSQL");
    };
    config.workflows_dir = auto_assign_workflows(dir.path());
    let app = crate::common::spawn_with(backend, config, dir).await;
    // reviewer3 (lower id than reviewer2) is away; it would win every tie otherwise.
    app.add_user("reviewer3", &[Role::Reviewer], "330300");
    app.add_user("reviewer2", &[Role::Reviewer], "330300");
    let id = |name: &str| {
        store::users::find_by_username(&mut app.conn(), name)
            .unwrap()
            .unwrap()
            .id
    };
    let (reviewer, reviewer2, reviewer3) = (id("reviewer"), id("reviewer2"), id("reviewer3"));
    let supervisor = app.login("supervisor").await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive()
        .to_string();
    let (status, _) = app
        .post(
            &supervisor,
            &format!("/api/users/{reviewer3}/absences"),
            json!({"from": today, "to": today, "reason": "培训"}),
        )
        .await;
    assert_eq!(status, 201);
    let open = |user: i64| -> i64 {
        store::cases::open_counts(&mut app.conn(), &[user])
            .unwrap()
            .first()
            .map_or(0, |c| c.1)
    };
    let assignee = |case: i64| {
        store::cases::get(&mut app.conn(), case)
            .unwrap()
            .unwrap()
            .assignee_id
    };
    // Give the demo reviewer at least one case so that reviewer2 starts with less work.
    let first = app.cases_in_initial_review(1).await[0];
    let (status, _) = app
        .post(
            &supervisor,
            &format!("/api/cases/{first}/reassign"),
            json!({"to_user_id": reviewer, "reason": "熟悉此类案件"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(open(reviewer2), 0);
    let c1 = app.cases_in_initial_review(1).await[0];
    assert_eq!(
        assignee(c1),
        Some(reviewer2),
        "fewest open cases, absent reviewer3 skipped"
    );
    assert_eq!(count(&app.event_actions(c1).await, "auto_assigned"), 1);
    let expected = if open(reviewer) <= 1 {
        reviewer
    } else {
        reviewer2
    };
    let c2 = app.cases_in_initial_review(1).await[0];
    assert_eq!(assignee(c2), Some(expected), "balanced, lowest id on a tie");
    assert_eq!(open(reviewer3), 0);
}

fn auto_assignment(backend: crate::common::Backend) {
    crate::common::block_on(auto_assignment_balances_work_and_skips_absent_reviewers(
        backend,
    ));
}
