//! End-to-end over HTTP, on SQLite and (with CLAIMFLOW_TEST_POSTGRES_URL) PostgreSQL.
use crate::common::{pdf, trauma_claim, TestApp, TRAUMA_DOCUMENTS};
use claimflow::domain::roles::Role;
use serde_json::{json, Value};

crate::trials!(api {
    scenarios: [
        trauma_case_runs_from_intake_to_signoff,
        four_eyes_refuses_the_initial_reviewer_at_second_review,
        stale_version_is_a_conflict,
        tokens_roles_and_regions_are_enforced,
        residents_see_only_their_own_claims,
        bad_input_is_refused_precisely,
        ops_endpoints_answer,
        the_outbox_is_scoped_to_the_callers_region,
        responses_carry_security_headers_and_forwarded_proto_is_not_believed,
        extreme_numbers_get_plain_4xx_and_the_largest_claim_screens,
        stage_titles_come_from_the_cases_own_workflow
    ],
});

async fn submit_trauma(app: &TestApp, resident: &str) -> (i64, i64) {
    let (status, body) = app.post(resident, "/api/claims", trauma_claim()).await;
    assert_eq!(status, 201, "{body}");
    (
        body["claim_id"].as_i64().unwrap(),
        body["case_id"].as_i64().unwrap(),
    )
}

async fn upload_all(app: &TestApp, token: &str, claim_id: i64) {
    for kind in TRAUMA_DOCUMENTS {
        let (status, body) = app
            .upload(token, claim_id, kind, &format!("{kind}.pdf"), pdf())
            .await;
        assert_eq!(status, 201, "{kind}: {body}");
    }
}

async fn trauma_case_runs_from_intake_to_signoff(app: TestApp) {
    let resident = app.login("resident").await;
    let (claim_id, case_id) = submit_trauma(&app, &resident).await;

    let clerk = app.login("clerk").await;
    // Documents missing: the clerk cannot accept, only return.
    let (status, body) = app.act(&clerk, case_id, "accept", "").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "guard_failed");
    let (_, case) = app.get(&clerk, &format!("/api/cases/{case_id}")).await;
    let missing: Vec<&str> = case["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "missing")
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        missing,
        TRAUMA_DOCUMENTS.to_vec(),
        "all seven trauma documents are required"
    );

    let (status, body) = app
        .act(&clerk, case_id, "return_for_documents", "请补充全部材料")
        .await;
    assert_eq!(
        (status, body["stage"].as_str()),
        (200, Some("awaiting_documents")),
        "{body}"
    );
    upload_all(&app, &resident, claim_id).await;
    // Resubmitting returns the case to the stage that returned it.
    let (status, body) = app.act(&resident, case_id, "resubmit", "").await;
    assert_eq!(
        (status, body["stage"].as_str()),
        (200, Some("intake")),
        "{body}"
    );

    for (user, action, stage) in [
        ("clerk", "accept", Some("initial_review")),
        ("reviewer", "recommend_approve", Some("second_review")),
        ("senior_reviewer", "approve", Some("signoff")),
        ("supervisor", "approve", None),
    ] {
        let token = app.login(user).await;
        let (status, body) = app.act(&token, case_id, action, "").await;
        assert_eq!(status, 200, "{user} {action}: {body}");
        assert_eq!(body["stage"].as_str(), stage, "{body}");
    }

    let (status, claim) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(claim["case"]["outcome"], "approved");
    assert_eq!(claim["case"]["outcome_title"]["zh"], "核准支付");

    let supervisor = app.login("supervisor").await;
    let (_, events) = app
        .get(&supervisor, &format!("/api/cases/{case_id}/events"))
        .await;
    let actions: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.first(), Some(&"opened"));
    assert_eq!(actions.last(), Some(&"approve"));
    assert_eq!(
        actions.iter().filter(|a| **a == "document_added").count(),
        7
    );
    let last = events.as_array().unwrap().last().unwrap();
    assert_eq!(
        (last["role"].as_str(), last["actor_name"].as_str()),
        (Some("supervisor"), Some("supervisor"))
    );
    assert!(last["old_value"].as_str().unwrap().contains("signoff"));
}

async fn accepted_trauma_case(app: &TestApp) -> i64 {
    let resident = app.login("resident").await;
    let (claim_id, case_id) = submit_trauma(app, &resident).await;
    upload_all(app, &resident, claim_id).await;
    let clerk = app.login("clerk").await;
    assert_eq!(app.act(&clerk, case_id, "accept", "").await.0, 200);
    case_id
}

async fn four_eyes_refuses_the_initial_reviewer_at_second_review(app: TestApp) {
    app.add_user("dual", &[Role::Reviewer, Role::SeniorReviewer], "330300");
    let case_id = accepted_trauma_case(&app).await;
    let dual = app.login("dual").await;
    assert_eq!(
        app.act(&dual, case_id, "recommend_approve", "").await.0,
        200
    );
    let (_, case) = app.get(&dual, &format!("/api/cases/{case_id}")).await;
    assert_eq!(
        case["actions"],
        json!([]),
        "no actions are offered to the initial reviewer"
    );
    let (status, body) = app.act(&dual, case_id, "approve", "").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "four_eyes");
    assert!(
        body["message"].as_str().unwrap().contains("initial_review"),
        "{body}"
    );
    let senior = app.login("senior_reviewer").await;
    assert_eq!(app.act(&senior, case_id, "approve", "").await.0, 200);
}

async fn stale_version_is_a_conflict(app: TestApp) {
    let case_id = accepted_trauma_case(&app).await;
    let reviewer = app.login("reviewer").await;
    let (_, case) = app.get(&reviewer, &format!("/api/cases/{case_id}")).await;
    let seen = case["version"].as_i64().unwrap();
    let body = json!({"action": "recommend_approve", "comment": "", "expected_version": seen});
    assert_eq!(
        app.post(
            &reviewer,
            &format!("/api/cases/{case_id}/actions"),
            body.clone()
        )
        .await
        .0,
        200
    );
    // The senior reviewer's page is from before the move: a conflict, reload.
    let senior = app.login("senior_reviewer").await;
    let stale = json!({"action": "approve", "comment": "", "expected_version": seen});
    let (status, err) = app
        .post(&senior, &format!("/api/cases/{case_id}/actions"), stale)
        .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"], "conflict");
    // The role is checked before the version: someone who may not act at second review
    // (the initial reviewer retrying, an auditor) learns nothing from a stale version.
    let (status, err) = app
        .post(&reviewer, &format!("/api/cases/{case_id}/actions"), body)
        .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (403, Some("forbidden")),
        "{err}"
    );
    let auditor = app.login("auditor").await;
    for (action, version) in [
        ("approve", seen),
        ("approve", seen + 1),
        ("recommend_approve", seen),
    ] {
        let body = json!({"action": action, "comment": "", "expected_version": version});
        let (status, err) = app
            .post(&auditor, &format!("/api/cases/{case_id}/actions"), body)
            .await;
        assert_eq!(
            (status, err["error"].as_str()),
            (403, Some("forbidden")),
            "{err}"
        );
    }
}

async fn tokens_roles_and_regions_are_enforced(app: TestApp) {
    let case_id = accepted_trauma_case(&app).await;
    let path = format!("/api/cases/{case_id}");
    // No token, garbage, tampered signature, alg none, expired.
    let res = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");
    assert!(body["message"].is_string());
    assert_eq!(app.get("not-a-jwt", &path).await.0, 401);
    let reviewer = app.login("reviewer").await;
    let mut parts: Vec<String> = reviewer.split('.').map(String::from).collect();
    let sig = parts[2].clone();
    parts[2] = format!(
        "{}{}",
        if sig.starts_with('A') { "B" } else { "A" },
        &sig[1..]
    );
    assert_eq!(
        app.get(&parts.join("."), &path).await.0,
        401,
        "tampered signature"
    );
    use base64::Engine;
    let none_header =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    assert_eq!(
        app.get(&format!("{none_header}.{}.", parts[1]), &path)
            .await
            .0,
        401,
        "alg none"
    );
    let keys = claimflow::auth::JwtKeys::new(crate::common::SECRET, 60).unwrap();
    let me: Value = app.get(&reviewer, "/api/me").await.1;
    let principal: claimflow::auth::Principal = serde_json::from_value(me).unwrap();
    let now = chrono::Utc::now().timestamp();
    let expired = keys
        .issue_with_expiry(&principal, now - 7200, now - 60)
        .unwrap();
    assert_eq!(app.get(&expired, &path).await.0, 401, "expired");
    assert_eq!(
        app.get(&keys.issue(&principal, now).unwrap(), &path)
            .await
            .0,
        401,
        "a token signed with the key that names no server-side session opens nothing"
    );

    // Wrong role: the auditor reads but cannot act; a clerk cannot act in initial review.
    let auditor = app.login("auditor").await;
    assert_eq!(app.get(&auditor, &path).await.0, 200);
    let (status, body) = app.act(&auditor, case_id, "recommend_approve", "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    // Wrong region: a reviewer scoped to 苍南县 cannot see a 平阳县 case, which reads to
    // them like a case number never issued.
    app.add_user("cangnan_reviewer", &[Role::Reviewer], "330327");
    let other = app.login("cangnan_reviewer").await;
    let (status, body) = app.get(&other, &path).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    assert_eq!(
        app.act(&other, case_id, "recommend_approve", "").await.0,
        404
    );
    // A resident cannot read the staff audit trail.
    let resident = app.login("resident").await;
    assert_eq!(app.get(&resident, &format!("{path}/events")).await.0, 403);
    // Bad login.
    let res = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": "reviewer", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

async fn residents_see_only_their_own_claims(app: TestApp) {
    let resident = app.login("resident").await;
    let (claim_id, case_id) = submit_trauma(&app, &resident).await;
    let other = app.login("resident2").await;
    for path in [
        format!("/api/claims/{claim_id}"),
        format!("/api/cases/{case_id}"),
    ] {
        let (status, body) = app.get(&other, &path).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("not_found")),
            "{path}: {body}"
        );
    }
    assert_eq!(
        app.upload(&other, claim_id, "invoice", "x.pdf", pdf())
            .await
            .0,
        404
    );
    assert_eq!(
        app.get(&resident, &format!("/api/claims/{claim_id}"))
            .await
            .0,
        200
    );
    assert_eq!(app.get(&resident, "/api/claims/999999").await.0, 404);
}

async fn bad_input_is_refused_precisely(app: TestApp) {
    let resident = app.login("resident").await;
    let mut claim = trauma_claim();
    claim["total_fen"] = json!(-5);
    claim["discharge_date"] = json!("2019-04-01");
    let (status, body) = app.post(&resident, "/api/claims", claim).await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"total_fen") && fields.contains(&"discharge_date"),
        "{body}"
    );
    // A clerk filing with a bad ID check digit, and an unknown facility.
    let clerk = app.login("clerk").await;
    let mut claim = trauma_claim();
    claim["id_number"] = json!("330326198005050010");
    let (status, body) = app.post(&clerk, "/api/claims", claim).await;
    assert_eq!(
        (status, body["fields"][0]["field"].as_str()),
        (422, Some("id_number")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("check digit"),
        "{body}"
    );
    assert_eq!(body["fields"][0]["code"], "id-check-digit", "{body}");
    assert!(
        body["fields"][0]["message_zh"]
            .as_str()
            .unwrap()
            .contains("校验位"),
        "{body}"
    );
    // The same refusal for a caller who reads Chinese: the message in Chinese, with the
    // digits it is about, and the code unchanged.
    let mut claim = trauma_claim();
    claim["id_number"] = json!("330326198005050010");
    claim["total_fen"] = json!(-5);
    let res = app
        .client
        .post(app.url("/api/claims"))
        .bearer_auth(&clerk)
        .header("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")
        .json(&claim)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    let field = |name: &str| {
        body["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {body}"))
    };
    assert_eq!(field("id_number")["code"], "id-check-digit");
    let id_message = field("id_number")["message"].as_str().unwrap().to_string();
    assert!(
        id_message.contains("校验位") && id_message.contains("“0”"),
        "{id_message}"
    );
    assert_eq!(field("total_fen")["message"], "不能为负数", "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("校验位") && !message.contains("check digit"),
        "{message}"
    );
    let mut claim = trauma_claim();
    claim["facility_code"] = json!("H999");
    let (status, body) = app.post(&resident, "/api/claims", claim).await;
    assert_eq!(
        (status, body["fields"][0]["field"].as_str()),
        (422, Some("facility_code")),
        "{body}"
    );
    let (_, mine) = app.get(&resident, "/api/me/claims").await;
    let before = mine.as_array().map_or(0, Vec::len);
    let (status, body) = app
        .post(&resident, "/api/claims", json!({"family": "trauma"}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("missing field"),
        "{body}"
    );
    let res = app
        .client
        .post(app.url("/api/claims"))
        .bearer_auth(&resident)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(
        res.status() == 400 || res.status() == 422,
        "{}",
        res.status()
    );

    let (_, mine) = app.get(&resident, "/api/me/claims").await;
    assert_eq!(
        mine.as_array().unwrap().len(),
        before,
        "refused submissions wrote nothing"
    );
    let (claim_id, _) = submit_trauma(&app, &resident).await;
    let exe = [b"MZ\x90\x00\x03".as_slice(), &[0u8; 2048]].concat();
    let (status, body) = app
        .upload(&resident, claim_id, "invoice", "invoice.pdf", exe)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (415, Some("unsupported_media_type")),
        "{body}"
    );
    let big = [b"%PDF-1.7\n".as_slice(), &vec![b'0'; 20 * 1024 * 1024]].concat();
    let (status, body) = app
        .upload(&resident, claim_id, "invoice", "big.pdf", big)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    let (status, body) = app
        .upload(&resident, claim_id, "selfie", "a.pdf", pdf())
        .await;
    assert_eq!(status, 422, "{body}");
    // Nothing was stored by the refused uploads.
    let (_, detail) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
    assert_eq!(detail["documents"], json!([]));
    let (status, _) = app.get(&resident, "/api/cases/not-a-number").await;
    assert_eq!(status, 404);
}

async fn ops_endpoints_answer(app: TestApp) {
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    // The shipped calendar has the State Council's lists through 2026: readiness names the
    // years (this one and the next) that lack one.
    let year: i32 = (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y")
        .to_string()
        .parse()
        .unwrap();
    let lacking: Vec<Value> = [year, year + 1]
        .into_iter()
        .filter(|y| *y >= 2027)
        .map(Value::from)
        .collect();
    assert_eq!(
        ready
            .get("calendar_missing_years")
            .cloned()
            .unwrap_or(Value::Array(Vec::new())),
        Value::Array(lacking),
        "{ready}"
    );
    let token = app.login("reviewer").await;
    assert_eq!(app.get(&token, "/api/workflows").await.0, 200);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            "claimflow_http_requests_total{method=\"GET\",route=\"/api/workflows\",status=\"200\"}"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("claimflow_cases{stage=\"initial_review\",workflow=\"trauma\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("claimflow_http_request_duration_seconds_bucket"));
    let doc: Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    // The error body is documented down to each field's code and both texts.
    let field = &doc["components"]["schemas"]["FieldBody"]["properties"];
    for key in ["field", "code", "message", "message_zh", "message_en"] {
        assert!(
            field.get(key).is_some(),
            "FieldBody.{key} undocumented: {field}"
        );
    }
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in [
        ("post", "/api/auth/login"),
        ("get", "/api/me"),
        ("post", "/api/claims"),
        ("get", "/api/claims/{id}"),
        ("post", "/api/claims/{id}/documents"),
        ("get", "/api/claims/{id}/documents/{doc_id}"),
        ("get", "/api/cases/{id}"),
        ("post", "/api/cases/{id}/actions"),
        ("get", "/api/cases/{id}/events"),
        ("get", "/api/workflows"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/metrics"),
        ("get", "/api/openapi.json"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from OpenAPI"
        );
    }
    assert_eq!(app.get(&token, "/api/nope").await.0, 404);
}

/// Region scope of the outbox (issue 23, item 5): a Shanghai auditor reads none of the
/// letters to Zhejiang residents, even by naming their case; the Zhejiang auditor reads them.
async fn the_outbox_is_scoped_to_the_callers_region(app: TestApp) {
    let zhejiang = app.login("auditor").await;
    let (status, letters) = app.get(&zhejiang, "/api/admin/outbox").await;
    assert_eq!(status, 200, "{letters}");
    let letters = letters.as_array().unwrap().clone();
    assert!(!letters.is_empty(), "the demo wrote letters");
    assert!(
        letters.iter().all(|l| l["case_id"].is_i64()),
        "only letters about a case"
    );
    app.add_user("sh_auditor", &[Role::Auditor], "310000");
    let shanghai = app.login("sh_auditor").await;
    let (status, none) = app.get(&shanghai, "/api/admin/outbox").await;
    assert_eq!((status, none), (200, json!([])));
    let case_id = letters[0]["case_id"].as_i64().unwrap();
    let (_, named) = app
        .get(&shanghai, &format!("/api/admin/outbox?case_id={case_id}"))
        .await;
    assert_eq!(
        named,
        json!([]),
        "naming a case outside the region reveals nothing"
    );
}

/// Headers (issue 23, item 6): every response carries the CSP and its companions; a client's
/// own `X-Forwarded-Proto: https` neither earns HSTS nor changes the cookie's Secure flag
/// (only `public_base_url` or a trusted proxy does).
async fn responses_carry_security_headers_and_forwarded_proto_is_not_believed(app: TestApp) {
    let token = app.login("reviewer").await;
    for (path, bearer) in [
        ("/login", false),
        ("/api/me", true),
        ("/no-such-page", false),
    ] {
        let mut req = app
            .client
            .get(app.url(path))
            .header("x-forwarded-proto", "https");
        if bearer {
            req = req.bearer_auth(&token);
        }
        let res = req.send().await.unwrap();
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert!(h.contains_key("permissions-policy"), "{path}");
        assert!(
            !h.contains_key("strict-transport-security"),
            "{path}: a forged header earns no HSTS"
        );
        if path == "/login" {
            assert!(
                h.get_all("set-cookie").iter().count() > 0,
                "the sign-in page sets its nonce cookie"
            );
        }
        for cookie in h.get_all("set-cookie") {
            assert!(
                !cookie.to_str().unwrap().contains("Secure"),
                "{path}: {cookie:?}"
            );
        }
    }
}

async fn extreme_numbers_get_plain_4xx_and_the_largest_claim_screens(app: TestApp) {
    let resident = app.login("resident").await;
    // i64::MAX fen: refused in yuan, naming the field, never echoing the raw number.
    let mut claim = trauma_claim();
    claim["total_fen"] = json!(i64::MAX);
    let (status, body) = app.post(&resident, "/api/claims", claim).await;
    assert_eq!(status, 422, "{body}");
    let text = body.to_string();
    assert!(
        text.contains("total_fen") && text.contains("10,000,000.00 yuan"),
        "{body}"
    );
    assert!(!text.contains(&i64::MAX.to_string()), "{body}");
    // Beyond i64 altogether: the JSON number does not fit, a 422 without Rust type names.
    let res = app
        .client
        .post(app.url("/api/claims"))
        .bearer_auth(&resident)
        .header("content-type", "application/json")
        .body(
            trauma_claim()
                .to_string()
                .replace("1250000", "99999999999999999999999"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let text = res.text().await.unwrap();
    assert!(!text.contains("struct ClaimInput"), "{text}");

    // The largest claim allowed is accepted, and the backtest and reports sum it with others.
    let mut largest = trauma_claim();
    largest["invoice_numbers"] = json!(["MAX-1"]);
    largest["total_fen"] = json!(claimflow::domain::claim::DEFAULT_MAX_CLAIM_FEN);
    largest["policy_scope_fen"] = json!(claimflow::domain::claim::DEFAULT_MAX_CLAIM_FEN);
    largest["self_paid_fen"] = json!(0);
    let (status, body) = app.post(&resident, "/api/claims", largest).await;
    assert_eq!(status, 201, "{body}");
    let core = claimflow::core::Core::open(app.config.clone()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let summary = claimflow::cli::screen::run(
        &core.pool,
        None,
        &core.defs,
        day("2019-01-01"),
        day("2019-12-31"),
        out.path(),
        None,
        false,
    )
    .expect("the backtest sums the largest claim without overflow");
    assert!(summary.claims_screened > 0);
    let auditor = app.login("auditor").await;
    let (status, body) = app.get(&auditor, "/api/supervision/dashboard").await;
    assert_eq!(status, 200, "{body}");

    // Path and query integers: a plain 404 or 400/422 that says what is expected.
    let reviewer = app.login("reviewer").await;
    for path in [
        "/api/cases/99999999999999999999",
        "/api/cases/-1",
        "/api/claims/1e5",
    ] {
        let (status, body) = app.get(&reviewer, path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.to_string().contains("parse"), "{path}: {body}");
        // Every error reads in both languages.
        assert!(
            body["message_zh"]
                .as_str()
                .is_some_and(|m| m.contains("未找到"))
                && body["message_en"].is_string(),
            "{path}: {body}"
        );
    }
    let (status, body) = app.get(&reviewer, "/api/queue?limit=abc").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("documented type")
            && !body.to_string().contains("invalid digit"),
        "{body}"
    );
    for limit in ["0", "201", "-5", "99999999999999999999"] {
        let (status, body) = app
            .get(&reviewer, &format!("/api/queue?limit={limit}"))
            .await;
        assert!(status == 400 || status == 422, "limit={limit}: {body}");
    }
    let (status, body) = app.get(&reviewer, "/api/queue?colour=red").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`"),
        "{body}"
    );
}

/// Issue 28: the same stage id names different stages in different workflows; a trauma
/// claim's trail and queue line say 初审, never the fraud investigation's 疑点初审.
async fn stage_titles_come_from_the_cases_own_workflow(app: TestApp) {
    let case_id = accepted_trauma_case(&app).await;
    let reviewer = app.login("reviewer").await;
    let (status, html) = app.page(&reviewer, &format!("/cases/{case_id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("初审"), "the trail names the stage");
    assert!(
        !html.contains("疑点初审"),
        "a trauma case has no 疑点初审: {html}"
    );
    let (status, queue) = app.page(&reviewer, "/queue?family=trauma").await;
    assert_eq!(status, 200);
    assert!(
        queue.contains(&format!("/cases/{case_id}")),
        "the case is in the queue"
    );
    assert!(!queue.contains("疑点初审"), "{queue}");
    // A supervisor also decides violations and reports, but the review queue's stage filter
    // offers only the stages of claim and appeal workflows.
    let supervisor = app.login("supervisor").await;
    let (status, queue) = app.page(&supervisor, "/queue").await;
    assert_eq!(status, 200);
    let options = &queue[queue.find("id=\"stage\"").expect("the stage filter")..];
    let options = &options[..options.find("</select>").unwrap()];
    assert!(options.contains("value=\"signoff\""), "{options}");
    for other in [
        "facility_statement",
        "rectification",
        "triage",
        "\"review\"",
    ] {
        assert!(!options.contains(other), "{other} in {options}");
    }
}
