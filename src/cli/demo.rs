//! Demo data: a region tree, one user per role, and cases spread over every stage of the
//! three claim workflows, all created through the same service functions as real use.
use crate::auth::{hash_password, Principal};
use crate::domain::claim::{self as claim_domain, ClaimInput, EmergencyExplanation, FamilyFacts};
use crate::domain::roles::Role;
use crate::error::AppResult;
use crate::service::cases::{act, ActionRequest};
use crate::service::documents::{add_document, Upload};
use crate::service::intake::{submit, Retries};
use crate::service::Env;
use crate::store::{regions, users, DbConn};
use rand::distr::{Alphanumeric, SampleString};
use std::path::Path;

pub const DEMO_USERS: [(&str, Role, &str, &str); 11] = [
    ("resident", Role::Resident, "330326", "张伟"),
    ("resident2", Role::Resident, "330327", "李娜"),
    ("clerk", Role::Clerk, "330326", "王芳（平阳窗口）"),
    ("reviewer", Role::Reviewer, "330300", "刘洋（初审）"),
    (
        "senior_reviewer",
        Role::SeniorReviewer,
        "330300",
        "陈静（复审）",
    ),
    ("supervisor", Role::Supervisor, "330300", "赵强（科长）"),
    ("director", Role::Director, "330300", "钱进（中心主任）"),
    ("inspector", Role::Inspector, "330300", "孙磊（稽核）"),
    ("auditor", Role::Auditor, "330000", "周敏（审计）"),
    ("admin", Role::Admin, "330000", "系统管理员"),
    // The medical-insurance office of the suspended demo facility (DEMO_FACILITY_USER).
    ("facility", Role::FacilityAdmin, "330326", "康宁医院医保办"),
];

/// The facility the demo's facility account speaks for: 平阳康宁民营医院, suspended in 2019,
/// with a violation waiting for its statement in the full demo.
pub const DEMO_FACILITY_USER: (&str, &str, &str) = (
    "facility",
    "H330326020",
    "yibao@kangning.demo.claimflow.local",
);

/// A minimal valid PDF, standing in for a scanned document.
pub const DEMO_PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/MediaBox[0 0 200 200]/Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

pub struct DemoLogin {
    pub username: String,
    pub role: Role,
    pub password: String,
}

pub fn seed_regions(conn: &mut DbConn) -> anyhow::Result<()> {
    for (code, zh, en, parent) in [
        ("330000", "浙江省", "Zhejiang", None),
        ("330300", "温州市", "Wenzhou", Some("330000")),
        ("330326", "平阳县", "Pingyang County", Some("330300")),
        ("330327", "苍南县", "Cangnan County", Some("330300")),
        ("310000", "上海市", "Shanghai", None),
        (
            "310100",
            "上海市市辖区",
            "Shanghai urban districts",
            Some("310000"),
        ),
    ] {
        if regions::get(conn, code)?.is_none() {
            regions::add(conn, code, zh, en, parent)?;
        }
    }
    Ok(())
}

/// Seeds everything; refuses when users already exist so that it never mixes with real data.
pub fn seed(
    conn: &mut DbConn,
    env: Env<'_>,
    data_dir: &Path,
    password: Option<&str>,
) -> anyhow::Result<Vec<DemoLogin>> {
    let logins = seed_people(conn, password)?;
    seed_cases(conn, env, data_dir).map_err(|e| anyhow::anyhow!("seeding demo cases: {e}"))?;
    Ok(logins)
}

/// Regions, one user per role, insured persons and facilities, but no cases: a world where
/// "next case" can only find what a test put there.
pub fn seed_people(conn: &mut DbConn, password: Option<&str>) -> anyhow::Result<Vec<DemoLogin>> {
    anyhow::ensure!(
        users::count(conn)? == 0,
        "the database already has users; seed-demo only runs on an empty database"
    );
    seed_regions(conn)?;
    let now = crate::store::now_ms();
    let mut logins = Vec::new();
    for (username, role, region, name) in DEMO_USERS {
        let password = password.map_or_else(
            || Alphanumeric.sample_string(&mut rand::rng(), 12),
            str::to_string,
        );
        let hash = hash_password(&password)?;
        let email = format!("{username}@demo.claimflow.local");
        users::insert(
            conn,
            &users::NewUser {
                username,
                password_hash: &hash,
                display_name: name,
                region_code: region,
                org: "温州市医疗保障局",
                email: Some(&email),
                lang: "zh-CN",
                created_at: now,
            },
            &[role],
        )?;
        logins.push(DemoLogin {
            username: username.into(),
            role,
            password,
        });
    }
    seed_registries(conn)?;
    let (username, code, address) = DEMO_FACILITY_USER;
    if let Some(user) = users::find_by_username(conn, username)? {
        crate::store::facility_side::link(conn, user.id, &[code.to_string()])?;
        crate::store::facility_side::set_contact_email(conn, code, Some(address))?;
    }
    Ok(logins)
}

/// Demo facilities: (code, name, level, region, ownership).
pub const DEMO_FACILITIES: [(&str, &str, &str, &str, &str); 5] = [
    (
        "H330326001",
        "平阳县昆阳镇卫生院",
        "township",
        "330326",
        "public",
    ),
    ("H330326010", "平阳县人民医院", "county", "330326", "public"),
    (
        "H330326020",
        "平阳康宁民营医院",
        "county",
        "330326",
        "private",
    ),
    (
        "H330300002",
        "温州医科大学附属第二医院",
        "city",
        "330300",
        "public",
    ),
    (
        "H310000003",
        "复旦大学附属中山医院",
        "city",
        "310100",
        "public",
    ),
];

/// Insured persons behind the demo residents, with 2019 and 2026 enrolments.
pub const DEMO_PERSONS: [(&str, &str, &str, &str); 2] = [
    ("resident", "33032619800505001", "张伟", "330326"),
    ("resident2", "33032719850612002", "李娜", "330327"),
];

fn seed_registries(conn: &mut DbConn) -> anyhow::Result<()> {
    use crate::domain::person::IdNumber;
    use crate::store::{facilities, persons};
    for (code, name, level, region, ownership) in DEMO_FACILITIES {
        facilities::insert(
            conn,
            &facilities::Facility {
                code: code.into(),
                name: name.into(),
                level: level.into(),
                region_code: region.into(),
                ownership: ownership.into(),
            },
        )?;
        facilities::add_status(
            conn,
            code,
            "designated",
            "2010-01-01",
            "协议定点",
            crate::store::now_ms(),
        )?;
    }
    facilities::add_status(
        conn,
        "H330326020",
        "suspended",
        "2019-06-01",
        "挂床住院，暂停医保服务6个月",
        crate::store::now_ms(),
    )?;
    facilities::add_status(
        conn,
        "H330326020",
        "designated",
        "2019-12-01",
        "整改完成，恢复",
        crate::store::now_ms(),
    )?;
    for (username, first17, name, region) in DEMO_PERSONS {
        let id = IdNumber::parse(&IdNumber::with_check_digit(&first17[..17]))
            .map_err(|e| anyhow::anyhow!(e))?;
        let user = users::find_by_username(conn, username)?;
        let person_id = persons::insert(
            conn,
            &persons::NewPerson {
                id_number: id.as_str().into(),
                name: name.into(),
                sex: id.sex().to_string(),
                birth_date: id.birth_date().to_string(),
                household: format!("{region}-户{}", &first17[14..17]),
                region_code: region.into(),
                email: Some(format!("{username}@demo.claimflow.local")),
                death_date: None,
                user_id: user.map(|u| u.id),
            },
        )?;
        for year in [2019, 2026] {
            persons::insert_enrolment(
                conn,
                &persons::NewEnrolment {
                    person_id,
                    coverage_year: year,
                    period_start: format!("{year}-01-01"),
                    period_end: format!("{year}-12-31"),
                    tier: 1,
                    enrolled_on: format!("{}-11-15", year - 1),
                    channel: "central".into(),
                    special_groups: "[]".into(),
                    disabled_grade: None,
                },
            )?;
        }
    }
    // Enrolled mid-year on 20 August 2019: the 90-day wait covers a September stay, so the
    // demo has a claim whose eligibility finding blocks payment until sign-off weighs it.
    let id = IdNumber::parse(&IdNumber::with_check_digit(&WAITING_PERSON.0[..17]))
        .map_err(|e| anyhow::anyhow!(e))?;
    let person_id = persons::insert(
        conn,
        &persons::NewPerson {
            id_number: id.as_str().into(),
            name: WAITING_PERSON.1.into(),
            sex: id.sex().to_string(),
            birth_date: id.birth_date().to_string(),
            household: "330326-户903".into(),
            region_code: "330326".into(),
            email: None,
            death_date: None,
            user_id: None,
        },
    )?;
    persons::insert_enrolment(
        conn,
        &persons::NewEnrolment {
            person_id,
            coverage_year: 2019,
            period_start: "2019-01-01".into(),
            period_end: "2019-12-31".into(),
            tier: 1,
            enrolled_on: "2019-08-20".into(),
            channel: "mid_year".into(),
            special_groups: "[]".into(),
            disabled_grade: None,
        },
    )?;
    Ok(())
}

/// A person without an account whose claim the clerk files inside the waiting period.
const WAITING_PERSON: (&str, &str) = ("33032619900101003", "王磊");

fn who(conn: &mut DbConn, username: &str) -> AppResult<Principal> {
    let user = users::find_by_username(conn, username)?
        .ok_or_else(|| crate::error::AppError::NotFound(username.into()))?;
    crate::service::principal(conn, user)
}

fn demo_claim(family: &str, n: i64) -> ClaimInput {
    let total = 800_000 + n * 137_050;
    // Three-night stays five days apart from 10 September to 20 December, rotating over the
    // four designated facilities (each again after 20 days) and over four diagnosis groups:
    // the demo resident's own claims never overlap, and never look like a stay split across
    // facilities, a readmission or frequent short stays to the screening rules; they stay
    // clear of the dates the examples and tests use.
    let admission = chrono::NaiveDate::from_ymd_opt(2019, 9, 10).unwrap_or_default()
        + chrono::Days::new(5 * (n as u64).saturating_sub(1));
    ClaimInput {
        family: family.into(),
        id_number: None,
        encounter_kind: "inpatient".into(),
        facility_code: ["H330326001", "H330326010", "H330300002", "H310000003"][(n % 4) as usize]
            .into(),
        admission_date: admission.to_string(),
        discharge_date: (admission + chrono::Days::new(3)).to_string(),
        diagnosis_code: match family {
            "trauma" => ["S72.001", "S82.201", "S52.501", "S42.201"],
            "out_of_region" => ["I21.9", "I63.9", "J18.9", "K80.2"],
            _ => ["K35.8", "K80.1", "N20.0", "J44.1"],
        }[((n - 1) % 4) as usize]
            .into(),
        invoice_numbers: vec![format!("DEMO-{family}-{n:04}")],
        total_fen: total,
        policy_scope_fen: total * 4 / 5,
        self_paid_fen: total / 10,
        facts: FamilyFacts {
            filed: family == "out_of_region" && n % 2 == 0,
            filing_number: (family == "out_of_region" && n % 2 == 0)
                .then(|| format!("BA2026{n:05}")),
            emergency: (family != "trauma" && n % 2 == 1).then(|| EmergencyExplanation {
                time: "2026-03-02 22:10".into(),
                place: "上海市浦东新区".into(),
                cause: "突发胸痛，就近急诊".into(),
                witness: "张敏".into(),
                witness_contact: "13800000000，平阳县昆阳镇".into(),
            }),
            ..FamilyFacts::default()
        },
        itemised_lines: vec![],
        attending_doctor: None,
    }
}

/// Walks each family's cases to a spread of stages: intake, awaiting documents, initial and
/// second review, sign-off, and each outcome.
fn seed_cases(conn: &mut DbConn, env: Env<'_>, data_dir: &Path) -> AppResult<()> {
    let defs = env.defs;
    let resident = who(conn, "resident")?;
    let clerk = who(conn, "clerk")?;
    let reviewer = who(conn, "reviewer")?;
    let senior = who(conn, "senior_reviewer")?;
    let supervisor = who(conn, "supervisor")?;
    let paths: [&[(&Principal, &str)]; 7] = [
        &[],
        &[(&clerk, "return_for_documents")],
        &[(&clerk, "accept")],
        &[(&clerk, "accept"), (&reviewer, "recommend_approve")],
        &[
            (&clerk, "accept"),
            (&reviewer, "recommend_approve"),
            (&senior, "approve"),
        ],
        &[
            (&clerk, "accept"),
            (&reviewer, "recommend_approve"),
            (&senior, "approve"),
            (&supervisor, "approve"),
        ],
        &[
            (&clerk, "accept"),
            (&reviewer, "recommend_reject"),
            (&senior, "reject"),
        ],
    ];
    let mut n = 0;
    for family in ["trauma", "out_of_region", "unreferred_transfer"] {
        for path in paths {
            n += 1;
            let now = crate::store::now_ms();
            let submitted = submit(
                conn,
                env,
                &resident,
                &demo_claim(family, n),
                Retries::NONE,
                now,
            )?;
            let wf = defs
                .latest(family)
                .ok_or_else(|| crate::error::AppError::NotFound(family.into()))?;
            let record = crate::store::claims::get(conn, submitted.claim_id)?
                .ok_or_else(|| crate::error::AppError::NotFound("claim".into()))?;
            let facts = claim_domain::facts(
                &record.claim,
                record.amounts(),
                claim_domain::NO_DOCUMENTS,
                &[],
                &wf,
            );
            // Leave the first case of each family with its documents missing.
            if !path.is_empty() {
                let kinds = wf.required_documents(&facts);
                add_scans(
                    conn,
                    data_dir,
                    &resident,
                    submitted.claim_id,
                    kinds.iter().map(|k| k.as_ref()),
                    now,
                )?;
            }
            let mut version =
                crate::store::cases::get(conn, submitted.case_id)?.map_or(1, |c| c.version);
            for (actor, action) in path {
                let comment = if action.contains("reject") || action.contains("return") {
                    "演示：材料或金额需核实，请补交复查病历"
                } else {
                    ""
                };
                let mut req = ActionRequest::simple(
                    submitted.case_id,
                    action,
                    comment,
                    version,
                    crate::store::now_ms(),
                );
                if action.contains("reject") {
                    req.reason_code = Some("documents_insufficient");
                }
                // A return names what it wants: here a document beyond the checklist.
                let extra = [
                    "出院后复查的门诊病历 / the outpatient record of the follow-up visit"
                        .to_string(),
                ];
                if action.contains("return") {
                    req.extra_documents = &extra;
                }
                version = act(conn, env, actor, &req)?.version;
            }
        }
    }
    seed_gated_claim(conn, env, data_dir, [&clerk, &reviewer, &senior])?;
    seed_violation_awaiting_statement(conn, env, data_dir, &supervisor)
}

/// An inspector's finding at the suspended demo facility, its night-check record disclosed
/// to the facility and an internal memo not, reviewed and sent to the facility for its
/// statement: what the demo's facility account finds waiting.
fn seed_violation_awaiting_statement(
    conn: &mut DbConn,
    env: Env<'_>,
    data_dir: &Path,
    supervisor: &Principal,
) -> AppResult<()> {
    use crate::service::supervision::{self as sup, EvidenceUpload, ViolationInput};
    let inspector = who(conn, "inspector")?;
    let now = crate::store::now_ms();
    let input = ViolationInput {
        inspection_id: None,
        facility_code: DEMO_FACILITY_USER.1.into(),
        type_code: "phantom_bed".into(),
        amount_fen: 3_600_000,
        claim_ids: Vec::new(),
        department: "骨科".into(),
        description: "夜间查房：骨科 12 张在院床位无人，仍按住院计费 / night check: 12 inpatient beds empty, still billed".into(),
        id_number: None,
    };
    let v = sup::add_violation(conn, env.defs, &inspector, &input, now)?;
    for (name, disclose) in [("night-check.pdf", true), ("internal-memo.pdf", false)] {
        let upload = EvidenceUpload {
            violation_id: v.violation.id,
            filename: name,
            bytes: DEMO_PDF,
            now_ms: now,
        };
        let row = sup::add_evidence(conn, data_dir, &inspector, &upload)?;
        if disclose {
            crate::service::facility::set_disclosed(conn, &inspector, row.id, true, now)?;
        }
    }
    for (actor, action) in [
        (&inspector, "submit_for_review"),
        (supervisor, "request_statement"),
    ] {
        let version = crate::store::cases::get(conn, v.case_id)?.map_or(1, |c| c.version);
        act(
            conn,
            env,
            actor,
            &ActionRequest::simple(v.case_id, action, "", version, crate::store::now_ms()),
        )?;
    }
    Ok(())
}

/// Uploads the demo scan as each of these document kinds of a claim.
fn add_scans<'k>(
    conn: &mut DbConn,
    data_dir: &Path,
    by: &Principal,
    claim_id: i64,
    kinds: impl Iterator<Item = &'k str>,
    now_ms: i64,
) -> AppResult<()> {
    for kind in kinds {
        let upload = Upload {
            claim_id,
            kind,
            filename: "scan.pdf",
            bytes: DEMO_PDF,
            now_ms,
            request_id: None,
        };
        add_document(conn, data_dir, by, &upload)?;
    }
    Ok(())
}

/// The clerk files a claim for the person in their waiting period, with every document,
/// and it reaches sign-off, where its error finding shows as blocking payment.
fn seed_gated_claim(
    conn: &mut DbConn,
    env: Env<'_>,
    data_dir: &Path,
    [clerk, reviewer, senior]: [&Principal; 3],
) -> AppResult<()> {
    use crate::domain::person::IdNumber;
    let mut claim = demo_claim("trauma", 1);
    claim.id_number = Some(IdNumber::with_check_digit(&WAITING_PERSON.0[..17]));
    claim.facility_code = "H330326001".into();
    claim.admission_date = "2019-09-25".into();
    claim.discharge_date = "2019-09-27".into();
    claim.invoice_numbers = vec!["DEMO-GATED-0001".into()];
    let now = crate::store::now_ms();
    let submitted = submit(conn, env, clerk, &claim, Retries::NONE, now)?;
    let wf = env
        .defs
        .latest("trauma")
        .ok_or_else(|| crate::error::AppError::NotFound("trauma".into()))?;
    let kinds = wf.required_documents.iter().map(String::as_str);
    add_scans(conn, data_dir, clerk, submitted.claim_id, kinds, now)?;
    for (actor, action) in [
        (clerk, "accept"),
        (reviewer, "recommend_approve"),
        (senior, "approve"),
    ] {
        let version = crate::store::cases::get(conn, submitted.case_id)?.map_or(1, |c| c.version);
        let req = ActionRequest::simple(
            submitted.case_id,
            action,
            "",
            version,
            crate::store::now_ms(),
        );
        act(conn, env, actor, &req)?;
    }
    Ok(())
}
