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
        the_sla_clock_pauses_while_waiting_for_documents,
        the_supervisors_desk_searches_sorts_and_reassigns_to_eligible_people_only
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

pub(crate) fn case_ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["case_id"].as_i64().unwrap())
        .collect()
}

/// The supervisor's desk: the whole team's open cases (not only the supervisor's stages),
/// search by invoice, case number, ID number and name, sorting with keyset pages, the
/// counts by stage and holder, and a reassignment that offers only people who may take every
/// selected case, refuses anyone else however the form is posted, and says how many moved.
async fn the_supervisors_desk_searches_sorts_and_reassigns_to_eligible_people_only(app: TestApp) {
    let cases = app.cases_in_initial_review(3).await;
    let supervisor = app.login("supervisor").await;
    let reviewer = app.login("reviewer").await;

    // The team view holds the reviewers' cases; the supervisor's own stages do not.
    let (status, team) = app.get(&supervisor, "/api/queue?team=true&limit=200").await;
    assert_eq!(status, 200, "{team}");
    assert!(cases.iter().all(|c| case_ids(&team).contains(c)));
    let (_, own) = app.get(&supervisor, "/api/queue?limit=200").await;
    assert!(cases.iter().all(|c| !case_ids(&own).contains(c)), "{own}");
    let (status, err) = app.get(&reviewer, "/api/queue?team=true").await;
    assert_eq!(
        (status, err["error"].as_str()),
        (403, Some("team_view_supervisors_only")),
        "{err}"
    );
    assert_eq!(app.get(&reviewer, "/api/queue?holder=1").await.0, 403);

    // Search: an invoice number, a case number, the ID number, part of the name.
    let invoice = app.text_column(&format!(
        "SELECT invoice_number AS text FROM claim_invoices ci JOIN cases c ON c.subject_id = ci.claim_id AND c.subject_kind = 'claim' WHERE c.id = {}",
        cases[1]
    ))[0]
        .clone();
    let (_, found) = app
        .get(&supervisor, &format!("/api/queue?team=true&q={invoice}"))
        .await;
    assert_eq!(case_ids(&found), [cases[1]], "{found}");
    let (_, found) = app
        .get(
            &supervisor,
            &format!("/api/queue?team=true&q=%23{}", cases[2]),
        )
        .await;
    assert_eq!(case_ids(&found), [cases[2]]);
    let id_number = app.text_column(&format!(
        "SELECT p.id_number AS text FROM persons p JOIN claims cl ON cl.person_id = p.id JOIN cases c ON c.subject_id = cl.id AND c.subject_kind = 'claim' WHERE c.id = {}",
        cases[0]
    ))[0]
        .to_lowercase();
    for q in [id_number.as_str(), "%E5%BC%A0"] {
        let (_, found) = app
            .get(
                &supervisor,
                &format!("/api/queue?team=true&limit=200&q={q}"),
            )
            .await;
        assert!(
            cases.iter().all(|c| case_ids(&found).contains(c)),
            "{q}: {found}"
        );
    }
    let (_, none) = app.get(&supervisor, "/api/queue?team=true&q=%25").await;
    assert_eq!(
        case_ids(&none),
        Vec::<i64>::new(),
        "a % is a character, not a wildcard"
    );

    // Sorting, and keyset pages that follow it without gaps or repeats.
    let (_, by_amount) = app
        .get(&supervisor, "/api/queue?team=true&limit=200&sort=-amount")
        .await;
    let amounts: Vec<i64> = by_amount["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["total_fen"].as_i64().unwrap())
        .collect();
    assert!(amounts.windows(2).all(|w| w[0] >= w[1]), "{amounts:?}");
    let (_, all) = app
        .get(&supervisor, "/api/queue?team=true&limit=200&sort=-case")
        .await;
    let all = case_ids(&all);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "{all:?}");
    let (mut paged, mut after) = (Vec::new(), String::new());
    loop {
        let (_, page) = app
            .get(
                &supervisor,
                &format!("/api/queue?team=true&limit=2&sort=-case{after}"),
            )
            .await;
        paged.extend(case_ids(&page));
        match page["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    assert_eq!(
        paged, all,
        "pages in the chosen order, none missed or repeated"
    );
    let (status, err) = app.get(&supervisor, "/api/queue?sort=colour").await;
    assert_eq!(
        (status, err["fields"][0]["field"].as_str()),
        (422, Some("sort")),
        "{err}"
    );
    let (status, _, html) = app.fetch(&supervisor, "/queue?sort=colour", "en").await;
    assert_eq!(status, 422);
    assert!(html.contains("cannot sort by &#x60;colour&#x60;"), "{html}");

    // The page: search box, holder column, sortable headers, the team's cases.
    let (status, html) = app.page(&supervisor, &format!("/queue?q={invoice}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("href=\"/cases/{}\"", cases[1])),
        "{html}"
    );
    assert!(!html.contains(&format!("href=\"/cases/{}\"", cases[0])));
    assert!(html.contains("经办人") && html.contains("aria-sort=\"ascending\""));
    let (_, html) = app.page(&supervisor, "/queue?sort=-amount").await;
    assert!(html.contains("aria-sort=\"descending\""), "{html}");

    // Who may take the selection: region, role, present, enabled.
    let near = app.add_user("reviewer_near", &[Role::Reviewer], "330300");
    let far = app.add_user("reviewer_far", &[Role::Reviewer], "330327");
    let away = app.add_user("reviewer_away", &[Role::Reviewer], "330300");
    let gone = app.add_user("reviewer_gone", &[Role::Reviewer], "330300");
    let clerk = app
        .text_column("SELECT CAST(id AS TEXT) AS text FROM users WHERE username = 'clerk'")[0]
        .clone();
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive()
        .to_string();
    let (status, _) = app
        .post(
            &supervisor,
            &format!("/api/users/{away}/absences"),
            json!({"from": today, "to": today, "reason": "年假"}),
        )
        .await;
    assert_eq!(status, 201);
    app.raw_sql(&format!(
        "UPDATE users SET disabled_at = 1 WHERE id = {gone}"
    ))
    .unwrap();
    let (_, queue_html) = app.page(&supervisor, "/queue").await;
    let csrf = crate::common::csrf_of(&queue_html);
    let picked = [cases[0].to_string(), cases[1].to_string()];
    let selection = [
        ("case_ids", picked[0].as_str()),
        ("case_ids", picked[1].as_str()),
        ("back", "/queue"),
    ];
    let (status, review) = app
        .post_form(&supervisor, "/team/reassign/review", &csrf, &selection)
        .await;
    assert_eq!(status, 200, "{review}");
    let offered = |html: &str, id: i64| html.contains(&format!("<option value=\"{id}\""));
    assert!(offered(&review, near), "{review}");
    for (who, id) in [
        ("far", far),
        ("away", away),
        ("gone", gone),
        ("clerk", clerk.parse().unwrap()),
    ] {
        assert!(!offered(&review, id), "{who} is offered:\n{review}");
    }
    assert!(review.contains("改派这 2 件案件"), "{review}");
    let (status, _) = app
        .post_form(&reviewer, "/team/reassign/review", &csrf, &selection)
        .await;
    assert_eq!(status, 403, "only supervisors");

    // Posting someone the form did not offer is refused on the confirmation page, in the
    // page's language, and nothing moves.
    for (id, says) in [
        (clerk.clone(), "不具备"),
        (far.to_string(), "不在"),
        (away.to_string(), "不在岗"),
        (gone.to_string(), "没有编号为"),
    ] {
        let mut form = selection.to_vec();
        form.extend([("to", id.as_str()), ("reason", "均衡工作量")]);
        let (status, page) = app
            .post_form(&supervisor, "/team/reassign", &csrf, &form)
            .await;
        assert_eq!(status, 422, "{id}: {page}");
        assert!(
            page.contains("reassign-refusal") && page.contains(says),
            "{id}: {page}"
        );
    }
    let holders = app.text_column(&format!(
        "SELECT COALESCE(CAST(assignee_id AS TEXT), '-') AS text FROM cases WHERE id IN ({}, {})",
        cases[0], cases[1]
    ));
    assert_eq!(holders, ["-", "-"], "nothing moved");
    let mut form = selection.to_vec();
    let near_id = near.to_string();
    form.extend([("to", near_id.as_str()), ("reason", "")]);
    let (status, page) = app
        .post_form(&supervisor, "/team/reassign", &csrf, &form)
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("改派须说明理由"), "{page}");

    // The eligible reviewer: both move, and the queue says so.
    let mut form = selection.to_vec();
    form.extend([("to", near_id.as_str()), ("reason", "均衡工作量")]);
    let res = app
        .post_form(&supervisor, "/team/reassign", &csrf, &form)
        .await;
    assert_eq!(res.0, 303, "{}", res.1);
    let holders = app.text_column(&format!(
        "SELECT CAST(assignee_id AS TEXT) AS text FROM cases WHERE id IN ({}, {})",
        cases[0], cases[1]
    ));
    assert_eq!(holders, [near_id.clone(), near_id.clone()]);
    let (_, html) = app.page(&supervisor, "/queue?moved=2").await;
    assert!(html.contains("已改派 2 件案件"), "{html}");
    let (_, _, html) = app.fetch(&supervisor, "/queue?moved=1", "en").await;
    assert!(html.contains("1 case reassigned"));
    let (_, mine) = app
        .get(
            &supervisor,
            &format!("/api/queue?team=true&holder={near}&limit=200"),
        )
        .await;
    assert_eq!(case_ids(&mine).len(), 2, "{mine}");

    // The board counts the open cases by stage and holder, each count linked to the queue.
    let (_, board) = app.page(&supervisor, "/team").await;
    assert!(board.contains("id=\"by-stage\""), "{board}");
    assert!(
        board.contains(&format!("stage&#x3D;initial_review&amp;holder&#x3D;{near}")),
        "{board}"
    );
    assert!(board.contains("reviewer_near <b>2</b>"), "{board}");
}
