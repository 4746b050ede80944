//! Fund supervision over HTTP on both backends: an inspection finds phantom beds, the
//! violation goes through its workflow, the supervisor's sanction is held to Order 735's
//! range, the facility is suspended, and claims inside the suspension are flagged.
use crate::common::{pdf, trauma_claim, TestApp};
use serde_json::{json, Value};

crate::trials!(supervision {
    scenarios: [phantom_beds_are_sanctioned_within_the_range_and_the_facility_suspended],
});

const FACILITY: &str = "H330326010";

fn field_errors(res: &Value) -> Vec<String> {
    res["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["field"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn claim_at(
    app: &TestApp,
    token: &str,
    admission: &str,
    discharge: &str,
    invoice: &str,
) -> (i64, i64) {
    let mut body = trauma_claim();
    body["facility_code"] = json!(FACILITY);
    body["admission_date"] = json!(admission);
    body["discharge_date"] = json!(discharge);
    body["invoice_numbers"] = json!([invoice]);
    let (status, res) = app.post(token, "/api/claims", body).await;
    assert_eq!(status, 201, "{res}");
    (
        res["claim_id"].as_i64().unwrap(),
        res["case_id"].as_i64().unwrap(),
    )
}

async fn finding_codes(app: &TestApp, claim_id: i64) -> Vec<String> {
    let reviewer = app.login("reviewer").await;
    let (_, detail) = app.get(&reviewer, &format!("/api/claims/{claim_id}")).await;
    detail["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

async fn phantom_beds_are_sanctioned_within_the_range_and_the_facility_suspended(app: TestApp) {
    let resident = app.login("resident").await;
    let inspector = app.login("inspector").await;
    let supervisor = app.login("supervisor").await;
    // A claim already in review whose stay falls inside the coming suspension.
    let (in_flight, _) = claim_at(&app, &resident, "2019-08-01", "2019-08-09", "SUP-1").await;
    assert!(!finding_codes(&app, in_flight)
        .await
        .contains(&"facility_suspended".to_string()));

    // The inspection, with its input checked.
    let (status, res) = app
        .post(&inspector, "/api/inspections", json!({"facility_code": FACILITY, "kind": "surprise", "inspected_on": "2019-6-1", "team": "", "scope": "住院病区"}))
        .await;
    assert_eq!(status, 422, "{res}");
    assert_eq!(field_errors(&res), ["kind", "inspected_on", "team"]);
    let (status, inspection) = app
        .post(&inspector, "/api/inspections", json!({"facility_code": FACILITY, "kind": "unannounced", "inspected_on": "2019-06-01", "team": "孙磊、李娜", "scope": "住院病区在床情况"}))
        .await;
    assert_eq!(status, 201, "{inspection}");
    let (status, _) = app
        .post(&resident, "/api/inspections", json!({"facility_code": FACILITY, "kind": "planned", "inspected_on": "2019-06-01", "team": "x", "scope": "x"}))
        .await;
    assert_eq!(status, 403, "residents do not inspect");

    // The violation: a coded type, its article and the range that article allows.
    let violation = json!({
        "inspection_id": inspection["id"], "facility_code": FACILITY, "type_code": "phantom_bed",
        "amount_fen": 1_000_000, "claim_ids": [in_flight], "department": "骨科",
        "description": "夜间查房 12 张在床登记，实际在床 3 人"
    });
    let mut bad = violation.clone();
    bad["type_code"] = json!("ghost_beds");
    bad["amount_fen"] = json!(-5);
    let (status, res) = app.post(&inspector, "/api/violations", bad).await;
    assert_eq!(status, 422, "{res}");
    assert_eq!(field_errors(&res), ["type_code", "amount_fen"]);
    let mut unknown_claim = violation.clone();
    unknown_claim["claim_ids"] = json!([987_654]);
    let (status, res) = app.post(&inspector, "/api/violations", unknown_claim).await;
    assert_eq!(
        (status, field_errors(&res)),
        (422, vec!["claim_ids".to_string()]),
        "{res}"
    );
    let (status, v) = app.post(&inspector, "/api/violations", violation).await;
    assert_eq!(status, 201, "{v}");
    let id = v["violation"]["id"].as_i64().unwrap();
    let case_id = v["case_id"].as_i64().unwrap();
    assert_eq!(v["violation"]["article"], "38");
    assert_eq!(v["stage"], "finding");
    assert_eq!(
        (
            &v["allowed"]["repay_fen"],
            &v["allowed"]["fine_min_fen"],
            &v["allowed"]["fine_max_fen"]
        ),
        (&json!(1_000_000), &json!(1_000_000), &json!(2_000_000)),
        "Art. 38: repay the amount, fine 1-2 ×"
    );
    assert_eq!(
        (
            &v["allowed"]["suspension_min_months"],
            &v["allowed"]["suspension_max_months"]
        ),
        (&json!(6), &json!(12))
    );

    // Evidence: checked by content like claim documents.
    let upload = |bytes: Vec<u8>, name: &'static str| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
        app.client
            .post(app.url(&format!("/api/violations/{id}/evidence")))
            .bearer_auth(&inspector)
            .multipart(form)
            .send()
    };
    let res = upload(pdf(), "查房记录.pdf").await.unwrap();
    assert_eq!(res.status(), 201);
    let res = upload(b"MZ\x90\x00\x03 this is a program".to_vec(), "evidence.pdf")
        .await
        .unwrap();
    assert_eq!(res.status(), 415, "an EXE renamed .pdf is refused");
    let (_, v) = app.get(&inspector, &format!("/api/violations/{id}")).await;
    assert_eq!(v["evidence"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&resident, &format!("/api/violations/{id}")).await.0,
        404
    );

    // finding → review → facility statement → decision.
    assert_eq!(
        app.act(&inspector, case_id, "submit_for_review", "")
            .await
            .0,
        200
    );
    assert_eq!(
        app.act(&supervisor, case_id, "request_statement", "")
            .await
            .0,
        200
    );
    assert_eq!(
        app.act(
            &inspector,
            case_id,
            "record_statement",
            "机构承认夜间管理疏漏"
        )
        .await
        .0,
        200
    );
    let (status, res) = app.act(&supervisor, case_id, "impose_sanction", "").await;
    assert_eq!(
        status, 422,
        "the sanction is recorded through its own endpoint: {res}"
    );

    // The fine must sit inside 1-2 × the amount: above it nothing is accepted.
    let (_, v) = app.get(&supervisor, &format!("/api/violations/{id}")).await;
    let sanction = json!({
        "expected_version": v["version"], "fine_fen": 2_500_000, "suspension_months": 6,
        "suspended_from": "2019-07-01", "rectification_due": "2019-09-30"
    });
    let (status, res) = app
        .post(
            &supervisor,
            &format!("/api/violations/{id}/sanction"),
            sanction.clone(),
        )
        .await;
    assert_eq!(status, 422, "{res}");
    assert_eq!(field_errors(&res), ["fine_fen"]);
    assert!(
        res["message_en"]
            .as_str()
            .unwrap()
            .contains("25,000.00 yuan exceeds article 38: it allows 10,000.00 to 20,000.00 yuan"),
        "{res}"
    );
    assert!(
        res["message_zh"]
            .as_str()
            .unwrap()
            .contains("应在 10,000.00 至 20,000.00 元之间"),
        "{res}"
    );
    let mut inspector_try = sanction.clone();
    inspector_try["fine_fen"] = json!(1_500_000);
    assert_eq!(
        app.post(
            &inspector,
            &format!("/api/violations/{id}/sanction"),
            inspector_try
        )
        .await
        .0,
        403
    );
    let mut inside = sanction.clone();
    inside["fine_fen"] = json!(1_500_000);
    let (status, v) = app
        .post(
            &supervisor,
            &format!("/api/violations/{id}/sanction"),
            inside,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["stage"], "rectification");
    // The deadline is the day the sanction gave, to its end in China Standard Time, and
    // the case page shows that day, not a shifted moment.
    let (_, case) = app.get(&supervisor, &format!("/api/cases/{case_id}")).await;
    assert_eq!(
        case["due_at"].as_i64(),
        // 2019-10-01 00:00 in Beijing is 2019-09-30 16:00 UTC; the day ends a millisecond before.
        Some(
            chrono::NaiveDate::from_ymd_opt(2019, 9, 30)
                .unwrap()
                .and_hms_opt(16, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_millis()
                - 1
        ),
        "{case}"
    );
    let (_, html) = app
        .page(&supervisor, &format!("/facilities/{FACILITY}"))
        .await;
    assert!(
        html.contains("2019-09-30</li>") && !html.contains("2019-09-30 23:59"),
        "{html}"
    );
    assert_eq!(v["violation"]["suspended_from"], "2019-07-01");
    assert_eq!(
        v["violation"]["suspended_until"], "2020-01-01",
        "six months"
    );
    let owed: Vec<(String, i64)> = v["recoveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["amount_fen"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        owed,
        [
            ("repay".to_string(), 1_000_000),
            ("fine".to_string(), 1_500_000)
        ]
    );

    // The facility's designation is suspended for the six months.
    let admin = app.login("admin").await;
    let (_, facility) = app
        .get(&admin, &format!("/api/facilities/{FACILITY}"))
        .await;
    let history = facility.to_string();
    assert!(
        history.contains("2019-07-01") && history.contains("2020-01-01"),
        "{facility}"
    );
    // The claim in flight gets an error finding (it gates payment); a new claim inside the
    // suspension is refused at intake, saying why; one before it goes in.
    assert!(finding_codes(&app, in_flight)
        .await
        .contains(&"facility_suspended".to_string()));
    let mut inside = trauma_claim();
    inside["facility_code"] = json!(FACILITY);
    inside["admission_date"] = json!("2019-09-01");
    inside["discharge_date"] = json!("2019-09-05");
    inside["invoice_numbers"] = json!(["SUP-2"]);
    let (status, res) = app.post(&resident, "/api/claims", inside).await;
    assert_eq!(
        (status, res["error"].as_str()),
        (422, Some("facility_not_designated")),
        "{res}"
    );
    let (before_claim, _) = claim_at(&app, &resident, "2019-03-01", "2019-03-05", "SUP-3").await;
    assert!(!finding_codes(&app, before_claim)
        .await
        .contains(&"facility_not_designated".to_string()));

    // Money is tracked until paid, never beyond what is owed.
    let repay_id = v["recoveries"][0]["id"].as_i64().unwrap();
    let (status, res) = app
        .post(
            &supervisor,
            &format!("/api/recoveries/{repay_id}/payments"),
            json!({"amount_fen": 1_000_001}),
        )
        .await;
    assert_eq!(
        (status, field_errors(&res)),
        (422, vec!["amount_fen".to_string()]),
        "{res}"
    );
    let (status, r) = app
        .post(
            &supervisor,
            &format!("/api/recoveries/{repay_id}/payments"),
            json!({"amount_fen": 400_000}),
        )
        .await;
    assert_eq!(
        (status, r["paid_fen"].as_i64(), r["settled_at"].is_null()),
        (200, Some(400_000), true),
        "{r}"
    );
    let (_, r) = app
        .post(
            &supervisor,
            &format!("/api/recoveries/{repay_id}/payments"),
            json!({"amount_fen": 600_000}),
        )
        .await;
    assert!(r["settled_at"].is_i64(), "paid in full: {r}");

    // rectification → follow-up inspection → closed; the audit trail holds every step.
    assert_eq!(
        app.act(
            &inspector,
            case_id,
            "report_rectified",
            "已整改：床位管理制度"
        )
        .await
        .0,
        200
    );
    // Money owed is not forgotten: the fine is still unpaid, so the case cannot close.
    let (status, res) = app.act(&inspector, case_id, "confirm_rectified", "").await;
    assert_eq!(
        (status, res["error"].as_str()),
        (422, Some("money_outstanding")),
        "{res}"
    );
    let fine_id = v["recoveries"][1]["id"].as_i64().unwrap();
    let (status, r) = app
        .post(
            &supervisor,
            &format!("/api/recoveries/{fine_id}/payments"),
            json!({"amount_fen": 1_500_000}),
        )
        .await;
    assert!(status == 200 && r["settled_at"].is_i64(), "{r}");
    let (status, case) = app.act(&inspector, case_id, "confirm_rectified", "").await;
    assert_eq!(
        (status, &case["outcome"]),
        (200, &json!("closed")),
        "{case}"
    );
    let actions = app.event_actions(case_id).await;
    assert_eq!(
        actions,
        [
            "opened",
            "evidence_added",
            "submit_for_review",
            "request_statement",
            "record_statement",
            "impose_sanction",
            "recovery_paid",
            "recovery_paid",
            "report_rectified",
            "recovery_paid",
            "confirm_rectified"
        ]
    );
}
