//! End-to-end tests in real headless Chromium (Debian's `chromium` and `chromium-driver`,
//! driven over WebDriver by fantoccini) against the app on loopback, on both backends.
//! Screenshots of every main page, on a desktop and on a 390-pixel phone, are written to
//! `target/screenshots/` for people to look at; each page is also checked for template tags,
//! untranslated keys and horizontal overflow on the phone.
use crate::common::{spawn_without_cases, Backend, TestApp, PASSWORD};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

crate::trials!(browser {
    backends: [scenarios_in_chromium],
});

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver process on a free port, stopped on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        for tool in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                std::path::Path::new(tool).exists(),
                "{tool} is missing: apt-get install -y chromium chromium-driver (.ci/run does)"
            );
        }
        let port = crate::common::free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        // Owned by the driver from here on: dropped (killed and reaped) even if it never answers.
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let status = format!("{}/status", driver.url);
        for _ in 0..100 {
            if let Ok(res) = reqwest::get(&status).await {
                if res.status().is_success() {
                    return driver;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not answer on {status}");
    }

    async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1366,900", "--lang=zh-CN"]
            }),
        );
        ClientBuilder::native()
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session with the app, and the checks every page gets.
struct Session<'a> {
    app: &'a TestApp,
    c: Client,
    shots: PathBuf,
}

impl<'a> Session<'a> {
    /// A new browser on the sign-in page, switched to `lang` with the header button.
    async fn open(app: &'a TestApp, driver: &Driver, label: &str, lang: &str) -> Session<'a> {
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/screenshots")
            .join(label);
        std::fs::create_dir_all(&shots).unwrap();
        let s = Session {
            app,
            c: driver.browser().await,
            shots,
        };
        s.goto("/login").await;
        let html = s.c.find(Locator::Css("html")).await.unwrap();
        if html.attr("lang").await.unwrap().as_deref() != Some(lang) {
            s.switch_language().await;
        }
        s
    }

    async fn goto(&self, path: &str) {
        self.c.goto(&self.app.url(path)).await.unwrap();
    }

    async fn text(&self) -> String {
        self.c
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The text of the element with this id; its absence fails with the page's text.
    async fn text_of(&self, id: &str) -> String {
        match self.c.find(Locator::Id(id)).await {
            Ok(e) => e.text().await.unwrap(),
            Err(_) => panic!("no #{id} on the page:\n{}", self.text().await),
        }
    }

    async fn has(&self, css: &str) -> bool {
        self.c.find(Locator::Css(css)).await.is_ok()
    }

    async fn path(&self) -> String {
        self.c.current_url().await.unwrap().path().to_string()
    }

    async fn fill(&self, id: &str, value: &str) {
        let field = self
            .c
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"));
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    /// The element with this id says `en` on an English page and `zh` on a Chinese one.
    async fn says(&self, id: &str, lang: &str, en: &str, zh: &str) {
        let text = self.text_of(id).await;
        let expected = if lang == "en" { en } else { zh };
        assert!(
            text.contains(expected),
            "#{id}: {text:?} lacks {expected:?}"
        );
    }

    /// Chooses a file for the file input with this id.
    async fn choose_file(&self, id: &str, file: &std::path::Path) {
        self.c
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("#{id}: {e}"))
            .send_keys(&file.display().to_string())
            .await
            .unwrap();
    }

    /// Date inputs take keystrokes in the browser's locale format; set the value directly.
    async fn set_value(&self, id: &str, value: &str) {
        self.c
            .execute(
                "document.getElementById(arguments[0]).value = arguments[1];",
                vec![json!(id), json!(value)],
            )
            .await
            .unwrap();
    }

    /// Clicks something that loads a page (a link, a submit button) and waits until the new
    /// page has loaded: WebDriver's click may return before the navigation it starts is done.
    async fn click(&self, css: &str) {
        self.c
            .execute("window.__old_page = true;", vec![])
            .await
            .unwrap();
        self.tick(css).await;
        for _ in 0..200 {
            let loaded = self
                .c
                .execute(
                    "return window.__old_page === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("clicking {css} did not load a page");
    }

    /// Clicks something that does not leave the page (a radio button).
    async fn tick(&self, css: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .click()
            .await
            .unwrap();
    }

    async fn sign_in(&self, username: &str) {
        self.goto("/login").await;
        self.fill("username", username).await;
        self.fill("password", PASSWORD).await;
        self.click("main form button[type=submit]").await;
        let path = self.path().await;
        assert_ne!(
            path,
            "/login",
            "signing in as {username} failed:\n{}",
            self.text().await
        );
    }

    async fn sign_out(&self) {
        self.click("header form[action='/logout'] button").await;
        assert_eq!(self.path().await, "/login");
    }

    /// Switches the interface language with the header button.
    async fn switch_language(&self) {
        self.click("header form[action='/lang'] button").await;
    }

    /// Checks the page as it stands and saves a desktop and a phone screenshot.
    /// axe-core's WCAG rules on the page as it stands: no violations. The script is the
    /// npm package `axe-core` that `.ci/run` installs (or `CLAIMFLOW_AXE_JS`), put into the
    /// page through WebDriver, which the page's Content-Security-Policy does not govern.
    async fn accessible(&self, name: &str) {
        assert_eq!(
            self.axe_violations().await,
            json!([]),
            "{name}: axe-core finds these accessibility violations"
        );
    }

    async fn axe_violations(&self) -> serde_json::Value {
        let loaded = self
            .c
            .execute("return typeof window.axe === 'object';", vec![])
            .await
            .unwrap();
        if loaded != json!(true) {
            let script = format!("{}\nreturn typeof window.axe;", axe_source());
            let kind = self.c.execute(&script, vec![]).await.unwrap();
            assert_eq!(kind, json!("object"), "axe-core did not load");
        }
        self.c
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ['violations'] })
  .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at '
    + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))
  .catch(e => done(['axe failed: ' + e]));"#,
                vec![],
            )
            .await
            .unwrap()
    }

    async fn look(&self, name: &str) {
        let source = self.c.source().await.unwrap();
        assert!(
            !source.contains("{{"),
            "{name}: a raw template tag:\n{source}"
        );
        let text = self.text().await;
        assert!(
            !text.contains('⟦'),
            "{name}: an untranslated string:\n{text}"
        );
        std::fs::write(
            self.shots.join(format!("{name}.png")),
            self.c.screenshot().await.unwrap(),
        )
        .unwrap();
        self.accessible(name).await;
        self.c.set_window_size(390, 844).await.unwrap();
        let overflow = self
            .c
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await
            .unwrap();
        // Every table cell with text is at least three characters ("000" in its own font)
        // wide, and every chart label renders at 11 px or more.
        let cramped = self
            .c
            .execute(
                r#"const probe = document.createElement('span');
probe.textContent = '000';
probe.style.cssText = 'position:absolute;visibility:hidden;white-space:nowrap';
document.body.appendChild(probe);
const bad = [];
for (const cell of document.querySelectorAll('td, th')) {
  const box = cell.getBoundingClientRect();
  if (box.width === 0 || cell.textContent.trim() === '' || cell.closest('.visually-hidden')) continue;
  const style = getComputedStyle(cell);
  const head = cell.closest('thead');
  if (style.position === 'absolute' || (head && getComputedStyle(head).position === 'absolute')) continue;
  probe.style.font = style.font;
  const room = box.width - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  if (room + 0.5 < probe.getBoundingClientRect().width) bad.push(cell.textContent.trim().slice(0, 20) + ' (' + Math.round(room) + ' px)');
}
for (const svg of document.querySelectorAll('svg.chart')) {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  for (const t of svg.querySelectorAll('text')) {
    const px = parseFloat(getComputedStyle(t).fontSize) * scale;
    if (px < 10.95) bad.push('chart label ' + t.textContent.slice(0, 20) + ' at ' + px.toFixed(1) + ' px');
  }
}
probe.remove();
return bad;"#,
                vec![],
            )
            .await
            .unwrap();
        std::fs::write(
            self.shots.join(format!("{name}-phone.png")),
            self.c.screenshot().await.unwrap(),
        )
        .unwrap();
        self.c.set_window_size(1366, 900).await.unwrap();
        assert!(
            overflow.as_i64().is_some_and(|px| px <= 0),
            "{name}: the page is {overflow} px wider than a 390-pixel phone"
        );
        assert_eq!(
            cramped,
            json!([]),
            "{name}: at 390 px these are narrower than three characters or smaller than 11 px"
        );
    }
}

/// axe-core's browser script, read once.
fn axe_source() -> &'static str {
    static SOURCE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = std::env::var("CLAIMFLOW_AXE_JS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("target/axe/node_modules/axe-core/axe.min.js")
            });
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; install it with `npm install --prefix target/axe axe-core@4` \
                 (.ci/run does)",
                path.display()
            )
        })
    })
}

/// A small PDF on disk for the file inputs.
fn pdf_file(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("scan.pdf");
    std::fs::write(&path, crate::common::pdf()).unwrap();
    path
}

/// The strings a scenario looks for, in the language it runs in.
struct Words {
    lang: &'static str,
    granted: &'static str,
    breakdown: &'static str,
    approved: &'static str,
    not_found: &'static str,
    forbidden: &'static str,
    /// Each run files its own stay, so that the second is not screened as a duplicate.
    stay: (&'static str, &'static str, &'static str),
}

const ZH: Words = Words {
    lang: "zh-CN",
    granted: "核定报销",
    breakdown: "报销金额计算过程",
    approved: "核准支付",
    not_found: "未找到该页面或记录",
    forbidden: "您的账号没有权限查看此页面",
    stay: ("2019-05-02", "2019-05-10", "PY2026-000123"),
};

const EN: Words = Words {
    lang: "en",
    granted: "Reimbursement granted",
    breakdown: "How the amount was calculated",
    approved: "Approved",
    not_found: "There is no such page or record",
    forbidden: "Your account may not see this page",
    stay: ("2019-09-02", "2019-09-10", "PY2026-000456"),
};

/// Scenario 1: a resident files a trauma claim with its seven documents; a clerk accepts it,
/// a reviewer takes it with "next case" and recommends approval, a senior reviewer approves
/// and a supervisor signs off; the resident sees the decision and its breakdown.
/// Scenario 3 rides along: another resident cannot open the claim by its URL.
async fn claim_to_decision(app: &TestApp, driver: &Driver, words: &Words, label: &str) {
    let s = Session::open(app, driver, label, words.lang).await;
    s.look("login").await;
    s.sign_in("resident").await;
    assert_eq!(s.path().await, "/my/claims");
    s.look("my-claims-empty").await;

    // The new-claim form: a server-side error first, shown next to its field.
    s.goto("/my/claims/new").await;
    s.look("new-claim").await;
    s.tick("input[name=family][value=trauma]").await;
    s.fill("facility_code", "H330326001").await;
    let (admission, discharge, invoice) = words.stay;
    s.set_value("admission_date", admission).await;
    s.set_value("discharge_date", discharge).await;
    s.fill("diagnosis_code", "S52.501").await;
    s.fill("invoice_numbers", invoice).await;
    s.fill("total", "12500.005").await;
    s.fill("policy_scope", "10000").await;
    s.fill("self_paid", "1500").await;
    s.fill("third_party_declaration", "在家中跌倒，无第三方责任")
        .await;
    s.click("form[action='/my/claims/new'] button.primary")
        .await;
    let error =
        s.c.find(Locator::Css("#total-error"))
            .await
            .expect("the amount error next to its field");
    assert!(!error.text().await.unwrap().is_empty());
    s.look("new-claim-error").await;
    s.fill("total", "12500").await;
    s.click("form[action='/my/claims/new'] button.primary")
        .await;
    let claim_path = s.path().await;
    let page = s.text().await;
    let claim_id: i64 = claim_path
        .strip_prefix("/my/claims/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| {
            panic!("after submitting, expected the claim page, got {claim_path}:\n{page}")
        });

    // Seven documents, each uploaded from the checklist of what is missing.
    let tmp = tempfile::tempdir().unwrap();
    let pdf = pdf_file(tmp.path());
    s.look("claim-missing").await;
    let mut uploaded = 0;
    while let Ok(input) =
        s.c.wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::Css("form.upload input[type=file]"))
            .await
    {
        input.send_keys(&pdf.display().to_string()).await.unwrap();
        s.click("form.upload button[type=submit]").await;
        uploaded += 1;
        if uploaded == 7 {
            break;
        }
    }
    let page = s.text().await;
    assert_eq!(
        uploaded, 7,
        "the trauma checklist has seven documents:\n{page}"
    );
    assert!(
        s.c.find(Locator::Css("form.upload")).await.is_err(),
        "nothing more is asked for:\n{page}"
    );
    s.sign_out().await;

    // Scenario 3: another resident changes the URL and sees "not found", not the claim.
    s.sign_in("resident2").await;
    s.goto(&claim_path).await;
    let text = s.text().await;
    assert!(text.contains(words.not_found), "{text}");
    assert!(
        !text.contains(invoice) && !text.contains("H330326001"),
        "{text}"
    );
    s.look("other-residents-claim").await;
    s.goto(&format!("/my/claims/{claim_id}/letter")).await;
    assert!(s.text().await.contains(words.not_found));
    s.sign_out().await;

    // Staff: each takes the case with "next case" and acts from the case page.
    for (user, action) in [
        ("clerk", "accept"),
        ("reviewer", "recommend_approve"),
        ("senior_reviewer", "approve"),
        ("supervisor", "approve"),
    ] {
        s.sign_in(user).await;
        assert_eq!(s.path().await, "/queue", "{user} lands on the queue");
        s.look(&format!("queue-{user}")).await;
        if user == "supervisor" {
            // Bulk select: the supervisor hands the case back to the pool from the queue.
            s.tick("input[name=case_ids]").await;
            s.click("#reassign").await;
            s.fill("reason", "统一由科长签发").await;
            s.click("#confirm-reassign").await;
            assert_eq!(s.path().await, "/queue", "{}", s.text().await);
        }
        s.click("#next-case").await;
        let case_path = s.path().await;
        assert!(
            case_path.starts_with("/cases/"),
            "{user}: next case led to {case_path}"
        );
        s.look(&format!("case-{user}")).await;
        let choices =
            s.c.find_all(Locator::Css("#decision input[name=action]"))
                .await
                .unwrap();
        let mut offered = Vec::new();
        for b in &choices {
            offered.push(b.attr("value").await.unwrap().unwrap_or_default());
        }
        assert!(
            offered.contains(&action.to_string()),
            "{user} is offered {offered:?}, not {action}"
        );
        act_on_page(&s, action, "材料齐全，同意。").await;
        assert!(s.path().await.starts_with("/cases/"));
        s.sign_out().await;
    }

    // The resident sees the decision, the amount and how it was reached, and the letter.
    s.sign_in("resident").await;
    s.look("my-claims").await;
    s.goto(&claim_path).await;
    let text = s.text().await;
    for expected in [words.granted, words.breakdown, words.approved] {
        assert!(
            text.contains(expected),
            "the decided claim page lacks {expected:?}:\n{text}"
        );
    }
    assert!(
        s.c.find_all(Locator::Css("ol.steps li"))
            .await
            .unwrap()
            .len()
            >= 3,
        "{text}"
    );
    s.look("claim-decided").await;
    s.goto(&format!("{claim_path}/letter")).await;
    assert!(s.text().await.contains(words.granted));
    s.look("decision-letter").await;
    s.c.close().await.unwrap();
}

/// Each role finds its pages in the navigation and is refused the pages of other roles.
async fn pages_by_role(app: &TestApp, driver: &Driver, words: &Words, label: &str) {
    let s = Session::open(app, driver, label, words.lang).await;
    // The accessibility check can fail: an image without a text alternative is caught.
    s.c.execute(
        "document.querySelector('main').appendChild(document.createElement('img')).src = '/static/app.css';",
        vec![],
    )
    .await
    .unwrap();
    let caught = s.axe_violations().await.to_string();
    assert!(caught.contains("image-alt"), "{caught}");
    s.goto("/login").await;
    // Signed out: the whistleblower form, the tracking code shown once, and tracking.
    s.click("header nav a[href='/report']").await;
    s.look("report").await;
    // Wrong: refused beside each field, in the page's language, the input kept.
    s.fill("person_id_number", "12345").await;
    s.fill("description", "太短").await;
    s.click("form[action='/report'] button.primary").await;
    let (id_error, text_error) = if words.lang == "en" {
        ("", "10 to 5000 characters")
    } else {
        ("身份证号格式不正确", "10 至 5000 字")
    };
    assert!(
        s.text_of("person_id_number-error").await.contains(id_error)
            && s.text_of("description-error").await.contains(text_error),
        "{}",
        s.text().await
    );
    s.look("report-refused").await;
    s.fill("person_id_number", "").await;
    s.fill("facility_code", "H330326020").await;
    s.fill(
        "description",
        "该医院2026年10月有挂床住院情况，病房内无人但每天计费。",
    )
    .await;
    s.click("form[action='/report'] button.primary").await;
    let code = s.text_of("tracking-code").await;
    assert!(code.trim().len() >= 8, "{code:?}");
    s.look("report-done").await;
    // Evidence from the done page: the code travels in the form, the file is checked by
    // content, and the tracking page counts it.
    let tmp = tempfile::tempdir().unwrap();
    let pdf = pdf_file(tmp.path());
    s.choose_file("attach-file", &pdf).await;
    s.click("#attach-now").await;
    assert!(
        s.has("#attach-notice.ok").await && s.has("#report-status").await,
        "{}",
        s.text().await
    );
    let not_a_pdf = tmp.path().join("note.pdf");
    std::fs::write(&not_a_pdf, "just text").unwrap();
    s.choose_file("attach-file", &not_a_pdf).await;
    s.click("#attach-now").await;
    s.says(
        "attach-notice",
        words.lang,
        "Only PDF, JPEG or PNG",
        "只接受 PDF、JPEG 或 PNG",
    )
    .await;
    s.look("report-attached").await;
    s.goto("/report/track").await;
    s.fill("code", code.trim()).await;
    s.click("form[action='/report/track'] button.primary").await;
    assert_eq!(
        s.text_of("report-attachments").await.trim(),
        "1",
        "one attachment, the text file refused"
    );

    assert!(
        s.c.find(Locator::Id("report-status")).await.is_ok(),
        "{}",
        s.text().await
    );
    assert_eq!(s.path().await, "/report/track");
    assert!(
        !s.c.current_url()
            .await
            .unwrap()
            .as_str()
            .contains(code.trim()),
        "the code is never in the address"
    );
    s.look("report-track").await;
    // Typed in lower case without its dashes, the code is still found.
    s.goto("/report/track").await;
    s.fill("code", &code.trim().replace('-', "").to_lowercase())
        .await;
    s.click("form[action='/report/track'] button.primary").await;
    assert!(s.has("#report-status").await, "{}", s.text().await);
    s.fill("code", "NOT-A-CODE").await;
    s.click("form[action='/report/track'] button.primary").await;
    assert!(s.has("p.error").await);
    for (user, own, refused) in [
        ("inspector", "/facilities", "/queue"),
        ("supervisor", "/team", "/my/claims"),
        ("supervisor", "/facilities", "/admin/workflows"),
        ("admin", "/admin/workflows", "/facilities"),
        ("admin", "/admin/registry", "/audit"),
        ("auditor", "/audit", "/my/claims/new"),
        ("auditor", "/admin/workflows", "/team"),
        ("resident", "/my/claims/new", "/admin/workflows"),
        ("reviewer", "/queue", "/facilities"),
    ] {
        s.sign_in(user).await;
        let link = format!("header nav a[href='{own}']");
        assert!(
            s.c.find(Locator::Css(&link)).await.is_ok(),
            "{user} has no link to {own}"
        );
        s.click(&link).await;
        assert_eq!(s.path().await, own);
        s.look(&format!(
            "{}-{user}",
            own.trim_start_matches('/').replace('/', "-")
        ))
        .await;
        if own == "/audit" {
            // The auditor's claim search by invoice number, then the audit trail by actor
            // across cases; each list offers its CSV export.
            let (_, _, invoice) = words.stay;
            s.click("nav.tabs a[href='/audit/claims']").await;
            s.fill("invoice", invoice).await;
            s.click("form[action='/audit/claims'] button[type=submit]")
                .await;
            let found = s.text_of("results").await;
            assert!(found.contains(invoice), "{found}");
            assert!(s.has("a.export[href^='/audit/claims.csv']").await);
            s.look(&format!("audit-claims-{}", words.lang)).await;
            s.click("nav.tabs a[href='/audit/events']").await;
            s.fill("actor", "reviewer").await;
            s.click("form[action='/audit/events'] button[type=submit]")
                .await;
            let trail = s.text_of("results").await;
            assert!(
                trail.contains("reviewer") && !trail.contains("clerk"),
                "{trail}"
            );
            assert!(s.has("a.export[href^='/audit/events.csv']").await);
            s.look(&format!("audit-events-{}", words.lang)).await;
        }
        if own == "/admin/registry" {
            // A user with a first password that is too short is refused next to the field;
            // with a good one the account appears in the list.
            let new_user = format!("clerk_{}", words.lang.replace('-', "_"));
            s.fill("new_username", &new_user).await;
            s.fill("new_password", "short").await;
            s.fill("user_region_code", "330326").await;
            s.tick("input[name=roles][value=clerk]").await;
            s.click("form[action='/admin/users'] button.primary").await;
            let page = s.text().await;
            assert!(
                s.c.find(Locator::Id("new_password-error")).await.is_ok(),
                "{page}"
            );
            s.fill("new_password", "clerk2-pass-1").await;
            s.click("form[action='/admin/users'] button.primary").await;
            let users = s.text_of("users").await;
            assert!(users.contains(&new_user), "{users}");
        }
        s.goto(refused).await;
        let text = s.text().await;
        assert!(
            text.contains(words.forbidden),
            "{user} at {refused}:\n{text}"
        );
        s.sign_out().await;
    }
    s.c.close().await.unwrap();
}

/// Takes a workflow action from the page's decision form, confirming it when asked, and
/// checks it was done.
async fn act_on_page(s: &Session<'_>, action: &str, comment: &str) {
    choose_on_page(s, action, comment).await;
    if s.has("#confirm-yes").await {
        s.click("#confirm-yes").await;
    }
    assert!(
        s.c.find(Locator::Css(".flash.ok")).await.is_ok(),
        "{action} was not done:\n{}",
        s.text().await
    );
}

/// Chooses an action in the decision form, writes the comment and submits.
async fn choose_on_page(s: &Session<'_>, action: &str, comment: &str) {
    s.tick(&format!("#act-{action}")).await;
    if !comment.is_empty() {
        s.fill("decision-comment", comment).await;
    }
    s.click("#decide").await;
}

/// Scenario 2: an inspector logs a violation with evidence at a facility and a supervisor
/// imposes a sanction within the range the article allows.
async fn violation_to_sanction(app: &TestApp, driver: &Driver, words: &Words, label: &str) {
    let s = Session::open(app, driver, label, words.lang).await;
    s.sign_in("inspector").await;
    assert_eq!(s.path().await, "/facilities");
    s.click("a[href='/facilities/H330326020']").await;
    s.look("facility").await;
    // An unannounced inspection first; the violation is its finding.
    s.click("a[href='/facilities/H330326020/inspections/new']")
        .await;
    s.look("inspection-new").await;
    s.set_value("inspected_on", "2026-11-28").await;
    s.fill("team", "孙磊、周敏").await;
    s.fill("scope", "住院病区在床情况").await;
    s.click("form[action$='/inspections/new'] button.primary")
        .await;
    assert_eq!(s.path().await, "/facilities/H330326020");
    s.click("a[href='/facilities/H330326020/violations/new']")
        .await;
    s.c.find(Locator::Css("#inspection_id option:nth-child(2)"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.look("violation-new").await;
    s.c.find(Locator::Css("#type_code option[value=phantom_bed]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.fill("amount", "10000").await;
    s.fill("department", "骨科").await;
    s.fill("description", "飞行检查发现12张床位登记住院但病人不在院。")
        .await;
    s.click("form[action$='/violations/new'] button.primary")
        .await;
    let path = s.path().await;
    assert!(
        path.starts_with("/violations/"),
        "after logging: {path}\n{}",
        s.text().await
    );
    let tmp = tempfile::tempdir().unwrap();
    let pdf = pdf_file(tmp.path());
    s.choose_file("evidence-file", &pdf).await;
    s.click("form.upload button[type=submit]").await;
    assert!(
        s.text().await.contains("scan.pdf"),
        "the evidence is listed"
    );
    assert!(
        s.c.find(Locator::Css("form[action$='/sanction']"))
            .await
            .is_err(),
        "inspectors do not sanction"
    );
    act_on_page(&s, "submit_for_review", "").await;
    s.sign_out().await;

    // The supervisor asks for the facility's statement, records it, and decides.
    s.sign_in("supervisor").await;
    s.goto(&path).await;
    act_on_page(&s, "request_statement", "请于5个工作日内陈述申辩").await;
    act_on_page(&s, "record_statement", "机构承认夜间管理疏漏").await;
    let range = s.text_of("sanction-range").await;
    assert!(
        range.contains("10,000.00"),
        "repayment of the whole amount: {range}"
    );
    s.look("violation-sanction").await;
    s.fill("fine", "15000").await;
    // One suspension is enough for the facility: the English run sanctions without one.
    if words.lang == "en" {
        s.fill("suspension_months", "0").await;
    } else {
        s.fill("suspension_months", "6").await;
        s.set_value("suspended_from", "2026-12-01").await;
    }
    s.set_value("rectification_due", "2027-01-31").await;
    s.click("form[action$='/sanction'] button.primary").await;
    let imposed = s.text_of("sanction-imposed").await;
    assert!(imposed.contains("15,000.00"), "{imposed}");
    s.look("violation-sanctioned").await;

    // The facility repays: more than is owed is refused beside the field, the input kept.
    let owed = s.text_of("outstanding").await;
    assert!(owed.contains("25,000.00"), "repayment and fine: {owed}");
    s.fill("amount", "12,000").await;
    s.click("#payment-form button.primary").await;
    s.says(
        "amount-error",
        words.lang,
        "more than the 10,000.00 yuan still owed",
        "超过尚欠的 10,000.00 元",
    )
    .await;
    s.fill("amount", "10,000.00").await;
    s.click("#payment-form button.primary").await;
    assert!(s.has(".flash.ok").await, "{}", s.text().await);
    let owed = s.text_of("outstanding").await;
    assert!(
        owed.contains("15,000.00"),
        "only the fine is owed now: {owed}"
    );
    let timeline = s.text_of("timeline").await;
    let recorded = if words.lang == "en" {
        "Payment recorded"
    } else {
        "登记缴款"
    };
    assert!(timeline.contains(recorded), "{timeline}");
    s.look("violation-recovery").await;
    s.c.close().await.unwrap();
}

/// A stale version: two reviewers' pages show the same case; the second to act is told and
/// sees the current state, and nothing is written twice.
async fn a_stale_page_is_explained(app: &TestApp, driver: &Driver, label: &str) {
    let token = app.login("resident").await;
    // A stay of its own (November 2019), so that screening takes it for an ordinary claim.
    let claim = crate::common::nth_stay(crate::common::trauma_claim(), 16);
    let (status, body) = app.post(&token, "/api/claims", claim).await;
    assert_eq!(status, 201, "{body}");
    let case_id = body["case_id"].as_i64().unwrap();
    let s = Session::open(app, driver, label, "zh-CN").await;
    s.sign_in("clerk").await;
    s.goto(&format!("/cases/{case_id}")).await;
    // Meanwhile the case moves on through the API (the clerk returns it for documents).
    let clerk = app.login("clerk").await;
    let (status, body) = app.get(&clerk, &format!("/api/cases/{case_id}")).await;
    assert_eq!(status, 200);
    let version = body["version"].as_i64().unwrap();
    let (status, body) = app
        .post(
            &clerk,
            &format!("/api/cases/{case_id}/actions"),
            json!({"action": "return_for_documents", "comment": "缺材料", "expected_version": version}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let events_before = app.event_actions(case_id).await.len();
    // The page still offers the old actions; acting from it is refused and explained.
    // The rejection chosen no longer exists at the case's stage, so no confirmation is
    // asked: the page says at once that the case has moved.
    choose_on_page(&s, "reject", "重复提交").await;
    let flash =
        s.c.find(Locator::Css(".flash.warn"))
            .await
            .expect("the stale-version notice");
    assert!(!flash.text().await.unwrap().is_empty());
    assert!(
        s.c.find(Locator::Css("#act-reject")).await.is_err(),
        "the page shows the current state"
    );
    assert_eq!(
        app.event_actions(case_id).await.len(),
        events_before,
        "nothing was written"
    );
    s.look("case-stale").await;
    s.c.close().await.unwrap();
}

/// An admin disables a user on the account page, confirming first; the user's open
/// session, in another browser, fails at its next page.
async fn admin_disables_a_user(app: &TestApp, driver: &Driver, words: &Words, label: &str) {
    let name = format!("off_{}", label.replace('-', "_"));
    let id = app.add_user(&name, &[claimflow::domain::roles::Role::Reviewer], "330326");
    let user = Session::open(app, driver, &format!("{label}-user"), words.lang).await;
    user.sign_in(&name).await;
    user.goto("/queue").await;
    assert_eq!(user.path().await, "/queue");
    let admin = Session::open(app, driver, label, words.lang).await;
    admin.sign_in("admin").await;
    admin.goto("/admin/registry").await;
    admin.click(&format!("a[href='/admin/users/{id}']")).await;
    admin.look("account").await;
    // Without the tick the page refuses in place, in its language, and nothing changes.
    admin
        .click("form[action$='/disable'] button[type=submit]")
        .await;
    admin
        .says("confirm-error", words.lang, "tick to confirm", "请勾选确认")
        .await;
    user.goto("/queue").await;
    assert_eq!(user.path().await, "/queue", "not disabled yet");
    admin.tick("#confirm").await;
    admin
        .click("form[action$='/disable'] button[type=submit]")
        .await;
    assert!(admin.has(".flash.ok").await, "{}", admin.text().await);
    admin.look("account-disabled").await;
    user.goto("/queue").await;
    assert_eq!(
        user.path().await,
        "/login",
        "the open session failed at once"
    );
    user.c.close().await.unwrap();
    admin.c.close().await.unwrap();
}

/// Scenario: a supervisor finds cases with the queue's search, sorts the list, ticks two
/// cases, sees only the people who may take both, and reassigns them; the queue says how many
/// moved and the team board counts them under their new holder.
async fn supervisor_searches_and_reassigns(
    app: &TestApp,
    driver: &Driver,
    words: &Words,
    label: &str,
) {
    let cases = app.cases_in_initial_review(2).await;
    let helper = format!("helper_{}", words.lang.replace('-', "_"));
    let helper_id = app.add_user(
        &helper,
        &[claimflow::domain::roles::Role::Reviewer],
        "330300",
    );
    let clerk_id = app
        .text_column("SELECT CAST(id AS TEXT) AS text FROM users WHERE username = 'clerk'")[0]
        .clone();
    let s = Session::open(app, driver, label, words.lang).await;
    s.sign_in("supervisor").await;
    // Both cases by the resident's name, then one by its case number.
    s.fill("q", "张伟").await;
    s.click("form.filters button[type=submit]").await;
    for id in &cases {
        assert!(
            s.has(&format!("input[name=case_ids][value='{id}']")).await,
            "{}",
            s.text().await
        );
    }
    s.click("#sort-amount").await;
    assert!(
        s.has("th[aria-sort=ascending] #sort-amount").await,
        "{}",
        s.text().await
    );
    s.look("queue-search").await;
    s.fill("q", &format!("#{}", cases[0])).await;
    s.click("form.filters button[type=submit]").await;
    assert!(
        s.has(&format!("input[name=case_ids][value='{}']", cases[0]))
            .await
    );
    assert!(
        !s.has(&format!("input[name=case_ids][value='{}']", cases[1]))
            .await
    );
    s.fill("q", "张伟").await;
    s.click("form.filters button[type=submit]").await;
    for id in &cases {
        s.tick(&format!("input[name=case_ids][value='{id}']")).await;
    }
    s.click("#reassign").await;
    s.says(
        "confirm-reassign",
        words.lang,
        "Reassign these 2 cases",
        "改派这 2 件案件",
    )
    .await;
    let offered = s.text_of("to").await;
    assert!(offered.contains(&helper), "{offered}");
    assert!(
        !s.has(&format!("#to option[value='{clerk_id}']")).await,
        "the clerk may not review: {offered}"
    );
    s.look("reassign-confirm").await;
    s.c.find(Locator::Css(&format!("#to option[value='{}']", helper_id)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    s.fill("reason", "均衡工作量").await;
    s.click("#confirm-reassign").await;
    assert_eq!(s.path().await, "/queue");
    s.says("moved", words.lang, "2 cases reassigned", "已改派 2 件案件")
        .await;
    s.look("queue-moved").await;
    s.goto("/team").await;
    let by_stage = s.text_of("by-stage").await;
    assert!(by_stage.contains(&format!("{helper} 2")), "{by_stage}");
    s.look("team-by-stage").await;
    s.c.close().await.unwrap();
}

/// Scenario: every page each role reaches from the header, looked at on a 390-pixel phone:
/// `look` fails when the page scrolls sideways, a table cell is narrower than three
/// characters, or a chart label is under 11 px.
async fn every_page_on_a_phone(app: &TestApp, driver: &Driver, words: &Words, label: &str) {
    let s = Session::open(app, driver, label, words.lang).await;
    let mut seen = std::collections::HashSet::new();
    for user in [
        "resident",
        "clerk",
        "reviewer",
        "senior_reviewer",
        "supervisor",
        "inspector",
        "auditor",
        "admin",
        "facility",
    ] {
        s.sign_in(user).await;
        let mut hrefs = Vec::new();
        for a in s.c.find_all(Locator::Css("header nav a")).await.unwrap() {
            if let Some(href) = a.attr("href").await.unwrap() {
                hrefs.push(href);
            }
        }
        assert!(!hrefs.is_empty(), "{user} has no navigation");
        for href in hrefs {
            if !href.starts_with('/') || !seen.insert((user, href.clone())) {
                continue;
            }
            s.goto(&href).await;
            s.look(&format!("phone-{user}{}", href.replace('/', "-")))
                .await;
        }
        s.sign_out().await;
    }
    s.c.close().await.unwrap();
}

/// Uploads `file` from the checklist item `item` (a CSS selector) and waits for the page.
async fn upload_into(s: &Session<'_>, item: &str, file: &Path) {
    s.c.find(Locator::Css(&format!("{item} input[type=file]")))
        .await
        .unwrap()
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    s.click(&format!(
        "{item} form[enctype='multipart/form-data'] button"
    ))
    .await;
}

/// Scenario: the service counter. A clerk finds the resident by part of the name, files the
/// claim for them on the residents' form, and works its checklist on the case page: a
/// document uploaded ticks its item, rejected with a reason it says so, replaced it ticks
/// again.
async fn clerk_intake_with_documents(app: &TestApp, driver: &Driver, words: &Words, label: &str) {
    let s = Session::open(app, driver, label, words.lang).await;
    s.sign_in("clerk").await;
    s.click("header nav a[href='/intake']").await;
    s.look("intake").await;
    s.fill("q", "张").await;
    s.click("form[action='/intake'] button.primary").await;
    s.look("intake-found").await;
    s.click("#people a.button").await;
    assert!(
        s.text_of("applicant").await.contains("张伟"),
        "{}",
        s.text().await
    );
    s.look("intake-new").await;
    let (admission, discharge, invoice) = if words.lang == "en" {
        ("2019-07-02", "2019-07-08", "PY2026-DESK-EN")
    } else {
        ("2019-06-02", "2019-06-08", "PY2026-DESK-ZH")
    };
    s.tick("input[name=family][value=trauma]").await;
    s.fill("facility_code", "H330326001").await;
    s.set_value("admission_date", admission).await;
    s.set_value("discharge_date", discharge).await;
    s.fill("diagnosis_code", "S52.501").await;
    s.fill("invoice_numbers", invoice).await;
    s.fill("total", "8000").await;
    s.fill("policy_scope", "6000").await;
    s.fill("self_paid", "500").await;
    s.fill("third_party_declaration", "在家中跌倒，无第三方责任")
        .await;
    s.click("form[action='/intake/new'] button.primary").await;
    let path = s.path().await;
    assert!(path.starts_with("/cases/"), "{path}: {}", s.text().await);
    assert!(
        s.text_of("claimant").await.contains("张伟"),
        "{}",
        s.text().await
    );
    s.look("intake-case").await;
    let item = "#checklist li[data-kind='invoice']";
    assert!(
        s.has(&format!("{item} .badge-missing")).await,
        "{}",
        s.text().await
    );
    let tmp = tempfile::tempdir().unwrap();
    let pdf = pdf_file(tmp.path());
    upload_into(&s, item, &pdf).await;
    assert!(
        s.has(&format!("{item} .badge-present")).await,
        "{}",
        s.text().await
    );
    let reason = if words.lang == "en" {
        "The scan is blurred"
    } else {
        "照片模糊，请重新拍摄"
    };
    s.c.find(Locator::Css(&format!("{item} input[name=reason]")))
        .await
        .unwrap()
        .send_keys(reason)
        .await
        .unwrap();
    s.click(&format!("{item} form.reject-doc button")).await;
    assert!(
        s.has(&format!("{item} .badge-rejected")).await,
        "{}",
        s.text().await
    );
    let shown =
        s.c.find(Locator::Css(item))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    assert!(shown.contains(reason), "{shown}");
    s.look("intake-rejected").await;
    upload_into(&s, item, &pdf).await;
    assert!(
        s.has(&format!("{item} .badge-present")).await,
        "{}",
        s.text().await
    );
    s.look("intake-replaced").await;
    s.sign_out().await;
    s.c.close().await.unwrap();
}

/// Whether the element with this id is shown (not hidden by the stylesheet).
async fn shown(s: &Session<'_>, id: &str) -> bool {
    s.c.find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .is_displayed()
        .await
        .unwrap()
}

/// Scenario: the resident's round trip and the decision form. A reviewer opens a document
/// in the viewer beside the case, then returns the claim for named documents from the one
/// decision form (the document list shows only for that action); the resident sees exactly
/// those, uploads them in place and resubmits; at sign-off the supervisor's form shows the
/// amount for a partial approval and the reason for a rejection, keeps the input when a
/// field is missing, asks to confirm the rejection, goes back from it, and approves.
async fn decision_form_and_round_trip(app: &TestApp, driver: &Driver, words: &Words, label: &str) {
    let resident = app.login("resident").await;
    let stay = if words.lang == "en" { 15 } else { 14 };
    let (status, body) = app
        .post(
            &resident,
            "/api/claims",
            crate::common::nth_stay(crate::common::trauma_claim(), stay),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (claim_id, case_id) = (
        body["claim_id"].as_i64().unwrap(),
        body["case_id"].as_i64().unwrap(),
    );
    for kind in crate::common::TRAUMA_DOCUMENTS {
        let (status, _) = app
            .upload(&resident, claim_id, kind, "scan.pdf", crate::common::pdf())
            .await;
        assert_eq!(status, 201);
    }
    let clerk = app.login("clerk").await;
    assert_eq!(app.act(&clerk, case_id, "accept", "").await.0, 200);

    let s = Session::open(app, driver, label, words.lang).await;
    s.sign_in("reviewer").await;
    s.goto(&format!("/cases/{case_id}")).await;
    // The viewer beside the case: the invoice framed, the others a click away.
    s.click("#checklist li[data-kind='invoice'] a.view-doc")
        .await;
    assert!(
        s.has("#viewer iframe#viewer-document").await,
        "{}",
        s.text().await
    );
    assert!(s.has("#viewer-next").await);
    s.look("case-viewer").await;
    s.click("#viewer-next").await;
    assert!(s.has("#viewer-previous").await);
    // The documents to ask for show only once a return is chosen.
    assert!(
        !shown(&s, "missing-invoice").await,
        "hidden until a return is chosen"
    );
    s.tick("#act-return_for_documents").await;
    assert!(shown(&s, "missing-invoice").await, "shown for a return");
    s.tick("#missing-invoice").await;
    s.fill(
        "decision-extra",
        if words.lang == "en" {
            "Photo of the injury"
        } else {
            "外伤照片"
        },
    )
    .await;
    s.fill(
        "decision-comment",
        if words.lang == "en" {
            "The invoice is unreadable"
        } else {
            "发票看不清"
        },
    )
    .await;
    s.look("case-decision-return").await;
    s.click("#decide").await;
    assert!(s.has(".flash.ok").await, "{}", s.text().await);
    s.sign_out().await;

    // The resident sees exactly what was asked for, uploads it in place and resubmits.
    s.sign_in("resident").await;
    s.goto(&format!("/my/claims/{claim_id}")).await;
    let asked = s.text_of("documents").await;
    let extra = if words.lang == "en" {
        "Photo of the injury"
    } else {
        "外伤照片"
    };
    assert!(asked.contains(extra), "{asked}");
    let forms =
        s.c.find_all(Locator::Css("#documents form.upload"))
            .await
            .unwrap();
    assert_eq!(
        forms.len(),
        2,
        "the invoice and the photo, nothing else:\n{asked}"
    );
    s.look("claim-returned").await;
    let tmp = tempfile::tempdir().unwrap();
    let pdf = pdf_file(tmp.path());
    for _ in 0..2 {
        let input =
            s.c.find(Locator::Css("#documents form.upload input[type=file]"))
                .await
                .unwrap();
        input.send_keys(&pdf.display().to_string()).await.unwrap();
        s.click("#documents form.upload button[type=submit]").await;
    }
    s.click("form[action$='/resubmit'] button[type=submit]")
        .await;
    assert!(!s.has("#documents form.upload").await, "{}", s.text().await);
    s.look("claim-resubmitted").await;
    s.sign_out().await;

    for (user, action) in [
        ("reviewer", "recommend_approve"),
        ("senior_reviewer", "approve"),
    ] {
        let token = app.login(user).await;
        let (status, body) = app.act(&token, case_id, action, "").await;
        assert_eq!(status, 200, "{user} {action}: {body}");
    }

    // Sign-off: each action's fields, a missing amount said in place, a confirmed rejection.
    s.sign_in("supervisor").await;
    s.goto(&format!("/cases/{case_id}")).await;
    assert!(!shown(&s, "decision-amount").await && !shown(&s, "decision-reason").await);
    s.tick("#act-approve_partially").await;
    assert!(shown(&s, "decision-amount").await && !shown(&s, "decision-reason").await);
    let why = if words.lang == "en" {
        "Part of the bill is outside the policy"
    } else {
        "部分费用不在政策范围"
    };
    s.fill("decision-comment", why).await;
    s.click("#decide").await;
    assert!(s.has("#amount-error").await, "{}", s.text().await);
    assert_eq!(
        s.c.find(Locator::Id("decision-comment"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(why),
        "the comment is kept"
    );
    s.look("case-decision-refused").await;
    s.tick("#act-reject").await;
    assert!(shown(&s, "decision-reason").await && !shown(&s, "decision-amount").await);
    s.c.find(Locator::Css(
        "#decision-reason option[value='outside_policy_scope']",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    s.click("#decide").await;
    s.says(
        "confirm-action",
        words.lang,
        "Sign off: reject",
        "签发：不予支付",
    )
    .await;
    s.look("case-confirm").await;
    s.click("#confirm-back").await;
    assert!(
        s.c.find(Locator::Id("act-reject"))
            .await
            .unwrap()
            .is_selected()
            .await
            .unwrap(),
        "back at the form with the rejection still chosen"
    );
    assert_eq!(
        app.event_actions(case_id).await.last().map(String::as_str),
        Some("approve"),
        "nothing was taken"
    );
    act_on_page(&s, "approve", "").await;
    s.sign_out().await;
    s.sign_in("resident").await;
    s.goto(&format!("/my/claims/{claim_id}")).await;
    assert!(
        s.text().await.contains(words.approved),
        "{}",
        s.text().await
    );
    s.c.close().await.unwrap();
}

/// Scenario: the facility's own desk. The demo facility's account states its case on a
/// violation with an attachment, then reports its rectification with evidence after the
/// sanction, and appeals a screening finding on a claim filed at it with a document; each
/// from its own pages, which show only what the agency disclosed.
async fn facility_states_rectifies_and_appeals(
    app: &TestApp,
    driver: &Driver,
    words: &Words,
    label: &str,
) {
    let (username, code, _) = claimflow::cli::demo::DEMO_FACILITY_USER;
    let (inspector, supervisor) = (app.login("inspector").await, app.login("supervisor").await);
    let (status, v) = app
        .post(&inspector, "/api/violations", json!({"facility_code": code, "type_code": "phantom_bed", "amount_fen": 1_500_000, "claim_ids": [], "department": "骨科", "description": "夜查：床位无人仍计费"}))
        .await;
    assert_eq!(status, 201, "{v}");
    let (violation_id, case_id) = (
        v["violation"]["id"].as_i64().unwrap(),
        v["case_id"].as_i64().unwrap(),
    );
    for (token, action) in [
        (&inspector, "submit_for_review"),
        (&supervisor, "request_statement"),
    ] {
        assert_eq!(app.act(token, case_id, action, "").await.0, 200, "{action}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let pdf = pdf_file(tmp.path());
    let s = Session::open(app, driver, label, words.lang).await;
    s.sign_in(username).await;
    assert_eq!(s.path().await, "/facility");
    s.look("facility-desk").await;
    s.click(&format!("a.task-link[href='/facility/cases/{case_id}']"))
        .await;
    assert!(s.has("#your-turn").await, "{}", s.text().await);
    s.look("facility-statement").await;
    // The statement with an attachment; without words it is refused in place.
    s.choose_file("facility-file", &pdf).await;
    s.click("#add-file").await;
    assert!(s.has("#own-files li").await, "{}", s.text().await);
    s.click("#submit-submit_statement").await;
    assert!(
        s.has("#form-error").await || s.has("#comment-error").await,
        "{}",
        s.text().await
    );
    let statement = if words.lang == "en" {
        "The night nurse's log shows the patients were in"
    } else {
        "夜班护理记录可证明患者在院"
    };
    s.fill("comment-submit_statement", statement).await;
    s.click("#submit-submit_statement").await;
    assert!(
        s.has(".flash.ok").await && !s.has("#your-turn").await,
        "{}",
        s.text().await
    );
    assert!(s.text_of("steps").await.contains(statement));
    s.look("facility-statement-done").await;
    // The sanction: the facility reports its rectification with evidence.
    let (_, current) = app
        .get(&supervisor, &format!("/api/violations/{violation_id}"))
        .await;
    let (status, res) = app
        .post(&supervisor, &format!("/api/violations/{violation_id}/sanction"), json!({"expected_version": current["version"], "fine_fen": 1_500_000, "rectification_due": "2031-03-31"}))
        .await;
    assert_eq!(status, 200, "{res}");
    s.goto(&format!("/facility/cases/{case_id}")).await;
    assert_eq!(s.text_of("rectification-due").await.trim(), "2031-03-31");
    s.look("facility-rectification").await;
    s.choose_file("facility-file", &pdf).await;
    s.click("#add-file").await;
    s.fill(
        "comment-submit_rectification",
        if words.lang == "en" {
            "Idle beds removed; ward rounds logged"
        } else {
            "已撤除闲置床位，完善查房登记"
        },
    )
    .await;
    s.click("#submit-submit_rectification").await;
    assert!(
        s.has(".flash.ok").await && !s.has("#your-turn").await,
        "{}",
        s.text().await
    );
    // A screening appeal on a claim filed at the facility.
    let resident = app.login("resident2").await;
    let month = if words.lang == "en" { "04" } else { "02" };
    let stay = |facility: &str, from: &str, to: &str, invoice: &str| {
        let mut body = crate::common::trauma_claim();
        body["facility_code"] = json!(facility);
        body["admission_date"] = json!(format!("2019-{month}-{from}"));
        body["discharge_date"] = json!(format!("2019-{month}-{to}"));
        body["invoice_numbers"] = json!([format!("FAC-{month}-{invoice}")]);
        body
    };
    assert_eq!(
        app.post(
            &resident,
            "/api/claims",
            stay("H330326001", "02", "10", "1")
        )
        .await
        .0,
        201
    );
    let (status, body) = app
        .post(&resident, "/api/claims", stay(code, "08", "12", "2"))
        .await;
    assert_eq!(status, 201, "{body}");
    let (claim_id, appeal_case) = (
        body["claim_id"].as_i64().unwrap(),
        body["case_id"].as_i64().unwrap(),
    );
    for kind in crate::common::TRAUMA_DOCUMENTS {
        assert_eq!(
            app.upload(&resident, claim_id, kind, "scan.pdf", crate::common::pdf())
                .await
                .0,
            201
        );
    }
    let (reviewer, senior) = (
        app.login("reviewer").await,
        app.login("senior_reviewer").await,
    );
    assert_eq!(
        app.act(&reviewer, appeal_case, "forward", "住院时间重叠")
            .await
            .0,
        200
    );
    let (status, res) = app.act(&senior, appeal_case, "notify_facility", "").await;
    assert_eq!(status, 200, "{res}");
    s.goto("/facility").await;
    s.click(&format!(
        "a.task-link[href='/facility/cases/{appeal_case}']"
    ))
    .await;
    s.says(
        "rules",
        words.lang,
        "Two inpatient stays of one person overlap",
        "同一参保人的两次住院时间重叠",
    )
    .await;
    s.look("facility-appeal").await;
    s.choose_file("facility-file", &pdf).await;
    s.click("#add-file").await;
    s.fill(
        "comment-submit_appeal",
        if words.lang == "en" {
            "The patient was transferred to us on the 8th"
        } else {
            "患者于当日转入我院，两院记录可核对"
        },
    )
    .await;
    s.click("#submit-submit_appeal").await;
    assert!(
        s.has(".flash.ok").await && !s.has("#your-turn").await,
        "{}",
        s.text().await
    );
    s.look("facility-appeal-done").await;
    s.sign_out().await;
    s.c.close().await.unwrap();
}

/// Scenario: the resident's inbox after their claims were decided: the header's count, an
/// item that opens its claim, and mark-all-as-read.
async fn inbox_in_the_header(app: &TestApp, driver: &Driver, words: &Words, label: &str) {
    let s = Session::open(app, driver, label, words.lang).await;
    s.sign_in("resident").await;
    assert!(s.has("#inbox-count").await, "{}", s.text().await);
    s.click("#inbox-link").await;
    assert_eq!(s.path().await, "/inbox");
    s.says("inbox-items", words.lang, "Your claim", "您的报销申请")
        .await;
    s.look("inbox").await;
    s.click("#inbox-items li.unread a").await;
    assert!(
        s.path().await.starts_with("/my/claims/"),
        "{}",
        s.path().await
    );
    s.click("#inbox-link").await;
    s.click("#read-all button[type=submit]").await;
    assert!(!s.has("#inbox-count").await, "nothing unread");
    assert!(!s.has("#inbox-items li.unread").await);
    s.look("inbox-read").await;
    s.c.close().await.unwrap();
}

/// Scenario: a whistleblower report triaged by an inspector, linked to the violation it led
/// to, confirmed by a supervisor, and its reward paid, all in the browser.
async fn report_triaged_to_reward(app: &TestApp, driver: &Driver, words: &Words, label: &str) {
    let (status, filed) = app
        .public(reqwest::Method::POST, "/api/public/reports", Some(json!({"facility_code": "H330326020", "description": "该院骨科长期挂床住院，夜间病房基本无人，但每日计费"})))
        .await;
    assert_eq!(status, 201, "{filed}");
    let report_id = filed["report_id"].as_i64().unwrap();
    let (violation_id, _) = crate::common::violation_at_decision(app, "H330326020").await;
    crate::common::sanction_and_repay(app, violation_id, 6_000_000).await;
    let s = Session::open(app, driver, label, words.lang).await;
    s.sign_in("inspector").await;
    s.click("header nav a[href='/reports']").await;
    s.look("reports").await;
    s.click(&format!("a[href='/reports/{report_id}']")).await;
    s.look("report-case").await;
    act_on_page(&s, "take_up", "").await;
    // Linking without a choice is refused beside the field, in the page's language.
    s.click("form[action$='/violations'] button[type=submit]")
        .await;
    s.says(
        "violation_id-error",
        words.lang,
        "choose a violation",
        "请选择一个违规案件",
    )
    .await;
    s.c.find(Locator::Css(&format!(
        "#violation_id option[value='{violation_id}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    s.click("form[action$='/violations'] button[type=submit]")
        .await;
    assert!(
        s.has(&format!("#linked a[href='/violations/{violation_id}']"))
            .await,
        "{}",
        s.text().await
    );
    act_on_page(&s, "report_findings", "线索属实，已立案处理").await;
    s.sign_out().await;

    s.sign_in("supervisor").await;
    s.goto(&format!("/reports/{report_id}")).await;
    act_on_page(&s, "confirm", "查实").await;
    let facts = s.text_of("reward-facts").await;
    assert!(
        facts.contains("60,000.00") && facts.contains("3,000.00"),
        "{facts}"
    );
    s.fill("amount", "5000").await;
    s.click("form[action$='/reward'] button.primary").await;
    s.says(
        "amount-error",
        words.lang,
        "3,000.00 yuan is left",
        "尚余 3,000.00 元",
    )
    .await;
    s.look("report-reward-refused").await;
    s.fill("amount", "3,000").await;
    s.click("form[action$='/reward'] button.primary").await;
    assert!(s.has(".flash.ok").await, "{}", s.text().await);
    assert_eq!(s.text_of("reward-left").await.trim(), "0.00");
    s.look("report-rewarded").await;
    s.c.close().await.unwrap();
}

async fn scenarios(backend: Backend) {
    let Some(app) = spawn_without_cases(backend).await else {
        eprintln!("skipped: set CLAIMFLOW_TEST_POSTGRES_URL to run on PostgreSQL");
        return;
    };
    let driver = Driver::start().await;
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    claim_to_decision(&app, &driver, &ZH, &format!("{name}-zh")).await;
    inbox_in_the_header(&app, &driver, &ZH, &format!("{name}-zh-inbox")).await;
    claim_to_decision(&app, &driver, &EN, &format!("{name}-en")).await;
    inbox_in_the_header(&app, &driver, &EN, &format!("{name}-en-inbox")).await;
    violation_to_sanction(&app, &driver, &ZH, &format!("{name}-zh")).await;
    violation_to_sanction(&app, &driver, &EN, &format!("{name}-en")).await;
    pages_by_role(&app, &driver, &ZH, &format!("{name}-zh")).await;
    pages_by_role(&app, &driver, &EN, &format!("{name}-en")).await;
    report_triaged_to_reward(&app, &driver, &ZH, &format!("{name}-zh-report")).await;
    report_triaged_to_reward(&app, &driver, &EN, &format!("{name}-en-report")).await;
    a_stale_page_is_explained(&app, &driver, &format!("{name}-stale")).await;
    every_page_on_a_phone(&app, &driver, &ZH, &format!("{name}-zh-phone")).await;
    supervisor_searches_and_reassigns(&app, &driver, &ZH, &format!("{name}-zh-desk")).await;
    supervisor_searches_and_reassigns(&app, &driver, &EN, &format!("{name}-en-desk")).await;
    admin_disables_a_user(&app, &driver, &ZH, &format!("{name}-zh-disable")).await;
    admin_disables_a_user(&app, &driver, &EN, &format!("{name}-en-disable")).await;
    clerk_intake_with_documents(&app, &driver, &ZH, &format!("{name}-zh-intake")).await;
    clerk_intake_with_documents(&app, &driver, &EN, &format!("{name}-en-intake")).await;
    decision_form_and_round_trip(&app, &driver, &ZH, &format!("{name}-zh-decision")).await;
    decision_form_and_round_trip(&app, &driver, &EN, &format!("{name}-en-decision")).await;
    facility_states_rectifies_and_appeals(&app, &driver, &ZH, &format!("{name}-zh-facility")).await;
    facility_states_rectifies_and_appeals(&app, &driver, &EN, &format!("{name}-en-facility")).await;
    supervisor_forecasts_a_draft(&app, &driver, &ZH, &format!("{name}-zh-whatif")).await;
    supervisor_forecasts_a_draft(&app, &driver, &EN, &format!("{name}-en-whatif")).await;
}

/// Scenario: a supervisor uploads a draft schedule that fails the check and sees its error
/// with the line, uploads one that passes, replays it over 2019 and reads the outcome with
/// its charts; the run stays listed.
async fn supervisor_forecasts_a_draft(app: &TestApp, driver: &Driver, words: &Words, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let baseline = std::fs::read_to_string("policies/pingyang-2019.toml").unwrap();
    let broken = dir.path().join("draft-broken.toml");
    std::fs::write(
        &broken,
        baseline.replace(r#"ratio = "0.70""#, r#"ratio = "1.70""#),
    )
    .unwrap();
    let draft = dir.path().join("draft.toml");
    std::fs::write(
        &draft,
        baseline.replace(
            r#"{ id = "county", deductible = "900.00""#,
            r#"{ id = "county", deductible = "1100.00""#,
        ),
    )
    .unwrap();
    let s = Session::open(app, driver, label, words.lang).await;
    s.sign_in("supervisor").await;
    s.goto("/whatif").await;
    s.look("whatif").await;
    s.choose_file("draft-file", &broken).await;
    s.click("form[action='/whatif'] button[type=submit]").await;
    let errors = s.text_of("draft-errors").await;
    assert!(
        errors.contains("draft-broken.toml:"),
        "the file and line: {errors}"
    );
    s.look("whatif-errors").await;
    s.choose_file("draft-file", &draft).await;
    s.click("form[action='/whatif'] button[type=submit]").await;
    let run = s.path().await;
    assert!(run.starts_with("/whatif/"), "{run}");
    s.set_value("wi-from", "2019-01-01").await;
    s.set_value("wi-to", "2019-12-31").await;
    s.click("form[action$='/run'] button[type=submit]").await;
    for _ in 0..200 {
        if !s.has("#run-status[data-status='running']").await {
            break;
        }
        s.click("#refresh-progress").await;
    }
    assert!(
        s.has("#run-status[data-status='done']").await,
        "{}",
        s.text().await
    );
    assert!(s.has("#run-result svg").await, "the layer chart");
    s.says("layers-h", words.lang, "Fund cost by layer", "各层基金支出")
        .await;
    s.look("whatif-run").await;
    s.goto("/whatif").await;
    assert!(s.has(&format!("a[href='{run}']")).await, "kept to compare");
    s.c.close().await.unwrap();
}

fn scenarios_in_chromium(backend: Backend) {
    crate::common::block_on(scenarios(backend));
}
