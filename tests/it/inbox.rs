//! The inbox in the product (issue 28, item 11), on both backends: the workflow actions
//! write it beside the mail outbox, the header counts what is unread, an item opens where it
//! leads and is then read, and nobody opens another user's item.
use crate::common::{csrf_of, pdf, trauma_claim, TestApp, TRAUMA_DOCUMENTS};
use serde_json::json;

crate::trials!(inbox {
    scenarios: [what_happens_to_a_claim_arrives_in_the_inbox_of_whoever_it_concerns],
});

fn id_of(app: &TestApp, username: &str) -> String {
    app.text_column(&format!(
        "SELECT CAST(id AS TEXT) AS text FROM users WHERE username = '{username}'"
    ))[0]
        .clone()
}

fn items(app: &TestApp, user_id: &str) -> Vec<String> {
    app.text_column(&format!(
        "SELECT kind || ' ' || href AS text FROM inbox_items WHERE user_id = {user_id} ORDER BY id"
    ))
}

async fn what_happens_to_a_claim_arrives_in_the_inbox_of_whoever_it_concerns(app: TestApp) {
    let (resident, clerk) = (app.login("resident").await, app.login("clerk").await);
    let (resident_id, clerk_id) = (id_of(&app, "resident"), id_of(&app, "clerk"));
    let (status, body) = app.post(&resident, "/api/claims", trauma_claim()).await;
    assert_eq!(status, 201, "{body}");
    let (claim_id, case_id) = (
        body["claim_id"].as_i64().unwrap(),
        body["case_id"].as_i64().unwrap(),
    );
    // The clerk holds the case; a document the resident adds reaches the clerk's inbox.
    app.raw_sql(&format!(
        "UPDATE cases SET assignee_id = {clerk_id} WHERE id = {case_id}"
    ))
    .unwrap();
    for kind in TRAUMA_DOCUMENTS {
        let (status, body) = app
            .upload(&resident, claim_id, kind, "scan.pdf", pdf())
            .await;
        assert_eq!(status, 201, "{kind}: {body}");
    }
    let arrived = items(&app, &clerk_id);
    assert_eq!(arrived.len(), TRAUMA_DOCUMENTS.len(), "{arrived:?}");
    assert!(
        arrived
            .iter()
            .all(|i| i == &format!("documents_arrived /cases/{case_id}")),
        "{arrived:?}"
    );

    // Returned for a document: the resident's inbox says so, beside the letter.
    let (_, case) = app.get(&clerk, &format!("/api/cases/{case_id}")).await;
    let (status, body) = app
        .post(&clerk, &format!("/api/cases/{case_id}/actions"), json!({"action": "return_for_documents", "expected_version": case["version"], "comment": "请补开发票", "extra_documents": ["医院盖章的费用更正说明"]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let mine = items(&app, &resident_id);
    assert!(
        mine.contains(&format!("returned_for_documents /my/claims/{claim_id}")),
        "{mine:?}"
    );
    let unread = mine.len();

    // The header counts what is unread; the inbox names it in the page's language.
    let (status, page) = app.page(&resident, "/inbox").await;
    assert_eq!(status, 200);
    assert!(page.contains("您的申请被退回，需补充材料"), "{page}");
    assert!(
        page.contains(&format!("id=\"inbox-count\" aria-label=\"未读\">{unread}<")),
        "{page}"
    );
    let (_, _, english) = app.fetch(&resident, "/inbox", "en").await;
    assert!(
        english.contains("Your claim was returned: documents are needed"),
        "{english}"
    );
    let first = app.text_column(&format!(
        "SELECT CAST(id AS TEXT) AS text FROM inbox_items WHERE user_id = {resident_id} AND kind = 'returned_for_documents' AND href = '/my/claims/{claim_id}'"
    ))[0]
        .clone();
    // Another user's item is not found, and stays unread.
    assert_eq!(app.page(&clerk, &format!("/inbox/{first}")).await.0, 404);
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.url(&format!("/inbox/{first}")))
        .header("cookie", format!("claimflow_session={resident}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("/my/claims/{claim_id}")
    );
    let (_, page) = app.page(&resident, "/my/claims").await;
    if unread > 1 {
        assert!(
            page.contains(&format!("aria-label=\"未读\">{}<", unread - 1)),
            "one fewer unread: {page}"
        );
    } else {
        assert!(!page.contains("id=\"inbox-count\""), "{page}");
    }
    let csrf = csrf_of(&page);
    assert_eq!(
        app.post_form(&resident, "/inbox/read", "forged", &[])
            .await
            .0,
        403
    );
    assert_eq!(
        app.post_form(&resident, "/inbox/read", &csrf, &[]).await.0,
        303
    );
    let (_, page) = app.page(&resident, "/inbox").await;
    assert!(
        !page.contains("id=\"inbox-count\""),
        "nothing unread: {page}"
    );
    let still = app.text_column(&format!(
        "SELECT CAST(COUNT(*) AS TEXT) AS text FROM inbox_items WHERE user_id = {clerk_id} AND read_at IS NULL"
    ));
    assert_eq!(
        still,
        [TRAUMA_DOCUMENTS.len().to_string()],
        "the clerk's items are the clerk's"
    );
}
