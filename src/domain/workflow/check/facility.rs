//! The rules for the stages a designated facility acts in, and for deadlines: the facility
//! acts only in its own stages, and a stage that waits for it moves on by itself when its
//! deadline passes, so that a facility's silence never holds a case (Order 735's due
//! process runs on time limits).
use super::{Checker, RawStage};
use crate::domain::roles::Role;
use crate::domain::workflow::model::{Action, Target};

/// The stage's `on_deadline` action, checked: it names one of the stage's actions, the stage
/// has a deadline (`sla_hours`), and the action neither pays nor is the facility's own (the
/// system takes it for nobody). A facility stage must have one; in any other stage, actions
/// open to the facility are refused.
pub(super) fn deadline(
    ck: &mut Checker<'_>,
    s: &RawStage,
    role: Option<Role>,
    actions: &[Action],
) -> Option<usize> {
    let facility_stage = role.is_some_and(Role::is_facility);
    if !facility_stage {
        for (raw, action) in s.actions.iter().zip(actions) {
            if action.roles.iter().any(|r| r.is_facility()) {
                ck.error(
                    raw.roles[0].span(),
                    format!(
                        "action `{}` is open to the facility in stage `{}`, whose role is not the facility's",
                        action.name,
                        s.id.get_ref()
                    ),
                    "a facility acts only in stages with role = \"facility\"",
                );
            }
        }
    }
    let Some(name) = &s.on_deadline else {
        if facility_stage {
            ck.error(
                s.id.span(),
                format!(
                    "facility stage `{}` has no on_deadline action",
                    s.id.get_ref()
                ),
                "add on_deadline = \"<action>\": what happens when the facility does not act in time",
            );
        }
        return None;
    };
    if s.sla_hours.is_none() {
        ck.error(
            name.span(),
            format!("stage `{}` has on_deadline but no deadline", s.id.get_ref()),
            "set sla_hours: the working hours the stage allows",
        );
    }
    let Some(i) = actions.iter().position(|a| a.name == *name.get_ref()) else {
        let known: Vec<&str> = actions.iter().map(|a| a.name.as_str()).collect();
        ck.error(
            name.span(),
            format!("on_deadline names unknown action `{}`", name.get_ref()),
            format!("actions of this stage: {}", known.join(", ")),
        );
        return None;
    };
    let action = &actions[i];
    let pays = crate::domain::workflow::Workflow::action_targets(action)
        .any(|t| matches!(t, Target::Outcome(k) if k.pays()));
    if pays {
        ck.error(
            name.span(),
            format!("the deadline action `{}` can pay the claim", action.name),
            "a deadline moves a case on; it never decides one in its favour",
        );
    }
    if action.roles.iter().all(|r| r.is_facility()) {
        ck.error(
            name.span(),
            format!(
                "the deadline action `{}` is the facility's own",
                action.name
            ),
            "the deadline is taken when the facility did not act: name an action staff take too, such as no_statement",
        );
    }
    Some(i)
}
