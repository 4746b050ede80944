//! An administrator's account lifecycle: disable and enable, a password reset that the user
//! must follow with their own before anything else opens, a lockout lifted, roles changed,
//! a resident account linked to an insured person, each audited; the same on the pages,
//! with refusals in place in the user's language.
use crate::common::{csrf_of, TestApp};
use claimflow::domain::roles::Role;
use serde_json::{json, Value};

crate::trials!(accounts {
    scenarios: [an_admins_changes_to_an_account_hold_at_once],
});

/// A page without following redirects: status and where it leads.
async fn page_leads(app: &TestApp, token: &str, path: &str) -> (u16, String) {
    let res = app
        .as_browser(reqwest::Method::GET, path, token)
        .send()
        .await
        .unwrap();
    let location = crate::common::location(&res);
    (res.status().as_u16(), location)
}

fn error_of(body: &Value) -> (&str, &str) {
    (
        body["error"].as_str().unwrap_or_default(),
        body["message_zh"].as_str().unwrap_or_default(),
    )
}

async fn an_admins_changes_to_an_account_hold_at_once(app: TestApp) {
    let admin = app.login("admin").await;
    let (_, me) = app.get(&admin, "/api/me").await;
    let admin_id = me["user_id"].as_i64().unwrap();
    let id = app.add_user("rev_life", &[Role::Reviewer], "330326");
    let base = format!("/api/admin/users/{id}");
    let open = app.login("rev_life").await;

    // Only an admin changes accounts; an admin does not lock themself out.
    let (status, _) = app.post(&open, &format!("{base}/disable"), json!({})).await;
    assert_eq!(status, 403);
    let (status, body) = app
        .post(
            &admin,
            &format!("/api/admin/users/{admin_id}/disable"),
            json!({}),
        )
        .await;
    assert_eq!((status, error_of(&body).0), (409, "disable_self"), "{body}");
    assert!(error_of(&body).1.contains("不能停用自己的账号"), "{body}");

    // Disabled: the open session fails at once and signing in is refused; enabled again, in.
    let (status, body) = app
        .post(&admin, &format!("{base}/disable"), json!({}))
        .await;
    assert_eq!(
        (status, body["sessions_ended"].as_i64()),
        (200, Some(1)),
        "{body}"
    );
    assert_eq!(app.get(&open, "/api/queue").await.0, 401);
    assert_eq!(
        app.try_login("rev_life", crate::common::PASSWORD).await.0,
        401
    );
    let (status, _) = app.post(&admin, &format!("{base}/enable"), json!({})).await;
    assert_eq!(status, 200);
    let (status, token) = app.try_login("rev_life", crate::common::PASSWORD).await;
    assert_eq!(status, 200);
    assert_eq!(app.get(&token, "/api/queue").await.0, 200);

    // A reset: the old password and session open nothing; the new one opens only the
    // password change, which must be the user's own, long enough and different.
    let (status, body) = app
        .post(
            &admin,
            &format!("{base}/password"),
            json!({"password": "short"}),
        )
        .await;
    assert_eq!(
        (status, error_of(&body).0),
        (422, "password_too_short"),
        "{body}"
    );
    assert!(error_of(&body).1.contains("至少 8 个字符"), "{body}");
    let (status, _) = app
        .post(
            &admin,
            &format!("{base}/password"),
            json!({"password": "given-by-admin-1"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.get(&token, "/api/queue").await.0, 401);
    assert_eq!(
        app.try_login("rev_life", crate::common::PASSWORD).await.0,
        401
    );
    let (status, pending) = app.try_login("rev_life", "given-by-admin-1").await;
    assert_eq!(status, 200);
    for path in ["/api/queue", "/api/me", "/api/cases/1"] {
        let (status, body) = app.get(&pending, path).await;
        assert_eq!(
            (status, error_of(&body).0),
            (403, "password_change_required"),
            "{path}: {body}"
        );
    }
    let (status, body) = app.post(&pending, "/api/queue/next", json!({})).await;
    assert_eq!(
        (status, error_of(&body).0),
        (403, "password_change_required"),
        "{body}"
    );
    // The pages lead to the password change, which keeps the user's input out of the URL.
    assert_eq!(
        page_leads(&app, &pending, "/queue").await,
        (303, "/account/password".to_string())
    );
    let change = |current: &str, new: &str| json!({"current_password": current, "password": new});
    for (body, code) in [
        (
            change("wrong-password", "mine-and-long-1"),
            "password_wrong",
        ),
        (
            change("given-by-admin-1", "given-by-admin-1"),
            "password_unchanged",
        ),
        (change("given-by-admin-1", "tiny"), "password_too_short"),
    ] {
        let (status, res) = app.post(&pending, "/api/me/password", body).await;
        assert_eq!((status, error_of(&res).0), (422, code), "{res}");
        assert!(!error_of(&res).1.is_empty(), "{res}");
    }
    let (_, html) = app.page(&pending, "/account/password").await;
    assert!(html.contains("管理员已重置您的密码"), "{html}");
    let change_on_page = |html: String, again: &'static str| {
        let app = &app;
        let pending = pending.clone();
        async move {
            app.post_form(
                &pending,
                "/account/password",
                &csrf_of(&html),
                &[
                    ("current_password", "given-by-admin-1"),
                    ("password", "mine-and-long-1"),
                    ("confirm_password", again),
                ],
            )
            .await
        }
    };
    let (status, html) = change_on_page(html, "mine-and-long-2").await;
    assert_eq!(status, 422);
    assert!(html.contains("两次输入的新密码不一致"), "{html}");
    let (status, _) = change_on_page(html, "mine-and-long-1").await;
    assert_eq!(status, 303);
    assert_eq!(app.get(&pending, "/api/queue").await.0, 200, "changed: in");
    assert_eq!(app.try_login("rev_life", "given-by-admin-1").await.0, 401);

    // A wrong current password counts against the account's sign-in throttle: a borrowed
    // session guesses no faster than the sign-in form, and a locked account changes nothing.
    let session = pending.clone();
    let failures = |app: &TestApp| {
        app.text_column(
            "SELECT CAST(failures AS TEXT) AS text FROM login_failures WHERE key = 'user:rev_life'",
        )
    };
    let count = |app: &TestApp| {
        failures(app)
            .first()
            .map_or(0, |n| n.parse::<i64>().unwrap())
    };
    let before = count(&app);
    let (status, _) = app
        .post(
            &session,
            "/api/me/password",
            change("not-mine-at-all", "another-long-1"),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(count(&app), before + 1, "the wrong guess counted");
    let now = claimflow::store::now_ms();
    app.raw_sql(&format!(
        "UPDATE login_failures SET failures = 10, last_at_ms = {now} WHERE key = 'user:rev_life'"
    ))
    .unwrap();
    let (status, body) = app
        .post(
            &session,
            "/api/me/password",
            change("mine-and-long-1", "another-long-1"),
        )
        .await;
    assert_eq!(
        (status, error_of(&body).0),
        (429, "too_many_requests"),
        "{body}"
    );

    // A lockout (ten failures just now; the throttle itself is proven in instances.rs)
    // shows on the account, refuses even the right password, and is lifted.
    let now = claimflow::store::now_ms();
    app.raw_sql("DELETE FROM login_failures WHERE key = 'user:rev_life'")
        .unwrap();
    app.raw_sql(&format!("INSERT INTO login_failures (key, failures, last_at_ms) VALUES ('user:rev_life', 10, {now})")).unwrap();
    assert_eq!(app.try_login("rev_life", "mine-and-long-1").await.0, 429);
    let (_, view) = app.get(&admin, &base).await;
    assert!(view["locked_for_ms"].as_i64().unwrap() > 0, "{view}");
    let res = app
        .client
        .delete(app.url("/api/admin/lockouts/rev_life"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (_, view) = app.get(&admin, &base).await;
    assert_eq!(view["locked_for_ms"], 0, "{view}");

    // Linking: a resident account only, a person in the admin's region, one account each.
    let (status, body) = app
        .put(
            &admin,
            &format!("{base}/person"),
            json!({"id_number": "330326199001010014"}),
        )
        .await;
    assert_eq!(
        (status, error_of(&body).0),
        (422, "link_not_resident"),
        "{body}"
    );
    let resident2 = app.add_user("resident_life", &[Role::Resident], "330326");
    let linked_path = format!("/api/admin/users/{resident2}/person");
    let (status, _) = app.get(&admin, "/api/admin/users/987654").await;
    assert_eq!(status, 404);
    let taken = app.text_column("SELECT p.id_number AS text FROM persons p JOIN users u ON u.id = p.user_id WHERE u.username = 'resident'").remove(0);
    let (status, body) = app
        .put(&admin, &linked_path, json!({"id_number": taken}))
        .await;
    assert_eq!(
        (status, error_of(&body).0),
        (422, "person_linked"),
        "{body}"
    );
    let (status, body) = app
        .put(
            &admin,
            &linked_path,
            json!({"id_number": "110101199003077774"}),
        )
        .await;
    assert_eq!(
        (status, error_of(&body).0),
        (422, "person_unknown"),
        "{body}"
    );
    let (status, person) = app
        .post(
            &admin,
            "/api/admin/persons",
            json!({"id_number": "33032619900101105X", "name": "钱勇", "sex": "M", "birth_date": "1990-01-01", "household": "平阳县昆阳镇", "region_code": "330326"}),
        )
        .await;
    assert_eq!(status, 201, "{person}");
    let (status, body) = app
        .put(
            &admin,
            &linked_path,
            json!({"id_number": "33032619900101105x"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, view) = app
        .get(&admin, &format!("/api/admin/users/{resident2}"))
        .await;
    assert_eq!(view["person"][1], "钱勇", "{view}");

    // Every change is in the account's history, with who made it.
    let (_, view) = app.get(&admin, &base).await;
    let actions: Vec<&str> = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[0]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["unlocked", "password_reset", "enabled", "disabled"],
        "{view}"
    );
    assert!(view["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e[1] == "admin"));

    // The account page: destructive actions ask for confirmation, in place.
    let page = format!("/admin/users/{id}");
    let (status, html) = app.page(&admin, &page).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("停用账号") && !html.contains(&format!("{page}/unlock")),
        "no lockout, no unlock button: {html}"
    );
    let (status, html) = app
        .post_form(&admin, &format!("{page}/disable"), &csrf_of(&html), &[])
        .await;
    assert_eq!(status, 422);
    assert!(html.contains("请勾选确认"), "{html}");
    let session = app.login_with("rev_life", "mine-and-long-1").await;
    assert_eq!(app.get(&session, "/api/queue").await.0, 200);
    let (status, _) = app
        .post_form(
            &admin,
            &format!("{page}/disable"),
            &csrf_of(&html),
            &[("confirm", "1")],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(
        app.get(&session, "/api/queue").await.0,
        401,
        "disabled on the page: out at once"
    );
    let (_, html) = app.page(&admin, &page).await;
    assert!(
        html.contains("启用账号") && html.contains("已停用"),
        "{html}"
    );
}
