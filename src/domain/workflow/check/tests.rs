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
