//! Region scope over the whole API (issue 23, item 5): a user of another region who holds
//! every staff role walks every operation of the served OpenAPI document against real
//! Zhejiang resources, and against ids that name nothing. Each answer is 403 or 404 (or the
//! same field error an unknown id gets), identical for both, so that no answer tells whether
//! a resource exists; lists answer with nothing of Zhejiang. The walk fails when the document
//! has an operation the walk does not cover.
use crate::common::{pdf, trauma_claim, TestApp};
use claimflow::domain::roles::Role;
use claimflow::store::DbConn;
use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::{json, Value};
use std::collections::BTreeSet;

crate::trials!(scope {
    scenarios: [another_regions_user_finds_nothing_in_any_operation],
});

const FACILITY: &str = "H330326010";
const UNKNOWN: i64 = 987_654_321;

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

async fn me_of(app: &TestApp, token: &str) -> i64 {
    app.get(token, "/api/me").await.1["user_id"]
        .as_i64()
        .unwrap()
}

fn first_id(conn: &mut DbConn, sql: &str) -> i64 {
    let q = diesel::sql_query(sql);
    match conn {
        DbConn::Sqlite(c, _) => q.get_result::<Id>(c),
        DbConn::Pg(c) => q.get_result::<Id>(c),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
    .id
}

/// Operations open to anyone, or about the caller alone, which carry no other region's data.
const NOT_SCOPED: [&str; 14] = [
    // A CSV body of bank references: another region's references answer like unknown ones,
    // walked in payments::a_batch_goes_to_the_bank_and_comes_back_paid_failed_and_returned.
    "POST /api/payment-results",
    "GET /api/openapi.json",
    "POST /api/auth/login",
    "POST /api/auth/logout",
    "GET /api/me",
    // The caller's own password: there is no one else's to reach.
    "POST /api/me/password",
    "GET /api/workflows",
    "GET /api/supervision/violation-types",
    "POST /api/public/reports",
    // Whoever holds a tracking code is its reporter; the code is the credential.
    "POST /api/public/reports/track",
    "POST /api/public/reports/attachments",
    // The designated-facility registry is public (the agencies publish it): a reviewer
    // reads the facilities of out-of-region care, and a status change outside the region
    // is refused with 403 because the facility's existence is no secret.
    "GET /api/facilities",
    "GET /api/facilities/{code}",
    "POST /api/admin/facilities",
];

struct Walk<'a> {
    app: &'a TestApp,
    token: String,
    covered: BTreeSet<String>,
}

impl Walk<'_> {
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = self.app.url(path);
        let req = match method {
            "GET" => self.app.client.get(url),
            "POST" => self.app.client.post(url),
            "PUT" => self.app.client.put(url),
            "DELETE" => self.app.client.delete(url),
            other => panic!("method {other}"),
        }
        .bearer_auth(&self.token);
        let req = match (
            body,
            path.ends_with("/documents") || path.ends_with("/evidence"),
        ) {
            (_, true) => req.multipart(
                reqwest::multipart::Form::new()
                    .text("kind", "invoice")
                    .part(
                        "file",
                        reqwest::multipart::Part::bytes(pdf()).file_name("a.pdf"),
                    ),
            ),
            (Some(b), false) => req.json(&b),
            (None, false) => req,
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The operation on a real resource and on unknown ids: the same refusal, word for word
    /// once the ids are taken out.
    async fn same_as_unknown(
        &mut self,
        op: &str,
        real: &str,
        unknown: &str,
        body: Option<Value>,
        ids: &[String],
    ) {
        self.covered.insert(op.to_string());
        let method = op.split(' ').next().unwrap();
        let (status, answer) = self.send(method, real, body.clone()).await;
        let (unknown_status, unknown_answer) = self.send(method, unknown, body).await;
        assert!(
            matches!(status, 403 | 404 | 422),
            "{op} on {real}: {status} {answer}"
        );
        // Ids out, as whole words: what is left must be the same text.
        let plain = |v: &Value| {
            let text = v.to_string();
            let mut out = String::new();
            let mut word = String::new();
            for c in text.chars().chain(std::iter::once(' ')) {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    word.push(c);
                    continue;
                }
                let is_id = word == UNKNOWN.to_string() || ids.contains(&word);
                out.push_str(if is_id { "ID" } else { &word });
                word.clear();
                out.push(c);
            }
            out
        };
        assert_eq!(
            (status, plain(&answer)),
            (unknown_status, plain(&unknown_answer)),
            "{op}: {real} answers unlike {unknown}, which tells that it exists"
        );
    }

    /// A create naming a Zhejiang person and one naming nobody: the same 422, field by field.
    async fn same_field_errors(&mut self, op: &str, path: &str, real: Value, unknown: Value) {
        self.covered.insert(op.to_string());
        let (a, b) = (
            self.send("POST", path, Some(real)).await,
            self.send("POST", path, Some(unknown)).await,
        );
        assert_eq!(a.0, 422, "{op}: {}", a.1);
        assert_eq!(
            (a.0, &a.1["fields"]),
            (b.0, &b.1["fields"]),
            "{op}: {} / {}",
            a.1,
            b.1
        );
    }

    /// A list: answered, but with nothing of Zhejiang in it.
    async fn lists_nothing_of(
        &mut self,
        op: &str,
        path: &str,
        body: Option<Value>,
        secrets: &[&str],
    ) {
        self.covered.insert(op.to_string());
        let method = op.split(' ').next().unwrap();
        let (status, answer) = self.send(method, path, body).await;
        assert!(matches!(status, 200 | 204 | 403), "{op}: {status} {answer}");
        let text = answer.to_string();
        for s in secrets {
            assert!(!text.contains(s), "{op} shows `{s}`: {text}");
        }
    }
}

async fn another_regions_user_finds_nothing_in_any_operation(app: TestApp) {
    // Zhejiang resources of every kind: a claim with a document and a finding, a violation
    // with evidence, recoveries and an approval, a whistleblower report.
    let resident = app.login("resident").await;
    let inspector = app.login("inspector").await;
    let supervisor = app.login("supervisor").await;
    let mut claim = trauma_claim();
    claim["invoice_numbers"] = json!(["SCOPE-1"]);
    let (status, body) = app.post(&resident, "/api/claims", claim).await;
    assert_eq!(status, 201, "{body}");
    let claim_id = body["claim_id"].as_i64().unwrap();
    let case_id = body["case_id"].as_i64().unwrap();
    let (status, doc) = app
        .upload(&resident, claim_id, "invoice", "a.pdf", pdf())
        .await;
    assert_eq!(status, 201, "{doc}");
    let doc_id = doc["id"].as_i64().unwrap();
    // Documents: staff in region read them, admins (accounts and registries) do not.
    let doc_path = format!("/api/claims/{claim_id}/documents/{doc_id}");
    let zhejiang_admin = app.login("admin").await;
    assert_eq!(app.get(&zhejiang_admin, &doc_path).await.0, 403);
    let auditor = app.login("auditor").await;
    let res = app
        .client
        .get(app.url(&doc_path))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, v) = app
        .post(&inspector, "/api/violations", json!({"facility_code": FACILITY, "type_code": "phantom_bed",
            "amount_fen": 100_000, "claim_ids": [claim_id], "department": "骨科", "description": "查房不在床"}))
        .await;
    assert_eq!(status, 201, "{v}");
    let violation_id = v["violation"]["id"].as_i64().unwrap();
    let violation_case = v["case_id"].as_i64().unwrap();
    let evidence = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(pdf()).file_name("night.pdf"),
    );
    let res = app
        .client
        .post(app.url(&format!("/api/violations/{violation_id}/evidence")))
        .bearer_auth(&inspector)
        .multipart(evidence)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    for (who, action, comment) in [
        (&inspector, "submit_for_review", ""),
        (&supervisor, "request_statement", ""),
        (&inspector, "record_statement", "机构陈述"),
    ] {
        let (status, res) = app.act(who, violation_case, action, comment).await;
        assert_eq!(status, 200, "{action}: {res}");
    }
    let (_, v) = app
        .get(&supervisor, &format!("/api/violations/{violation_id}"))
        .await;
    let (status, res) = app
        .post(
            &supervisor,
            &format!("/api/violations/{violation_id}/sanction"),
            json!({
            "expected_version": v["version"], "fine_fen": 100_000, "suspension_months": 0,
            "rectification_due": "2019-09-30"}),
        )
        .await;
    assert_eq!(status, 200, "{res}");
    let (status, res) = app
        .post(
            &supervisor,
            &format!("/api/violations/{violation_id}/write-off"),
            json!({"reason": "机构已破产清算，无可执行财产"}),
        )
        .await;
    assert!(status == 200 || status == 201, "{res}");
    let (status, report) = app
        .public(
            reqwest::Method::POST,
            "/api/public/reports",
            Some(
                json!({"facility_code": FACILITY, "description": "该院存在挂床住院的情况，请核查"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{report}");
    let report_id = report["report_id"].as_i64().unwrap();
    let mut conn = app.conn();
    let finding_id = first_id(&mut conn, "SELECT min(id) AS id FROM case_findings");
    let finding_case = first_id(
        &mut conn,
        &format!("SELECT case_id AS id FROM case_findings WHERE id = {finding_id}"),
    );
    let recovery_id = first_id(
        &mut conn,
        &format!("SELECT min(id) AS id FROM recoveries WHERE violation_id = {violation_id}"),
    );
    let approval_id = first_id(
        &mut conn,
        &format!("SELECT min(id) AS id FROM dual_approvals WHERE violation_id = {violation_id}"),
    );
    let resident_user = first_id(
        &mut conn,
        "SELECT id FROM users WHERE username = 'resident'",
    );
    let person_id = first_id(
        &mut conn,
        "SELECT id FROM persons WHERE id_number = '330326198005050019'",
    );
    drop(conn);
    // A payment batch of 平阳县 (the money path's own test walks one through the bank).
    app.raw_sql(
        "INSERT INTO payment_batches (region_code, region_path, cutoff_ms, status, item_count, total_fen, created_by, created_at) \
         SELECT '330326', path, 0, 'open', 0, 0, (SELECT id FROM users WHERE username = 'supervisor'), 0 FROM regions WHERE code = '330326'",
    )
    .unwrap();
    let mut conn = app.conn();
    let batch_id = first_id(&mut conn, "SELECT max(id) AS id FROM payment_batches");
    drop(conn);
    let person = "330326198005050019"; // the demo resident 张伟, registered in 平阳县
    let (_, me) = app.get(&resident, "/api/me").await;
    assert_eq!(me["user_id"], resident_user);

    // Shanghai: every staff role.
    app.add_user("sh_everyone", &Role::STAFF, "310000");
    let mut walk = Walk {
        app: &app,
        token: app.login("sh_everyone").await,
        covered: BTreeSet::new(),
    };
    let ids: Vec<String> = [
        claim_id,
        case_id,
        doc_id,
        violation_id,
        violation_case,
        report_id,
        finding_id,
        finding_case,
        recovery_id,
        approval_id,
        resident_user,
        person_id,
        batch_id,
    ]
    .iter()
    .map(i64::to_string)
    .collect();
    let u = UNKNOWN;
    let act = json!({"action": "recommend_approve", "comment": "看过", "expected_version": 1});
    let cases: Vec<(&str, String, String, Option<Value>)> = vec![
        (
            "GET /api/cases/{id}",
            format!("/api/cases/{case_id}"),
            format!("/api/cases/{u}"),
            None,
        ),
        (
            "POST /api/cases/{id}/actions",
            format!("/api/cases/{case_id}/actions"),
            format!("/api/cases/{u}/actions"),
            Some(act.clone()),
        ),
        (
            "POST /api/cases/{id}/claim",
            format!("/api/cases/{case_id}/claim"),
            format!("/api/cases/{u}/claim"),
            None,
        ),
        (
            "POST /api/cases/{id}/release",
            format!("/api/cases/{case_id}/release"),
            format!("/api/cases/{u}/release"),
            None,
        ),
        (
            "GET /api/cases/{id}/events",
            format!("/api/cases/{case_id}/events"),
            format!("/api/cases/{u}/events"),
            None,
        ),
        (
            "POST /api/cases/{id}/findings/{finding_id}/override",
            format!("/api/cases/{finding_case}/findings/{finding_id}/override"),
            format!("/api/cases/{u}/findings/{u}/override"),
            Some(json!({"reason_code": "verified_with_facility", "comment": "核实"})),
        ),
        (
            "POST /api/cases/{id}/reassign",
            format!("/api/cases/{case_id}/reassign"),
            format!("/api/cases/{u}/reassign"),
            Some(json!({"to_user_id": null, "reason": "调整"})),
        ),
        (
            "POST /api/cases/reassign",
            "/api/cases/reassign".into(),
            "/api/cases/reassign".into(),
            Some(json!({"case_ids": [case_id], "to_user_id": null, "reason": "调整"})),
        ),
        (
            "GET /api/claims/{id}",
            format!("/api/claims/{claim_id}"),
            format!("/api/claims/{u}"),
            None,
        ),
        (
            "POST /api/claims/{id}/documents",
            format!("/api/claims/{claim_id}/documents"),
            format!("/api/claims/{u}/documents"),
            None,
        ),
        (
            "GET /api/claims/{id}/documents/{doc_id}",
            format!("/api/claims/{claim_id}/documents/{doc_id}"),
            format!("/api/claims/{u}/documents/{u}"),
            None,
        ),
        (
            "POST /api/claims/{id}/documents/{doc_id}/reject",
            format!("/api/claims/{claim_id}/documents/{doc_id}/reject"),
            format!("/api/claims/{u}/documents/{u}/reject"),
            Some(json!({"reason": "看不清"})),
        ),
        (
            "GET /api/claims/{id}/appeal",
            format!("/api/claims/{claim_id}/appeal"),
            format!("/api/claims/{u}/appeal"),
            None,
        ),
        (
            "POST /api/claims/{id}/appeal",
            format!("/api/claims/{claim_id}/appeal"),
            format!("/api/claims/{u}/appeal"),
            Some(json!({"reason": "不服"})),
        ),
        (
            "GET /api/claims/{id}/payment",
            format!("/api/claims/{claim_id}/payment"),
            format!("/api/claims/{u}/payment"),
            None,
        ),
        (
            "GET /api/persons/{id}/payee-account",
            format!("/api/persons/{person_id}/payee-account"),
            format!("/api/persons/{u}/payee-account"),
            None,
        ),
        (
            "PUT /api/persons/{id}/payee-account",
            format!("/api/persons/{person_id}/payee-account"),
            format!("/api/persons/{u}/payee-account"),
            Some(json!({"bank": "上海银行", "holder": "张伟", "number": "123456789012"})),
        ),
        (
            "GET /api/payment-batches/{id}",
            format!("/api/payment-batches/{batch_id}"),
            format!("/api/payment-batches/{u}"),
            None,
        ),
        (
            "POST /api/payment-batches/{id}/export",
            format!("/api/payment-batches/{batch_id}/export"),
            format!("/api/payment-batches/{u}/export"),
            None,
        ),
        (
            "GET /api/violations/{id}",
            format!("/api/violations/{violation_id}"),
            format!("/api/violations/{u}"),
            None,
        ),
        (
            "POST /api/violations/{id}/evidence",
            format!("/api/violations/{violation_id}/evidence"),
            format!("/api/violations/{u}/evidence"),
            None,
        ),
        (
            "POST /api/violations/{id}/sanction",
            format!("/api/violations/{violation_id}/sanction"),
            format!("/api/violations/{u}/sanction"),
            Some(
                json!({"expected_version": 1, "fine_fen": 100_000, "rectification_due": "2019-09-30"}),
            ),
        ),
        (
            "POST /api/violations/{id}/write-off",
            format!("/api/violations/{violation_id}/write-off"),
            format!("/api/violations/{u}/write-off"),
            Some(json!({"reason": "无可执行财产"})),
        ),
        (
            "POST /api/violations/{id}/approvals/{approval_id}",
            format!("/api/violations/{violation_id}/approvals/{approval_id}"),
            format!("/api/violations/{u}/approvals/{u}"),
            Some(json!({"approve": true, "comment": "同意"})),
        ),
        (
            "POST /api/recoveries/{id}/payments",
            format!("/api/recoveries/{recovery_id}/payments"),
            format!("/api/recoveries/{u}/payments"),
            Some(json!({"amount_fen": 100})),
        ),
        (
            "GET /api/whistleblower-reports/{id}",
            format!("/api/whistleblower-reports/{report_id}"),
            format!("/api/whistleblower-reports/{u}"),
            None,
        ),
        (
            "POST /api/whistleblower-reports/{id}/violations",
            format!("/api/whistleblower-reports/{report_id}/violations"),
            format!("/api/whistleblower-reports/{u}/violations"),
            Some(json!({"violation_id": violation_id})),
        ),
        (
            "POST /api/whistleblower-reports/{id}/reward-payments",
            format!("/api/whistleblower-reports/{report_id}/reward-payments"),
            format!("/api/whistleblower-reports/{u}/reward-payments"),
            Some(json!({"amount_fen": 100})),
        ),
        (
            "GET /api/admin/persons/{id_number}",
            format!("/api/admin/persons/{person}"),
            "/api/admin/persons/110101199003077774".into(),
            None,
        ),
        (
            "POST /api/admin/users/{id}/disable",
            format!("/api/admin/users/{resident_user}/disable"),
            format!("/api/admin/users/{u}/disable"),
            None,
        ),
        (
            "POST /api/admin/users/{id}/password",
            format!("/api/admin/users/{resident_user}/password"),
            format!("/api/admin/users/{u}/password"),
            Some(json!({"password": "a-new-long-password"})),
        ),
        (
            "PUT /api/admin/users/{id}/roles",
            format!("/api/admin/users/{resident_user}/roles"),
            format!("/api/admin/users/{u}/roles"),
            Some(json!({"roles": ["resident"], "region_code": "310000"})),
        ),
        (
            "POST /api/admin/users/{id}/enable",
            format!("/api/admin/users/{resident_user}/enable"),
            format!("/api/admin/users/{u}/enable"),
            None,
        ),
        (
            "GET /api/admin/users/{id}",
            format!("/api/admin/users/{resident_user}"),
            format!("/api/admin/users/{u}"),
            None,
        ),
        (
            "PUT /api/admin/users/{id}/person",
            format!("/api/admin/users/{resident_user}/person"),
            format!("/api/admin/users/{u}/person"),
            Some(json!({"id_number": person})),
        ),
        (
            "DELETE /api/admin/lockouts/{username}",
            "/api/admin/lockouts/resident".into(),
            "/api/admin/lockouts/nobody-at-all".into(),
            None,
        ),
        (
            "POST /api/users/{id}/absences",
            format!("/api/users/{resident_user}/absences"),
            format!("/api/users/{u}/absences"),
            Some(json!({"from": "2019-06-01", "to": "2019-06-02", "reason": "休假"})),
        ),
    ];
    let mut cases = cases;
    let file_id = first_id(
        &mut app.conn(),
        &format!("SELECT min(id) AS id FROM evidence_files WHERE subject_kind = 'violation' AND subject_id = {violation_id}"),
    );
    let fix = json!({"total_fen": 100, "policy_scope_fen": 100, "self_paid_fen": 0, "comment": "x", "expected_version": 1});
    let facility_act = json!({"action": "submit_statement", "comment": "x", "expected_version": 1});
    // The facility side: a member of staff holds no facility role, whatever the case.
    cases.extend([
        (
            "GET /api/facility/cases/{id}",
            format!("/api/facility/cases/{violation_case}"),
            format!("/api/facility/cases/{u}"),
            None,
        ),
        (
            "POST /api/facility/cases/{id}/actions",
            format!("/api/facility/cases/{violation_case}/actions"),
            format!("/api/facility/cases/{u}/actions"),
            Some(facility_act),
        ),
        (
            "POST /api/facility/cases/{id}/files",
            format!("/api/facility/cases/{violation_case}/files"),
            format!("/api/facility/cases/{u}/files"),
            None,
        ),
        (
            "GET /api/facility/cases/{id}/files/{file_id}",
            format!("/api/facility/cases/{violation_case}/files/{file_id}"),
            format!("/api/facility/cases/{u}/files/{u}"),
            None,
        ),
        (
            "POST /api/facility/cases/{id}/invoice",
            format!("/api/facility/cases/{case_id}/invoice"),
            format!("/api/facility/cases/{u}/invoice"),
            Some(fix),
        ),
        (
            "POST /api/violations/{id}/evidence/{evidence_id}/disclosure",
            format!("/api/violations/{violation_id}/evidence/{file_id}/disclosure"),
            format!("/api/violations/{u}/evidence/{u}/disclosure"),
            Some(json!({"disclosed": true})),
        ),
    ]);
    let ids: Vec<String> = ids.into_iter().chain([file_id.to_string()]).collect();
    let ids_with_names: Vec<String> = ids
        .iter()
        .cloned()
        .chain([
            "resident".to_string(),
            "nobody-at-all".to_string(),
            person.to_string(),
            "110101199003077774".to_string(),
        ])
        .collect();
    for (op, real, unknown, body) in cases {
        walk.same_as_unknown(op, &real, &unknown, body, &ids_with_names)
            .await;
    }
    // Creates that name a Zhejiang person answer like an unknown ID number.
    let mut filed = trauma_claim();
    filed["id_number"] = json!(person);
    filed["invoice_numbers"] = json!(["SCOPE-2"]);
    let mut unknown_person = filed.clone();
    unknown_person["id_number"] = json!("110101199003077774");
    walk.same_field_errors("POST /api/claims", "/api/claims", filed, unknown_person)
        .await;
    let enrol = |id: &str| json!({"id_number": id, "coverage_year": 2019, "period_start": "2019-01-01", "period_end": "2019-12-31", "tier": 1, "enrolled_on": "2018-12-01", "channel": "central"});
    walk.same_field_errors(
        "POST /api/payment-batches",
        "/api/payment-batches",
        json!({"region": "330326"}),
        json!({"region": "999999"}),
    )
    .await;
    walk.same_field_errors(
        "POST /api/admin/enrolments",
        "/api/admin/enrolments",
        enrol(person),
        enrol("110101199003077774"),
    )
    .await;
    // Creates in Zhejiang itself are refused: the region is no secret, the answer is 403.
    for (op, path, body) in [
        (
            "POST /api/admin/persons",
            "/api/admin/persons",
            json!({"id_number": "330326199001010014", "name": "测试", "sex": "M", "birth_date": "1990-01-01", "household": "x", "region_code": "330326"}),
        ),
        (
            "POST /api/inspections",
            "/api/inspections",
            json!({"facility_code": FACILITY, "kind": "planned", "inspected_on": "2019-06-01", "team": "沪", "scope": "x"}),
        ),
        (
            "POST /api/violations",
            "/api/violations",
            json!({"facility_code": FACILITY, "type_code": "phantom_bed", "amount_fen": 1, "claim_ids": [], "department": "", "description": "x"}),
        ),
        (
            "POST /api/admin/facilities/{code}/status",
            &format!("/api/admin/facilities/{FACILITY}/status"),
            json!({"status": "suspended", "effective_from": "2019-07-01", "reason": "x"}),
        ),
    ] {
        walk.covered.insert(op.to_string());
        let (status, res) = walk.send("POST", path, Some(body)).await;
        assert_eq!(status, 403, "{op}: {res}");
    }
    // A facility account for a Zhejiang facility reads like one for a facility never
    // registered; setting a Zhejiang facility's address is refused (the registry is public).
    walk.covered.insert("POST /api/admin/users".to_string());
    let account = |code: &str| json!({"username": "sh_facility", "password": "a-long-password-1", "roles": ["facility"], "facility_codes": [code]});
    let (real, unknown) = (
        walk.send("POST", "/api/admin/users", Some(account(FACILITY)))
            .await,
        walk.send("POST", "/api/admin/users", Some(account("H999999999")))
            .await,
    );
    let codes = |v: &Value| {
        v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["field"].clone(), f["code"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        (real.0, codes(&real.1)),
        (unknown.0, codes(&unknown.1)),
        "{} / {}",
        real.1,
        unknown.1
    );
    assert_eq!(real.0, 422, "{}", real.1);
    walk.covered
        .insert("PUT /api/admin/facilities/{code}/contact".to_string());
    let (status, res) = walk
        .send(
            "PUT",
            &format!("/api/admin/facilities/{FACILITY}/contact"),
            Some(json!({"email": "x@y.z"})),
        )
        .await;
    assert_eq!(status, 403, "{res}");
    // Lists: nothing of Zhejiang.
    // Residents, staff, facilities and regions of Zhejiang, by name and by code.
    let secrets = [
        "张伟", person, "SCOPE-1", "330326", "330300", "刘洋", "赵强", "孙磊", "平阳", "温州",
        "H3303",
    ];
    for (op, path, body) in [
        ("GET /api/queue", "/api/queue", None),
        ("GET /api/payment-batches", "/api/payment-batches", None),
        (
            "GET /api/payments/reconciliation",
            "/api/payments/reconciliation?from=2019-01-01&to=2030-01-01",
            None,
        ),
        ("POST /api/queue/next", "/api/queue/next", None),
        ("GET /api/me/claims", "/api/me/claims", None),
        ("GET /api/facility/cases", "/api/facility/cases", None),
        (
            "GET /api/facility/dashboard",
            "/api/facility/dashboard",
            None,
        ),
        ("GET /api/facility/staff", "/api/facility/staff", None),
        (
            "POST /api/facility/staff",
            "/api/facility/staff",
            Some(json!({"username": "sh_staff", "password": "a-long-password-1"})),
        ),
        ("GET /api/admin/outbox", "/api/admin/outbox", None),
        (
            "GET /api/reports/reviewers",
            "/api/reports/reviewers?from=0&to=4102444800000",
            None,
        ),
        (
            "GET /api/supervision/dashboard",
            "/api/supervision/dashboard",
            None,
        ),
    ] {
        walk.lists_nothing_of(op, path, body, &secrets).await;
    }

    // Role before lookup also for a caller with no staff role: a resident naming a real
    // user and one never issued gets the same refusal.
    let absence = json!({"from": "2019-06-01", "to": "2019-06-02", "reason": "休假"});
    let supervisor_id = me_of(&app, &supervisor).await;
    let as_resident = Walk {
        app: &app,
        token: resident.clone(),
        covered: BTreeSet::new(),
    };
    let real = as_resident
        .send(
            "POST",
            &format!("/api/users/{supervisor_id}/absences"),
            Some(absence.clone()),
        )
        .await;
    let unknown = as_resident
        .send(
            "POST",
            &format!("/api/users/{UNKNOWN}/absences"),
            Some(absence),
        )
        .await;
    assert_eq!(
        (real.0, &real.1["error"]),
        (unknown.0, &unknown.1["error"]),
        "{} / {}",
        real.1,
        unknown.1
    );
    assert_eq!(real.0, 403, "{}", real.1);

    // The admin's registry page lists the accounts of the admin's own region only.
    let (status, page) = app.page(&walk.token, "/admin/registry").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("sh_everyone"),
        "the admin's own account is listed"
    );
    for name in ["刘洋", "赵强", "张伟"] {
        assert!(
            !page.contains(name),
            "the Shanghai admin's registry lists {name}"
        );
    }
    let (_, page) = app.page(&app.login("admin").await, "/admin/registry").await;
    assert!(
        page.contains("刘洋"),
        "the Zhejiang admin's registry lists its reviewers"
    );

    // Every operation of the document was walked, or is listed above as not scoped.
    let (_, doc) = app.get(&walk.token, "/api/openapi.json").await;
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let op = format!("{} {path}", method.to_uppercase());
            if path.starts_with("/api/")
                && !walk.covered.contains(&op)
                && !NOT_SCOPED.contains(&op.as_str())
            {
                missing.push(op);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "operations the region walk does not cover: {missing:?}"
    );
}
