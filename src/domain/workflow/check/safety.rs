//! The safety rules `claimflow check` holds every claim workflow to, on top of its shape:
//! a workflow that could pay a claim in a way the controls forbid does not load.
//!
//! 1. No action that pays or clears a claim is open to the resident, a clerk or the facility.
//! 2. Every stage that decides (it pays, it is the sign-off, or it is a second review) is
//!    four-eyes against every review stage before it.
//! 3. Every paying action is gated by the findings: its guard requires
//!    `blocking_findings == 0`, or a route sends `blocking_findings > 0` elsewhere first.
//! 4. Approvals by a role with an authority limit have a sign-off to go to, and the
//!    sign-off itself is decided by a role without one.
use super::{Checker, RawWorkflow};
use crate::domain::roles::Role;
use crate::domain::workflow::guard::Guard;
use crate::domain::workflow::model::{Action, Target, Workflow};
use std::collections::{BTreeSet, VecDeque};

/// The fact the findings gate reads.
pub const BLOCKING: &str = "blocking_findings";

/// What the rules need from the configuration: the roles that have an authority limit.
#[derive(Debug, Clone)]
pub struct Safety {
    /// Off only for versions already published, which were checked when they were.
    pub enabled: bool,
    pub limited_roles: Vec<Role>,
}

impl Default for Safety {
    /// The shipped limits: reviewers and senior reviewers decide up to a limit.
    fn default() -> Self {
        Safety {
            enabled: true,
            limited_roles: vec![Role::Reviewer, Role::SeniorReviewer],
        }
    }
}

impl Safety {
    /// The rules under the configured authority limits (role → fen).
    pub fn with_limits<'a>(roles: impl IntoIterator<Item = &'a str>) -> Safety {
        Safety {
            enabled: true,
            limited_roles: roles.into_iter().filter_map(|r| r.parse().ok()).collect(),
        }
    }

    /// No safety rules: for a version published earlier, loaded back for its open cases.
    pub fn published() -> Safety {
        Safety {
            enabled: false,
            limited_roles: Vec::new(),
        }
    }
}

/// Roles whose stages count as a review for the four-eyes rule.
const REVIEW_ROLES: [Role; 5] = [
    Role::Reviewer,
    Role::SeniorReviewer,
    Role::Supervisor,
    Role::Inspector,
    Role::Director,
];

fn pays(target: Target) -> bool {
    matches!(target, Target::Outcome(k) if k.pays())
}

pub(super) fn check(ck: &mut Checker<'_>, raw: &RawWorkflow, wf: &Workflow, safety: &Safety) {
    if !safety.enabled || !wf.pays_claims() {
        return;
    }
    let next = super::successors(wf);
    for (si, stage) in wf.stages.iter().enumerate() {
        for (ai, action) in stage.actions.iter().enumerate() {
            if !Workflow::can_pay(action) {
                continue;
            }
            let span = raw.stages[si].actions[ai].name.span();
            for role in [
                Role::Resident,
                Role::Clerk,
                Role::Facility,
                Role::FacilityAdmin,
            ] {
                if action.roles.contains(&role) {
                    ck.error(
                        span.clone(),
                        format!("action `{}` pays the claim but is open to `{role}`", action.name),
                        "only reviewers, senior reviewers and supervisors decide a claim; remove the role",
                    );
                }
            }
            if let Some(route) = ungated(action) {
                let what = match route {
                    Some(i) => format!("route {} of action `{}`", i + 1, action.name),
                    None => format!("action `{}`", action.name),
                };
                ck.error(
                    span.clone(),
                    format!("{what} can pay the claim while error findings stand"),
                    format!("add `and {BLOCKING} == 0` to the guard, or first route `when = \"{BLOCKING} > 0\"` to the sign-off stage"),
                );
            }
            if let Some(role) = action
                .roles
                .iter()
                .find(|r| safety.limited_roles.contains(r))
            {
                match wf.authority_stage {
                    None => ck.error(
                        span.clone(),
                        format!("action `{}` pays by `{role}`, who has an authority limit, but the workflow has no sign-off for larger amounts", action.name),
                        "set authority_stage = \"signoff\" (a stage decided by a supervisor)",
                    ),
                    Some(a) if a == si => ck.error(
                        span.clone(),
                        format!("the sign-off stage `{}` pays by `{role}`, who has an authority limit", stage.id),
                        "let a role without a limit (a supervisor) decide at sign-off",
                    ),
                    Some(_) => {}
                }
            }
        }
        if decides(wf, si) {
            for earlier in earlier_reviews(wf, &next, si) {
                if !stage.distinct_from.contains(&earlier) {
                    ck.error(
                        raw.stages[si].id.span(),
                        format!(
                            "stage `{}` decides but is not four-eyes against the earlier review `{}`",
                            stage.id, wf.stages[earlier].id
                        ),
                        format!("add \"{}\" to distinct_from", wf.stages[earlier].id),
                    );
                }
            }
        }
    }
}

/// The first way an action can pay without the gate: `Some(None)` for its own target,
/// `Some(Some(i))` for route `i`; `None` when every paying way is gated.
fn ungated(action: &Action) -> Option<Option<usize>> {
    let requires = |g: &Option<Guard>| g.as_ref().is_some_and(|g| g.requires_zero(BLOCKING));
    if requires(&action.guard) {
        return None;
    }
    // A route taken whenever findings stand, to a target that does not pay, diverts every
    // later way out.
    for (i, route) in action.routes.iter().enumerate() {
        if pays(route.to) && !route.when.requires_zero(BLOCKING) {
            return Some(Some(i));
        }
        if !pays(route.to) && route.when.holds_when_positive(BLOCKING) {
            return None;
        }
    }
    pays(action.to).then_some(None)
}

/// A stage that decides: the sign-off, a stage with a paying action, or a second review.
fn decides(wf: &Workflow, i: usize) -> bool {
    let stage = &wf.stages[i];
    wf.authority_stage == Some(i)
        || stage.role == Role::SeniorReviewer
        || stage.actions.iter().any(Workflow::can_pay)
}

/// The review stages that come before stage `i`: reached from the initial stage without
/// passing through `i`, and leading to it.
fn earlier_reviews(wf: &Workflow, next: &[BTreeSet<usize>], i: usize) -> Vec<usize> {
    let mut before = vec![false; wf.stages.len()];
    let mut queue = VecDeque::from([wf.initial]);
    before[wf.initial] = wf.initial != i;
    while let Some(s) = queue.pop_front() {
        if s == i {
            continue;
        }
        for &t in &next[s] {
            if t != i && !before[t] {
                before[t] = true;
                queue.push_back(t);
            }
        }
    }
    (0..wf.stages.len())
        .filter(|&j| j != i && before[j])
        .filter(|&j| super::reachable_from(next, j)[i])
        .filter(|&j| !wf.stages[j].waiting && REVIEW_ROLES.contains(&wf.stages[j].role))
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::domain::workflow::load_workflow;

    /// A safe two-review claim workflow with a sign-off; each test breaks one control.
    const SAFE: &str = include_str!("fixtures/signoff.toml");

    fn refused(src: &str, expected: &str) {
        let errors = load_workflow("w.toml", src).expect_err("must be refused");
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains(expected) && e.line > 0 && !e.hint.is_empty()),
            "expected `{expected}` with a line and a hint in {errors:#?}"
        );
    }

    #[test]
    fn the_safe_workflow_loads() {
        load_workflow("w.toml", SAFE).unwrap();
    }

    #[test]
    fn a_paying_action_open_to_a_resident_or_clerk_is_refused() {
        refused(
            &SAFE.replace(
                r#"roles = ["supervisor"]
  guard"#,
                r#"roles = ["supervisor", "resident"]
  guard"#,
            ),
            "pays the claim but is open to `resident`",
        );
        refused(
            &SAFE.replace(
                r#"roles = ["senior_reviewer"]
  guard"#,
                r#"roles = ["senior_reviewer", "clerk"]
  guard"#,
            ),
            "is open to `clerk`",
        );
    }

    #[test]
    fn a_decision_without_four_eyes_is_refused() {
        refused(
            &SAFE.replace("distinct_from = [\"first\"]\n", ""),
            "stage `second` decides but is not four-eyes against the earlier review `first`",
        );
        refused(
            &SAFE.replace(
                "distinct_from = [\"first\", \"second\"]",
                "distinct_from = [\"first\"]",
            ),
            "stage `signoff` decides but is not four-eyes against the earlier review `second`",
        );
    }

    #[test]
    fn a_paying_action_not_gated_by_findings_is_refused() {
        refused(
            &SAFE.replace(
                "guard = \"documents_complete and blocking_findings == 0\"",
                "guard = \"documents_complete\"",
            ),
            "action `approve` can pay the claim while error findings stand",
        );
        // A route to sign-off taken whenever findings stand is a gate too.
        let routed = SAFE.replace(
            "  guard = \"blocking_findings == 0\"\n  to = \"approved\"\n",
            "  to = \"approved\"\n\n    [[stages.actions.routes]]\n    when = \"blocking_findings > 0\"\n    to = \"signoff\"\n",
        );
        load_workflow("w.toml", &routed).unwrap();
    }

    #[test]
    fn large_approvals_need_a_sign_off_by_an_unlimited_role() {
        refused(
            &SAFE.replace("authority_stage = \"signoff\"\n", ""),
            "who has an authority limit, but the workflow has no sign-off",
        );
        refused(
            &SAFE.replace(
                r#"roles = ["supervisor"]
  guard"#,
                r#"roles = ["senior_reviewer"]
  guard"#,
            ),
            "the sign-off stage `signoff` pays by `senior_reviewer`",
        );
    }
}
