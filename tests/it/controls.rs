//! The bypass suite (issue 21): each control is tried the way a user would walk around it,
//! and the refusal is asserted with its status and error code; then the legitimate path.
use crate::common::{pdf, trauma_claim, TestApp, TRAUMA_DOCUMENTS};
use serde_json::{json, Value};

crate::trials!(controls {
    scenarios: [
        a_return_must_ask_for_something_and_the_resident_answers_each_item_in_place,
        a_blocking_finding_shows_on_the_case_page_and_only_a_sign_off_override_releases_it,
        every_tampering_with_the_trail_is_detected,
        a_sign_off_breach_is_flagged_then_climbs_to_the_director_once
    ],
});

async fn submit_with_all_documents(app: &TestApp, resident: &str) -> (i64, i64) {
    let (status, body) = app.post(resident, "/api/claims", trauma_claim()).await;
    assert_eq!(status, 201, "{body}");
    let claim_id = body["claim_id"].as_i64().unwrap();
    for kind in TRAUMA_DOCUMENTS {
        let (status, body) = app
            .upload(resident, claim_id, kind, "scan.pdf", pdf())
            .await;
        assert_eq!(status, 201, "{kind}: {body}");
    }
    (claim_id, body["case_id"].as_i64().unwrap())
}

async fn return_for(app: &TestApp, token: &str, case_id: i64, body: Value) -> (u16, Value) {
    let (_, case) = app.get(token, &format!("/api/cases/{case_id}")).await;
    let mut body = body;
    body["action"] = json!("return_for_documents");
    body["expected_version"] = case["version"].clone();
    app.post(token, &format!("/api/cases/{case_id}/actions"), body)
        .await
}

async fn a_return_must_ask_for_something_and_the_resident_answers_each_item_in_place(app: TestApp) {
    let resident = app.login("resident").await;
    let clerk = app.login("clerk").await;
    let (claim_id, case_id) = submit_with_all_documents(&app, &resident).await;

    // Nothing is missing and nothing is named: the return would tell the resident nothing.
    let (status, body) = return_for(&app, &clerk, case_id, json!({"comment": "请补充"})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "return_needs_items", "{body}");
    assert!(
        body["message_zh"].as_str().unwrap().contains("材料"),
        "{body}"
    );
    assert!(!body["message_en"].as_str().unwrap().is_empty(), "{body}");
    assert_eq!(
        app.event_actions(case_id).await.last().map(String::as_str),
        Some("document_added"),
        "nothing was applied"
    );

    // A named extra document with a description, and the reviewer's comment.
    let (status, body) = return_for(
        &app,
        &clerk,
        case_id,
        json!({"comment": "发票金额与明细不符，请补开", "extra_documents": ["医院盖章的费用更正说明"]}),
    )
    .await;
    assert_eq!(
        (status, body["stage"].as_str()),
        (200, Some("awaiting_documents")),
        "{body}"
    );

    let (_, detail) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
    let requests = detail["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 1, "{detail}");
    assert_eq!(requests[0]["kind"], "other");
    assert_eq!(requests[0]["description"], "医院盖章的费用更正说明");
    assert_eq!(requests[0]["comment"], "发票金额与明细不符，请补开");
    let request_id = requests[0]["id"].as_i64().unwrap();
    let item = detail["case"]["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["request_id"] == request_id)
        .cloned()
        .unwrap_or_else(|| panic!("the request is on the checklist: {detail}"));
    assert_eq!(item["status"], "requested");

    // The resident cannot resubmit before answering it.
    let (status, body) = app.act(&resident, case_id, "resubmit", "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("guard_failed")),
        "{body}"
    );

    // An item id that is not the latest return's, or a kind that is not the one asked for.
    let (status, body) = app
        .upload_for(
            &resident,
            claim_id,
            "other",
            Some(request_id + 1000),
            "x.pdf",
            pdf(),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("request_not_open")),
        "{body}"
    );
    let (status, body) = app
        .upload_for(
            &resident,
            claim_id,
            "invoice",
            Some(request_id),
            "x.pdf",
            pdf(),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("request_kind_mismatch")),
        "{body}"
    );

    let (status, body) = app
        .upload_for(
            &resident,
            claim_id,
            "other",
            Some(request_id),
            "fix.pdf",
            pdf(),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .upload_for(
            &resident,
            claim_id,
            "other",
            Some(request_id),
            "again.pdf",
            pdf(),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("request_answered")),
        "{body}"
    );

    let (status, body) = app.act(&resident, case_id, "resubmit", "").await;
    assert_eq!(
        (status, body["stage"].as_str()),
        (200, Some("intake")),
        "{body}"
    );
}

/// A page as the browser gets it with this session.
async fn page(app: &TestApp, token: &str, path: &str) -> (u16, String) {
    let res = app
        .client
        .get(app.url(path))
        .header(
            "cookie",
            format!("claimflow_session={token}; claimflow_lang=zh-CN"),
        )
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Posts a form from a page with the page's CSRF token.
async fn post_form(
    app: &TestApp,
    token: &str,
    path: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> (u16, String) {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("_csrf", csrf));
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url(path))
        .header(
            "cookie",
            format!("claimflow_session={token}; claimflow_lang=zh-CN"),
        )
        .form(&form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"_csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 20;
    html[at..].split('"').next().unwrap().to_string()
}

async fn a_blocking_finding_shows_on_the_case_page_and_only_a_sign_off_override_releases_it(
    app: TestApp,
) {
    let resident = app.login("resident").await;
    let (_, case_id) = submit_with_all_documents(&app, &resident).await;
    for (user, action) in [
        ("clerk", "accept"),
        ("reviewer", "recommend_approve"),
        ("senior_reviewer", "approve"),
    ] {
        let token = app.login(user).await;
        let (status, body) = app.act(&token, case_id, action, "").await;
        assert_eq!(status, 200, "{user} {action}: {body}");
    }
    // The eligibility check at intake found the person not covered on the service date
    // (tests/it/claims.rs shows intake writing such findings); here it is planted directly.
    app.raw_sql(&format!(
        "INSERT INTO case_findings (case_id, code, severity, message_zh, message_en, evidence, created_at) \
         VALUES ({case_id}, 'not_eligible', 'error', '就诊日不在待遇享受期内', 'not covered on the service date', '{{}}', 0)"
    ))
    .unwrap();

    let supervisor = app.login("supervisor").await;
    let (status, body) = app.act(&supervisor, case_id, "approve", "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("guard_failed")),
        "gated: {body}"
    );

    let (status, html) = page(&app, &supervisor, &format!("/cases/{case_id}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("阻止支付"),
        "the finding shows as gated: {html}"
    );
    let finding_id = {
        let at = html.find("/findings/").expect("an override form") + 10;
        html[at..].split('/').next().unwrap().to_string()
    };
    let csrf = csrf_of(&html);
    let override_path = format!("/cases/{case_id}/findings/{finding_id}/override");

    // A reviewer cannot override; the supervisor needs a comment.
    let reviewer = app.login("reviewer").await;
    let (status, _) = post_form(
        &app,
        &reviewer,
        &override_path,
        &csrf,
        &[("reason_code", "registry_corrected"), ("comment", "x")],
    )
    .await;
    assert_eq!(status, 403);
    let (status, html) = post_form(
        &app,
        &supervisor,
        &override_path,
        &csrf,
        &[("reason_code", "registry_corrected"), ("comment", " ")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("须说明理由"),
        "the refusal in Chinese on the page: {html}"
    );
    let (status, html) = post_form(
        &app,
        &supervisor,
        &override_path,
        &csrf,
        &[("reason_code", "hit_explained"), ("comment", "登记已更正")],
    )
    .await;
    assert_eq!(
        status, 422,
        "a reason that does not apply to this finding: {html}"
    );

    let (status, _) = post_form(
        &app,
        &supervisor,
        &override_path,
        &csrf,
        &[
            ("reason_code", "registry_corrected"),
            ("comment", "参保登记已核实更正"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, html) = page(&app, &supervisor, &format!("/cases/{case_id}")).await;
    assert!(
        html.contains("已由主管否决于") && html.contains("参保登记已核实更正"),
        "{html}"
    );
    assert!(!html.contains("阻止支付"), "{html}");
    assert!(app
        .event_actions(case_id)
        .await
        .iter()
        .any(|a| a == "finding_overridden"));

    let (status, body) = app.act(&supervisor, case_id, "approve", "").await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("approved")),
        "{body}"
    );
}

fn verify(app: &TestApp) -> claimflow::store::audit_verify::VerifyReport {
    claimflow::store::audit_verify::verify_all(
        &mut app.conn(),
        app.config.audit_key.as_bytes(),
        |_| {},
    )
    .unwrap()
}

/// The (case, reason) of every break, sorted by case.
fn broken(report: &claimflow::store::audit_verify::VerifyReport) -> Vec<(i64, String)> {
    let mut found: Vec<(i64, String)> = report
        .breaks
        .iter()
        .map(|b| (b.case_id, b.reason.to_string()))
        .collect();
    found.sort();
    found
}

fn decided_claim_case(app: &TestApp) -> (i64, i64) {
    use claimflow::store::schema::cases::dsl::*;
    use diesel::prelude::*;
    let mut conn = app.conn();
    let conn: &mut claimflow::store::DbConn = &mut conn;
    claimflow::db_run!(conn, c => cases
        .filter(outcome.eq("approved").and(subject_kind.eq("claim")))
        .order(id)
        .select((id, subject_id))
        .first(c))
    .expect("the demo data holds an approved claim")
}

/// A demo case still in a stage other than sign-off.
fn open_demo_case(app: &TestApp) -> i64 {
    use claimflow::store::schema::cases::dsl::*;
    use diesel::prelude::*;
    let mut conn = app.conn();
    let conn: &mut claimflow::store::DbConn = &mut conn;
    claimflow::db_run!(conn, c => cases
        .filter(stage.is_not_null().and(stage.ne("signoff")))
        .order(id)
        .select(id)
        .first(c))
    .expect("the demo data holds an open case")
}

/// Every way of tampering with the trail by hand, on both backends: each is refused by the
/// database while its triggers stand, and each is reported by `audit verify` once they are
/// removed; a rewrite consistent with SHA-256 alone is caught by the keyed checkpoint.
async fn every_tampering_with_the_trail_is_detected(app: TestApp) {
    let resident = app.login("resident").await;
    let mut fresh = Vec::new();
    for n in 1..=5 {
        let (status, body) = app
            .post(
                &resident,
                "/api/claims",
                crate::common::nth_stay(trauma_claim(), n),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let claim_id = body["claim_id"].as_i64().unwrap();
        for kind in TRAUMA_DOCUMENTS {
            let (status, body) = app
                .upload(&resident, claim_id, kind, "scan.pdf", pdf())
                .await;
            assert_eq!(status, 201, "{kind}: {body}");
        }
        fresh.push(body["case_id"].as_i64().unwrap());
    }
    let [altered, middle, tail, erased, rewritten] = fresh[..] else {
        unreachable!()
    };
    let (decided_case, decided_claim) = decided_claim_case(&app);
    let moved_case = open_demo_case(&app);
    // Demo and test cases verify, and a checkpoint seals them.
    let report = verify(&app);
    assert!(
        report.is_clean(),
        "{:?} {:?}",
        broken(&report),
        report.problems
    );
    let summary = claimflow::service::jobs::audit_checkpoint(
        &mut app.conn(),
        &app.config.audit_key,
        claimflow::store::now_ms(),
    )
    .unwrap();
    assert!(summary["heads"].as_i64().unwrap() > 5, "{summary}");
    let report = verify(&app);
    assert!(
        report.is_clean() && report.checkpoints == 1,
        "{:?}",
        report.problems
    );

    // The database refuses to change or remove the trail…
    let edit =
        format!("UPDATE audit_events SET comment = 'edited' WHERE case_id = {altered} AND seq = 2");
    assert!(
        app.raw_sql(&edit).is_err(),
        "the append-only trigger refuses updates"
    );
    let delete = format!("DELETE FROM audit_events WHERE case_id = {erased}");
    assert!(app.raw_sql(&delete).is_err(), "and deletes");
    // …so tampering takes dropping the guards first.
    let drop = match app.backend {
        crate::common::Backend::Sqlite => {
            "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete"
        }
        crate::common::Backend::Postgres => {
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"
        }
    };
    app.raw_sql(drop).unwrap();
    let tail_of = |case: i64| format!("(SELECT MAX(seq) FROM audit_events WHERE case_id = {case})");
    app.raw_sql(&edit).unwrap();
    app.raw_sql(&format!(
        "DELETE FROM audit_events WHERE case_id = {middle} AND seq = 2"
    ))
    .unwrap();
    app.raw_sql(&format!(
        "DELETE FROM audit_events WHERE case_id = {tail} AND seq = {}",
        tail_of(tail)
    ))
    .unwrap();
    app.raw_sql(&delete).unwrap();
    app.raw_sql(&format!(
        "UPDATE claims SET decided_fen = decided_fen + 100000 WHERE id = {decided_claim}"
    ))
    .unwrap();
    app.raw_sql(&format!(
        "UPDATE cases SET stage = 'signoff' WHERE id = {moved_case}"
    ))
    .unwrap();
    // A rewrite that SHA-256 alone cannot see: the newest event goes, and the case row's
    // head is moved back onto the one before it.
    app.raw_sql(&format!(
        "DELETE FROM audit_events WHERE case_id = {rewritten} AND seq = {}",
        tail_of(rewritten)
    ))
    .unwrap();
    app.raw_sql(&format!(
        "UPDATE cases SET last_seq = last_seq - 1, last_hash = (SELECT hash FROM audit_events WHERE case_id = {rewritten} AND seq = {}) WHERE id = {rewritten}",
        tail_of(rewritten)
    ))
    .unwrap();

    let report = verify(&app);
    let found = broken(&report);
    let reasons_of = |case: i64| -> Vec<&str> {
        found
            .iter()
            .filter(|(c, _)| *c == case)
            .map(|(_, r)| r.as_str())
            .collect()
    };
    let reported = |case: i64, reason: &str| reasons_of(case).iter().any(|r| r.contains(reason));
    assert!(reported(altered, "content does not match"), "{found:?}");
    assert!(reported(middle, "sequence gap"), "{found:?}");
    for case in [tail, erased] {
        assert!(reported(case, "newest events were deleted"), "{found:?}");
        assert!(reported(case, "recorded by checkpoint 1"), "{found:?}");
    }
    assert!(
        reported(decided_case, "decided_fen: the row says"),
        "{found:?}"
    );
    assert!(
        reported(moved_case, "stage: the row says signoff"),
        "{found:?}"
    );
    assert_eq!(
        reasons_of(rewritten).len(),
        1,
        "only the checkpoint sees the rewrite: {found:?}"
    );
    assert!(reported(rewritten, "recorded by checkpoint 1"), "{found:?}");
    let known = [
        altered,
        middle,
        tail,
        erased,
        rewritten,
        decided_case,
        moved_case,
    ];
    assert!(
        found.iter().all(|(c, _)| known.contains(c)),
        "nothing else is reported: {found:?}"
    );
    // Four events were removed since the checkpoint counted them (the erased trail had
    // several).
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(
        report.problems[0].contains("of them are missing"),
        "{:?}",
        report.problems
    );

    // Editing the checkpoint itself breaks its MAC, as does verifying with another key.
    app.raw_sql("UPDATE audit_checkpoints SET events = events - 10")
        .unwrap();
    let report = verify(&app);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("does not match its MAC")),
        "{:?}",
        report.problems
    );
    let other_key =
        claimflow::store::audit_verify::verify_all(&mut app.conn(), &[7u8; 32], |_| {}).unwrap();
    assert!(
        other_key.problems.iter().any(|p| p.contains("audit key")),
        "{:?}",
        other_key.problems
    );
}

/// One tick of the escalation job, run now.
async fn escalate_now(app: &TestApp) -> Value {
    let config = app.config.clone();
    actix_web::web::block(move || {
        let core = claimflow::core::Core::open(config).unwrap();
        let runner = claimflow::jobs::JobRunner::new(&core).unwrap();
        runner
            .run_now(
                claimflow::config::Job::Escalation,
                claimflow::store::now_ms(),
            )
            .unwrap()
    })
    .await
    .unwrap()
}

/// The escalation letters of a case, by recipient.
fn escalation_letters(app: &TestApp, case_id: i64) -> Vec<String> {
    claimflow::store::outbox::list(&mut app.conn(), Some(case_id), 100)
        .unwrap()
        .into_iter()
        .filter(|m| m.template == "case_escalated")
        .map(|m| m.to_addr)
        .collect()
}

/// Escalation climbs (issue 21, item 9): a sign-off breach is first flagged to the
/// supervisors, then, a second SLA later, handed to the director, each step once per stage
/// visit with a letter and an audit event; the director may then sign off in the
/// supervisor's place, and the trail still verifies.
async fn a_sign_off_breach_is_flagged_then_climbs_to_the_director_once(mut app: TestApp) {
    let case = app.cases_in_initial_review(1).await[0];
    let reviewer = app.login("reviewer").await;
    let senior = app.login("senior_reviewer").await;
    assert_eq!(
        app.act(&reviewer, case, "recommend_approve", "").await.0,
        200
    );
    let (status, body) = app.act(&senior, case, "approve", "").await;
    assert_eq!(
        (status, body["stage"].as_str()),
        (200, Some("signoff")),
        "{body}"
    );
    let past = claimflow::store::now_ms() - 3_600_000;
    app.raw_sql(&format!(
        "UPDATE cases SET due_at = {past} WHERE id = {case}"
    ))
    .unwrap();
    // The job runs in working hours only; this test must not depend on the clock.
    app.config.jobs.escalate_outside_working_hours = true;

    // Step 1 at the breach: flagged where it is, the supervisors told.
    let ran = escalate_now(&app).await;
    assert_eq!(
        (ran["flagged"].as_i64(), ran["escalated"].as_i64()),
        (Some(1), Some(0)),
        "{ran}"
    );
    let supervisor = app.login("supervisor").await;
    let (_, view) = app.get(&supervisor, &format!("/api/cases/{case}")).await;
    assert_eq!(
        view["escalated_to"],
        Value::Null,
        "a flag hands nothing over: {view}"
    );
    assert_eq!(escalation_letters(&app, case).len(), 1);
    assert!(escalation_letters(&app, case)[0].starts_with("supervisor@"));
    // Once per step: the next run before the second SLA has passed does nothing.
    let again = escalate_now(&app).await;
    assert_eq!(
        (again["flagged"].as_i64(), again["escalated"].as_i64()),
        (Some(0), Some(0)),
        "{again}"
    );

    // A second SLA later (16 working hours past the due time: moved to now by hand), the
    // breach climbs to the director.
    let (_, events) = app
        .get(&supervisor, &format!("/api/cases/{case}/events"))
        .await;
    let flagged = events
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["action"] == "sla_breach_flagged")
        .unwrap()
        .clone();
    let step1: Value = serde_json::from_str(flagged["new_value"].as_str().unwrap()).unwrap();
    assert_eq!(
        (step1["step"].as_i64(), step1["steps"].as_i64()),
        (Some(1), Some(2)),
        "{step1}"
    );
    assert!(
        step1["next_escalation_at"].as_i64().unwrap() > past,
        "{step1}"
    );
    app.raw_sql(&format!(
        "UPDATE cases SET next_escalation_at = {} WHERE id = {case}",
        claimflow::store::now_ms() - 1000
    ))
    .unwrap();
    let ran = escalate_now(&app).await;
    assert_eq!(ran["escalated"].as_i64(), Some(1), "{ran}");
    let (_, view) = app.get(&supervisor, &format!("/api/cases/{case}")).await;
    assert_eq!(view["escalated_to"], "director", "{view}");
    let letters = escalation_letters(&app, case);
    assert_eq!(letters.len(), 2, "{letters:?}");
    assert!(
        letters.iter().any(|to| to.starts_with("director@")),
        "{letters:?}"
    );
    let again = escalate_now(&app).await;
    assert_eq!(
        (again["flagged"].as_i64(), again["escalated"].as_i64()),
        (Some(0), Some(0)),
        "climbed to the top: {again}"
    );
    let actions = app.event_actions(case).await;
    assert_eq!(
        (
            actions
                .iter()
                .filter(|a| *a == "sla_breach_flagged")
                .count(),
            actions.iter().filter(|a| *a == "escalated").count()
        ),
        (1, 1),
        "{actions:?}"
    );

    // The director signs off in the supervisor's place.
    let director = app.login("director").await;
    let (status, body) = app.act(&director, case, "approve", "超时由主任签发").await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("approved")),
        "{body}"
    );
    assert!(
        verify(&app).is_clean(),
        "the trail still says what the rows hold"
    );
}
