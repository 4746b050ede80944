//! Screening at intake: hits become findings with their evidence, and a hit that calls for
//! investigation routes the claim into `fraud_investigation`, whose every step is timed.
use crate::common::{register_person, trauma_claim, TestApp};
use serde_json::{json, Value};

crate::trials!(screening {
    scenarios: [
        suspect_claims_are_routed_to_investigation,
        an_invoice_is_one_invoice_however_it_is_typed_and_the_riskiest_comes_first,
        a_household_admitted_together_is_investigated_and_a_neighbour_is_not,
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

fn stay(facility: &str, from: &str, to: &str, invoice: &str) -> Value {
    let mut body = trauma_claim();
    body["facility_code"] = json!(facility);
    body["admission_date"] = json!(from);
    body["discharge_date"] = json!(to);
    body["invoice_numbers"] = json!([invoice]);
    body
}

/// The case and its findings, read as a reviewer.
async fn case_and_findings(app: &TestApp, claim_id: i64) -> (Value, Vec<Value>) {
    let staff = app.login("supervisor").await;
    let (status, detail) = app.get(&staff, &format!("/api/claims/{claim_id}")).await;
    assert_eq!(status, 200, "{detail}");
    (
        detail["case"].clone(),
        detail["findings"].as_array().unwrap().clone(),
    )
}

fn finding<'a>(findings: &'a [Value], code: &str) -> Option<&'a Value> {
    findings.iter().find(|f| f["code"] == code)
}

fn evidence(f: &Value) -> Value {
    serde_json::from_str(f["evidence"].as_str().unwrap()).unwrap()
}

async fn suspect_claims_are_routed_to_investigation(app: TestApp) {
    let resident = app.login("resident").await;
    let (first, _) = submit(
        &app,
        &resident,
        stay("H330326001", "2019-05-02", "2019-05-10", "SCR-1"),
    )
    .await;
    let (case, findings) = case_and_findings(&app, first).await;
    assert_eq!(
        case["workflow"], "trauma",
        "a clean claim goes to normal review"
    );
    assert!(findings
        .iter()
        .all(|f| f["code"] != "overlapping_stay" && f["code"] != "readmission"));

    // Overlapping stay at another facility: investigated, with the other claim and the dates.
    let (overlap, _) = submit(
        &app,
        &resident,
        stay("H330326010", "2019-05-08", "2019-05-12", "SCR-2"),
    )
    .await;
    let (case, findings) = case_and_findings(&app, overlap).await;
    assert_eq!(
        (case["workflow"].as_str(), case["stage"].as_str()),
        (Some("fraud_investigation"), Some("initial_review")),
        "{case}"
    );
    let hit = finding(&findings, "overlapping_stay").expect("overlap finding");
    assert_eq!(hit["severity"], "error");
    let ev = evidence(hit);
    assert_eq!(
        (
            ev["other_claim_id"].as_i64(),
            ev["overlap_from"].as_str(),
            ev["overlap_to"].as_str()
        ),
        (Some(first), Some("2019-05-08"), Some("2019-05-10")),
        "{ev}"
    );

    // Back at the same facility ten days after discharge: split hospitalisation.
    let (readmitted, _) = submit(
        &app,
        &resident,
        stay("H330326001", "2019-05-20", "2019-05-24", "SCR-3"),
    )
    .await;
    let (case, findings) = case_and_findings(&app, readmitted).await;
    assert_eq!(case["workflow"], "fraud_investigation");
    let ev = evidence(finding(&findings, "readmission").expect("readmission finding"));
    assert_eq!(
        (ev["other_claim_id"].as_i64(), ev["gap_days"].as_i64()),
        (Some(first), Some(10)),
        "{ev}"
    );

    // Negative: a stay a month later elsewhere is clean.
    let (later, _) = submit(
        &app,
        &resident,
        stay("H330300002", "2019-06-20", "2019-06-25", "SCR-4"),
    )
    .await;
    let (case, findings) = case_and_findings(&app, later).await;
    assert_eq!(case["workflow"], "trauma");
    assert!(
        !findings.iter().any(|f| f["severity"] == "error"),
        "{findings:?}"
    );

    // A flag-only rule warns but keeps the normal review: discharge medicine beyond 3 days.
    let mut meds = stay("H330300002", "2019-08-01", "2019-08-05", "SCR-5");
    meds["facts"]["discharge_medicine_days"] = json!(6);
    let (meds, _) = submit(&app, &resident, meds).await;
    let (case, findings) = case_and_findings(&app, meds).await;
    assert_eq!(case["workflow"], "trauma");
    assert_eq!(
        finding(&findings, "discharge_medicine").expect("medicine finding")["severity"],
        "warning"
    );

    // Trauma with a liable party recorded.
    let mut liable = stay("H330300002", "2019-03-01", "2019-03-04", "SCR-6");
    liable["facts"]["third_party_liable"] = json!(true);
    let (liable, _) = submit(&app, &resident, liable).await;
    let (case, findings) = case_and_findings(&app, liable).await;
    assert_eq!(case["workflow"], "fraud_investigation");
    assert!(finding(&findings, "trauma_liable_party").is_some());

    // The investigation: every step has a deadline; the supervisor deciding is not the
    // inspector who investigated; a confirmed case is refused with its reason.
    let (case, _) = case_and_findings(&app, overlap).await;
    let case_id = case["id"].as_i64().unwrap();
    let steps = [
        (
            "reviewer",
            "forward",
            "两次住院时间重叠，需核实",
            "second_review",
        ),
        ("senior_reviewer", "notify_facility", "", "facility_appeal"),
        (
            "inspector",
            "record_appeal",
            "机构称系转院，未提供转院记录",
            "investigation",
        ),
        (
            "inspector",
            "report_findings",
            "同期在两家机构住院，查实挂床",
            "decision",
        ),
    ];
    for (user, action, comment, next) in steps {
        let token = app.login(user).await;
        let (status, body) = app.act(&token, case_id, action, comment).await;
        assert_eq!(status, 200, "{user} {action}: {body}");
        assert_eq!(body["stage"], next, "{body}");
        assert!(
            body["due_at"].as_i64().is_some(),
            "{next} is time-limited: {body}"
        );
    }
    let supervisor = app.login("supervisor").await;
    let (_, current) = app.get(&supervisor, &format!("/api/cases/{case_id}")).await;
    let (status, body) = app
        .post(&supervisor, &format!("/api/cases/{case_id}/actions"), json!({"action": "confirm", "comment": "查实，拒付并移交违规处理", "expected_version": current["version"], "reason_code": "fraud_suspected"}))
        .await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("rejected")),
        "{body}"
    );

    // A cleared suspicion is paid as calculated: forward, then cleared at second review.
    let (case, _) = case_and_findings(&app, readmitted).await;
    let case_id = case["id"].as_i64().unwrap();
    for kind in crate::common::TRAUMA_DOCUMENTS {
        assert_eq!(
            app.upload(
                &resident,
                readmitted,
                kind,
                "scan.pdf",
                crate::common::pdf()
            )
            .await
            .0,
            201
        );
    }
    let reviewer = app.login("reviewer").await;
    assert_eq!(
        app.act(&reviewer, case_id, "forward", "同一机构再入院，病情不同")
            .await
            .0,
        200
    );
    let senior = app.login("senior_reviewer").await;
    let (status, body) = app
        .act(&senior, case_id, "clear", "两次住院诊断不同，非分解住院")
        .await;
    assert_eq!(
        (status, body["stage"].as_str()),
        (200, Some("decision")),
        "a clearance ends at sign-off: {body}"
    );
    // The hit is an error finding: nothing clears the claim until sign-off overrides it.
    let supervisor = app.login("supervisor").await;
    let (status, body) = app.act(&supervisor, case_id, "clear", "排除疑点").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("blocked_by_findings")),
        "{body}"
    );
    let (_, findings) = case_and_findings(&app, readmitted).await;
    for f in findings.iter().filter(|f| f["severity"] == "error") {
        let (status, body) = app
            .post(
                &supervisor,
                &format!("/api/cases/{case_id}/findings/{}/override", f["id"]),
                json!({"reason_code": "hit_explained", "comment": "两次住院诊断不同，非分解住院"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(body["overridden_at"].as_i64().is_some(), "{body}");
    }
    let (status, body) = app
        .act(&supervisor, case_id, "clear", "疑点已排除，核准支付")
        .await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("approved")),
        "{body}"
    );
    let (_, detail) = app
        .get(&resident, &format!("/api/claims/{readmitted}"))
        .await;
    assert!(
        detail["claim"]["decided_fen"].as_i64().unwrap() > 0,
        "{}",
        detail["claim"]
    );
}

/// One invoice is paid once, however it is retyped: the same person filing it again is
/// investigated, another person filing it is recorded and refused at once, naming both; the
/// next number of the pad is another invoice. Claim-next hands out the riskiest claim first,
/// and the resident never sees the risk.
async fn an_invoice_is_one_invoice_however_it_is_typed_and_the_riskiest_comes_first(app: TestApp) {
    let resident = app.login("resident").await;
    let (paid, _) = submit(
        &app,
        &resident,
        stay("H330326001", "2019-07-01", "2019-07-04", "PY2019-000777"),
    )
    .await;
    // A readmission (investigated, weight 40) filed before the retyped invoice (weight 60).
    let (readmitted, _) = submit(
        &app,
        &resident,
        stay("H330326001", "2019-07-10", "2019-07-12", "PY2019-000900"),
    )
    .await;
    let (retyped, _) = submit(
        &app,
        &resident,
        stay("H330300002", "2019-08-20", "2019-08-23", "py2019/777"),
    )
    .await;
    let (case, findings) = case_and_findings(&app, retyped).await;
    assert_eq!(case["workflow"], "fraud_investigation", "{case}");
    let dup = finding(&findings, "duplicate_invoice").expect("the retyped invoice is found");
    let ev = evidence(dup);
    assert_eq!(
        (ev["key"].as_str(), ev["claims"][0]["claim_id"].as_i64()),
        (Some("PY2019777"), Some(paid)),
        "{ev}"
    );
    assert_eq!(case["risk_score"], 60, "{case}");
    let (_, mine) = app
        .get(&resident, &format!("/api/cases/{}", case["id"]))
        .await;
    assert!(
        mine["risk_score"].is_null(),
        "the resident never sees the risk: {mine}"
    );

    // Another person (王磊, filed by the counter) with the invoice's leading zeros changed.
    let clerk = app.login("clerk").await;
    let other = claimflow::domain::person::IdNumber::with_check_digit("33032619900101003");
    let mut theirs = stay("H330326010", "2019-07-02", "2019-07-05", "PY2019-0000777");
    theirs["id_number"] = json!(other);
    let (status, res) = app.post(&clerk, "/api/claims", theirs).await;
    assert_eq!(
        (status, res["refused"].as_bool()),
        (201, Some(true)),
        "{res}"
    );
    let refused = res["claim_id"].as_i64().unwrap();
    let (case, findings) = case_and_findings(&app, refused).await;
    assert_eq!(
        (case["stage"].as_str(), case["outcome"].as_str()),
        (None, Some("rejected")),
        "recorded and refused at once: {case}"
    );
    let hit = finding(&findings, "invoice_other_person").expect("the finding");
    let zh = hit["message_zh"].as_str().unwrap();
    assert!(
        zh.contains("张伟") && zh.contains("王磊"),
        "both persons named: {zh}"
    );
    assert_eq!(evidence(hit)["claims"][0]["claim_id"].as_i64(), Some(paid));
    // The next invoice of the pad is someone else's honest claim (for another stay: the
    // refused claim's stay is on record, and claiming it again would be a copy).
    let mut next_number = stay("H330326010", "2019-09-02", "2019-09-05", "PY2019-000778");
    next_number["id_number"] = json!(other);
    let (status, res) = app.post(&clerk, "/api/claims", next_number).await;
    assert_eq!(
        (status, res["refused"].as_bool()),
        (201, Some(false)),
        "{res}"
    );
    let (_, findings) = case_and_findings(&app, res["claim_id"].as_i64().unwrap()).await;
    assert!(
        finding(&findings, "invoice_other_person").is_none()
            && finding(&findings, "duplicate_invoice").is_none(),
        "{findings:?}"
    );

    // Claim-next: the riskier retyped invoice before the readmission filed earlier.
    let (readmission_case, _) = case_and_findings(&app, readmitted).await;
    assert_eq!(readmission_case["risk_score"], 40, "{readmission_case}");
    let reviewer = app.login("reviewer").await;
    let (status, first) = app.post(&reviewer, "/api/queue/next", json!({})).await;
    assert_eq!(status, 200, "{first}");
    let (retyped_case, _) = case_and_findings(&app, retyped).await;
    assert_eq!(
        first["id"], retyped_case["id"],
        "the riskiest first: {first}"
    );
    let (status, page) = app.get(&reviewer, "/api/queue?sort=-risk&limit=2").await;
    assert_eq!(status, 200, "{page}");
    let risks: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["risk_score"].as_i64().unwrap())
        .collect();
    assert_eq!(risks, vec![60, 40], "{page}");
}

/// Three members of one household admitted to one hospital within a week: the third claim is
/// investigated, naming the other two. A fourth person admitted there the same week from
/// another household, and a member admitted to another hospital, are not.
async fn a_household_admitted_together_is_investigated_and_a_neighbour_is_not(app: TestApp) {
    let clerk = app.login("clerk").await;
    let mut members = Vec::new();
    for first17 in [
        "33032619700101777",
        "33032619720202777",
        "33032620080303777",
    ] {
        members.push(register_person(&app, first17, "2018-12-01", "central", None).await);
    }
    let neighbour = register_person(&app, "33032619750505778", "2018-12-01", "central", None).await;
    let file = |id: &str, facility: &str, (from, to): (&str, &str), invoice: &str| {
        let mut body = stay(facility, from, to, invoice);
        body["id_number"] = json!(id);
        body
    };
    let mut claim_ids = Vec::new();
    for (id, facility, stay_dates, invoice) in [
        (
            &members[0],
            "H330326001",
            ("2019-06-02", "2019-06-04"),
            "HH-1",
        ),
        (
            &neighbour,
            "H330326001",
            ("2019-06-03", "2019-06-05"),
            "HH-2",
        ),
        (
            &members[1],
            "H330326010",
            ("2019-06-01", "2019-06-02"),
            "HH-3",
        ),
        (
            &members[1],
            "H330326001",
            ("2019-06-04", "2019-06-06"),
            "HH-4",
        ),
    ] {
        let (status, res) = app
            .post(
                &clerk,
                "/api/claims",
                file(id, facility, stay_dates, invoice),
            )
            .await;
        assert_eq!(status, 201, "{res}");
        claim_ids.push(res["claim_id"].as_i64().unwrap());
    }
    for id in &claim_ids {
        let (_, findings) = case_and_findings(&app, *id).await;
        assert!(
            finding(&findings, "household_cluster").is_none(),
            "two members are not yet a cluster: {findings:?}"
        );
    }
    let (third, _) = submit(
        &app,
        &clerk,
        file(
            &members[2],
            "H330326001",
            ("2019-06-06", "2019-06-08"),
            "HH-5",
        ),
    )
    .await;
    let (case, findings) = case_and_findings(&app, third).await;
    assert_eq!(case["workflow"], "fraud_investigation", "{case}");
    let hit = finding(&findings, "household_cluster").expect("the household's third stay");
    let ev = evidence(hit);
    assert_eq!(ev["members"], 3, "{ev}");
    let named: Vec<i64> = ev["other_claim_ids"]
        .as_array()
        .expect("the members' claims")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    assert!(
        named.contains(&claim_ids[0]) && named.contains(&claim_ids[3]),
        "both earlier members' stays there: {named:?}"
    );
    assert!(
        !named.contains(&claim_ids[1]) && !named.contains(&claim_ids[2]),
        "not the neighbour, not the other hospital: {named:?}"
    );
    assert!(hit["message_zh"].as_str().unwrap().contains('户'), "{hit}");
}
