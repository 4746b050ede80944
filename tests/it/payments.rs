//! The money path after approval on both backends: payee accounts, a batch exported to the
//! bank, its result file with paid, failed and returned rows, a retried export that pays
//! nothing twice, bad result files that change nothing, reconciliation, and a corrected
//! account paid again.
use crate::claims::{approved_trauma_claims, trauma_at_signoff};
use crate::common::{block_on, csrf_of, spawn_without_cases, Backend, TestApp};
use crate::common::{nth_stay, pdf, trauma_claim};
use claimflow::domain::roles::Role;
use serde_json::{json, Value};

crate::trials!(payments {
    backends: [
        a_batch_goes_to_the_bank_and_comes_back_paid_failed_and_returned,
        an_appeal_changes_the_amount_once
    ],
});

fn an_appeal_changes_the_amount_once(backend: Backend) {
    block_on(async move {
        let Some(app) = spawn_without_cases(backend).await else {
            panic!("set CLAIMFLOW_TEST_POSTGRES_URL to run on PostgreSQL");
        };
        appeal(app).await
    })
}

fn a_batch_goes_to_the_bank_and_comes_back_paid_failed_and_returned(backend: Backend) {
    block_on(async move {
        let Some(app) = spawn_without_cases(backend).await else {
            panic!("set CLAIMFLOW_TEST_POSTGRES_URL to run on PostgreSQL");
        };
        money_path(app).await
    })
}

async fn post_text(app: &TestApp, token: &str, path: &str, body: &str) -> (u16, String, Value) {
    let res = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header("Content-Type", "text/csv")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let first = res
        .headers()
        .get("X-Claimflow-First-Export")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = res.text().await.unwrap();
    (
        status,
        first,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn count(app: &TestApp, sql: &str) -> i64 {
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.conn();
    let rows: Vec<N> = match &mut *conn {
        claimflow::store::DbConn::Sqlite(c, _) => diesel::sql_query(sql).load(c),
        claimflow::store::DbConn::Pg(c) => diesel::sql_query(sql).load(c),
    }
    .unwrap();
    rows[0].n
}

/// Every payment's status, in claim order, and how many items the batches hold.
fn state(app: &TestApp) -> (String, i64) {
    let statuses = app.text_column("SELECT status AS text FROM payments ORDER BY claim_id");
    (
        statuses.join(","),
        count(
            app,
            "SELECT COUNT(*) AS n FROM payment_items WHERE result <> 'pending'",
        ),
    )
}

/// `claimflow ARGS` against the app's database and data directory (its account key).
fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_claimflow"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CLAIMFLOW_DATABASE_URL", &app.config.database_url)
        .env("CLAIMFLOW_DATA_DIR", &app.config.data_dir)
        .output()
        .unwrap()
}

fn references(csv: &str) -> Vec<(String, String)> {
    csv.lines()
        .skip(1)
        .filter(|l| !l.starts_with("TOTAL"))
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[0].to_string(), cells[5].to_string())
        })
        .collect()
}

async fn money_path(app: TestApp) {
    let claims = approved_trauma_claims(&app, 3).await;
    let resident = app.login("resident").await;
    let supervisor = app.login("supervisor").await;
    let reviewer = app.login("reviewer").await;
    let (_, detail) = app
        .get(&resident, &format!("/api/claims/{}", claims[0]))
        .await;
    let person_id = detail["claim"]["person_id"].as_i64().unwrap();
    // What each claim reimburses: all three layers of its bill.
    let mut reimbursed = Vec::new();
    for claim in &claims {
        let (status, pay) = app
            .get(&resident, &format!("/api/claims/{claim}/payment"))
            .await;
        assert_eq!(
            (status, pay["status"].as_str()),
            (200, Some("payable")),
            "{pay}"
        );
        let (_, d) = app.get(&resident, &format!("/api/claims/{claim}")).await;
        let bill = &d["breakdown"]["bill"];
        let layers = bill["fund_fen"].as_i64().unwrap()
            + bill["catastrophic_fen"].as_i64().unwrap()
            + bill["assistance_fen"].as_i64().unwrap();
        assert_eq!(pay["amount_fen"].as_i64(), Some(layers), "{d}");
        reimbursed.push(layers);
    }
    let total: i64 = reimbursed.iter().sum();

    // No account yet: nothing can be batched, and the refusal says why in both languages.
    let batch_body = json!({"region": "330326"});
    let (status, body) = app
        .post(&supervisor, "/api/payment-batches", batch_body.clone())
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("nothing_payable")),
        "{body}"
    );
    assert!(
        body["message_zh"]
            .as_str()
            .unwrap()
            .contains("3 笔缺少账户"),
        "{body}"
    );
    // A reviewer may not make batches; another region is unknown.
    let (status, _) = app
        .post(&reviewer, "/api/payment-batches", batch_body.clone())
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .post(
            &supervisor,
            "/api/payment-batches",
            json!({"region": "110101"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    // The account: a wrong check digit is refused on its field; the good one is kept sealed.
    let account_path = format!("/api/persons/{person_id}/payee-account");
    let (status, body) = app.put(&resident, &account_path, json!({"bank": "中国农业银行平阳县支行", "holder": "张伟", "number": "6222 0212 3456 7895"})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("account_number")),
        "{body}"
    );
    assert!(
        body["message_zh"].as_str().unwrap().contains("校验位"),
        "{body}"
    );
    let (status, body) = app.put(&resident, &account_path, json!({"bank": "中国农业银行平阳县支行", "holder": "张伟", "number": "6222 0212 3456 7894"})).await;
    assert_eq!(
        (status, body["number_masked"].as_str()),
        (200, Some("****7894")),
        "{body}"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM payee_accounts WHERE number_cipher LIKE '%6222021234567894%' OR number_cipher LIKE '%7894'"),
        0,
        "the number is not stored in clear"
    );
    let (status, _) = app.get(&reviewer, &account_path).await;
    assert_eq!(status, 404, "a reviewer cannot read a resident's account");
    let resident2 = app.login("resident2").await;
    let (status, _) = app
        .put(
            &resident2,
            &account_path,
            json!({"bank": "x", "holder": "x", "number": "123456789012"}),
        )
        .await;
    assert_eq!(status, 404, "another resident cannot redirect the payment");

    // The claim page: the one bill charted, where the payment stands, the account form; a
    // bad number is refused beside the form in Chinese, with what was typed kept.
    let page_path = format!("/my/claims/{}", claims[0]);
    let (status, html) = app.page(&resident, &page_path).await;
    assert_eq!(status, 200);
    for text in [
        "一站式结算单",
        "基本医保",
        "个人自付",
        "待支付",
        "保存收款账户",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert!(html.contains("<svg class=\"chart\""), "the bill is charted");
    let csrf = csrf_of(&html);
    let form_path = format!("/my/claims/{}/account", claims[0]);
    let (status, html) = app
        .post_form(
            &resident,
            &form_path,
            &csrf,
            &[
                ("bank", "平阳农商银行"),
                ("holder", "张伟"),
                ("number", "6222021234567895"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("银行卡号校验位不符") && html.contains("value=\"平阳农商银行\""),
        "{html}"
    );
    assert!(
        !html.contains("6222021234567895"),
        "the number typed is not echoed"
    );

    // The batch takes all three, to the fen.
    let (status, created) = app
        .post(&supervisor, "/api/payment-batches", batch_body.clone())
        .await;
    assert_eq!(status, 201, "{created}");
    let batch_id = created["batch"]["id"].as_i64().unwrap();
    assert_eq!(created["batch"]["item_count"], 3);
    assert_eq!(created["batch"]["total_fen"].as_i64(), Some(total));
    let export_path = format!("/api/payment-batches/{batch_id}/export");
    let (status, first, file) = post_text(&app, &supervisor, &export_path, "").await;
    assert_eq!((status, first.as_str()), (200, "true"), "{file}");
    let file = file.as_str().unwrap().to_string();
    let lines: Vec<&str> = file.lines().collect();
    assert_eq!(
        lines[0],
        "reference,claim_id,payee_name,bank,account_number,amount_yuan"
    );
    assert!(
        lines[1].contains(",6222021234567894,"),
        "the bank gets the whole number: {file}"
    );
    let total_yuan = format!("{}.{:02}", total / 100, total % 100);
    assert_eq!(lines[4], format!("TOTAL,3,,,,{total_yuan}"), "{file}");
    let refs = references(&file);

    // A retried export is the same file and pays nothing twice; nothing more is batchable.
    let (status, first, again) = post_text(&app, &supervisor, &export_path, "").await;
    assert_eq!(
        (status, first.as_str(), again.as_str()),
        (200, "false", Some(file.as_str()))
    );
    assert_eq!(state(&app), ("sent,sent,sent".to_string(), 0));
    let (status, body) = app
        .post(&supervisor, "/api/payment-batches", batch_body.clone())
        .await;
    assert_eq!(
        status, 422,
        "every payment is already with the bank: {body}"
    );

    // Bad result files: each refused with its line and field, and nothing recorded.
    let header = "reference,status,date,amount_yuan,reason";
    let bad_files = [
        (
            "reference;status\nx;y\n".to_string(),
            "line 1, header",
            "第 1 行 header：表头应为",
        ),
        (
            format!("{header}\nCF99999999-1,paid,2026-12-01,1.00,\n"),
            "line 2, reference",
            "第 2 行 reference：参考号 CF99999999-1 不属于任何已导出的付款批次",
        ),
        (
            format!("{header}\n{},paid,2026-12-01,{}1,\n", refs[0].0, refs[0].1),
            "line 2, amount_yuan",
            "第 2 行 amount_yuan：“",
        ),
        (
            format!(
                "{header}\n{},paid,2026-12-01,{},\n{},failed,,{},\n",
                refs[0].0, refs[0].1, refs[1].0, refs[1].1
            ),
            "line 3, reason",
            "第 3 行 reason：失败或退回的行必须写明原因",
        ),
    ];
    for (text, expected, expected_zh) in &bad_files {
        let (status, _, body) = post_text(&app, &supervisor, "/api/payment-results", text).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (422, Some("bank_result_rejected")),
            "{body}"
        );
        assert!(
            body["message_en"].as_str().unwrap().contains(expected),
            "{expected}: {body}"
        );
        let zh = body["message_zh"].as_str().unwrap();
        assert!(
            zh.contains("任何结果均未记录") && zh.contains(expected_zh),
            "{expected_zh}: {body}"
        );
        assert_eq!(
            state(&app),
            ("sent,sent,sent".to_string(), 0),
            "{expected}: nothing applied"
        );
    }

    // The bank's answer: one paid, one failed, one returned.
    let result = format!(
        "{header}\n{},paid,2026-12-01,{},\n{},failed,,{},账户已销户 account closed\n{},returned,,{},户名不符 name mismatch\n",
        refs[0].0, refs[0].1, refs[1].0, refs[1].1, refs[2].0, refs[2].1
    );
    // A supervisor of another region: these references answer like unknown ones.
    app.add_user("sh_supervisor", &[Role::Supervisor], "310000");
    let shanghai = app.login("sh_supervisor").await;
    let (status, _, body) = post_text(&app, &shanghai, "/api/payment-results", &result).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["message_en"]
            .as_str()
            .unwrap()
            .contains("belongs to no exported payment batch"),
        "{body}"
    );
    let (status, _, _) = post_text(&app, &shanghai, &export_path, "").await;
    assert_eq!(status, 404);
    assert_eq!(state(&app), ("sent,sent,sent".to_string(), 0));
    let (status, _, summary) = post_text(&app, &supervisor, "/api/payment-results", &result).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        (
            summary["paid"].as_i64(),
            summary["failed"].as_i64(),
            summary["returned"].as_i64()
        ),
        (Some(1), Some(1), Some(1))
    );
    // The same file again changes nothing; a contradicting one is refused.
    let (_, _, summary) = post_text(&app, &supervisor, "/api/payment-results", &result).await;
    assert_eq!(summary["unchanged"], 3, "{summary}");
    let contradiction = format!(
        "{header}\n{},failed,,{},late failure\n",
        refs[0].0, refs[0].1
    );
    let (status, _, body) =
        post_text(&app, &supervisor, "/api/payment-results", &contradiction).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(state(&app), ("paid,failed,returned".to_string(), 3));

    // The resident sees where the money went, and got a letter.
    let (_, pay) = app
        .get(&resident, &format!("/api/claims/{}/payment", claims[0]))
        .await;
    assert_eq!(
        pay["zh"].as_str(),
        Some(
            format!(
                "已于 2026-12-01 支付 {} 元至账户 ****7894",
                grouped(&refs[0].1)
            )
            .as_str()
        ),
        "{pay}"
    );
    assert!(
        pay["en"]
            .as_str()
            .unwrap()
            .contains("paid on 2026-12-01 to account ****7894"),
        "{pay}"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM mail_outbox WHERE template = 'payment_paid'"
        ),
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM mail_outbox WHERE template = 'payment_failed'"
        ),
        2
    );

    // The batch and the period reconcile to the fen.
    let (_, report) = app
        .get(&supervisor, &format!("/api/payment-batches/{batch_id}"))
        .await;
    assert_eq!(report["balances"], true, "{report}");
    assert_eq!(report["paid_fen"].as_i64(), Some(reimbursed[0]));
    assert_eq!(report["failed_fen"].as_i64(), Some(reimbursed[1]));
    assert_eq!(report["returned_fen"].as_i64(), Some(reimbursed[2]));
    let today = chrono::Utc::now().date_naive();
    let period = format!(
        "/api/payments/reconciliation?from={today}&to={}",
        today.succ_opt().unwrap()
    );
    let (status, r) = app.get(&supervisor, &period).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["approved_count"], 3, "{r}");
    assert_eq!(r["approved_fen"].as_i64(), Some(total));
    assert_eq!(r["paid_fen"].as_i64(), Some(reimbursed[0]));
    assert_eq!(
        r["failed_fen"].as_i64(),
        Some(reimbursed[1] + reimbursed[2])
    );
    assert_eq!(r["differences"], json!([]));
    let (status, _) = app.get(&reviewer, &period).await;
    assert_eq!(status, 403);
    // A payment removed by hand shows as a difference.
    app.raw_sql(&format!(
        "UPDATE payments SET amount_fen = amount_fen - 1 WHERE claim_id = {}",
        claims[2]
    ))
    .unwrap();
    let (_, r) = app.get(&supervisor, &period).await;
    assert_eq!(
        r["differences"][0]["claim_id"].as_i64(),
        Some(claims[2]),
        "{r}"
    );
    app.raw_sql(&format!(
        "UPDATE payments SET amount_fen = amount_fen + 1 WHERE claim_id = {}",
        claims[2]
    ))
    .unwrap();

    // A corrected account sends the failed and returned payments again, as new attempts.
    let (status, _) = app
        .put(
            &resident,
            &account_path,
            json!({"bank": "平阳农商银行", "holder": "张伟", "number": "123456789012"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(state(&app).0, "paid,payable,payable");
    let (status, second) = app
        .post(&supervisor, "/api/payment-batches", batch_body)
        .await;
    assert_eq!(
        (status, second["batch"]["item_count"].as_i64()),
        (201, Some(2)),
        "{second}"
    );
    let second_id = second["batch"]["id"].as_i64().unwrap();
    // The bank file from the command line: new references, the corrected account.
    let out = cli(&app, &["payments", "export", &second_id.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file2 = String::from_utf8(out.stdout).unwrap();
    let refs2 = references(&file2);
    assert_eq!(refs2.len(), 2, "{file2}");
    assert!(refs2.iter().all(|(r, _)| r.ends_with("-2")), "{file2}");
    assert!(file2.contains(",123456789012,"), "{file2}");
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) AS n FROM payment_batches WHERE id = {second_id} AND exported_by IS NULL AND exported_at IS NOT NULL")),
        1,
        "exported from the command line: by no user"
    );
    // A bad result file from the command line: exit 1, the lines, nothing applied.
    let bad = app.config.data_dir.join("bank-result.csv");
    std::fs::write(
        &bad,
        format!("{header}\n{},paid,someday,{},\n", refs2[0].0, refs2[0].1),
    )
    .unwrap();
    let out = cli(&app, &["payments", "import-result", bad.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("line 2, date") && stderr.contains("nothing was applied"),
        "{stderr}"
    );
    assert_eq!(state(&app).0, "paid,sent,sent");

    // The finance desk in the browser: the month reconciled and charted, the batches, a batch
    // with its results; a batch asked for with nothing payable is refused on the page.
    let (status, html) = app.page(&supervisor, "/payments").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("本月对账")
            && html.contains("<svg class=\"chart\"")
            && html.contains(&format!("/payments/{batch_id}")),
        "{html}"
    );
    let (_, html) = app
        .page(&supervisor, &format!("/payments/{batch_id}"))
        .await;
    assert!(
        html.contains(&refs[0].0)
            && html.contains("已支付")
            && html.contains("退回")
            && html.contains("****7894"),
        "{html}"
    );
    assert!(
        !html.contains("6222021234567894"),
        "pages show accounts masked"
    );
    let (_, html) = app.page(&supervisor, "/payments").await;
    let csrf = csrf_of(&html);
    let (status, html) = app
        .post_form(
            &supervisor,
            "/payments",
            &csrf,
            &[("region", "330326"), ("cutoff", "someday")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("截止日期应为"), "{html}");
    let (status, html) = app
        .post_form(
            &supervisor,
            "/payments",
            &csrf,
            &[("region", "330326"), ("cutoff", "")],
        )
        .await;
    assert_eq!(status, 422, "both open payments are in batch {second_id}");
    assert!(html.contains("没有可支付"), "{html}");
    assert_eq!(app.page(&reviewer, "/payments").await.0, 403);

    // Every step is in the claim's audit trail, and the trail still verifies.
    let (_, case) = app
        .get(&supervisor, &format!("/api/claims/{}", claims[1]))
        .await;
    let case_id = case["case"]["id"].as_i64().unwrap();
    let actions = app.event_actions(case_id).await;
    for expected in [
        "payment_batched",
        "payment_sent",
        "payment_failed",
        "payment_requeued",
        "payee_account_set",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
    trail_verifies(&app);
}

fn ytd_paid(app: &TestApp) -> i64 {
    count(app, "SELECT CAST(COALESCE(SUM(paid_fen), 0) AS BIGINT) AS n FROM ytd_totals WHERE schedule = 'pingyang' AND year = 2019")
}

async fn appeal(app: TestApp) {
    let resident = app.login("resident").await;
    let supervisor = app.login("supervisor").await;
    let senior = app.login("senior_reviewer").await;
    // Decided in part: 7,000.00 of the 7,520.00 the policy allows.
    let (claim_id, case_id) = trauma_at_signoff(&app, nth_stay(trauma_claim(), 0)).await;
    let (_, case) = app.get(&supervisor, &format!("/api/cases/{case_id}")).await;
    let (status, body) = app
        .post(&supervisor, &format!("/api/cases/{case_id}/actions"), json!({"action": "approve", "expected_version": case["version"], "amount_fen": 700_000, "comment": "部分费用不合理"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ytd_paid(&app), 700_000);
    let appeal_path = format!("/api/claims/{claim_id}/appeal");
    // On the claim page: the appeal form with its last day; a blank reason is refused there.
    let page_path = format!("/my/claims/{claim_id}");
    let (_, html) = app.page(&resident, &page_path).await;
    assert!(
        html.contains("提交申诉") && html.contains("申诉截止日"),
        "{html}"
    );
    let (status, html) = app
        .post_form(
            &resident,
            &format!("{page_path}/appeal"),
            &csrf_of(&html),
            &[("reason", " ")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("请写明申诉理由"), "{html}");

    // Filing: a reason is needed; one appeal per decision; none after the deadline.
    let (status, body) = app
        .post(&resident, &appeal_path, json!({"reason": "  "}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("appeal_reason")),
        "{body}"
    );
    // A decided claim takes no documents, until it is appealed.
    let (status, body) = app
        .upload(&resident, claim_id, "other", "nursing.pdf", pdf())
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("case_closed")),
        "{body}"
    );
    let (status, filed) = app
        .post(
            &resident,
            &appeal_path,
            json!({"reason": "护理费属于政策范围，不应扣减"}),
        )
        .await;
    assert_eq!(status, 201, "{filed}");
    let (status, body) = app
        .upload(&resident, claim_id, "other", "nursing.pdf", pdf())
        .await;
    assert_eq!(status, 201, "the appeal's evidence: {body}");
    let appeal_case = filed["case_id"].as_i64().unwrap();
    assert_eq!(filed["appeal"]["old_reimbursed_fen"], 700_000);
    let (status, body) = app
        .post(&resident, &appeal_path, json!({"reason": "再次申诉"}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("appeal_exists")),
        "{body}"
    );
    let late = approved_trauma_claims_after(&app).await;
    // Decided (and made payable) 61 days ago.
    let days_61 = 61 * 86_400_000i64;
    app.raw_sql(&format!("UPDATE cases SET stage_entered_at = stage_entered_at - {days_61} WHERE subject_kind = 'claim' AND subject_id = {late}")).unwrap();
    app.raw_sql(&format!(
        "UPDATE payments SET payable_at = payable_at - {days_61} WHERE claim_id = {late}"
    ))
    .unwrap();
    // A reviewer does not file appeals; a clerk files for the resident, within the deadline too.
    let reviewer = app.login("reviewer").await;
    let (status, body) = app
        .post(
            &reviewer,
            &format!("/api/claims/{late}/appeal"),
            json!({"reason": "代为申诉"}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("appeal_filer")),
        "{body}"
    );
    let clerk = app.login("clerk").await;
    let (status, body) = app
        .post(
            &clerk,
            &format!("/api/claims/{late}/appeal"),
            json!({"reason": "逾期申诉"}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("appeal_deadline_passed")),
        "{body}"
    );
    assert!(
        body["message_zh"].as_str().unwrap().contains("60 日"),
        "{body}"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM appeals"),
        1,
        "the late appeal left nothing"
    );
    // The second claim's 7,520.00 counts too; the appeal must move only its own claim's share.
    let before = ytd_paid(&app);
    assert_eq!(before, 700_000 + 752_000);
    let (_, html) = app.page(&resident, &page_path).await;
    assert!(
        html.contains("申诉已受理") && !html.contains("提交申诉"),
        "{html}"
    );
    let (_, html) = app.page(&resident, &format!("/my/claims/{late}")).await;
    assert!(
        !html.contains("提交申诉"),
        "no appeal form after the deadline"
    );
    // The claim links to its appeal.
    let (_, seen) = app.get(&resident, &appeal_path).await;
    assert_eq!(seen["case_id"].as_i64(), Some(appeal_case));

    // Four eyes against the whole earlier chain: the decision's reviewers cannot act.
    let (_, ac) = app.get(&senior, &format!("/api/cases/{appeal_case}")).await;
    assert_eq!(ac["actions"], json!([]), "{ac}");
    let (status, body) = app
        .act(&senior, appeal_case, "propose_change", "应全额支付")
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("four_eyes")),
        "{body}"
    );
    app.add_user("senior2", &[Role::SeniorReviewer], "330326");
    app.add_user("supervisor2", &[Role::Supervisor], "330326");
    let senior2 = app.login("senior2").await;
    let supervisor2 = app.login("supervisor2").await;
    // The appeal's page: the claim appealed against, the resident's reason, the appeal's actions.
    let (status, html) = app.page(&senior2, &format!("/cases/{appeal_case}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("护理费属于政策范围") && html.contains("建议变更，报主管签批"),
        "{html}"
    );
    let (status, body) = app
        .act(&senior2, appeal_case, "propose_change", "护理费应纳入")
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .act(&supervisor, appeal_case, "approve_change", "同意")
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("four_eyes")),
        "the original sign-off: {body}"
    );

    // Sign-off: the new amount is needed and bounded by what the policy allows.
    let action = |amount: Option<i64>, version: &Value| {
        let mut b = json!({"action": "approve_change", "expected_version": version, "comment": "复核同意全额支付"});
        if let Some(a) = amount {
            b["amount_fen"] = json!(a);
        }
        b
    };
    let actions_path = format!("/api/cases/{appeal_case}/actions");
    let (_, c) = app
        .get(&supervisor2, &format!("/api/cases/{appeal_case}"))
        .await;
    let (status, body) = app
        .post(&supervisor2, &actions_path, action(None, &c["version"]))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("appeal_amount")),
        "{body}"
    );
    let (status, body) = app
        .post(
            &supervisor2,
            &actions_path,
            action(Some(900_000), &c["version"]),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("appeal_amount")),
        "{body}"
    );
    assert!(
        body["message_zh"].as_str().unwrap().contains("7,520.00"),
        "{body}"
    );
    assert_eq!(ytd_paid(&app), before, "a refused change moved nothing");
    let (status, body) = app
        .post(
            &supervisor2,
            &actions_path,
            action(Some(752_000), &c["version"]),
        )
        .await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("approved")),
        "{body}"
    );

    // Exactly once: the claim, the totals and the payable amount moved by 520.00.
    let (_, detail) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
    assert_eq!(detail["claim"]["decided_fen"], 752_000, "{detail}");
    assert_eq!(ytd_paid(&app), before + 52_000);
    let (_, pay) = app
        .get(&resident, &format!("/api/claims/{claim_id}/payment"))
        .await;
    assert_eq!(
        (pay["amount_fen"].as_i64(), pay["status"].as_str()),
        (Some(752_000), Some("payable")),
        "{pay}"
    );
    let (_, seen) = app.get(&resident, &appeal_path).await;
    assert_eq!(
        (
            seen["appeal"]["outcome"].as_str(),
            seen["appeal"]["new_reimbursed_fen"].as_i64()
        ),
        (Some("changed"), Some(752_000)),
        "{seen}"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM mail_outbox WHERE template = 'appeal_decided'"
        ),
        1
    );
    let actions = app.event_actions(case_id).await;
    assert!(
        actions.iter().any(|a| a == "appeal_filed")
            && actions.iter().any(|a| a == "appeal_decided"),
        "{actions:?}"
    );
    rejection_changed_on_appeal(&app, &supervisor, &senior2, &supervisor2).await;
    trail_verifies(&app);
}

/// A rejection changed on appeal becomes an approval: priced on the year's totals as they
/// stand (the rejection added nothing), the totals and payable move once, and the month's
/// reconciliation counts the claim with its payment and no stray.
async fn rejection_changed_on_appeal(
    app: &TestApp,
    supervisor: &str,
    senior2: &str,
    supervisor2: &str,
) {
    let resident = app.login("resident").await;
    let (claim_id, case_id) = trauma_at_signoff(app, nth_stay(trauma_claim(), 2)).await;
    let (_, case) = app.get(supervisor, &format!("/api/cases/{case_id}")).await;
    let (status, body) = app
        .post(supervisor, &format!("/api/cases/{case_id}/actions"), json!({"action": "reject", "expected_version": case["version"], "reason_code": "not_eligible", "comment": "不符合待遇条件"}))
        .await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("rejected")),
        "{body}"
    );
    let before = ytd_paid(app);
    let (status, pay) = app
        .get(&resident, &format!("/api/claims/{claim_id}/payment"))
        .await;
    assert_eq!(
        pay["status"].as_str(),
        None,
        "a rejection is not payable: {status} {pay}"
    );
    // The letter is a formal decision, and a rejection's pays nothing, in words and figures.
    let (status, letter) = app
        .page(&resident, &format!("/my/claims/{claim_id}/letter"))
        .await;
    assert_eq!(status, 200, "{letter}");
    let year = chrono::Utc::now().format("%Y");
    for part in [
        "申请人",
        &format!("{year}-{claim_id:06}"),
        "平阳县医疗保障局",
        "本申请不予支付，本次支付 0.00 元",
        "就诊时不符合参保待遇条件",
        "60 日内向本经办机构申诉",
    ] {
        assert!(letter.contains(part), "{part}: {letter}");
    }
    assert!(
        !letter.contains("计算步骤"),
        "no computation on a rejection: {letter}"
    );
    let (status, filed) = app
        .post(
            &resident,
            &format!("/api/claims/{claim_id}/appeal"),
            json!({"reason": "就诊时已参保，缴费凭证附后"}),
        )
        .await;
    assert_eq!(status, 201, "{filed}");
    assert_eq!(filed["appeal"]["old_reimbursed_fen"], 0);
    let appeal_case = filed["case_id"].as_i64().unwrap();
    let (status, body) = app
        .act(senior2, appeal_case, "propose_change", "参保有效，应予支付")
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, c) = app
        .get(supervisor2, &format!("/api/cases/{appeal_case}"))
        .await;
    let (status, body) = app
        .post(supervisor2, &format!("/api/cases/{appeal_case}/actions"), json!({"action": "approve_change", "expected_version": c["version"], "amount_fen": 752_000, "comment": "复核同意支付"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, detail) = app.get(&resident, &format!("/api/claims/{claim_id}")).await;
    assert_eq!(
        (
            detail["claim"]["decided_fen"].as_i64(),
            detail["decision"]["outcome"].as_str(),
            detail["decision"]["reason_code"].as_str()
        ),
        (Some(752_000), Some("approved"), None),
        "{detail}"
    );
    assert_eq!(ytd_paid(app), before + 752_000, "the totals moved once");
    let (_, letter) = app
        .page(&resident, &format!("/my/claims/{claim_id}/letter"))
        .await;
    assert!(
        letter.contains("计算步骤") && letter.contains("7,520.00"),
        "{letter}"
    );
    let told = detail["timeline"].as_array().unwrap();
    assert!(
        told.last().unwrap()["zh"]
            .as_str()
            .unwrap()
            .starts_with("申诉复核完成：决定变更")
            && told
                .iter()
                .any(|t| t["en"] == "Your appeal was received and is being reviewed"),
        "{told:?}"
    );
    let (_, pay) = app
        .get(&resident, &format!("/api/claims/{claim_id}/payment"))
        .await;
    let reimbursed = detail["decision"]["decided_fen"].as_i64().unwrap()
        + detail["decision"]["catastrophic_fen"].as_i64().unwrap()
        + detail["decision"]["assistance_fen"].as_i64().unwrap();
    assert_eq!(
        (pay["amount_fen"].as_i64(), pay["status"].as_str()),
        (Some(reimbursed), Some("payable")),
        "{pay}"
    );
    let today = chrono::Utc::now().date_naive();
    let (status, r) = app
        .get(
            supervisor,
            &format!(
                "/api/payments/reconciliation?from={today}&to={}",
                today.succ_opt().unwrap()
            ),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["differences"], json!([]), "{r}");
    assert_eq!(
        r["approved_count"], 2,
        "the changed partial and the changed rejection (the late one was decided 61 days ago): {r}"
    );
}

/// A second approved claim of the demo resident, for the deadline.
async fn approved_trauma_claims_after(app: &TestApp) -> i64 {
    let supervisor = app.login("supervisor").await;
    let (claim_id, case_id) = trauma_at_signoff(app, nth_stay(trauma_claim(), 1)).await;
    let (status, body) = app.act(&supervisor, case_id, "approve", "").await;
    assert_eq!(status, 200, "{body}");
    claim_id
}

/// Every chain, row and checkpoint still verifies after the money moved.
fn trail_verifies(app: &TestApp) {
    let report = claimflow::store::audit_verify::verify_all(
        &mut app.conn(),
        app.config.audit_key.as_bytes(),
        |_| {},
    )
    .unwrap();
    assert!(
        report.breaks.is_empty() && report.problems.is_empty(),
        "{:?} {:?}",
        report.breaks,
        report.problems
    );
}

/// The bank file's plain amount (`7520.00`) as people read it (`7,520.00`).
fn grouped(plain: &str) -> String {
    let yuan: rust_decimal::Decimal = plain.parse().unwrap();
    claimflow::domain::money::Fen::from_yuan_half_up(yuan)
        .unwrap()
        .yuan_text()
}
