//! Claims over HTTP on both backends: intake checks, the benefit breakdown, decisions and
//! year-to-date caps, idempotent submission, and the resident's view.
use crate::common::{csrf_of, nth_stay, pdf, trauma_claim, TestApp, TRAUMA_DOCUMENTS};
use claimflow::domain::roles::Role;
use serde_json::{json, Value};

crate::trials!(claims {
    scenarios: [
        trauma_claim_is_decided_at_the_hand_calculated_amount,
        out_of_region_penalty_and_emergency_exemption_show_in_the_breakdown,
        idempotency_key_makes_retries_safe,
        intake_records_findings,
        decisions_are_checked_and_explained_to_the_resident,
        concurrent_decisions_cannot_both_spend_one_cap,
        year_to_date_totals_are_locked_while_a_decision_runs,
        approval_above_the_authority_limit_goes_to_signoff,
        an_honest_retry_without_a_key_files_one_claim,
        the_counter_files_for_a_resident_of_its_region_only,
        a_reviewer_judges_a_declared_emergency_on_the_case_page,
        one_decision_form_asks_what_each_action_needs,
        the_document_viewer_frames_only_for_readers_of_the_case
    ],
});

async fn submit(app: &TestApp, token: &str, body: Value) -> (i64, i64) {
    let (status, res) = app.post(token, "/api/claims", body).await;
    assert_eq!(status, 201, "{res}");
    (
        res["claim_id"].as_i64().unwrap(),
        res["case_id"].as_i64().unwrap(),
    )
}

/// Submits with all seven trauma documents and walks the case to sign-off.
pub async fn trauma_at_signoff(app: &TestApp, body: Value) -> (i64, i64) {
    to_signoff_stage(app, body, &TRAUMA_DOCUMENTS).await
}

/// Submits as the resident with these documents, then accept → recommend → approve.
async fn to_signoff_stage(app: &TestApp, body: Value, documents: &[&str]) -> (i64, i64) {
    let resident = app.login("resident").await;
    let (claim_id, case_id) = submit(app, &resident, body).await;
    for kind in documents {
        assert_eq!(
            app.upload(&resident, claim_id, kind, "scan.pdf", pdf())
                .await
                .0,
            201
        );
    }
    for (user, action) in [
        ("clerk", "accept"),
        ("reviewer", "recommend_approve"),
        ("senior_reviewer", "approve"),
    ] {
        let token = app.login(user).await;
        let (status, body) = app.act(&token, case_id, action, "").await;
        assert_eq!(status, 200, "{user} {action}: {body}");
    }
    (claim_id, case_id)
}

/// `n` trauma claims of the demo resident, each on its own stay, approved at sign-off.
pub async fn approved_trauma_claims(app: &TestApp, n: u64) -> Vec<i64> {
    let supervisor = app.login("supervisor").await;
    let mut claims = Vec::new();
    for i in 0..n {
        let (claim_id, case_id) = trauma_at_signoff(app, nth_stay(trauma_claim(), i)).await;
        let (status, body) = app.act(&supervisor, case_id, "approve", "").await;
        assert_eq!(status, 200, "{body}");
        claims.push(claim_id);
    }
    claims
}

fn step_codes(breakdown: &Value) -> Vec<&str> {
    breakdown["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect()
}

async fn trauma_claim_is_decided_at_the_hand_calculated_amount(app: TestApp) {
    let (claim_id, case_id) = trauma_at_signoff(&app, trauma_claim()).await;
    let supervisor = app.login("supervisor").await;
    let (status, body) = app.act(&supervisor, case_id, "approve", "").await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("approved")),
        "{body}"
    );

    let resident = app.login("resident").await;
    let (_, detail) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
    // pingyang-2019, township health centre (昆阳镇卫生院): policy-scope 10,000.00,
    // deductible 600, 80 %: (10000 - 600) × 0.8 = 7,520.00 yuan.
    assert_eq!(detail["claim"]["decided_fen"], 752_000, "{detail}");
    let b = &detail["breakdown"];
    assert_eq!(b["policy"], "pingyang-2019");
    assert_eq!(
        step_codes(b),
        [
            "policy_scope",
            "annual_scope_limit",
            "deductible",
            "ratio",
            "payable",
            "catastrophic_threshold",
            "assistance_none",
            "bill"
        ]
    );
    // One bill: 12,500.00 total = 7,520.00 basic + 0 + 0 + 4,980.00 the resident pays.
    assert_eq!(
        (
            b["bill"]["fund_fen"].as_i64(),
            b["bill"]["self_pay_fen"].as_i64()
        ),
        (Some(752_000), Some(498_000)),
        "{b}"
    );
    assert_eq!(b["steps"][2]["amount_fen"], 940_000);
    assert_eq!(
        b["steps"][2]["key"],
        "inpatient.categories.township.deductible"
    );
    assert!(b["steps"][3]["zh"].as_str().unwrap().contains("80%"), "{b}");
    let texts: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["zh"].as_str().unwrap())
        .collect();
    assert_eq!(texts.first(), Some(&"已收到您的报销申请"));
    assert_eq!(
        texts.last(),
        Some(&"审核完成：核准支付 7,520.00 元"),
        "{texts:?}"
    );
    assert_eq!(
        detail["findings"],
        json!([]),
        "residents do not see internal findings"
    );
    // The resident was told on receipt and on decision, with the amount and the link.
    let letters = claimflow::store::outbox::list(&mut app.conn(), Some(case_id), 20).unwrap();
    let decided = letters
        .iter()
        .find(|m| m.template == "claim_decided")
        .expect("a decision letter");
    assert_eq!(decided.to_addr, "resident@demo.claimflow.local");
    assert!(
        decided.body_text.contains("核定支付金额：7,520.00 元")
            && decided
                .body_text
                .contains(&format!("/my/claims/{claim_id}")),
        "{}",
        decided.body_text
    );
    assert!(letters.iter().any(|m| m.template == "claim_received"));
    let (_, mine) = app.get(&resident, "/api/me/claims").await;
    let row = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["claim_id"] == claim_id)
        .unwrap();
    assert_eq!(
        (row["decided_fen"].as_i64(), row["status_en"].as_str()),
        (
            Some(752_000),
            Some("Decided: approved, 7,520.00 will be paid")
        )
    );
}

fn out_of_region(facts: Value) -> Value {
    json!({
        "family": "out_of_region", "encounter_kind": "inpatient", "facility_code": "H310000003",
        "admission_date": "2019-03-02", "discharge_date": "2019-03-09", "diagnosis_code": "I21.9",
        "invoice_numbers": [format!("SH-{}", facts.to_string().len())],
        "total_fen": 3_500_000, "policy_scope_fen": 3_000_000, "self_paid_fen": 200_000, "facts": facts
    })
}

async fn out_of_region_penalty_and_emergency_exemption_show_in_the_breakdown(app: TestApp) {
    let resident = app.login("resident").await;
    // Out of city (Shanghai) without filing: 40 % − 5 points.
    let (claim_id, _) = submit(&app, &resident, nth_stay(out_of_region(json!({})), 0)).await;
    let (_, detail) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
    assert!(
        step_codes(&detail["breakdown"]).contains(&"unfiled_penalty"),
        "{}",
        detail["breakdown"]
    );
    assert_eq!(
        detail["claim"]["payable_fen"], 1_004_500,
        "(30000 - 1300) × 35 % = 10045.00"
    );
    // The out-of-region checklist asks for the emergency letter when there was no filing.
    let kinds: Vec<&str> = detail["case"]["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"emergency_explanation") && !kinds.contains(&"out_of_region_filing"),
        "{kinds:?}"
    );

    // A transfer without referral judged an emergency keeps the normal ratio.
    let mut body = out_of_region(
        json!({"emergency": {"time": "2019-03-02 21:00", "place": "上海", "cause": "胸痛", "witness": "王五", "witness_contact": "13900000000"}}),
    );
    body["family"] = json!("unreferred_transfer");
    let (claim_id, _) = submit(&app, &resident, nth_stay(body, 1)).await;
    let (_, detail) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
    let codes = step_codes(&detail["breakdown"]);
    assert!(
        codes.contains(&"emergency_exemption") && !codes.contains(&"unfiled_penalty"),
        "{codes:?}"
    );
    assert_eq!(
        detail["claim"]["payable_fen"], 1_148_000,
        "(30000 - 1300) × 40 % = 11480.00"
    );
}

async fn idempotency_key_makes_retries_safe(app: TestApp) {
    let resident = app.login("resident").await;
    let send = |body: Value, key: &'static str| {
        app.client
            .post(app.url("/api/claims"))
            .bearer_auth(&resident)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = send(trauma_claim(), "retry-1").await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send(trauma_claim(), "retry-1").await.unwrap();
    assert_eq!(
        again.status(),
        200,
        "a replay answers with the first result"
    );
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let mut changed = trauma_claim();
    changed["total_fen"] = json!(1_300_000);
    let conflict = send(changed, "retry-1").await.unwrap();
    assert_eq!(conflict.status(), 409);
    let (_, mine) = app.get(&resident, "/api/me/claims").await;
    let ours = mine
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["admission_date"] == "2019-05-02")
        .count();
    assert_eq!(ours, 1, "one claim for three requests");
}

async fn intake_records_findings(app: TestApp) {
    let resident = app.login("resident").await;
    let (_, first_case) = submit(&app, &resident, trauma_claim()).await;
    // The same invoice again, filed by a clerk for another person, at a facility suspended
    // on the service dates (平阳康宁民营医院, suspended 2019-06-01 for phantom beds).
    let clerk = app.login("clerk").await;
    app.add_user("clerk_wz", &[Role::Clerk], "330300");
    let clerk_wz = app.login("clerk_wz").await;
    let mut body = trauma_claim();
    body["facility_code"] = json!("H330326020");
    body["admission_date"] = json!("2019-06-10");
    body["discharge_date"] = json!("2019-06-20");
    let person2 = claimflow::domain::person::IdNumber::with_check_digit("33032719850612002");
    body["id_number"] = json!(person2);
    let (status, res) = app.post(&clerk, "/api/claims", body.clone()).await;
    assert_eq!(
        (status, res["fields"][0]["field"].as_str()),
        (422, Some("id_number")),
        "a 平阳 clerk cannot file for a 苍南 resident, who reads like an unknown ID number: {res}"
    );
    // Care at a suspended facility is refused at intake, saying why in both languages.
    let (status, res) = app.post(&clerk_wz, "/api/claims", body.clone()).await;
    assert_eq!(
        (
            status,
            res["error"].as_str(),
            res["fields"][0]["field"].as_str()
        ),
        (422, Some("facility_not_designated"), Some("facility_code")),
        "{res}"
    );
    assert!(
        res["message_zh"].as_str().unwrap().contains("暂停医保服务")
            && res["message_en"]
                .as_str()
                .unwrap()
                .contains("suspended from the fund on 2019-06-10"),
        "{res}"
    );
    body["facility_code"] = json!("H330326001");
    let (_, case_id) = submit(&app, &clerk_wz, body).await;
    let staff = app.login("reviewer").await;
    let (_, claim) = app.get(&staff, &format!("/api/cases/{case_id}")).await;
    let (_, detail) = app
        .get(&staff, &format!("/api/claims/{}", claim["subject_id"]))
        .await;
    let codes: Vec<&str> = detail["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"invoice_other_person"), "{codes:?}");
    // Another person's claim on a paid invoice is recorded and refused at once, by the
    // system, naming both persons: never dropped, never sent to review.
    assert_eq!(
        (claim["stage"].as_str(), claim["outcome"].as_str()),
        (None, Some("rejected")),
        "{claim}"
    );
    assert_eq!(
        detail["decision"]["reason_code"], "duplicate_claim",
        "{detail}"
    );
    let dup = detail["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "invoice_other_person")
        .unwrap();
    let en = dup["message_en"].as_str().unwrap();
    assert!(
        en.contains("another insured person") && en.contains("张伟") && en.contains("3303"),
        "both persons named: {dup}"
    );
    let evidence: Value = serde_json::from_str(dup["evidence"].as_str().unwrap()).unwrap();
    assert_eq!(evidence["invoice"], "PY2026-000123");
    let (_, trail) = app
        .get(&staff, &format!("/api/cases/{case_id}/events"))
        .await;
    assert!(
        trail.to_string().contains("refused_at_intake"),
        "the trail records the refusal: {trail}"
    );
    // Outside any enrolment: 2020 is not covered for the demo residents.
    let mut late = trauma_claim();
    late["admission_date"] = json!("2020-03-01");
    late["discharge_date"] = json!("2020-03-05");
    late["invoice_numbers"] = json!(["PY2020-1"]);
    let (late_claim, _) = submit(&app, &resident, late).await;
    let (_, detail) = app.get(&staff, &format!("/api/claims/{late_claim}")).await;
    let not_eligible = detail["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "not_eligible")
        .expect("eligibility finding");
    assert!(
        not_eligible["message_en"]
            .as_str()
            .unwrap()
            .contains("No enrolment covers 2020-03-01"),
        "{not_eligible}"
    );
    let _ = first_case;
}

async fn decisions_are_checked_and_explained_to_the_resident(app: TestApp) {
    let (claim_id, case_id) = trauma_at_signoff(&app, trauma_claim()).await;
    let supervisor = app.login("supervisor").await;
    let (_, case) = app.get(&supervisor, &format!("/api/cases/{case_id}")).await;
    let v = case["version"].as_i64().unwrap();
    let path = format!("/api/cases/{case_id}/actions");
    let (status, body) = app
        .post(
            &supervisor,
            &path,
            json!({"action": "approve", "expected_version": v, "amount_fen": 700_000}),
        )
        .await;
    assert_eq!(
        (status, body["fields"][0]["field"].as_str()),
        (422, Some("comment")),
        "an override needs a reason: {body}"
    );
    let (status, body) = app.post(&supervisor, &path, json!({"action": "approve", "expected_version": v, "amount_fen": 900_000, "comment": "x"})).await;
    assert_eq!(
        (status, body["fields"][0]["field"].as_str()),
        (422, Some("amount_fen")),
        "above the allowance: {body}"
    );
    let (status, body) = app
        .post(
            &supervisor,
            &path,
            json!({"action": "reject", "expected_version": v, "comment": "伪造"}),
        )
        .await;
    assert_eq!(
        (status, body["fields"][0]["field"].as_str()),
        (422, Some("reason_code")),
        "{body}"
    );
    let (status, body) = app.post(&supervisor, &path, json!({"action": "approve_partially", "expected_version": v, "amount_fen": 600_000, "comment": "部分药品超出限定支付范围（内部备注）"})).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("partially_approved")),
        "{body}"
    );
    let (_, detail) = app
        .get(&supervisor, &format!("/api/claims/{claim_id}"))
        .await;
    assert_eq!(
        (
            detail["decision"]["computed_fen"].as_i64(),
            detail["decision"]["decided_fen"].as_i64()
        ),
        (Some(752_000), Some(600_000))
    );
    let resident = app.login("resident").await;
    let (_, mine) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
    let text = mine["timeline"].to_string();
    assert!(text.contains("部分核准，支付 6,000.00 元"), "{text}");
    assert!(
        !text.contains("内部备注"),
        "internal comments never reach the resident"
    );

    // A rejected document shows in the checklist with its reason, and to the resident.
    let reviewer = app.login("reviewer").await;
    let (_, before) = app.get(&reviewer, &format!("/api/claims/{claim_id}")).await;
    let doc_id = before["documents"][0]["id"].as_i64().unwrap();
    let (status, _) = app
        .post(
            &resident,
            &format!("/api/claims/{claim_id}/documents/{doc_id}/reject"),
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(status, 403, "residents cannot reject documents");
    let (status, body) = app
        .post(
            &reviewer,
            &format!("/api/claims/{claim_id}/documents/{doc_id}/reject"),
            json!({"reason": "发票模糊不清"}),
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("rejected")),
        "{body}"
    );
    let (_, after) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
    let item = after["case"]["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["document_id"] == doc_id)
        .unwrap()
        .clone();
    assert_eq!(
        (item["status"].as_str(), item["reason"].as_str()),
        (Some("rejected"), Some("发票模糊不清"))
    );
    assert!(
        after["timeline"].to_string().contains("材料未通过审核"),
        "{}",
        after["timeline"]
    );

    // A return for documents tells the resident exactly what is missing.
    let resident_token = app.login("resident").await;
    let (claim2, case2) = submit(&app, &resident_token, nth_stay(trauma_claim(), 1)).await;
    let clerk = app.login("clerk").await;
    let (_, case) = app.get(&clerk, &format!("/api/cases/{case2}")).await;
    let (status, _) = app.post(&clerk, &format!("/api/cases/{case2}/actions"), json!({"action": "return_for_documents", "expected_version": case["version"], "comment": "请补充", "missing_documents": ["invoice", "selfie"]})).await;
    assert_eq!(status, 422, "unknown kinds are refused");
    let (status, _) = app.post(&clerk, &format!("/api/cases/{case2}/actions"), json!({"action": "return_for_documents", "expected_version": case["version"], "comment": "请补充", "missing_documents": ["invoice", "no_third_party_certificate"]})).await;
    assert_eq!(status, 200);
    let (_, mine) = app
        .get(&resident_token, &format!("/api/claims/{claim2}"))
        .await;
    let last = mine["timeline"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last["missing"],
        json!(["invoice", "no_third_party_certificate"])
    );
    assert_eq!(
        last["zh"],
        "需要补充材料：医疗费用发票、村/居委会无第三方责任证明"
    );
}

async fn concurrent_decisions_cannot_both_spend_one_cap(app: TestApp) {
    // The resident has used the 120,000 policy-scope limit of 2019; the over-limit layer
    // pays 60 % up to 60,000 a year. Each of these claims alone would take all 60,000.
    let big = |invoice: &str| {
        let mut b = trauma_claim();
        b["facility_code"] = json!("H330326010");
        b["invoice_numbers"] = json!([invoice]);
        b["total_fen"] = json!(25_000_000);
        b["policy_scope_fen"] = json!(20_000_000);
        b["self_paid_fen"] = json!(1_000_000);
        b
    };
    let mut cases = Vec::new();
    for i in 0..8 {
        cases.push(trauma_at_signoff(&app, nth_stay(big(&format!("CAP-{i}")), i)).await);
    }
    let supervisor = app.login("supervisor").await;
    let (_, first) = app
        .get(&supervisor, &format!("/api/claims/{}", cases[0].0))
        .await;
    let person_id = first["claim"]["person_id"].as_i64().unwrap();
    app.raw_sql(&format!(
        "INSERT INTO ytd_totals (person_id, schedule, year, scope_fen, over_limit_paid_fen, outpatient_paid_fen, paid_fen) \
         VALUES ({person_id}, 'pingyang', 2019, 12000000, 0, 0, 8000000) \
         ON CONFLICT (person_id, schedule, year) DO UPDATE SET scope_fen = 12000000, over_limit_paid_fen = 0, outpatient_paid_fen = 0, paid_fen = 8000000"
    ))
    .unwrap();
    // Read every version first, then fire all eight decisions at once.
    let mut versions = Vec::new();
    for (_, case_id) in &cases {
        versions.push(
            app.get(&supervisor, &format!("/api/cases/{case_id}"))
                .await
                .1["version"]
                .as_i64()
                .unwrap(),
        );
    }
    let paths: Vec<String> = cases
        .iter()
        .map(|(_, case_id)| format!("/api/cases/{case_id}/actions"))
        .collect();
    let decisions = paths.iter().zip(&versions).map(|(path, v)| {
        app.post(
            &supervisor,
            path,
            json!({"action": "approve", "expected_version": v}),
        )
    });
    for (status, body) in futures_util::future::join_all(decisions).await {
        assert_eq!(status, 200, "{body}");
    }
    let mut decided = Vec::new();
    for (claim, _) in &cases {
        let (_, d) = app.get(&supervisor, &format!("/api/claims/{claim}")).await;
        decided.push(d["claim"]["decided_fen"].as_i64().unwrap());
    }
    decided.sort();
    assert_eq!(
        decided,
        vec![0, 0, 0, 0, 0, 0, 0, 6_000_000],
        "exactly one claim gets the 60,000 of room"
    );
    let mut conn = app.conn();
    let ytd = claimflow::store::claims::ytd_read(&mut conn, person_id, "pingyang", 2019).unwrap();
    assert_eq!(
        (ytd.over_limit_paid_fen, ytd.paid_fen),
        (6_000_000, 14_000_000)
    );
}

/// Deterministic half of the cap-race proof: while one decision holds a person's totals, a
/// second cannot read them for update until the first commits, and then sees its write.
async fn year_to_date_totals_are_locked_while_a_decision_runs(app: TestApp) {
    use claimflow::store::claims::{ytd_for_update, ytd_write};
    use claimflow::store::DbConn;
    let person_id = {
        let resident = app.login("resident").await;
        let (claim, _) = submit(&app, &resident, trauma_claim()).await;
        app.get(&resident, &format!("/api/claims/{claim}")).await.1["claim"]["person_id"]
            .as_i64()
            .unwrap()
    };
    let pool = app.pool.clone();
    let backend = app.backend;
    actix_web::web::block(move || {
        let mut first = pool.get().unwrap();
        let mut second = pool.get().unwrap();
        let second_conn: &mut DbConn = &mut second;
        // The second connection gives up quickly instead of waiting the full lock timeout.
        let short_wait = match backend {
            crate::common::Backend::Sqlite => "PRAGMA busy_timeout = 200",
            crate::common::Backend::Postgres => "SET lock_timeout = '200ms'",
        };
        claimflow::db_run!(second_conn, c => diesel::connection::SimpleConnection::batch_execute(c, short_wait)).unwrap();
        let (tx_started, release) = (std::sync::mpsc::channel::<()>(), std::sync::mpsc::channel::<()>());
        let holder = std::thread::spawn(move || {
            first
                .write_tx(|conn| {
                    let mut ytd = ytd_for_update(conn, person_id, "pingyang", 2019)?;
                    tx_started.0.send(()).unwrap();
                    release.1.recv().unwrap();
                    ytd.paid_fen += 12_345;
                    ytd_write(conn, person_id, "pingyang", 2019, &ytd)?;
                    Ok::<_, diesel::result::Error>(())
                })
                .unwrap();
        });
        tx_started.1.recv().unwrap();
        let blocked = second_conn.write_tx(|conn| ytd_for_update(conn, person_id, "pingyang", 2019));
        assert!(blocked.is_err(), "a second decision must not read the totals while the first holds them");
        release.0.send(()).unwrap();
        holder.join().unwrap();
        let after = second_conn.write_tx(|conn| ytd_for_update(conn, person_id, "pingyang", 2019)).unwrap();
        assert!(after.paid_fen >= 12_345, "the second sees the first's write: {after:?}");
    })
    .await
    .unwrap();
}

/// The test configuration gives senior reviewers an authority limit of 5,000.00 yuan.
async fn approval_above_the_authority_limit_goes_to_signoff(app: TestApp) {
    let run = |total: i64, scope: i64, invoice: &'static str| {
        let mut body = out_of_region(json!({"filed": true, "filing_number": "BA2019001"}));
        body["total_fen"] = json!(total);
        body["policy_scope_fen"] = json!(scope);
        body["self_paid_fen"] = json!(0);
        body["invoice_numbers"] = json!([invoice]);
        body
    };
    let mut outcomes = Vec::new();
    // Out of city, filed, 40 %: (15000 - 1300) × 40 % = 5,480.00 (above); (7000 - 1300) × 40 % = 2,280.00 (within).
    for (n, (total, scope, invoice)) in [
        (1_800_000, 1_500_000, "AUTH-HIGH"),
        (800_000, 700_000, "AUTH-LOW"),
    ]
    .into_iter()
    .enumerate()
    {
        let documents = [
            "invoice",
            "itemised_bill",
            "diagnosis_certificate",
            "discharge_summary",
            "identity_document",
            "out_of_region_filing",
        ];
        let (_, case_id) = to_signoff_stage(
            &app,
            nth_stay(run(total, scope, invoice), n as u64),
            &documents,
        )
        .await;
        let (_, case) = app
            .get(
                &app.login("supervisor").await,
                &format!("/api/cases/{case_id}"),
            )
            .await;
        outcomes.push((case["stage"].clone(), case["outcome"].clone(), case_id));
    }
    assert_eq!(
        (outcomes[0].0.as_str(), outcomes[0].1.as_str()),
        (Some("signoff"), None),
        "5,480.00 is above the senior reviewer's 5,000.00"
    );
    assert_eq!(
        (outcomes[1].0.as_str(), outcomes[1].1.as_str()),
        (None, Some("approved")),
        "2,280.00 is within it"
    );
    let supervisor = app.login("supervisor").await;
    let (_, events) = app
        .get(&supervisor, &format!("/api/cases/{}/events", outcomes[0].2))
        .await;
    let last = events.as_array().unwrap().last().unwrap();
    let new: Value = serde_json::from_str(last["new_value"].as_str().unwrap()).unwrap();
    assert_eq!(new["pending_approval"]["limit_fen"], 500_000, "{new}");
    assert_eq!(new["pending_approval"]["amount_fen"], 548_000);
    assert!(new["pending_approval"]["reason"]
        .as_str()
        .unwrap()
        .contains("5,480.00 yuan is above the senior_reviewer authority limit of 5,000.00 yuan"));
    let (status, body) = app.act(&supervisor, outcomes[0].2, "approve", "").await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("approved")),
        "the supervisor has no limit: {body}"
    );
}

/// Honest retries (issue 23, item 7): the same body sent again by the same resident without
/// an Idempotency-Key answers with the first claim (200) and opens no second case; other
/// amounts on the same invoice are a new claim, which the duplicate-invoice rule catches.
async fn an_honest_retry_without_a_key_files_one_claim(app: TestApp) {
    let resident = app.login("resident").await;
    let (status, first) = app.post(&resident, "/api/claims", trauma_claim()).await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = app.post(&resident, "/api/claims", trauma_claim()).await;
    assert_eq!(
        (status, &again),
        (200, &first),
        "the retry answers with the first claim"
    );
    let supervisor = app.login("supervisor").await;
    let (_, detail) = app
        .get(&supervisor, &format!("/api/claims/{}", first["claim_id"]))
        .await;
    assert!(
        !detail["findings"].to_string().contains("duplicate_invoice"),
        "the resident is not suspected of their own retry: {detail}"
    );
    let mut changed = trauma_claim();
    changed["total_fen"] = json!(1_300_000);
    let (status, other) = app.post(&resident, "/api/claims", changed).await;
    assert_eq!(status, 201, "{other}");
    assert_ne!(other["claim_id"], first["claim_id"]);
    let (_, detail) = app
        .get(&supervisor, &format!("/api/claims/{}", other["claim_id"]))
        .await;
    assert!(
        detail["findings"].to_string().contains("duplicate_invoice"),
        "{detail}"
    );
}

/// The person a counter search lists first, by the link it offers.
fn first_person_linked(html: &str) -> Option<i64> {
    let at = html.find("/intake/new?person=")? + "/intake/new?person=".len();
    html[at..].split('"').next()?.parse().ok()
}

/// A clerk finds a resident of their region by name or ID number, files the claim for them
/// on the form residents use, and handles its documents on the case page. Every way around
/// the region is tried: a person of the next county is neither found, nor opened by id, nor
/// filed for with a forged `person_id`; a resident cannot use the counter or reject a
/// document.
async fn the_counter_files_for_a_resident_of_its_region_only(app: TestApp) {
    let clerk = app.login("clerk").await;
    let (status, html) = app.page(&clerk, "/intake?q=张").await;
    assert_eq!(status, 200, "{html}");
    let own = first_person_linked(&html).expect("张伟 is found by part of the name");
    assert!(html.contains("张伟"), "{html}");
    let (_, by_number) = app.page(&clerk, "/intake?q=330326198005050019").await;
    assert_eq!(first_person_linked(&by_number), Some(own), "{by_number}");
    let (_, elsewhere) = app.page(&clerk, "/intake?q=李娜").await;
    assert!(
        first_person_linked(&elsewhere).is_none() && elsewhere.contains("id=\"no-people\""),
        "a person of 330327 is not listed for a 330326 clerk: {elsewhere}"
    );
    let other = app.text_column("SELECT CAST(id AS TEXT) AS text FROM persons WHERE name = '李娜'")
        [0]
    .clone();
    let (status, _) = app
        .page(&clerk, &format!("/intake/new?person={other}"))
        .await;
    assert_eq!(status, 404, "another region's person by id");
    let (status, form) = app.page(&clerk, &format!("/intake/new?person={own}")).await;
    assert_eq!(status, 200);
    assert!(
        form.contains("张伟") && form.contains("action=\"/intake/new\""),
        "{form}"
    );
    let csrf = csrf_of(&form);
    let claims = || app.text_column("SELECT CAST(COUNT(*) AS TEXT) AS text FROM claims")[0].clone();
    let before = claims();
    let fields = |person: &str, total: &'static str| {
        vec![
            ("person_id", person.to_string()),
            ("family", "trauma".to_string()),
            ("encounter_kind", "inpatient".to_string()),
            ("facility_code", "H330326001".to_string()),
            ("admission_date", "2019-05-02".to_string()),
            ("discharge_date", "2019-05-10".to_string()),
            ("diagnosis_code", "S52.501".to_string()),
            ("invoice_numbers", "PY2026-COUNTER1".to_string()),
            ("total", total.to_string()),
            ("policy_scope", "10000".to_string()),
            ("self_paid", "1500".to_string()),
            (
                "third_party_declaration",
                "在家中跌倒，无第三方责任".to_string(),
            ),
        ]
    };
    let post = |person: String, total: &'static str| {
        let csrf = csrf.clone();
        let clerk = clerk.clone();
        let app = &app;
        async move {
            let owned = fields(&person, total);
            let borrowed: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form(&clerk, "/intake/new", &csrf, &borrowed).await
        }
    };
    let (status, _) = post(other.clone(), "12500").await;
    assert_eq!(status, 404, "a forged person_id of another region");
    let (status, _) = post("999999".into(), "12500").await;
    assert_eq!(status, 404, "an unknown person_id");
    let (status, html) = post(own.to_string(), "12.345").await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("PY2026-COUNTER1") && html.contains("class=\"field-error\""),
        "the form again, the input kept, the message beside the field: {html}"
    );
    assert_eq!(claims(), before, "nothing was filed by the refused forms");
    let (status, _) = post(own.to_string(), "12500").await;
    assert_eq!(status, 303);
    let filed = app.text_column(
        "SELECT CAST(c.id AS TEXT) || ':' || CAST(k.id AS TEXT) || ':' || CAST(c.person_id AS TEXT) AS text \
         FROM claims c JOIN claim_invoices i ON i.claim_id = c.id \
         JOIN cases k ON k.subject_kind = 'claim' AND k.subject_id = c.id \
         WHERE i.invoice_number = 'PY2026-COUNTER1'",
    );
    let parts: Vec<i64> = filed[0].split(':').map(|p| p.parse().unwrap()).collect();
    let (claim_id, case_id, person_id) = (parts[0], parts[1], parts[2]);
    assert_eq!(
        person_id, own,
        "filed for the person chosen, not for the clerk"
    );
    // The counter adds a document, sees it ticked, and rejects it with a reason.
    let (status, doc) = app
        .upload(&clerk, claim_id, "invoice", "invoice.pdf", pdf())
        .await;
    assert_eq!(status, 201, "{doc}");
    let doc_id = doc["id"].as_i64().unwrap();
    let (_, page) = app.page(&clerk, &format!("/cases/{case_id}")).await;
    assert!(
        page.contains(&format!("/cases/{case_id}/documents/{doc_id}/reject")),
        "{page}"
    );
    assert!(
        page.contains("id=\"claimant\"") && page.contains("张伟"),
        "the claimant is named: {page}"
    );
    let csrf = csrf_of(&page);
    let resident = app.login("resident").await;
    let (status, _) = app.page(&resident, "/intake").await;
    assert_eq!(status, 403, "a resident has no counter");
    // Neither a resident nor an auditor adds a document from the case page.
    for (who, token) in [
        ("resident", resident.clone()),
        ("auditor", app.login("auditor").await),
    ] {
        let form = reqwest::multipart::Form::new()
            .text("_csrf", csrf.clone())
            .text("kind", "invoice")
            .part(
                "file",
                reqwest::multipart::Part::bytes(pdf()).file_name("x.pdf"),
            );
        let res = reqwest::Client::new()
            .post(app.url(&format!("/cases/{case_id}/documents")))
            .header(
                "cookie",
                format!("claimflow_session={token}; claimflow_lang=zh-CN"),
            )
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status().as_u16(),
            403,
            "{who} adds no document to the case"
        );
    }
    let reject = format!("/cases/{case_id}/documents/{doc_id}/reject");
    let (status, _) = app
        .post_form(&resident, &reject, &csrf, &[("reason", "x")])
        .await;
    assert_eq!(status, 403, "a resident rejects no document");
    let (status, html) = app
        .post_form(&clerk, &reject, &csrf, &[("reason", "  ")])
        .await;
    assert_eq!(status, 422, "a rejection needs a reason: {html}");
    assert!(html.contains("id=\"doc-error\""), "{html}");
    let (status, _) = app
        .post_form(
            &clerk,
            &reject,
            &csrf,
            &[("reason", "照片模糊，请重新拍摄")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = app.page(&clerk, &format!("/cases/{case_id}")).await;
    assert!(
        page.contains("照片模糊，请重新拍摄"),
        "the reason shows beside the item: {page}"
    );
}

/// A transfer without referral, declared an emergency, keeps the normal ratio until a reviewer
/// judges on the case page that it was not one: then the out-of-region penalty applies. A
/// judgement that is neither is refused on the page; a clerk is offered no judgement.
async fn a_reviewer_judges_a_declared_emergency_on_the_case_page(app: TestApp) {
    let resident = app.login("resident").await;
    let mut body = out_of_region(
        json!({"emergency": {"time": "2019-03-02 21:00", "place": "上海", "cause": "胸痛", "witness": "王五", "witness_contact": "13900000000"}}),
    );
    body["family"] = json!("unreferred_transfer");
    let (claim_id, case_id) = submit(&app, &resident, nth_stay(body, 3)).await;
    let (_, detail) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
    assert!(step_codes(&detail["breakdown"]).contains(&"emergency_exemption"));
    let kinds: Vec<String> = detail["case"]["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap().to_string())
        .collect();
    for kind in &kinds {
        let (status, doc) = app
            .upload(&resident, claim_id, kind, "scan.pdf", pdf())
            .await;
        assert_eq!(status, 201, "{kind}: {doc}");
    }
    let clerk = app.login("clerk").await;
    let (_, page) = app.page(&clerk, &format!("/cases/{case_id}")).await;
    assert!(
        !page.contains("name=\"judged_emergency\""),
        "a clerk does not judge"
    );
    // A clerk who sends the judgement anyway, with the intake's own action, is refused by
    // the service and the case does not move.
    let (_, case) = app.get(&clerk, &format!("/api/cases/{case_id}")).await;
    let clerk_version = case["version"].as_i64().unwrap().to_string();
    let (status, html) = app
        .post_form(
            &clerk,
            &format!("/cases/{case_id}/act"),
            &csrf_of(&page),
            &[
                ("action", "accept"),
                ("expected_version", &clerk_version),
                ("judged_emergency", "false"),
            ],
        )
        .await;
    assert_eq!(status, 422, "a clerk does not judge, even by hand: {html}");
    let (_, case) = app.get(&clerk, &format!("/api/cases/{case_id}")).await;
    assert_eq!(case["version"].as_i64().unwrap().to_string(), clerk_version);
    let (status, res) = app.act(&clerk, case_id, "accept", "").await;
    assert_eq!(status, 200, "{res}");
    let reviewer = app.login("reviewer").await;
    let (_, page) = app.page(&reviewer, &format!("/cases/{case_id}")).await;
    assert!(page.contains("name=\"judged_emergency\""), "{page}");
    let csrf = csrf_of(&page);
    let (_, case) = app.get(&reviewer, &format!("/api/cases/{case_id}")).await;
    let version = case["version"].as_i64().unwrap().to_string();
    let path = format!("/cases/{case_id}/act");
    let send = |judged: &'static str| {
        let fields = [
            ("action", "recommend_approve".to_string()),
            ("expected_version", version.clone()),
            ("judged_emergency", judged.to_string()),
        ];
        let (reviewer, csrf, path, app) = (reviewer.clone(), csrf.clone(), path.clone(), &app);
        async move {
            let borrowed: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form(&reviewer, &path, &csrf, &borrowed).await
        }
    };
    let (status, html) = send("maybe").await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("maybe"),
        "the refusal names what was sent: {html}"
    );
    let (status, html) = send("false").await;
    assert_eq!(status, 303, "{html}");
    let (_, detail) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
    let codes = step_codes(&detail["breakdown"]);
    assert!(
        codes.contains(&"unfiled_penalty") && !codes.contains(&"emergency_exemption"),
        "{codes:?}"
    );
    assert_eq!(
        detail["claim"]["payable_fen"], 1_004_500,
        "(30000 - 1300) × 35 % once it is not an emergency"
    );
}

/// The value of `name="expected_version"` on a page.
fn version_on(html: &str) -> String {
    let marker = "name=\"expected_version\" value=\"";
    let at = html.find(marker).expect("a decision form") + marker.len();
    html[at..].split('"').next().unwrap().to_string()
}

/// The case page has one decision form with one comment; each action names what it needs.
/// A rejection is asked for confirmation first, and nothing moves until it is confirmed;
/// "back" brings the form again with the input kept; what is missing is said beside its
/// field with the input kept; a return asks the resident for exactly the ticked documents.
async fn one_decision_form_asks_what_each_action_needs(app: TestApp) {
    let (claim_id, case_id) = trauma_at_signoff(&app, nth_stay(trauma_claim(), 7)).await;
    let supervisor = app.login("supervisor").await;
    let path = format!("/cases/{case_id}");
    let act = format!("/cases/{case_id}/act");
    let (_, page) = app.page(&supervisor, &path).await;
    assert_eq!(
        page.matches(&format!("action=\"{act}\"")).count(),
        1,
        "one decision form: {page}"
    );
    assert_eq!(
        page.matches("name=\"comment\"").count(),
        1,
        "one comment box"
    );
    assert!(
        page.contains("id=\"act-reject\" class=\"needs-reason needs-confirm\""),
        "{page}"
    );
    assert!(
        page.contains("id=\"act-approve_partially\" class=\"needs-amount\""),
        "{page}"
    );
    assert!(
        page.contains("id=\"act-send_back\" class=\"needs-confirm\""),
        "{page}"
    );
    assert!(page.contains("id=\"act-approve\" class=\"\""), "{page}");
    let csrf = csrf_of(&page);
    let version = version_on(&page);
    let (_, before) = app.get(&supervisor, &format!("/api/cases/{case_id}")).await;

    // A rejection without the second step is only shown back for confirmation.
    let reject = [
        ("action", "reject"),
        ("comment", "外伤系交通事故所致"),
        ("reason_code", "third_party_liable"),
        ("expected_version", version.as_str()),
    ];
    let (status, confirm) = app.post_form(&supervisor, &act, &csrf, &reject).await;
    assert_eq!(status, 200, "{confirm}");
    assert!(
        confirm.contains("id=\"confirm-yes\"") && confirm.contains("签发：不予支付"),
        "{confirm}"
    );
    assert!(
        confirm.contains("存在第三方责任") || confirm.contains("third"),
        "the reason is named: {confirm}"
    );
    assert!(
        confirm.contains("value=\"外伤系交通事故所致\""),
        "the comment travels on: {confirm}"
    );
    let (_, after) = app.get(&supervisor, &format!("/api/cases/{case_id}")).await;
    assert_eq!(
        after["version"], before["version"],
        "nothing moved before the confirmation"
    );

    // Back to the form: the choice, the reason and the comment are kept.
    let mut back = reject.to_vec();
    back.push(("back", "1"));
    let (status, again) = app.post_form(&supervisor, &act, &csrf, &back).await;
    assert_eq!(status, 200, "{again}");
    assert!(
        again.contains("id=\"act-reject\" class=\"needs-reason needs-confirm\" checked"),
        "{again}"
    );
    assert!(again.contains(">外伤系交通事故所致</textarea>"), "{again}");
    assert!(
        again.contains("<option value=\"third_party_liable\" selected>"),
        "{again}"
    );

    // No action chosen: said beside the choices.
    let (status, html) = app
        .post_form(
            &supervisor,
            &act,
            &csrf,
            &[("comment", "看看"), ("expected_version", &version)],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("id=\"action-error\"") && html.contains("请选择要执行的操作"),
        "{html}"
    );

    // A partial approval without its amount: said beside the amount, the comment kept.
    let (status, html) = app
        .post_form(
            &supervisor,
            &act,
            &csrf,
            &[
                ("action", "approve_partially"),
                ("comment", "部分费用不合理"),
                ("expected_version", &version),
            ],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("id=\"amount-error\""), "{html}");
    assert!(html.contains(">部分费用不合理</textarea>"), "{html}");
    assert!(
        html.contains("id=\"act-approve_partially\" class=\"needs-amount\" checked"),
        "{html}"
    );

    // Confirmed without a reason code: refused beside the reason, nothing moves.
    let (status, html) = app
        .post_form(
            &supervisor,
            &act,
            &csrf,
            &[
                ("action", "reject"),
                ("comment", "不予支付"),
                ("expected_version", &version),
                ("confirmed", "1"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("id=\"reason_code-error\""), "{html}");
    let (_, after) = app.get(&supervisor, &format!("/api/cases/{case_id}")).await;
    assert_eq!(after["version"], before["version"]);

    // Confirmed with everything: the case is rejected with the coded reason.
    let mut confirmed = reject.to_vec();
    confirmed.push(("confirmed", "1"));
    let (status, html) = app.post_form(&supervisor, &act, &csrf, &confirmed).await;
    assert_eq!(status, 303, "{html}");
    let (_, detail) = app
        .get(&supervisor, &format!("/api/claims/{claim_id}"))
        .await;
    assert_eq!(detail["case"]["outcome"], "rejected", "{detail}");
    assert_eq!(
        detail["decision"]["reason_code"], "third_party_liable",
        "{detail}"
    );

    // A return asks for exactly the documents ticked, and one named in words.
    let resident = app.login("resident").await;
    let (claim2, case2) = submit(&app, &resident, nth_stay(trauma_claim(), 8)).await;
    for kind in TRAUMA_DOCUMENTS {
        assert_eq!(
            app.upload(&resident, claim2, kind, "scan.pdf", pdf())
                .await
                .0,
            201
        );
    }
    let clerk = app.login("clerk").await;
    let (_, page) = app.page(&clerk, &format!("/cases/{case2}")).await;
    assert!(
        page.contains("id=\"act-return_for_documents\" class=\"needs-documents\""),
        "{page}"
    );
    let (status, html) = app
        .post_form(
            &clerk,
            &format!("/cases/{case2}/act"),
            &csrf_of(&page),
            &[
                ("action", "return_for_documents"),
                ("comment", "发票与病历不清晰"),
                ("expected_version", &version_on(&page)),
                ("missing", "invoice"),
                ("missing", "medical_record"),
                ("extra", "外伤照片"),
                // A field the chosen action does not take is not read.
                ("amount", "not money"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{html}");
    let (_, detail) = app.get(&resident, &format!("/api/claims/{claim2}")).await;
    let mut asked: Vec<String> = detail["requests"]
        .as_array()
        .unwrap_or_else(|| panic!("{detail}"))
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    asked.sort();
    assert_eq!(asked, ["invoice", "medical_record", "other"], "{detail}");
}

/// The viewer frames a claim's document on the case page; the file it frames is served only
/// to readers of the case, may be framed by this site alone, and a PDF is never sniffed
/// into a page. A document is rejected from the viewer with its reason.
async fn the_document_viewer_frames_only_for_readers_of_the_case(app: TestApp) {
    let resident = app.login("resident").await;
    let (claim_id, case_id) = submit(&app, &resident, nth_stay(trauma_claim(), 9)).await;
    let (_, doc) = app
        .upload(&resident, claim_id, "invoice", "scan.pdf", pdf())
        .await;
    let doc_id = doc["id"].as_i64().unwrap_or_else(|| panic!("{doc}"));
    let reviewer = app.login("reviewer").await;
    let (status, page) = app
        .page(&reviewer, &format!("/cases/{case_id}?doc={doc_id}"))
        .await;
    assert_eq!(status, 200);
    let src = format!("/cases/{case_id}/documents/{doc_id}");
    assert!(page.contains(&format!("<iframe src=\"{src}\"")), "{page}");
    assert!(
        page.contains(&format!(
            "action=\"/cases/{case_id}/documents/{doc_id}/reject\""
        )),
        "{page}"
    );
    let get = |token: String, path: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url(&path))
                .header("cookie", format!("claimflow_session={token}"))
                .send()
                .await
                .unwrap()
        }
    };
    let res = get(reviewer.clone(), src.clone()).await;
    assert_eq!(res.status(), 200);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(header("x-frame-options"), "SAMEORIGIN");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(
        header("content-security-policy").contains("frame-ancestors 'self'"),
        "{}",
        header("content-security-policy")
    );
    assert_eq!(res.bytes().await.unwrap().as_ref(), pdf().as_slice());
    // The pages themselves may still be framed by nobody.
    let res = get(reviewer.clone(), format!("/cases/{case_id}")).await;
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    // Readers only: another resident, an admin, and a reviewer of another province get
    // nothing; the document through another case's address is unknown.
    let resident2 = app.login("resident2").await;
    assert_eq!(get(resident2, src.clone()).await.status(), 403);
    let admin = app.login("admin").await;
    assert_eq!(get(admin, src.clone()).await.status(), 403);
    app.add_user("reviewer_sh", &[Role::Reviewer], "310000");
    let outsider = app.login("reviewer_sh").await;
    assert_eq!(get(outsider, src.clone()).await.status(), 404);
    let (_, other_case) = submit(&app, &resident, nth_stay(trauma_claim(), 10)).await;
    let crossed = format!("/cases/{other_case}/documents/{doc_id}");
    assert_eq!(get(reviewer.clone(), crossed).await.status(), 404);
    assert_eq!(
        get(
            reviewer.clone(),
            format!("/cases/{case_id}/documents/999999")
        )
        .await
        .status(),
        404
    );
    // Rejected from the viewer: the viewer says so with the reason.
    let (status, _) = app
        .post_form(
            &reviewer,
            &format!("/cases/{case_id}/documents/{doc_id}/reject"),
            &csrf_of(&page),
            &[("reason", "发票金额看不清")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = app
        .page(&reviewer, &format!("/cases/{case_id}?doc={doc_id}"))
        .await;
    assert!(page.contains("发票金额看不清"), "{page}");
    assert!(
        !page.contains("id=\"viewer-reject\""),
        "a rejected document is not rejected twice"
    );
}
