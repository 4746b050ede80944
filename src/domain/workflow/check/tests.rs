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
