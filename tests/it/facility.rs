//! The facility side on both backends: a designated facility's own people act in their own
//! stages (a violation's statement and rectification, an appeal against a screening finding,
//! the hospital's first review of a claim), see only their own cases, and are refused the
//! rest as if it did not exist; deadlines move a case on without them.
use crate::common::{pdf, trauma_claim, violation_at_decision, TestApp, TRAUMA_DOCUMENTS};
use claimflow::domain::roles::Role;
use serde_json::{json, Value};

crate::trials!(facility {
    scenarios: [
        a_violation_is_walked_with_the_facility_acting_in_its_own_stages,
        a_screening_appeal_before_and_after_its_deadline,
        a_facility_sees_nothing_of_other_facilities_and_acts_only_in_its_stages,
        a_facility_admin_adds_staff_within_the_agencys_limit,
        the_demo_facility_finds_its_violation_waiting_for_its_statement,
        the_pages_create_facility_accounts_and_their_letter_address
    ],
    backends: [the_hospital_reviews_a_claim_first_when_the_workflow_says_so],
});

/// The facility of the demo whose violation is walked here (平阳康宁民营医院).
const KANGNING: &str = "H330326020";
/// Another facility, for the scope checks (平阳县人民医院).
const PEOPLES: &str = "H330326010";

/// Creates a facility account through the admin API and signs it in.
pub async fn facility_user(app: &TestApp, username: &str, role: &str, codes: &[&str]) -> String {
    let admin = app.login("admin").await;
    let (status, body) = app
        .post(
            &admin,
            "/api/admin/users",
            json!({"username": username, "display_name": username, "password": crate::common::PASSWORD,
                   "roles": [role], "facility_codes": codes}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    app.login(username).await
}

/// The facility's action in its own stage, at the case's current version.
async fn facility_act(
    app: &TestApp,
    token: &str,
    case_id: i64,
    action: &str,
    comment: &str,
) -> (u16, Value) {
    let (_, view) = app
        .get(token, &format!("/api/facility/cases/{case_id}"))
        .await;
    let version = view["version"].as_i64().unwrap_or(0);
    app.post(
        token,
        &format!("/api/facility/cases/{case_id}/actions"),
        json!({"action": action, "comment": comment, "expected_version": version}),
    )
    .await
}

async fn upload_file(
    app: &TestApp,
    token: &str,
    case_id: i64,
    name: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    let res = app
        .client
        .post(app.url(&format!("/api/facility/cases/{case_id}/files")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The templates of the letters queued for a case.
fn letters(app: &TestApp, case_id: i64) -> Vec<(String, String)> {
    claimflow::store::outbox::list(&mut app.conn(), Some(case_id), 100)
        .unwrap()
        .into_iter()
        .map(|m| (m.template, m.to_addr))
        .collect()
}

/// The actions of a case's trail with the role each was taken in.
async fn trail(app: &TestApp, case_id: i64) -> Vec<(String, String, Option<i64>)> {
    let supervisor = app.login("supervisor").await;
    let (_, events) = app
        .get(&supervisor, &format!("/api/cases/{case_id}/events"))
        .await;
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["role"].as_str().unwrap().to_string(),
                e["actor_id"].as_i64(),
            )
        })
        .collect()
}

/// Marks the case's deadline as passed and runs the escalation job, which moves a stage
/// with a deadline action on.
async fn deadline_passes(app: &mut TestApp, case_id: i64) -> Value {
    let past = claimflow::store::now_ms() - 60_000;
    app.raw_sql(&format!(
        "UPDATE cases SET due_at = {past} WHERE id = {case_id}"
    ))
    .unwrap();
    app.config.jobs.escalate_outside_working_hours = true;
    crate::common::run_job(app, claimflow::config::Job::Escalation).await
}

/// A violation at 平阳康宁民营医院, walked with the facility acting in its own stages: it sees
/// the case only once told, with only the evidence staff disclosed; it states its case with
/// an attachment (audited as itself), is told of the decision, reports its rectification
/// with evidence, and reads what it owes and what was paid. Staff cannot speak for it, and it
/// cannot act in the agency's stages.
async fn a_violation_is_walked_with_the_facility_acting_in_its_own_stages(app: TestApp) {
    let admin = app.login("admin").await;
    let (status, _) = app
        .put(
            &admin,
            &format!("/api/admin/facilities/{KANGNING}/contact"),
            json!({"email": "yibao@kangning.example"}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, bad) = app
        .put(
            &admin,
            &format!("/api/admin/facilities/{KANGNING}/contact"),
            json!({"email": "not an address"}),
        )
        .await;
    assert_eq!(
        (status, bad["fields"][0]["field"].as_str()),
        (422, Some("email")),
        "{bad}"
    );
    let facility = facility_user(&app, "kangning_admin", "facility_admin", &[KANGNING]).await;
    let (inspector, supervisor) = (app.login("inspector").await, app.login("supervisor").await);
    let (status, v) = app
        .post(&inspector, "/api/violations", json!({"facility_code": KANGNING, "type_code": "phantom_bed", "amount_fen": 2_000_000, "claim_ids": [], "department": "骨科", "description": "夜查发现 12 张床位无人，但按住院计费"}))
        .await;
    assert_eq!(status, 201, "{v}");
    let (violation_id, case_id) = (
        v["violation"]["id"].as_i64().unwrap(),
        v["case_id"].as_i64().unwrap(),
    );
    // Two evidence files; one disclosed to the facility.
    let mut evidence = Vec::new();
    for name in ["night-check.pdf", "internal-memo.pdf"] {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(pdf()).file_name(name),
        );
        let res = app
            .client
            .post(app.url(&format!("/api/violations/{violation_id}/evidence")))
            .bearer_auth(&inspector)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        evidence.push(res.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    let (status, row) = app
        .post(
            &inspector,
            &format!(
                "/api/violations/{violation_id}/evidence/{}/disclosure",
                evidence[0]
            ),
            json!({"disclosed": true}),
        )
        .await;
    assert_eq!(
        (status, row["disclosed"].as_bool()),
        (200, Some(true)),
        "{row}"
    );
    // Not yet told: nothing to see (the demo's own violation there is another case).
    let (status, list) = app.get(&facility, "/api/facility/cases").await;
    assert_eq!(status, 200);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|t| t["case_id"] != case_id),
        "{list}"
    );
    assert_eq!(
        app.get(&facility, &format!("/api/facility/cases/{case_id}"))
            .await
            .0,
        404
    );
    for (token, action) in [
        (&inspector, "submit_for_review"),
        (&supervisor, "request_statement"),
    ] {
        assert_eq!(app.act(token, case_id, action, "").await.0, 200, "{action}");
    }
    // Told: the task, a letter to its address, an item in its inbox.
    assert!(
        letters(&app, case_id)
            .contains(&("facility_notified".into(), "yibao@kangning.example".into())),
        "{:?}",
        letters(&app, case_id)
    );
    let (status, list) = app.get(&facility, "/api/facility/cases").await;
    assert_eq!(status, 200);
    let task = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["case_id"] == case_id)
        .unwrap_or_else(|| panic!("{list}"));
    assert!(task["due_at"].as_i64().is_some(), "{list}");
    let (status, view) = app
        .get(&facility, &format!("/api/facility/cases/{case_id}"))
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["open_stage"], "facility_statement");
    assert_eq!(view["violation"]["type_title"]["zh"], "挂床住院", "{view}");
    assert_eq!(view["violation"]["article"], "38");
    assert_eq!(
        view["violation"]["allowed"]["repay_fen"], 2_000_000,
        "{view}"
    );
    let disclosed: Vec<i64> = view["violation"]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        disclosed,
        [evidence[0]],
        "only what staff disclosed: {view}"
    );
    let offered: Vec<&str> = view["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(offered, ["submit_statement"], "its own action only: {view}");
    let file = |id: i64| format!("/api/facility/cases/{case_id}/files/{id}");
    let res = app
        .client
        .get(app.url(&file(evidence[0])))
        .bearer_auth(&facility)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (withheld, unknown) = (
        app.get(&facility, &file(evidence[1])).await,
        app.get(&facility, &file(999_999)).await,
    );
    assert_eq!((withheld.0, unknown.0), (404, 404));
    assert_eq!(withheld.1["error"], unknown.1["error"]);
    // Staff may not speak for the facility; the facility may not take the staff's actions.
    let (status, res) = app
        .act(&inspector, case_id, "submit_statement", "替机构陈述")
        .await;
    assert_eq!(status, 403, "{res}");
    let (status, res) = facility_act(&app, &facility, case_id, "no_statement", "").await;
    assert_eq!(status, 403, "{res}");
    let (status, res) = facility_act(&app, &facility, case_id, "submit_statement", "").await;
    assert_eq!(status, 422, "a statement needs its words: {res}");
    let (status, attached) = upload_file(&app, &facility, case_id, "statement.pdf", pdf()).await;
    assert_eq!(
        (status, attached["purpose"].as_str()),
        (201, Some("facility_statement")),
        "{attached}"
    );
    let (status, res) =
        upload_file(&app, &facility, case_id, "note.pdf", b"plain text".to_vec()).await;
    assert_eq!(status, 415, "{res}");
    let (status, view) = facility_act(
        &app,
        &facility,
        case_id,
        "submit_statement",
        "夜间值班护士记录可证明患者在院，请复核",
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["stage"], "decision");
    assert!(view["actions"].as_array().unwrap().is_empty());
    assert!(letters(&app, case_id)
        .contains(&("facility_received".into(), "yibao@kangning.example".into())));
    let facility_id = app.text_column(
        "SELECT CAST(id AS TEXT) AS text FROM users WHERE username = 'kangning_admin'",
    )[0]
    .parse::<i64>()
    .unwrap();
    assert!(trail(&app, case_id).await.contains(&(
        "submit_statement".into(),
        "facility_admin".into(),
        Some(facility_id)
    )));
    // Its turn is over: no more files, and the agency's decision stage is not its own.
    let (status, res) = upload_file(&app, &facility, case_id, "late.pdf", pdf()).await;
    assert_eq!(
        (status, res["error"].as_str()),
        (409, Some("facility_turn_over")),
        "{res}"
    );
    let (status, res) = facility_act(&app, &facility, case_id, "impose_sanction", "").await;
    assert_eq!(status, 403, "{res}");
    // Staff read the statement's attachment beside the case.
    let res = app
        .client
        .get(app.url(&format!("/evidence/{}", attached["id"])))
        .header("cookie", format!("claimflow_session={inspector}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The decision: a letter, the sanction and what is owed, and the rectification task.
    let (_, current) = app
        .get(&supervisor, &format!("/api/violations/{violation_id}"))
        .await;
    let (status, res) = app
        .post(&supervisor, &format!("/api/violations/{violation_id}/sanction"), json!({"expected_version": current["version"], "fine_fen": 2_000_000, "rectification_due": "2031-01-31"}))
        .await;
    assert_eq!(status, 200, "{res}");
    assert!(letters(&app, case_id)
        .contains(&("facility_decision".into(), "yibao@kangning.example".into())));
    let (_, view) = app
        .get(&facility, &format!("/api/facility/cases/{case_id}"))
        .await;
    assert_eq!(
        (
            view["open_stage"].as_str(),
            view["violation"]["fine_fen"].as_i64()
        ),
        (Some("rectification"), Some(2_000_000)),
        "{view}"
    );
    assert_eq!(view["violation"]["rectification_due"], "2031-01-31");
    assert_eq!(
        view["violation"]["outstanding_fen"], 4_000_000,
        "repay and fine: {view}"
    );
    let (status, evidence_row) =
        upload_file(&app, &facility, case_id, "rectified.pdf", pdf()).await;
    assert_eq!(
        (status, evidence_row["purpose"].as_str()),
        (201, Some("rectification"))
    );
    let (status, view) = facility_act(
        &app,
        &facility,
        case_id,
        "submit_rectification",
        "已撤除闲置床位并完善查房制度",
    )
    .await;
    assert_eq!(
        (status, view["stage"].as_str()),
        (200, Some("follow_up")),
        "{view}"
    );
    // What was paid shows beside what is owed.
    let (_, v) = app
        .get(&supervisor, &format!("/api/violations/{violation_id}"))
        .await;
    let repay_id = v["recoveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "repay")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, res) = app
        .post(
            &supervisor,
            &format!("/api/recoveries/{repay_id}/payments"),
            json!({"amount_fen": 500_000}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let (_, view) = app
        .get(&facility, &format!("/api/facility/cases/{case_id}"))
        .await;
    assert_eq!(view["violation"]["outstanding_fen"], 3_500_000, "{view}");
    let steps: Vec<&str> = view["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert!(
        steps.contains(&"submit_statement")
            && steps.contains(&"impose_sanction")
            && steps.contains(&"submit_rectification"),
        "{steps:?}"
    );
    assert!(
        view["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["role"] != "facility_admin")
            .all(|s| s["comment"] == ""),
        "staff comments stay internal: {view}"
    );
    // The dashboard: status, money owed and paid, no open task left.
    let (status, board) = app.get(&facility, "/api/facility/dashboard").await;
    assert_eq!(status, 200, "{board}");
    assert_eq!(board["facilities"][0]["facility"]["code"], KANGNING);
    assert_eq!(
        (
            board["facilities"][0]["owed_fen"].as_i64(),
            board["facilities"][0]["paid_fen"].as_i64()
        ),
        (Some(3_500_000), Some(500_000)),
        "{board}"
    );
    assert!(
        board["open"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["case_id"] != case_id),
        "{board}"
    );
    let report = claimflow::store::audit_verify::verify_all(
        &mut app.conn(),
        app.config.audit_key.as_bytes(),
        |_| {},
    )
    .unwrap();
    assert!(
        report.problems.is_empty(),
        "the trail verifies: {:?}",
        report.problems
    );
}

/// A claim under investigation at the county hospital: the facility appeals with a document
/// within its deadline (reading the rule that fired, never another claim), and the resident
/// never sees any of it; on a second claim the deadline passes and the system moves it on
/// without the facility, which can then no longer act.
async fn a_screening_appeal_before_and_after_its_deadline(mut app: TestApp) {
    let resident = app.login("resident").await;
    let stay = |facility: &str, from: &str, to: &str, invoice: &str| {
        let mut body = trauma_claim();
        body["facility_code"] = json!(facility);
        body["admission_date"] = json!(from);
        body["discharge_date"] = json!(to);
        body["invoice_numbers"] = json!([invoice]);
        body
    };
    let facility = facility_user(&app, "peoples_staff", "facility", &[PEOPLES]).await;
    let (status, _) = app
        .post(
            &resident,
            "/api/claims",
            stay("H330326001", "2019-03-02", "2019-03-10", "APL-1"),
        )
        .await;
    assert_eq!(status, 201);
    let mut appealed = Vec::new();
    for (from, to, invoice) in [
        ("2019-03-08", "2019-03-12", "APL-2"),
        ("2019-03-09", "2019-03-11", "APL-3"),
    ] {
        let (status, body) = app
            .post(&resident, "/api/claims", stay(PEOPLES, from, to, invoice))
            .await;
        assert_eq!(status, 201, "{body}");
        let (claim_id, case_id) = (
            body["claim_id"].as_i64().unwrap(),
            body["case_id"].as_i64().unwrap(),
        );
        for kind in TRAUMA_DOCUMENTS {
            assert_eq!(
                app.upload(&resident, claim_id, kind, "scan.pdf", pdf())
                    .await
                    .0,
                201
            );
        }
        let (reviewer, senior) = (
            app.login("reviewer").await,
            app.login("senior_reviewer").await,
        );
        let (status, res) = app
            .act(&reviewer, case_id, "forward", "住院时间与另一申请重叠")
            .await;
        assert_eq!(status, 200, "{res}");
        // Before it is told, the facility knows nothing of the claim.
        assert_eq!(
            app.get(&facility, &format!("/api/facility/cases/{case_id}"))
                .await
                .0,
            404
        );
        let (status, res) = app.act(&senior, case_id, "notify_facility", "").await;
        assert_eq!(
            (status, res["stage"].as_str()),
            (200, Some("facility_appeal")),
            "{res}"
        );
        appealed.push((claim_id, case_id));
    }
    let (claim_id, case_id) = appealed[0];
    let (status, view) = app
        .get(&facility, &format!("/api/facility/cases/{case_id}"))
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["open_stage"], "facility_appeal");
    let rules = view["claim"]["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["zh"] == "同一参保人的两次住院时间重叠"),
        "the rule in words: {view}"
    );
    let text = view.to_string();
    assert!(
        !text.contains("other_claim_id") && !text.contains("H330326001") && !text.contains("APL-1"),
        "nothing of the other claim: {text}"
    );
    assert_eq!(view["claim"]["invoice_numbers"], json!(["APL-2"]));
    assert!(view["due_at"].as_i64().is_some());
    let (status, doc) = upload_file(&app, &facility, case_id, "ward-log.pdf", pdf()).await;
    assert_eq!(
        (status, doc["purpose"].as_str()),
        (201, Some("facility_appeal")),
        "{doc}"
    );
    let (status, view) = facility_act(
        &app,
        &facility,
        case_id,
        "submit_appeal",
        "患者 3 月 10 日转入我院，两院记录可核对",
    )
    .await;
    assert_eq!(
        (status, view["stage"].as_str()),
        (200, Some("investigation")),
        "{view}"
    );
    // The resident: under review, no facility stage, no appeal, no file.
    let (_, mine) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
    let text = mine.to_string();
    assert!(
        !text.contains("facility_appeal")
            && !text.contains("submit_appeal")
            && !text.contains("ward-log"),
        "{text}"
    );
    assert_eq!(mine["case"]["stage_title"]["zh"], "审核中", "{mine}");
    // Reviewers read the facility's document on the case page.
    let reviewer = app.login("reviewer").await;
    let (_, page) = app.page(&reviewer, &format!("/cases/{case_id}")).await;
    assert!(
        page.contains(&format!("/evidence/{}", doc["id"])),
        "the appeal's file beside the case"
    );

    // The second claim: a day before its deadline the facility is reminded, once.
    let (_, late_case) = appealed[1];
    let admin = app.login("admin").await;
    let (status, _) = app
        .put(
            &admin,
            &format!("/api/admin/facilities/{PEOPLES}/contact"),
            json!({"email": "yibao@renmin.example"}),
        )
        .await;
    assert_eq!(status, 204);
    let soon = claimflow::store::now_ms() + 3_600_000;
    app.raw_sql(&format!(
        "UPDATE cases SET due_at = {soon} WHERE id = {late_case}"
    ))
    .unwrap();
    for _ in 0..2 {
        crate::common::run_job(&app, claimflow::config::Job::FacilityReminders).await;
    }
    let reminders: Vec<_> = letters(&app, late_case)
        .into_iter()
        .filter(|(t, _)| t == "facility_deadline")
        .collect();
    assert_eq!(
        reminders,
        [(
            "facility_deadline".to_string(),
            "yibao@renmin.example".to_string()
        )]
    );
    // The deadline passes; the system moves it on without the facility.
    let ran = deadline_passes(&mut app, late_case).await;
    assert_eq!(ran["moved_on_at_deadline"], 1, "{ran}");
    let actions = trail(&app, late_case).await;
    assert_eq!(
        actions.last().unwrap(),
        &("no_appeal".to_string(), "system".to_string(), None),
        "{actions:?}"
    );
    let (_, view) = app
        .get(&facility, &format!("/api/facility/cases/{late_case}"))
        .await;
    assert_eq!(view["stage"], "investigation", "{view}");
    assert!(
        view["actions"].as_array().unwrap().is_empty() && view["open_stage"].is_null(),
        "{view}"
    );
    let (status, res) = upload_file(&app, &facility, late_case, "too-late.pdf", pdf()).await;
    assert_eq!(
        (status, res["error"].as_str()),
        (409, Some("facility_turn_over")),
        "{res}"
    );
    let (status, res) =
        facility_act(&app, &facility, late_case, "submit_appeal", "迟到的申诉").await;
    assert_eq!(
        status, 403,
        "the investigation is not the facility's stage: {res}"
    );
    // Its own list keeps both, closed: one by its appeal, one by the deadline.
    let (_, list) = app.get(&facility, "/api/facility/cases").await;
    let closed: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["closed_title"]["en"].as_str().unwrap_or(""))
        .collect();
    assert!(
        closed.contains(&"Submit the appeal") && closed.contains(&"No appeal by the deadline"),
        "{list}"
    );
}

/// A facility user reaches nothing of another facility, of a resident, or of the agency: every
/// operation of the API answers 401, 403 or 404 (a real id of another facility exactly like
/// an id never issued), but for its own pages and what any signed-in user reads.
async fn a_facility_sees_nothing_of_other_facilities_and_acts_only_in_its_stages(app: TestApp) {
    let (violation_id, case_id) = violation_at_decision(&app, KANGNING).await;
    let own = facility_user(&app, "peoples_only", "facility", &[PEOPLES]).await;
    let other = facility_user(&app, "kangning_staff", "facility", &[KANGNING]).await;
    let resident = app.login("resident").await;
    let (status, body) = app.post(&resident, "/api/claims", trauma_claim()).await;
    assert_eq!(status, 201, "{body}");
    let (claim_id, claim_case) = (
        body["claim_id"].as_i64().unwrap(),
        body["case_id"].as_i64().unwrap(),
    );
    // The Kangning facility has a task on the violation; the People's Hospital none.
    assert_eq!(
        app.get(&other, &format!("/api/facility/cases/{case_id}"))
            .await
            .0,
        200
    );
    let same = |a: &(u16, Value), b: &(u16, Value)| {
        assert_eq!(
            (a.0, &a.1["error"]),
            (b.0, &b.1["error"]),
            "{} / {}",
            a.1,
            b.1
        );
        assert_eq!(a.0, 404, "{}", a.1);
    };
    same(
        &app.get(&own, &format!("/api/facility/cases/{case_id}"))
            .await,
        &app.get(&own, "/api/facility/cases/999999").await,
    );
    let act = json!({"action": "submit_statement", "comment": "x", "expected_version": 1});
    same(
        &app.post(
            &own,
            &format!("/api/facility/cases/{case_id}/actions"),
            act.clone(),
        )
        .await,
        &app.post(&own, "/api/facility/cases/999999/actions", act)
            .await,
    );
    let fix = json!({"total_fen": 1, "policy_scope_fen": 1, "self_paid_fen": 0, "comment": "x", "expected_version": 1});
    same(
        &app.post(
            &own,
            &format!("/api/facility/cases/{claim_case}/invoice"),
            fix.clone(),
        )
        .await,
        &app.post(&own, "/api/facility/cases/999999/invoice", fix)
            .await,
    );
    same(
        &upload_file(&app, &own, case_id, "a.pdf", pdf()).await,
        &upload_file(&app, &own, 999_999, "a.pdf", pdf()).await,
    );
    let (list_status, list) = app.get(&own, "/api/facility/cases").await;
    assert_eq!((list_status, list), (200, json!([])));
    // Acting through the staff's door, or on the resident's claim, reads as unknown too.
    let (_, v) = app
        .get(
            &app.login("supervisor").await,
            &format!("/api/violations/{violation_id}"),
        )
        .await;
    let ids = [claim_id, claim_case, case_id, violation_id];
    let mut reached = Vec::new();
    let (_, doc) = app.get(&own, "/api/openapi.json").await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let real = ids.iter().fold(path.clone(), |p, id| {
                p.replacen("{id}", &id.to_string(), 1)
                    .replacen("{code}", KANGNING, 1)
                    .replacen("{id_number}", "330326198005050019", 1)
            });
            let real = real
                .replace("{doc_id}", "1")
                .replace("{finding_id}", "1")
                .replace("{approval_id}", "1")
                .replace("{evidence_id}", "1")
                .replace("{file_id}", "1")
                .replace("{username}", "resident");
            let req = match method.as_str() {
                "get" => app.client.get(app.url(&real)),
                "post" => app.client.post(app.url(&real)).json(&json!({})),
                "put" => app.client.put(app.url(&real)).json(&json!({})),
                "delete" => app.client.delete(app.url(&real)),
                other => panic!("{other}"),
            };
            let res = req.bearer_auth(&own).send().await.unwrap();
            let status = res.status().as_u16();
            let body = res.text().await.unwrap_or_default();
            if (200..300).contains(&status) {
                reached.push(format!("{} {real}", method.to_uppercase()));
                for secret in [
                    "张伟",
                    "330326198005050019",
                    KANGNING,
                    "赵强",
                    "孙磊",
                    "刘洋",
                ] {
                    assert!(
                        !body.contains(secret),
                        "{method} {real} shows {secret}: {body}"
                    );
                }
            }
        }
    }
    reached.sort();
    let allowed = [
        "GET /api/facility/cases",
        "GET /api/facility/dashboard",
        "GET /api/facility/staff",
        "GET /api/me",
        "GET /api/openapi.json",
        "GET /api/supervision/violation-types",
        "GET /api/workflows",
        "GET /healthz",
        "GET /readyz",
        "POST /api/auth/logout",
        // Prometheus counters, for loopback clients when no metrics token is set.
        "GET /metrics",
    ];
    for r in &reached {
        assert!(allowed.contains(&r.as_str()), "a facility user reached {r}");
    }
    assert!(v["version"].as_i64().is_some());
    // The walk signed the session out (`POST /api/auth/logout`): sign in again.
    let own = app.login("peoples_only").await;
    // The pages: the staff's pages are refused, the facility's own open.
    for page in [
        "/queue",
        "/cases/1",
        "/my/claims",
        &format!("/violations/{violation_id}"),
        "/facilities",
        "/audit",
        "/reports",
        "/team",
    ] {
        let (status, html) = app.page(&own, page).await;
        assert_eq!(status, 403, "{page}: {html}");
    }
    assert_eq!(app.page(&own, "/facility").await.0, 200);
    assert_eq!(
        app.page(&own, &format!("/facility/cases/{case_id}"))
            .await
            .0,
        404
    );
}

/// The facility's administrator adds staff for its facility up to the agency's limit; an
/// ordinary facility user may not; each account is in the account history.
async fn a_facility_admin_adds_staff_within_the_agencys_limit(app: TestApp) {
    let head = facility_user(&app, "peoples_head", "facility_admin", &[PEOPLES]).await;
    let clerk = facility_user(&app, "peoples_clerk", "facility", &[PEOPLES]).await;
    let limit = app.config.facility_staff_limit;
    let body = |n: i64| json!({"username": format!("peoples_{n}"), "display_name": "医保办", "password": "a-long-password-1"});
    let (status, res) = app.post(&clerk, "/api/facility/staff", body(0)).await;
    assert_eq!(status, 403, "{res}");
    let (status, res) = app
        .post(
            &head,
            "/api/facility/staff",
            json!({"username": "x y", "password": "short"}),
        )
        .await;
    assert_eq!(status, 422, "{res}");
    for n in 2..limit {
        let (status, res) = app.post(&head, "/api/facility/staff", body(n)).await;
        assert_eq!(status, 201, "{n}: {res}");
    }
    let (status, res) = app.post(&head, "/api/facility/staff", body(limit)).await;
    assert_eq!(
        (status, res["error"].as_str()),
        (409, Some("facility_staff_limit")),
        "{res}"
    );
    let (_, staff) = app.get(&head, "/api/facility/staff").await;
    assert_eq!(staff.as_array().unwrap().len() as i64, limit, "{staff}");
    let new = app.login_with("peoples_2", "a-long-password-1").await;
    let (_, me) = app.get(&new, "/api/me").await;
    assert_eq!(me["roles"], json!(["facility"]), "{me}");
    assert_eq!(me["facilities"], json!([PEOPLES]), "{me}");
    // An agency admin's rules for facility accounts: its facilities named, no staff role.
    let admin = app.login("admin").await;
    let (status, res) = app.post(&admin, "/api/admin/users", json!({"username": "mixed", "password": "a-long-password-1", "roles": ["facility", "reviewer"], "facility_codes": [PEOPLES]})).await;
    assert_eq!(
        (status, res["fields"][0]["field"].as_str()),
        (422, Some("roles")),
        "{res}"
    );
    let (status, res) = app
        .post(
            &admin,
            "/api/admin/users",
            json!({"username": "nowhere", "password": "a-long-password-1", "roles": ["facility"]}),
        )
        .await;
    assert_eq!(
        (status, res["fields"][0]["field"].as_str()),
        (422, Some("facility_codes")),
        "{res}"
    );
    app.add_user("sh_admin", &[Role::Admin], "310000");
    let sh = app.login("sh_admin").await;
    let (status, res) = app.post(&sh, "/api/admin/users", json!({"username": "sh_made", "password": "a-long-password-1", "roles": ["facility"], "facility_codes": [PEOPLES]})).await;
    let (unknown_status, unknown) = app.post(&sh, "/api/admin/users", json!({"username": "sh_made", "password": "a-long-password-1", "roles": ["facility"], "facility_codes": ["H999999999"]})).await;
    assert_eq!((status, unknown_status), (422, 422), "{res} / {unknown}");
    assert_eq!(res["fields"][0]["field"], unknown["fields"][0]["field"]);
}

/// The hospital's first review: off in the shipped trauma workflow (a claim starts at the
/// counter and no facility sees it), on with the example workflow file: the facility
/// confirms one claim, corrects another's amounts (priced again, both in the trail; the bare
/// action and impossible amounts refused), and lets a third pass its deadline.
fn the_hospital_reviews_a_claim_first_when_the_workflow_says_so(backend: crate::common::Backend) {
    crate::common::block_on(async move {
        // Off: the shipped workflow.
        let Some(app) = crate::common::spawn_app(backend).await else {
            eprintln!("skipped: set CLAIMFLOW_TEST_POSTGRES_URL to run on PostgreSQL");
            return;
        };
        let hospital = facility_user(&app, "township_staff", "facility", &["H330326001"]).await;
        let resident = app.login("resident").await;
        let (status, body) = app
            .post(
                &resident,
                "/api/claims",
                crate::common::nth_stay(trauma_claim(), 3),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let (_, case) = app
            .get(&resident, &format!("/api/cases/{}", body["case_id"]))
            .await;
        assert_eq!(case["stage"], "intake", "{case}");
        let (_, list) = app.get(&hospital, "/api/facility/cases").await;
        assert_eq!(list, json!([]));
        drop(app);

        // On: the example file in place of trauma.toml.
        let dir = tempfile::tempdir().unwrap();
        let workflows = dir.path().join("workflows");
        std::fs::create_dir(&workflows).unwrap();
        let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
        for entry in std::fs::read_dir(&shipped).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml")
                && path.file_name().unwrap() != "trauma.toml"
            {
                std::fs::copy(&path, workflows.join(path.file_name().unwrap())).unwrap();
            }
        }
        std::fs::copy(
            shipped.join("examples/trauma-facility-review.toml"),
            workflows.join("trauma.toml"),
        )
        .unwrap();
        let mut config = crate::common::test_config(backend, dir.path()).unwrap();
        config.workflows_dir = workflows;
        // Regions, users and facilities only: the demo's cases assume the shipped workflow.
        let mut app = crate::common::spawn_seeded(backend, config, dir, false).await;
        let hospital = facility_user(&app, "township_staff", "facility", &["H330326001"]).await;
        let resident = app.login("resident").await;
        let mut cases = Vec::new();
        for n in 3..6 {
            let (status, body) = app
                .post(
                    &resident,
                    "/api/claims",
                    crate::common::nth_stay(trauma_claim(), n),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            let (_, case) = app
                .get(&resident, &format!("/api/cases/{}", body["case_id"]))
                .await;
            assert_eq!(case["stage"], "facility_review", "{case}");
            cases.push((
                body["claim_id"].as_i64().unwrap(),
                body["case_id"].as_i64().unwrap(),
            ));
        }
        let (_, list) = app.get(&hospital, "/api/facility/cases").await;
        assert_eq!(list.as_array().unwrap().len(), 3, "{list}");
        // A clerk cannot take the claim before the hospital reviewed it.
        let clerk = app.login("clerk").await;
        let (status, res) = app.act(&clerk, cases[0].1, "accept", "").await;
        assert!(status == 403 || status == 422, "{status} {res}");
        // Confirmed: on to the counter, as filed.
        let (status, view) = facility_act(&app, &hospital, cases[0].1, "confirm_invoice", "").await;
        assert_eq!(
            (status, view["stage"].as_str()),
            (200, Some("intake")),
            "{view}"
        );
        // Corrected: the bare action and impossible amounts refused, then the correction.
        let (claim_id, case_id) = cases[1];
        let (status, res) =
            facility_act(&app, &hospital, case_id, "correct_invoice", "金额有误").await;
        assert_eq!(
            (status, res["fields"][0]["field"].as_str()),
            (422, Some("action")),
            "{res}"
        );
        let (_, view) = app
            .get(&hospital, &format!("/api/facility/cases/{case_id}"))
            .await;
        let version = view["version"].clone();
        let (status, res) = app
            .post(&hospital, &format!("/api/facility/cases/{case_id}/invoice"), json!({"total_fen": 1_000_000, "policy_scope_fen": 1_200_000, "self_paid_fen": 0, "comment": "x", "expected_version": version}))
            .await;
        assert_eq!(
            (status, res["fields"][0]["field"].as_str()),
            (422, Some("policy_scope_fen")),
            "{res}"
        );
        let (_, before) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
        let (status, view) = app
            .post(&hospital, &format!("/api/facility/cases/{case_id}/invoice"), json!({"total_fen": 1_100_000, "policy_scope_fen": 900_000, "self_paid_fen": 150_000, "comment": "发票金额录入有误，以医院结算单为准", "expected_version": version}))
            .await;
        assert_eq!(
            (status, view["stage"].as_str()),
            (200, Some("intake")),
            "{view}"
        );
        assert_eq!(view["claim"]["total_fen"], 1_100_000);
        // The screening rules' copy of the claim (claim_stays) follows the correction.
        let stays = claimflow::store::screening::history_page(
            &mut app.conn(),
            0,
            "2000-01-01",
            "2100-12-31",
            100_000,
        )
        .unwrap();
        let stay = stays
            .iter()
            .find(|s| s.id == claim_id)
            .expect("the claim's stay");
        assert_eq!(stay.total_fen, 1_100_000);
        let (_, after) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
        assert_ne!(
            before["claim"]["payable_fen"], after["claim"]["payable_fen"],
            "priced again"
        );
        let supervisor = app.login("supervisor").await;
        let (_, events) = app
            .get(&supervisor, &format!("/api/cases/{case_id}/events"))
            .await;
        let corrected = events
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "invoice_corrected")
            .expect("the correction in the trail");
        let value =
            |k: &str| serde_json::from_str::<Value>(corrected[k].as_str().unwrap()).unwrap();
        assert_eq!(value("old_value")["total_fen"], 1_250_000, "{corrected}");
        assert_eq!(value("new_value")["total_fen"], 1_100_000, "{corrected}");
        assert_eq!(corrected["role"], "facility");
        // Not reviewed in time: on to the counter by the system.
        let ran = deadline_passes(&mut app, cases[2].1).await;
        assert_eq!(ran["moved_on_at_deadline"], 1, "{ran}");
        let (_, case) = app.get(&clerk, &format!("/api/cases/{}", cases[2].1)).await;
        assert_eq!(case["stage"], "intake", "{case}");
    });
}

/// The demo: the suspended facility's own account signs in to its desk and finds the
/// night-check violation waiting for its statement, with the disclosed record only.
async fn the_demo_facility_finds_its_violation_waiting_for_its_statement(app: TestApp) {
    let (username, code, _) = claimflow::cli::demo::DEMO_FACILITY_USER;
    let facility = app.login(username).await;
    let (_, me) = app.get(&facility, "/api/me").await;
    assert_eq!(
        (me["roles"].clone(), me["facilities"].clone()),
        (json!(["facility_admin"]), json!([code])),
        "{me}"
    );
    let (_, list) = app.get(&facility, "/api/facility/cases").await;
    let open: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["closed_at"].is_null())
        .collect();
    assert_eq!(open.len(), 1, "{list}");
    assert_eq!(open[0]["stage"], "facility_statement");
    let (_, view) = app
        .get(
            &facility,
            &format!("/api/facility/cases/{}", open[0]["case_id"]),
        )
        .await;
    let names: Vec<&str> = view["violation"]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["filename"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["night-check.pdf"], "{view}");
    let (status, page) = app.page(&facility, "/facility").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("平阳康宁民营医院") && page.contains("机构陈述申辩"),
        "{page}"
    );
}

/// The same on the pages: an admin creates a facility administrator with its facility code
/// and sets the facility's letter address (a wrong address said beside its field), and the
/// facility's administrator adds staff from its own page, refused in place past the limit.
async fn the_pages_create_facility_accounts_and_their_letter_address(app: TestApp) {
    let admin = app.login("admin").await;
    let (_, page) = app.page(&admin, "/admin/registry").await;
    let csrf = crate::common::csrf_of(&page);
    let (status, html) = app
        .post_form(
            &admin,
            "/admin/users",
            &csrf,
            &[
                ("username", "renmin_head"),
                ("password", crate::common::PASSWORD),
                ("roles", "facility_admin"),
                ("facility_codes", "H330326010"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{html}");
    let (status, html) = app
        .post_form(
            &admin,
            "/admin/users",
            &csrf,
            &[
                ("username", "renmin_two"),
                ("password", crate::common::PASSWORD),
                ("roles", "facility"),
                ("facility_codes", "H999999999"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("id=\"new_facility_codes-error\"") && html.contains("H999999999"),
        "{html}"
    );
    let (status, html) = app
        .post_form(
            &admin,
            "/admin/facilities/contact",
            &csrf,
            &[("facility", PEOPLES), ("email", "not an address")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"contact-email-error\""), "{html}");
    let (status, _) = app
        .post_form(
            &admin,
            "/admin/facilities/contact",
            &csrf,
            &[("facility", PEOPLES), ("email", "yibao@renmin.example")],
        )
        .await;
    assert_eq!(status, 303);
    let head = app.login("renmin_head").await;
    let (status, page) = app.page(&head, "/facility/staff").await;
    assert_eq!(status, 200, "{page}");
    let csrf = crate::common::csrf_of(&page);
    for n in 1..app.config.facility_staff_limit {
        let name = format!("renmin_{n}");
        let (status, html) = app
            .post_form(
                &head,
                "/facility/staff",
                &csrf,
                &[("username", &name), ("password", "a-long-password-1")],
            )
            .await;
        assert_eq!(status, 303, "{n}: {html}");
    }
    let (status, html) = app
        .post_form(
            &head,
            "/facility/staff",
            &csrf,
            &[
                ("username", "one_too_many"),
                ("password", "a-long-password-1"),
            ],
        )
        .await;
    assert_eq!(status, 409);
    assert!(
        html.contains("id=\"form-error\"") && html.contains("value=\"one_too_many\""),
        "kept and refused in place: {html}"
    );
    let staff = app.login_with("renmin_1", "a-long-password-1").await;
    assert_eq!(
        app.page(&staff, "/facility/staff").await.0,
        403,
        "staff do not add staff"
    );
}
