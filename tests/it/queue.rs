//! The review desk: queue listing and paging, claim-next with leases, four-eyes in the
//! queue, lease expiry, and claim-next racing across two instances.
use crate::common::TestApp;
use claimflow::domain::roles::Role;
use serde_json::{json, Value};
use std::collections::HashSet;

crate::trials!(queue {
    scenarios: [
        queue_filters_and_pages_without_gaps,
        claim_next_leases_releases_and_expires,
        claim_next_never_offers_a_four_eyes_conflict,
        thirty_two_callers_on_two_instances_get_distinct_cases,
        the_sla_clock_pauses_while_waiting_for_documents
    ],
});

async fn queue_filters_and_pages_without_gaps(app: TestApp) {
    let created = app.cases_in_initial_review(5).await;
    let reviewer = app.login("reviewer").await;
    let (status, page) = app.get(&reviewer, "/api/queue?limit=200").await;
    assert_eq!(status, 200, "{page}");
    let all: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["case_id"].as_i64().unwrap())
        .collect();
    assert!(created.iter().all(|c| all.contains(c)), "{all:?}");
    let row = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["case_id"] == created[0])
        .unwrap();
    assert_eq!(row["stage"], "initial_review");
    assert_eq!(row["resident_name"], "张伟");
    assert!(
        row["id_number_masked"]
            .as_str()
            .unwrap()
            .contains("************"),
        "{row}"
    );
    assert_eq!(row["sla"], "on_track");
    // Pages of two cover everything once.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/api/queue?limit=2&after={a}"),
            None => "/api/queue?limit=2".into(),
        };
        let (_, page) = app.get(&reviewer, &path).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["case_id"].as_i64().unwrap()),
        );
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(
        seen, all,
        "keyset pages follow the same order without gaps or repeats"
    );
    // Filters.
    app.raw_sql(&format!(
        "UPDATE cases SET due_at = 1000 WHERE id = {}",
        created[1]
    ))
    .unwrap();
    let (_, breached) = app.get(&reviewer, "/api/queue?sla=breached").await;
    let ids: Vec<i64> = breached["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["case_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![created[1]]);
    let (_, first) = app.get(&reviewer, "/api/queue?limit=1").await;
    assert_eq!(
        first["items"][0]["case_id"], created[1],
        "most urgent first"
    );
    let (_, other) = app.get(&reviewer, "/api/queue?family=out_of_region").await;
    assert!(other["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["family"] == "out_of_region"));
    let (_, big) = app
        .get(&reviewer, "/api/queue?min_fen=1250000&max_fen=1250000")
        .await;
    assert!(
        big["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["total_fen"] == 1_250_000)
            && !big["items"].as_array().unwrap().is_empty()
    );
    assert_eq!(app.get(&reviewer, "/api/queue?sla=late").await.0, 422);
    assert_eq!(app.get(&reviewer, "/api/queue?after=garbage").await.0, 422);
    // Seniors see second review, not initial review; residents have no queue.
    let senior = app.login("senior_reviewer").await;
    let (_, theirs) = app.get(&senior, "/api/queue").await;
    assert!(
        theirs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["stage"] == "second_review"),
        "{theirs}"
    );
    assert_eq!(
        app.get(&app.login("resident").await, "/api/queue").await.0,
        403
    );
}

async fn next(app: &TestApp, base: &str, token: &str) -> (u16, Value) {
    let res = app
        .client
        .post(format!("{base}/api/queue/next"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn claim_next_leases_releases_and_expires(app: TestApp) {
    app.cases_in_initial_review(3).await;
    app.add_user("reviewer2", &[Role::Reviewer], "330300");
    let (a, b) = (app.login("reviewer").await, app.login("reviewer2").await);
    let (status, first) = next(&app, &app.base, &a).await;
    assert_eq!(status, 200, "{first}");
    let x = first["id"].as_i64().unwrap();
    assert_eq!(
        first["assignee_id"],
        app.get(&a, "/api/me").await.1["user_id"]
    );
    let (_, again) = next(&app, &app.base, &a).await;
    assert_eq!(again["id"], x, "an unfinished lease comes back first");
    let (_, other) = next(&app, &app.base, &b).await;
    let y = other["id"].as_i64().unwrap();
    assert_ne!(x, y);
    let (status, body) = app.act(&b, x, "recommend_approve", "").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    assert_eq!(
        app.post(&b, &format!("/api/cases/{x}/claim"), json!({}))
            .await
            .0,
        409
    );
    assert_eq!(
        app.post(&b, &format!("/api/cases/{x}/release"), json!({}))
            .await
            .0,
        403
    );
    assert_eq!(
        app.post(&a, &format!("/api/cases/{x}/release"), json!({}))
            .await
            .0,
        200
    );
    let (status, claimed) = app
        .post(&b, &format!("/api/cases/{x}/claim"), json!({}))
        .await;
    assert_eq!(
        (status, claimed["id"].as_i64()),
        (200, Some(x)),
        "{claimed}"
    );
    // Expired leases return to the pool with an audit event.
    app.raw_sql(&format!(
        "UPDATE cases SET lease_expires_at = 1000 WHERE id = {y}"
    ))
    .unwrap();
    let n = claimflow::service::queue::expire_leases(&mut app.conn(), claimflow::store::now_ms())
        .unwrap();
    assert_eq!(n, 1);
    let actions = app.event_actions(y).await;
    assert!(
        actions.ends_with(&["leased".to_string(), "lease_expired".to_string()]),
        "{actions:?}"
    );
    let supervisor = app.login("supervisor").await;
    let (_, case) = app.get(&supervisor, &format!("/api/cases/{y}")).await;
    assert_eq!(case["assignee_id"], Value::Null);
    // Taking an action ends the lease.
    let (status, done) = app.act(&b, x, "recommend_approve", "").await;
    assert_eq!(
        (status, done["assignee_id"].clone()),
        (200, Value::Null),
        "{done}"
    );
}

async fn claim_next_never_offers_a_four_eyes_conflict(app: TestApp) {
    app.add_user("dual", &[Role::Reviewer, Role::SeniorReviewer], "330300");
    let cases = app.cases_in_initial_review(2).await;
    let dual = app.login("dual").await;
    for case in &cases {
        assert_eq!(
            app.post(&dual, &format!("/api/cases/{case}/claim"), json!({}))
                .await
                .0,
            200
        );
        assert_eq!(app.act(&dual, *case, "recommend_approve", "").await.0, 200);
    }
    // Now both sit in second review, which dual may not work; demo cases there are fine.
    for _ in 0..6 {
        let (status, got) = next(&app, &app.base, &dual).await;
        if status == 204 {
            break;
        }
        let id = got["id"].as_i64().unwrap();
        assert!(
            !cases.contains(&id),
            "claim-next offered case {id}, which dual reviewed initially"
        );
        app.act(
            &dual,
            id,
            if got["stage"] == "second_review" {
                "approve"
            } else {
                "recommend_approve"
            },
            "",
        )
        .await;
    }
    let (status, body) = app
        .post(&dual, &format!("/api/cases/{}/claim", cases[0]), json!({}))
        .await;
    assert_eq!(status, 403, "{body}");
}

async fn thirty_two_callers_on_two_instances_get_distinct_cases(app: TestApp) {
    let created = app.cases_in_initial_review(40).await;
    let second = app.second_instance().await;
    let mut tokens = Vec::new();
    for i in 0..32 {
        let name = format!("rev{i:02}");
        app.add_user(&name, &[Role::Reviewer], "330300");
        tokens.push(app.login(&name).await);
    }
    let bases = [app.base.clone(), second];
    let calls = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| next(&app, &bases[i % 2], t));
    let results = futures_util::future::join_all(calls).await;
    let mut got = HashSet::new();
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
        assert!(
            got.insert(body["id"].as_i64().unwrap()),
            "case {} handed out twice",
            body["id"]
        );
    }
    assert_eq!(got.len(), 32);
    // Nothing lost: every case is either leased to exactly one caller or still free.
    let supervisor = app.login("supervisor").await;
    let (_, page) = app.get(&supervisor, "/api/queue?limit=200").await;
    let _ = page;
    let reviewer = app.login("reviewer").await;
    let (_, free) = app
        .get(
            &reviewer,
            "/api/queue?limit=200&unassigned=true&stage=initial_review",
        )
        .await;
    let free: HashSet<i64> = free["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["case_id"].as_i64().unwrap())
        .collect();
    let total_initial: HashSet<i64> = {
        let (_, all) = app
            .get(&reviewer, "/api/queue?limit=200&stage=initial_review")
            .await;
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["case_id"].as_i64().unwrap())
            .collect()
    };
    assert!(created.iter().all(|c| total_initial.contains(c)));
    assert!(free.is_disjoint(&got));
    assert_eq!(
        free.len() + got.len(),
        total_initial.len(),
        "every case is leased once or free"
    );
}

/// Intake has a 16-working-hour SLA. Returned at once for documents, the case keeps nearly all
/// of it while it waits, and gets it back when the documents arrive.
async fn the_sla_clock_pauses_while_waiting_for_documents(app: TestApp) {
    let resident = app.login("resident").await;
    let (status, body) = app
        .post(&resident, "/api/claims", crate::common::trauma_claim())
        .await;
    assert_eq!(status, 201, "{body}");
    let (claim_id, case_id) = (
        body["claim_id"].as_i64().unwrap(),
        body["case_id"].as_i64().unwrap(),
    );
    let clerk = app.login("clerk").await;
    let (_, fresh) = app.get(&clerk, &format!("/api/cases/{case_id}")).await;
    assert!(
        fresh["sla"] == "on_track" || fresh["sla"] == "at_risk",
        "{fresh}"
    );
    let sixteen_hours = 16 * 3_600_000i64;
    assert!(fresh["working_ms_left"].as_i64().unwrap() <= sixteen_hours);
    let (status, returned) = app
        .act(&clerk, case_id, "return_for_documents", "请补充")
        .await;
    assert_eq!(status, 200, "{returned}");
    assert_eq!(
        (returned["sla"].as_str(), returned["due_at"].clone()),
        (Some("paused"), Value::Null),
        "{returned}"
    );
    let kept = returned["working_ms_left"].as_i64().unwrap();
    assert!(
        kept > sixteen_hours - 120_000 && kept <= sixteen_hours,
        "kept {kept} ms of {sixteen_hours}"
    );
    for kind in crate::common::TRAUMA_DOCUMENTS {
        assert_eq!(
            app.upload(&resident, claim_id, kind, "scan.pdf", crate::common::pdf())
                .await
                .0,
            201
        );
    }
    let (status, back) = app.act(&resident, case_id, "resubmit", "").await;
    assert_eq!(
        (status, back["stage"].as_str()),
        (200, Some("intake")),
        "{back}"
    );
    let left = back["working_ms_left"].as_i64().unwrap();
    assert!(
        left > kept - 120_000 && left <= kept,
        "resumed with {left} ms of the {kept} kept"
    );
}
