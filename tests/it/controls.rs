//! The bypass suite (issue 21): each control is tried the way a user would walk around it,
//! and the refusal is asserted with its status and error code; then the legitimate path.
use crate::common::{csrf_of, pdf, register_person, trauma_claim, TestApp, TRAUMA_DOCUMENTS};
use serde_json::{json, Value};

crate::trials!(controls {
    scenarios: [
        a_return_must_ask_for_something_and_the_resident_answers_each_item_in_place,
        a_blocking_finding_shows_on_the_case_page_and_only_a_sign_off_override_releases_it,
        every_tampering_with_the_trail_is_detected,
        sign_ins_form_a_chain_the_checkpoints_keep,
        a_sign_off_breach_is_flagged_then_climbs_to_the_director_once,
        claims_the_rules_forbid_are_paid_by_no_route,
        sanctions_stay_inside_the_law_and_money_owed_needs_two_to_write_off,
        money_owed_is_recorded_and_written_off_on_the_violation_page,
        the_demo_keeps_a_gated_claim_and_the_case_page_shows_it
    ],
    plain: [check_refuses_unsafe_workflows_with_file_line_and_hint],
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
        (422, Some("blocked_by_findings")),
        "gated: {body}"
    );

    let (status, html) = app.page(&supervisor, &format!("/cases/{case_id}")).await;
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
    let (status, _) = app
        .post_form(
            &reviewer,
            &override_path,
            &csrf,
            &[("reason_code", "registry_corrected"), ("comment", "x")],
        )
        .await;
    assert_eq!(status, 403);
    let (status, html) = app
        .post_form(
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
    let (status, html) = app
        .post_form(
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

    let (status, _) = app
        .post_form(
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
    let (_, html) = app.page(&supervisor, &format!("/cases/{case_id}")).await;
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

/// Runs `sql` behind the application's back; verification must then name `problem`.
fn found_after(app: &TestApp, sql: &str, problem: &str) {
    app.raw_sql(sql).unwrap();
    let report = verify(app);
    assert!(
        report.problems.iter().any(|p| p.contains(problem)),
        "after `{sql}`: {:?}",
        report.problems
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
    found_after(
        &app,
        "UPDATE audit_checkpoints SET events = events - 10",
        "does not match its MAC",
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

/// A trauma claim the clerk files for `id_number`, with these of its checklist documents.
async fn filed_by_clerk(
    app: &TestApp,
    id_number: &str,
    invoice: &str,
    documents: &[&str],
) -> (i64, i64) {
    let clerk = app.login("clerk").await;
    let mut body = trauma_claim();
    body["id_number"] = json!(id_number);
    body["invoice_numbers"] = json!([invoice]);
    let (status, res) = app.post(&clerk, "/api/claims", body).await;
    assert_eq!(status, 201, "{res}");
    let claim_id = res["claim_id"].as_i64().unwrap();
    upload_as(app, &clerk, claim_id, documents).await;
    (claim_id, res["case_id"].as_i64().unwrap())
}

async fn upload_as(app: &TestApp, token: &str, claim_id: i64, documents: &[&str]) {
    for kind in documents {
        let (status, body) = app.upload(token, claim_id, kind, "scan.pdf", pdf()).await;
        assert_eq!(status, 201, "{kind}: {body}");
    }
}

async fn error_findings(app: &TestApp, claim_id: i64) -> Vec<String> {
    let supervisor = app.login("supervisor").await;
    let (_, detail) = app
        .get(&supervisor, &format!("/api/claims/{claim_id}"))
        .await;
    detail["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error" && f["overridden_at"].is_null())
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// Takes `action` and asserts it is refused with `code`.
async fn refused(app: &TestApp, token: &str, case_id: i64, action: &str, code: &str) {
    let (status, body) = app.act(token, case_id, action, "照付").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some(code)),
        "{action}: {body}"
    );
    assert!(
        !body["message_zh"].as_str().unwrap_or_default().is_empty(),
        "{body}"
    );
    assert!(
        !body["message_en"].as_str().unwrap_or_default().is_empty(),
        "{body}"
    );
}

/// The claims the rules forbid, each tried through the route that used to pay it (issue 21):
/// inside the waiting period through the normal chain, after the person's death through
/// investigation `clear`, and at a facility suspended by an administrator while the claim
/// was in flight. None is paid; the stage refuses with its code; nothing is applied.
async fn claims_the_rules_forbid_are_paid_by_no_route(app: TestApp) {
    let (reviewer, senior, supervisor) = (
        app.login("reviewer").await,
        app.login("senior_reviewer").await,
        app.login("supervisor").await,
    );
    let clerk = app.login("clerk").await;

    // Enrolled mid-year on 20 April: the 90-day wait runs past the May stay.
    let waiting = register_person(&app, "33032619900202005", "2019-04-20", "mid_year", None).await;
    let (claim, case) = filed_by_clerk(&app, &waiting, "BYP-WAIT", &TRAUMA_DOCUMENTS).await;
    assert_eq!(error_findings(&app, claim).await, ["not_eligible"]);
    let (_, detail) = app.get(&supervisor, &format!("/api/claims/{claim}")).await;
    assert!(
        detail["findings"].to_string().contains("waiting_period"),
        "the finding names the waiting period: {detail}"
    );
    assert_eq!(app.act(&clerk, case, "accept", "").await.0, 200);
    assert_eq!(
        app.act(&reviewer, case, "recommend_approve", "").await.0,
        200
    );
    let (status, body) = app.act(&senior, case, "approve", "").await;
    assert_eq!(
        (status, body["stage"].as_str()),
        (200, Some("signoff")),
        "only sign-off may weigh a blocking finding: {body}"
    );
    refused(&app, &supervisor, case, "approve", "blocked_by_findings").await;
    refused(
        &app,
        &supervisor,
        case,
        "approve_partially",
        "blocked_by_findings",
    )
    .await;
    let (_, detail) = app.get(&supervisor, &format!("/api/claims/{claim}")).await;
    assert_eq!(
        detail["decided_fen"],
        Value::Null,
        "nothing was paid: {detail}"
    );

    // Dead since 1 April: screening routes the May claim to investigation, where clearing
    // it still ends at sign-off and the finding still gates it.
    let dead = register_person(
        &app,
        "33032619500101004",
        "2018-11-15",
        "central",
        Some("2019-04-01"),
    )
    .await;
    let (claim, case) = filed_by_clerk(&app, &dead, "BYP-DEAD", &[]).await;
    let (_, view) = app.get(&supervisor, &format!("/api/cases/{case}")).await;
    assert_eq!(view["workflow"], "fraud_investigation", "{view}");
    assert!(!error_findings(&app, claim).await.is_empty());
    // With no documents at all, the family's checklist still holds on the fraud route.
    let (status, body) = app.act(&reviewer, case, "forward", "核查死亡信息").await;
    let forwarded = status == 200;
    if !forwarded {
        assert_eq!(
            (status, body["error"].as_str()),
            (422, Some("guard_failed")),
            "{body}"
        );
    } else {
        refused(&app, &senior, case, "clear", "guard_failed").await;
    }
    let clerk_token = app.login("clerk").await;
    upload_as(&app, &clerk_token, claim, &TRAUMA_DOCUMENTS).await;
    if !forwarded {
        assert_eq!(
            app.act(&reviewer, case, "forward", "核查死亡信息").await.0,
            200
        );
    }
    let (status, body) = app.act(&senior, case, "clear", "已核实").await;
    assert_eq!(
        (status, body["stage"].as_str()),
        (200, Some("decision")),
        "a clearance ends at sign-off: {body}"
    );
    refused(&app, &supervisor, case, "clear", "blocked_by_findings").await;
    let (_, detail) = app.get(&supervisor, &format!("/api/claims/{claim}")).await;
    assert_eq!(detail["decided_fen"], Value::Null, "{detail}");

    // In flight at H330326001 when the administrator suspends it from 1 May: the claim is
    // gated as after a sanction.
    let resident = app.login("resident").await;
    let (claim, case) = submit_with_all_documents(&app, &resident).await;
    assert!(error_findings(&app, claim).await.is_empty());
    let admin = app.login("admin").await;
    let (status, body) = app
        .post(&admin, "/api/admin/facilities/H330326001/status", json!({"status": "suspended", "effective_from": "2019-05-01", "reason": "挂床住院，暂停医保服务"}))
        .await;
    assert!(status < 300, "{body}");
    assert_eq!(error_findings(&app, claim).await, ["facility_suspended"]);
    assert_eq!(app.act(&clerk, case, "accept", "").await.0, 200);
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
    refused(&app, &supervisor, case, "approve", "blocked_by_findings").await;
    // A new claim inside the suspension is refused at intake, saying why.
    let mut inside = crate::common::nth_stay(trauma_claim(), 9);
    inside["admission_date"] = json!("2019-06-02");
    inside["discharge_date"] = json!("2019-06-05");
    let (status, body) = app.post(&resident, "/api/claims", inside).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("facility_not_designated")),
        "{body}"
    );
    assert!(
        verify(&app).is_clean(),
        "every refusal left the trail as it was"
    );
}

/// A phantom-bed violation (Art. 38, 10,000 yuan) at H330326010, taken to the point where a
/// supervisor decides the sanction. Returns (violation id, case id).
async fn violation_awaiting_sanction(app: &TestApp) -> (i64, i64) {
    let (inspector, supervisor) = (app.login("inspector").await, app.login("supervisor").await);
    let (status, inspection) = app
        .post(&inspector, "/api/inspections", json!({"facility_code": "H330326010", "kind": "unannounced", "inspected_on": "2019-06-01", "team": "孙磊、李娜", "scope": "住院病区在床情况"}))
        .await;
    assert_eq!(status, 201, "{inspection}");
    let violation = json!({
        "inspection_id": inspection["id"], "facility_code": "H330326010", "type_code": "phantom_bed",
        "amount_fen": 1_000_000, "claim_ids": [], "department": "骨科", "description": "夜间查房 12 张在床登记，实际在床 3 人"
    });
    let (status, v) = app.post(&inspector, "/api/violations", violation).await;
    assert_eq!(status, 201, "{v}");
    let (id, case_id) = (
        v["violation"]["id"].as_i64().unwrap(),
        v["case_id"].as_i64().unwrap(),
    );
    for (who, action, comment) in [
        (&inspector, "submit_for_review", ""),
        (&supervisor, "request_statement", ""),
        (&inspector, "record_statement", "机构承认管理疏漏"),
    ] {
        let (status, body) = app.act(who, case_id, action, comment).await;
        assert_eq!(status, 200, "{action}: {body}");
    }
    (id, case_id)
}

/// Sessions of the supervisor, a second supervisor (for four-eyes decisions) and the
/// inspector.
async fn two_supervisors_and_an_inspector(app: &TestApp) -> (String, String, String) {
    app.add_user(
        "supervisor2",
        &[claimflow::domain::roles::Role::Supervisor],
        "330300",
    );
    (
        app.login("supervisor").await,
        app.login("supervisor2").await,
        app.login("inspector").await,
    )
}

async fn sanction(app: &TestApp, token: &str, id: i64, choice: Value) -> (u16, Value) {
    let (_, v) = app.get(token, &format!("/api/violations/{id}")).await;
    let mut body = json!({"expected_version": v["version"], "suspension_months": 6, "suspended_from": "2019-07-01", "rectification_due": "2019-09-30"});
    body.as_object_mut()
        .unwrap()
        .extend(choice.as_object().unwrap().clone());
    app.post(token, &format!("/api/violations/{id}/sanction"), body)
        .await
}

/// Sanctions stay inside the law, and money owed is not forgotten (issue 21, items 4-5):
/// above the article's maximum nothing is accepted, whatever the reason; below its minimum
/// only with a mitigating circumstance and a second supervisor; and the case closes only
/// once everything is paid or written off by two supervisors.
async fn sanctions_stay_inside_the_law_and_money_owed_needs_two_to_write_off(app: TestApp) {
    let (supervisor, second, inspector) = two_supervisors_and_an_inspector(&app).await;
    let (id, case_id) = violation_awaiting_sanction(&app).await;

    // Above the maximum: refused with no override, in yuan and months.
    let (status, res) = sanction(
        &app,
        &supervisor,
        id,
        json!({"fine_fen": 2_500_000, "mitigation": "corrected_promptly", "reason": "情节轻微"}),
    )
    .await;
    assert_eq!(
        (status, res["error"].as_str()),
        (422, Some("fine_above_maximum")),
        "{res}"
    );
    assert!(
        res["message_zh"].as_str().unwrap().contains("25,000.00"),
        "{res}"
    );
    let (status, res) = sanction(
        &app,
        &supervisor,
        id,
        json!({"fine_fen": 1_500_000, "suspension_months": 24}),
    )
    .await;
    assert_eq!(
        (status, res["error"].as_str()),
        (422, Some("suspension_above_maximum")),
        "{res}"
    );
    assert!(res["message_en"].as_str().unwrap().contains("24"), "{res}");

    // Below the minimum: only with a mitigating circumstance, and only as a proposal.
    let (status, res) = sanction(&app, &supervisor, id, json!({"fine_fen": 500_000})).await;
    assert_eq!(
        (status, res["error"].as_str()),
        (422, Some("below_minimum_needs_mitigation")),
        "{res}"
    );
    let (status, res) = sanction(&app, &supervisor, id, json!({"fine_fen": 500_000, "mitigation": "corrected_promptly", "reason": "当场退回多收费用"})).await;
    assert_eq!(status, 200, "{res}");
    let approval = res["pending_approval"]["id"]
        .as_i64()
        .expect("a proposal for a second supervisor");
    assert_eq!(res["stage"], "decision", "nothing applied yet: {res}");
    let decide = |token: String, approval: i64| {
        let app = &app;
        async move {
            app.post(
                &token,
                &format!("/api/violations/{id}/approvals/{approval}"),
                json!({"approve": true, "comment": "同意"}),
            )
            .await
        }
    };
    let (status, res) = decide(supervisor.clone(), approval).await;
    assert_eq!(
        status, 403,
        "the proposer does not approve their own proposal: {res}"
    );
    let (status, res) = decide(second.clone(), approval).await;
    assert_eq!(
        (status, res["stage"].as_str()),
        (200, Some("rectification")),
        "{res}"
    );

    // Money owed: the case does not close while anything is unpaid.
    assert_eq!(
        app.act(&inspector, case_id, "report_rectified", "已整改")
            .await
            .0,
        200
    );
    refused(
        &app,
        &inspector,
        case_id,
        "confirm_rectified",
        "money_outstanding",
    )
    .await;
    let (status, res) = app
        .post(
            &supervisor,
            &format!("/api/violations/{id}/write-off"),
            json!({"reason": " "}),
        )
        .await;
    assert_eq!(status, 422, "a write-off needs a reason: {res}");
    let (status, res) = app
        .post(
            &supervisor,
            &format!("/api/violations/{id}/write-off"),
            json!({"reason": "机构已注销，无可执行财产"}),
        )
        .await;
    assert_eq!(status, 201, "{res}");
    let write_off = res["id"].as_i64().unwrap();
    refused(
        &app,
        &inspector,
        case_id,
        "confirm_rectified",
        "money_outstanding",
    )
    .await;
    assert_eq!(decide(supervisor.clone(), write_off).await.0, 403);
    let (status, res) = decide(second.clone(), write_off).await;
    assert_eq!(status, 200, "{res}");
    let (status, case) = app.act(&inspector, case_id, "confirm_rectified", "").await;
    assert_eq!(
        (status, case["outcome"].as_str()),
        (200, Some("closed")),
        "{case}"
    );
    let actions = app.event_actions(case_id).await;
    for expected in [
        "sanction_proposed",
        "write_off_proposed",
        "confirm_rectified",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
    assert!(verify(&app).is_clean());
}

/// The violation page's money section (issue 28, item 4): a payment above what is owed,
/// not a number, zero, or towards another violation's recovery is refused beside its field
/// with the input kept; a payment is in the trail; a write-off needs a reason and a second
/// supervisor, and the proposer's own approval is refused on the page.
async fn money_owed_is_recorded_and_written_off_on_the_violation_page(app: TestApp) {
    let (supervisor, second, inspector) = two_supervisors_and_an_inspector(&app).await;
    let (id, case_id) = violation_awaiting_sanction(&app).await;
    let (status, res) = sanction(&app, &supervisor, id, json!({"fine_fen": 1_500_000})).await;
    assert_eq!(status, 200, "{res}");
    let ids = app.text_column(&format!(
        "SELECT CAST(id AS TEXT) AS text FROM recoveries WHERE violation_id = {id} ORDER BY id"
    ));
    let (repay, fine) = (ids[0].clone(), ids[1].clone());
    let page = format!("/violations/{id}");
    let (status, html) = app.page(&supervisor, &page).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("尚欠合计") && html.contains("25,000.00"),
        "{html}"
    );
    assert!(
        html.contains("id=\"payment-form\""),
        "a supervisor records payments"
    );
    let csrf = csrf_of(&html);
    let pay = |token: String, fields: Vec<(&'static str, String)>| {
        let (app, page, csrf) = (&app, &page, &csrf);
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form(&token, &format!("{page}/payments"), csrf, &fields)
                .await
        }
    };
    for (amount, recovery, says) in [
        ("12,000", &repay, "12,000.00 元超过尚欠的 10,000.00 元"),
        ("十元", &repay, "最多两位小数"),
        ("0", &repay, "须大于 0 元"),
        ("100", &"999999".to_string(), "不属于本违规案件"),
    ] {
        let (status, html) = pay(
            supervisor.clone(),
            vec![("recovery_id", recovery.clone()), ("amount", amount.into())],
        )
        .await;
        assert_eq!(status, 422, "{amount}: {html}");
        assert!(html.contains(says), "{amount}: {says} in {html}");
        assert!(
            html.contains(&format!("value=\"{amount}\"")),
            "{amount} is kept"
        );
    }
    // Nothing was recorded by the refusals, and an inspector records nothing.
    let (status, _) = pay(
        inspector.clone(),
        vec![("recovery_id", repay.clone()), ("amount", "100".into())],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = app
        .post_form(
            &supervisor,
            &format!("{page}/payments"),
            "forged",
            &[("recovery_id", &repay), ("amount", "100")],
        )
        .await;
    assert_eq!(status, 403, "no CSRF token, no payment");
    let paid = |app: &TestApp| {
        app.text_column(&format!(
            "SELECT CAST(SUM(paid_fen) AS TEXT) AS text FROM recoveries WHERE violation_id = {id}"
        ))
    };
    assert_eq!(paid(&app), ["0"]);
    let (status, _) = pay(
        supervisor.clone(),
        vec![
            ("recovery_id", repay.clone()),
            ("amount", "10,000.00".into()),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _) = pay(
        supervisor.clone(),
        vec![("recovery_id", fine.clone()), ("amount", "2,500.5".into())],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(paid(&app), ["1250050"]);
    let payments = app.text_column(&format!(
        "SELECT new_value AS text FROM audit_events WHERE case_id = {case_id} AND action = 'recovery_paid' ORDER BY seq"
    ));
    assert_eq!(payments.len(), 2, "each payment is in the trail");
    assert!(
        payments[1].contains("\"amount_fen\":250050"),
        "{payments:?}"
    );
    let (_, html) = app.page(&supervisor, &page).await;
    assert!(html.contains("12,499.50"), "the fine still owed: {html}");
    assert!(html.contains("登记缴款"), "the timeline names the payment");

    // A write-off: a reason is required, in place; the proposer cannot approve it.
    let (status, html) = app
        .post_form(
            &supervisor,
            &format!("{page}/write-off"),
            &csrf,
            &[("reason", " ")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("核销须说明理由"), "{html}");
    let (status, _) = app
        .post_form(
            &supervisor,
            &format!("{page}/write-off"),
            &csrf,
            &[("reason", "机构已注销")],
        )
        .await;
    assert_eq!(status, 303);
    let approval = app.text_column(&format!(
        "SELECT CAST(id AS TEXT) AS text FROM dual_approvals WHERE violation_id = {id} AND kind = 'write_off'"
    ))[0]
        .clone();
    let (_, html) = app.page(&supervisor, &page).await;
    assert!(html.contains("待另一位负责人批准"), "{html}");
    assert!(
        !html.contains("data-decision=\"approve\""),
        "no approve button for the proposer"
    );
    let decide = format!("{page}/approvals/{approval}");
    let (status, html) = app
        .post_form(&supervisor, &decide, &csrf, &[("decision", "approve")])
        .await;
    assert_eq!(status, 403);
    assert!(html.contains("提议须由另一位负责人批准"), "{html}");
    let (_, html) = app.page(&second, &page).await;
    assert!(html.contains("data-decision=\"approve\""), "{html}");
    let second_csrf = csrf_of(&html);
    let (status, html) = app
        .post_form(&second, &decide, &second_csrf, &[("decision", "maybe")])
        .await;
    assert_eq!(status, 422, "{html}");
    let (status, _) = app
        .post_form(
            &second,
            &decide,
            &second_csrf,
            &[("decision", "approve"), ("comment", "同意核销")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, html) = app.page(&second, &page).await;
    assert!(
        !html.contains("id=\"payment-form\""),
        "nothing is owed any more"
    );
    let owed = app.text_column(&format!(
        "SELECT CAST(SUM(amount_fen - paid_fen - written_off_fen) AS TEXT) AS text FROM recoveries WHERE violation_id = {id}"
    ));
    assert_eq!(owed, ["0"]);
    assert!(verify(&app).is_clean());
}

/// Each unsafe workflow file through `claimflow check` (issue 21, item 8): refused with its
/// file:line and a hint.
fn check_refuses_unsafe_workflows_with_file_line_and_hint() {
    use crate::cli::{claimflow, manifest, text};
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(manifest().join("workflows/trauma.toml")).unwrap();
    let gated = "roles = [\"supervisor\"]\n  guard = \"documents_complete and not third_party_liable and blocking_findings == 0\"";
    assert!(good.contains(gated) && good.contains("distinct_from = [\"initial_review\"]\n"));
    let cases = [
        (
            "a paying sign-off open to a resident",
            good.replacen(gated, &gated.replace("[\"supervisor\"]", "[\"supervisor\", \"resident\"]"), 1),
            "pays the claim but is open to `resident`",
        ),
        (
            "a second review that lost its distinct_from",
            good.replacen("distinct_from = [\"initial_review\"]\n", "", 1),
            "not four-eyes against the earlier review `initial_review`",
        ),
        (
            "a paying action without the findings gate",
            good.replace(" and blocking_findings == 0", ""),
            "can pay the claim while error findings stand",
        ),
        (
            // The senior reviewer (limited to 20,000 yuan) approves straight to payment and
            // no authority stage catches the larger amounts.
            "limited approvers with no sign-off to climb to",
            good.replacen("authority_stage = \"signoff\"\n", "", 1).replacen(
                "  guard = \"documents_complete and not third_party_liable\"\n  to = \"signoff\"",
                "  guard = \"documents_complete and not third_party_liable and blocking_findings == 0\"\n  to = \"approved\"",
                1,
            ),
            "no sign-off",
        ),
    ];
    let file = dir.path().join("unsafe.toml");
    for (what, text_of_file, expected) in cases {
        assert_ne!(text_of_file, good, "{what}: the mutation applied");
        std::fs::write(&file, &text_of_file).unwrap();
        let out = claimflow(dir.path(), &["check", file.to_str().unwrap()], None);
        let msg = text(&out);
        assert_eq!(out.status.code(), Some(1), "{what}: {msg}");
        let line = msg
            .lines()
            .find(|l| l.contains(expected))
            .unwrap_or_else(|| panic!("{what}: expected `{expected}` in {msg}"));
        let located = line
            .split("unsafe.toml:")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.parse::<usize>().ok());
        assert!(
            located.is_some_and(|n| n > 0),
            "{what}: no file:line in `{line}`"
        );
        assert!(msg.contains("hint:"), "{what}: no hint in {msg}");
    }
}

/// The demo data keeps a claim whose error finding gates it at sign-off, and the reviewer's
/// page shows it as blocking payment, with the approval refused.
async fn the_demo_keeps_a_gated_claim_and_the_case_page_shows_it(app: TestApp) {
    let gated: i64 = {
        use claimflow::store::schema::case_findings::dsl::*;
        use diesel::prelude::*;
        let mut conn = app.conn();
        let conn: &mut claimflow::store::DbConn = &mut conn;
        claimflow::db_run!(conn, c => case_findings.filter(severity.eq("error")).select(case_id).first(c))
            .expect("the demo holds a claim with an error finding")
    };
    let supervisor = app.login("supervisor").await;
    let (_, view) = app.get(&supervisor, &format!("/api/cases/{gated}")).await;
    assert_eq!(view["stage"], "signoff", "{view}");
    let (status, html) = app.page(&supervisor, &format!("/cases/{gated}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("阻止支付"),
        "the finding shows as blocking payment"
    );
    refused(&app, &supervisor, gated, "approve", "blocked_by_findings").await;
}

/// Sign-in attempts (issue 23, item 2) are audit records: chained like case events and kept
/// by the keyed checkpoints, so that one rewritten or removed in the database is found.
async fn sign_ins_form_a_chain_the_checkpoints_keep(app: TestApp) {
    app.login("resident").await;
    let res = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": "resident", "password": "not-the-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    claimflow::service::jobs::audit_checkpoint(
        &mut app.conn(),
        &app.config.audit_key,
        claimflow::store::now_ms(),
    )
    .unwrap();
    let report = verify(&app);
    assert!(report.is_clean(), "{:?}", report.problems);
    assert!(report.sign_ins >= 2, "{}", report.sign_ins);
    // A failure turned into a success is found, and found no more once put back.
    found_after(
        &app,
        "UPDATE login_events SET outcome = 'succeeded' WHERE outcome = 'failed'",
        "does not follow from the one before it",
    );
    app.raw_sql("UPDATE login_events SET outcome = 'failed' WHERE username = 'resident' AND user_id IS NULL")
        .unwrap();
    assert!(verify(&app).is_clean(), "{:?}", verify(&app).problems);
    // The last attempt removed: the chain left is whole, but the checkpoint recorded its end.
    found_after(
        &app,
        "DELETE FROM login_events WHERE id = (SELECT MAX(id) FROM login_events)",
        "the chain's end at checkpoint",
    );
}
