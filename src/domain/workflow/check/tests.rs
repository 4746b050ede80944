//! The workflow checker on a small valid file and on each way of breaking it.
use super::*;

const GOOD: &str = include_str!("fixtures/mini.toml");

fn errors(src: &str) -> Vec<CheckError> {
    load_workflow("t.toml", src).expect_err("should fail")
}

#[test]
fn loads_a_good_file() {
    let wf = load_workflow("t.toml", GOOD).unwrap();
    assert_eq!(wf.stages.len(), 2);
    assert_eq!(wf.stages[1].distinct_from, vec![0]);
}

#[test]
fn reports_schema_errors_with_line() {
    let e = errors(&GOOD.replace("role = \"supervisor\"", "role = \"supervisor\"\ncolour = 1"));
    assert_eq!(e[0].line, 28, "{e:?}");
    assert!(e[0].message.contains("colour"), "{e:?}");
}

#[test]
fn reports_unknown_names() {
    let e = errors(&GOOD.replace("to = \"review\"", "to = \"revue\""));
    assert!(
        e[0].message.contains("unknown stage `revue`") && e[0].line == 22,
        "{e:?}"
    );
    let e = errors(&GOOD.replace("roles = [\"supervisor\"]", "roles = [\"boss\"]"));
    assert!(e[0].message.contains("unknown role `boss`"), "{e:?}");
    let e = errors(&GOOD.replace("[\"invoice\"]", "[\"receipt\"]"));
    assert!(
        e[0].message.contains("unknown document kind `receipt`") && e[0].line == 7,
        "{e:?}"
    );
}

#[test]
fn reports_bad_guards_at_their_column() {
    let e = errors(&GOOD.replace(
        "guard = \"blocking_findings == 0\"",
        "guard = \"amount > 3\"",
    ));
    assert!(
        e[0].message.contains("unknown fact `amount`") && e[0].line == 34 && e[0].column == 12,
        "{e:?}"
    );
}

#[test]
fn reports_graph_errors() {
    let orphan = format!("{GOOD}\n[[stages]]\nid = \"orphan\"\ntitle = {{ zh = \"孤\", en = \"Orphan\" }}\nrole = \"clerk\"\n  [[stages.actions]]\n  name = \"x\"\n  title = {{ zh = \"x\", en = \"x\" }}\n  roles = [\"clerk\"]\n  to = \"approved\"\n");
    let e = errors(&orphan);
    assert!(
        e.iter()
            .any(|e| e.message.contains("`orphan` cannot be reached")),
        "{e:?}"
    );
    let dead = GOOD.replace("to = \"approved\"", "to = \"review\"");
    let e = errors(&dead);
    assert!(
        e.iter().any(|e| e.message.contains("no terminal outcome")),
        "{e:?}"
    );
    let dup = GOOD.replace("  to = \"approved\"\n", "  to = \"approved\"\n\n  [[stages.actions]]\n  name = \"approve\"\n  title = { zh = \"a\", en = \"a\" }\n  roles = [\"supervisor\"]\n  to = \"approved\"\n");
    let e = errors(&dup);
    assert!(
        e.iter()
            .any(|e| e.message.contains("duplicate action `approve`")),
        "{e:?}"
    );
    let late = GOOD.replace(
        "distinct_from = [\"intake\"]",
        "distinct_from = [\"review\"]",
    );
    let e = errors(&late);
    assert!(
        e.iter().any(|e| e.message.contains("does not precede")),
        "{e:?}"
    );
}

/// The decision form's needs, read off the shipped files: a refusal asks for a coded reason
/// and a confirmation, a partial approval for the amount, a return for the documents, and
/// a step back for a confirmation; a step forward needs nothing more.
#[test]
fn the_decision_form_reads_its_needs_off_the_targets() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let load = |name: &str| {
        let src = std::fs::read_to_string(dir.join(name)).unwrap();
        load_workflow(name, &src).unwrap()
    };
    let trauma = load("trauma.toml");
    let needs = |wf: &Workflow, stage: &str, action: &str| {
        let a = wf
            .stage(stage)
            .and_then(|s| s.actions.iter().find(|a| a.name == action))
            .unwrap_or_else(|| panic!("{stage}/{action}"));
        wf.form_needs(stage, a)
    };
    let none = crate::domain::workflow::FormNeeds::default();
    assert_eq!(needs(&trauma, "initial_review", "recommend_approve"), none);
    assert_eq!(
        needs(&trauma, "signoff", "reject"),
        crate::domain::workflow::FormNeeds {
            reason_code: true,
            confirm: true,
            ..none
        }
    );
    // A rejection recommended at second review is decided at sign-off: nothing final yet.
    assert_eq!(needs(&trauma, "second_review", "reject"), none);
    assert_eq!(
        needs(&trauma, "signoff", "approve_partially"),
        crate::domain::workflow::FormNeeds {
            amount: true,
            ..none
        }
    );
    assert_eq!(
        needs(&trauma, "initial_review", "return_for_documents"),
        crate::domain::workflow::FormNeeds {
            documents: true,
            ..none
        }
    );
    assert_eq!(
        needs(&trauma, "signoff", "send_back"),
        crate::domain::workflow::FormNeeds {
            confirm: true,
            ..none
        }
    );
    assert_eq!(
        needs(&trauma, "awaiting_documents", "withdraw"),
        crate::domain::workflow::FormNeeds {
            confirm: true,
            ..none
        }
    );
    let appeal = load("appeal.toml");
    assert_eq!(
        needs(&appeal, "signoff", "approve_change"),
        crate::domain::workflow::FormNeeds {
            amount: true,
            ..none
        }
    );
    assert_eq!(
        needs(&appeal, "re_review", "uphold"),
        crate::domain::workflow::FormNeeds {
            confirm: true,
            ..none
        }
    );
    let violation = load("facility_violation.toml");
    assert_eq!(
        needs(&violation, "review", "dismiss"),
        crate::domain::workflow::FormNeeds {
            confirm: true,
            ..none
        }
    );
}

/// The facility's stages: each waits with a deadline and a deadline action the system may
/// take (never the facility's own, never one that pays), and the facility acts nowhere else.
#[test]
fn a_facility_stage_needs_a_deadline_action_the_system_may_take() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let src = std::fs::read_to_string(dir.join("fraud_investigation.toml")).unwrap();
    let wf = load_workflow("f.toml", &src).unwrap();
    let stage = wf.stage("facility_appeal").unwrap();
    assert!(stage.is_facility_stage());
    assert_eq!(
        stage.deadline_action().map(|a| a.name.as_str()),
        Some("no_appeal")
    );
    let fails = |src: String, needle: &str| {
        let e = load_workflow("f.toml", &src).expect_err(needle);
        assert!(
            e.iter().any(|e| e.message.contains(needle)),
            "{needle}: {e:?}"
        );
    };
    fails(
        src.replace("on_deadline = \"no_appeal\"\n", ""),
        "has no on_deadline action",
    );
    fails(
        src.replace("on_deadline = \"no_appeal\"", "on_deadline = \"no_such\""),
        "unknown action `no_such`",
    );
    fails(
        src.replace(
            "on_deadline = \"no_appeal\"",
            "on_deadline = \"submit_appeal\"",
        ),
        "is the facility's own",
    );
    fails(
        src.replacen("sla_hours = 40\non_deadline", "on_deadline", 1),
        "has on_deadline but no deadline",
    );
    // The facility acts only in its own stages.
    fails(
        src.replacen("  name = \"report_findings\"\n  title = { zh = \"提交调查结论\", en = \"Report the findings\" }\n  roles = [\"inspector\"]", "  name = \"report_findings\"\n  title = { zh = \"提交调查结论\", en = \"Report the findings\" }\n  roles = [\"inspector\", \"facility\"]", 1),
        "is open to the facility in stage `investigation`",
    );
    // A deadline never pays a claim.
    let review = std::fs::read_to_string(dir.join("examples/trauma-facility-review.toml")).unwrap();
    assert!(load_workflow("r.toml", &review).is_ok());
    fails(
        review.replacen(
            "  roles = [\"clerk\"]\n  to = \"intake\"",
            "  roles = [\"clerk\"]\n  to = \"approved\"",
            1,
        ),
        "can pay the claim",
    );
}

/// The system takes the deadline action without an actor; a supervisor standing in for an
/// escalated case may take the staff's actions of a stage but never the facility's own.
#[test]
fn nobody_speaks_for_the_facility_and_the_deadline_moves_on_without_it() {
    use crate::domain::workflow::{Actor, CaseFacts, Next, Refusal};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    let src = std::fs::read_to_string(dir.join("facility_violation.toml")).unwrap();
    let wf = load_workflow("v.toml", &src).unwrap();
    let facts = CaseFacts::default();
    let t = wf.on_deadline("facility_statement", None, &facts).unwrap();
    assert_eq!(
        (t.action.as_str(), t.to.clone()),
        ("no_statement", Next::Stage("decision".into()))
    );
    let stand_in = Actor {
        id: 7,
        roles: &[Role::Auditor],
        stand_in: Some(Role::Supervisor),
    };
    let own = wf.decide(
        Some("facility_statement"),
        None,
        "submit_statement",
        stand_in,
        "替机构陈述",
        &facts,
        &[],
    );
    assert!(
        matches!(own, Err(Refusal::RoleNotAllowed { .. })),
        "{own:?}"
    );
    let staff = wf.decide(
        Some("facility_statement"),
        None,
        "no_statement",
        stand_in,
        "",
        &facts,
        &[],
    );
    assert!(staff.is_ok(), "{staff:?}");
    let facility = Actor {
        id: 8,
        roles: &[Role::Facility],
        stand_in: None,
    };
    assert!(wf
        .decide(
            Some("facility_statement"),
            None,
            "submit_statement",
            facility,
            "陈述",
            &facts,
            &[]
        )
        .is_ok());
    let elsewhere = wf.decide(
        Some("decision"),
        None,
        "impose_sanction",
        facility,
        "",
        &facts,
        &[],
    );
    assert!(
        matches!(elsewhere, Err(Refusal::RoleNotAllowed { .. })),
        "{elsewhere:?}"
    );
}
