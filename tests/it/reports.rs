//! Whistleblower reports on both backends: filed without login, rate limited, followed with
//! the tracking code, triaged into a violation, and rewarded from what was recovered until
//! the reward is paid. Then the supervision dashboard over what this produced.
use crate::common::{pdf, TestApp};
use serde_json::{json, Value};

crate::trials!(reports {
    scenarios: [a_report_leads_to_a_violation_and_a_paid_reward],
});

const FACILITY: &str = "H330326020";

fn fields(res: &Value) -> Vec<String> {
    res["fields"].as_array().map_or_else(Vec::new, |a| {
        a.iter()
            .map(|f| f["field"].as_str().unwrap_or("").to_string())
            .collect()
    })
}

async fn public_post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    app.public(reqwest::Method::POST, path, Some(body)).await
}

async fn public_get(app: &TestApp, path: &str) -> (u16, Value) {
    app.public(reqwest::Method::GET, path, None).await
}

async fn a_report_leads_to_a_violation_and_a_paid_reward(app: TestApp) {
    // Bad input is named field by field.
    let (status, res) =
        public_post(&app, "/api/public/reports", json!({"description": "太短"})).await;
    assert_eq!(
        (status, fields(&res)),
        (
            422,
            vec!["description".to_string(), "facility_code".to_string()]
        ),
        "{res}"
    );
    let (status, res) = public_post(
        &app,
        "/api/public/reports",
        json!({"facility_code": "H-NOPE", "description": "该院长期挂床住院，夜间病房无人"}),
    )
    .await;
    assert_eq!(
        (status, fields(&res)),
        (422, vec!["facility_code".to_string()]),
        "{res}"
    );

    // A claim number beside a real facility (found by the attack suite: a 500): a number that
    // names no claim is accepted and kept in the text, like one that does, so that the public
    // form tells nobody which claim numbers exist.
    for claim_id in [-122, 1] {
        let (status, res) = public_post(
            &app,
            "/api/public/reports",
            json!({"facility_code": FACILITY, "claim_id": claim_id, "description": "该院骨科长期挂床住院，病房无人"}),
        )
        .await;
        assert_eq!(status, 201, "claim {claim_id}: {res}");
    }

    // Filed anonymously, without a token.
    let report = json!({"facility_code": FACILITY, "description": "该院骨科长期挂床住院，夜间病房基本无人，但每日计费", "person_id_number": null});
    let (status, filed) = public_post(&app, "/api/public/reports", report.clone()).await;
    assert_eq!(status, 201, "{filed}");
    let code = filed["tracking_code"].as_str().unwrap().to_string();
    let report_id = filed["report_id"].as_i64().unwrap();
    assert_eq!(code.len(), 23, "20 characters in groups of five: {code}");
    let (status, tracked) = public_get(&app, &format!("/api/public/reports/{code}")).await;
    assert_eq!(
        (status, tracked["status"].as_str()),
        (200, Some("received")),
        "{tracked}"
    );
    assert_eq!(
        public_get(&app, "/api/public/reports/AAAAA-BBBBB-CCCCC-DDDDD")
            .await
            .0,
        404
    );
    assert_eq!(
        public_get(
            &app,
            &format!("/api/public/reports/{}", code.to_lowercase())
        )
        .await
        .1["status"],
        "received",
        "codes are read case-insensitively"
    );

    // Attachments by tracking code, checked by content.
    let attach = |bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("照片.pdf"),
        );
        app.client
            .post(app.url(&format!("/api/public/reports/{code}/attachments")))
            .multipart(form)
            .send()
    };
    assert_eq!(attach(pdf()).await.unwrap().status(), 201);
    assert_eq!(
        attach(b"MZ\x90\x00 program".to_vec())
            .await
            .unwrap()
            .status(),
        415
    );

    // Rate limited per address: five an hour (three were filed above).
    for _ in 0..2 {
        assert_eq!(
            public_post(&app, "/api/public/reports", report.clone())
                .await
                .0,
            201
        );
    }
    let (status, res) = public_post(&app, "/api/public/reports", report.clone()).await;
    assert_eq!(status, 429, "{res}");

    // Staff see it; residents do not.
    let inspector = app.login("inspector").await;
    let supervisor = app.login("supervisor").await;
    let resident = app.login("resident").await;
    assert_eq!(
        app.get(
            &resident,
            &format!("/api/whistleblower-reports/{report_id}")
        )
        .await
        .0,
        404
    );
    let (status, view) = app
        .get(
            &inspector,
            &format!("/api/whistleblower-reports/{report_id}"),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["attachments"].as_array().unwrap().len(), 1);
    assert!(
        view["report"].get("tracking_hash").is_none(),
        "the hash is never shown"
    );
    let report_case = view["case_id"].as_i64().unwrap();
    assert_eq!(app.act(&inspector, report_case, "take_up", "").await.0, 200);
    assert_eq!(
        public_get(&app, &format!("/api/public/reports/{code}"))
            .await
            .1["status"],
        "investigating"
    );

    // The inspection confirms phantom beds: a violation, linked to the report, sanctioned.
    let (status, v) = app
        .post(&inspector, "/api/violations", json!({"facility_code": FACILITY, "type_code": "phantom_bed", "amount_fen": 10_000_000, "claim_ids": [], "department": "骨科", "description": "举报线索核实：挂床住院 40 人次"}))
        .await;
    assert_eq!(status, 201, "{v}");
    let violation_id = v["violation"]["id"].as_i64().unwrap();
    let violation_case = v["case_id"].as_i64().unwrap();
    let (status, res) = app
        .post(
            &inspector,
            &format!("/api/whistleblower-reports/{report_id}/violations"),
            json!({"violation_id": 999_999}),
        )
        .await;
    assert_eq!(
        (status, fields(&res)),
        (422, vec!["violation_id".to_string()]),
        "{res}"
    );
    let (status, linked) = app
        .post(
            &inspector,
            &format!("/api/whistleblower-reports/{report_id}/violations"),
            json!({"violation_id": violation_id}),
        )
        .await;
    assert_eq!(
        (status, linked["violation_ids"].clone()),
        (200, json!([violation_id])),
        "{linked}"
    );
    for (token, action, comment) in [
        (&inspector, "submit_for_review", ""),
        (&supervisor, "request_statement", ""),
        (&inspector, "no_statement", ""),
    ] {
        assert_eq!(
            app.act(token, violation_case, action, comment).await.0,
            200,
            "{action}"
        );
    }
    let (_, v) = app
        .get(&supervisor, &format!("/api/violations/{violation_id}"))
        .await;
    let (status, v) = app
        .post(&supervisor, &format!("/api/violations/{violation_id}/sanction"), json!({"expected_version": v["version"], "fine_fen": 10_000_000, "rectification_due": "2019-09-30"}))
        .await;
    assert_eq!(status, 200, "{v}");
    let repay = v["recoveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "repay")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // The report is confirmed; no reward before anything is recovered.
    assert_eq!(
        app.act(
            &inspector,
            report_case,
            "report_findings",
            "线索属实，已立案处理"
        )
        .await
        .0,
        200
    );
    assert_eq!(
        app.act(&supervisor, report_case, "confirm", "查实").await.0,
        200
    );
    assert_eq!(
        public_get(&app, &format!("/api/public/reports/{code}"))
            .await
            .1["status"],
        "confirmed"
    );
    let (status, res) = app
        .post(
            &supervisor,
            &format!("/api/whistleblower-reports/{report_id}/reward-payments"),
            json!({"amount_fen": 100}),
        )
        .await;
    assert_eq!(status, 409, "{res}");

    // 60,000 yuan recovered: the reward is 5 % = 3,000 yuan, paid in two parts.
    assert_eq!(
        app.post(
            &supervisor,
            &format!("/api/recoveries/{repay}/payments"),
            json!({"amount_fen": 6_000_000})
        )
        .await
        .0,
        200
    );
    let (_, view) = app
        .get(
            &supervisor,
            &format!("/api/whistleblower-reports/{report_id}"),
        )
        .await;
    assert_eq!(
        (
            view["recovered_fen"].as_i64(),
            view["reward_due_fen"].as_i64()
        ),
        (Some(6_000_000), Some(300_000)),
        "{view}"
    );
    assert_eq!(
        app.post(
            &inspector,
            &format!("/api/whistleblower-reports/{report_id}/reward-payments"),
            json!({"amount_fen": 100_000})
        )
        .await
        .0,
        403,
        "supervisors pay rewards"
    );
    let (status, paid) = app
        .post(
            &supervisor,
            &format!("/api/whistleblower-reports/{report_id}/reward-payments"),
            json!({"amount_fen": 100_000}),
        )
        .await;
    assert_eq!(
        (status, paid["report"]["reward_paid_fen"].as_i64()),
        (200, Some(100_000)),
        "{paid}"
    );
    let (status, res) = app
        .post(
            &supervisor,
            &format!("/api/whistleblower-reports/{report_id}/reward-payments"),
            json!({"amount_fen": 250_000}),
        )
        .await;
    assert_eq!(
        (status, fields(&res)),
        (422, vec!["amount_fen".to_string()]),
        "over-payment is refused: {res}"
    );
    let (_, paid) = app
        .post(
            &supervisor,
            &format!("/api/whistleblower-reports/{report_id}/reward-payments"),
            json!({"amount_fen": 200_000}),
        )
        .await;
    assert!(
        paid["report"]["reward_paid_at"].as_i64().is_some(),
        "{paid}"
    );
    let (_, tracked) = public_get(&app, &format!("/api/public/reports/{code}")).await;
    assert_eq!(
        (
            tracked["reward_fen"].as_i64(),
            tracked["reward_paid_fen"].as_i64()
        ),
        (Some(300_000), Some(300_000)),
        "{tracked}"
    );

    // The dashboard counts the violation and ranks the facility by its components.
    let (status, d) = app.get(&supervisor, "/api/supervision/dashboard").await;
    assert_eq!(status, 200, "{d}");
    assert!(
        d["violations_by_type"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["key"] == "phantom_bed" && t["amount_fen"] == 10_000_000),
        "{d}"
    );
    assert_eq!(
        (
            d["repay_ordered_fen"].as_i64(),
            d["repay_recovered_fen"].as_i64(),
            d["fines_ordered_fen"].as_i64()
        ),
        (Some(10_000_000), Some(6_000_000), Some(10_000_000)),
        "{d}"
    );
    let top = d["risk_ranking"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["facility_code"] == FACILITY)
        .expect("ranked");
    assert!(
        top["violations"].as_i64() == Some(1) && top["risk"].as_f64().unwrap() >= 10.0,
        "{top}"
    );
    assert_eq!(
        app.get(&resident, "/api/supervision/dashboard").await.0,
        403
    );
}
