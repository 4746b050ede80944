//! A stage's escalation chain: the `escalation` list, or the one-step shorthand
//! `escalation_role` / `on_breach`.
use super::{check_role, Checker, RawStage};
use crate::domain::workflow::model::{BreachPolicy, EscalationStep};
use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    role: Spanned<String>,
    /// Multiples of the stage's SLA spent in the stage.
    after: Spanned<u32>,
    on_breach: Option<BreachPolicy>,
}

/// The checked chain of `s`: each step's role known, `after` at least 1 and rising, and an
/// SLA to count multiples of.
pub(super) fn chain(ck: &mut Checker<'_>, s: &RawStage) -> Vec<EscalationStep> {
    let stage = s.id.get_ref();
    let Some(raw) = &s.escalation else {
        if s.on_breach.is_some() && s.escalation_role.is_none() {
            ck.error(
                s.id.span(),
                format!("stage `{stage}` sets on_breach without an escalation_role"),
                "name the role to tell of a breach, or use `escalation = [{ role = …, after = 1 }]`",
            );
        }
        let role = s.escalation_role.as_ref().and_then(|r| check_role(ck, r));
        return role
            .map(|role| EscalationStep {
                role,
                after: 1,
                on_breach: s.on_breach.unwrap_or(BreachPolicy::Escalate),
            })
            .into_iter()
            .collect();
    };
    if s.escalation_role.is_some() || s.on_breach.is_some() {
        ck.error(
            raw.span(),
            format!("stage `{stage}` has both `escalation` and `escalation_role`/`on_breach`"),
            "keep one: the list's first step replaces the shorthand",
        );
    }
    if s.sla_hours.is_none() && !raw.get_ref().is_empty() {
        ck.error(
            raw.span(),
            format!("stage `{stage}` has an escalation chain but no sla_hours"),
            "each step's `after` counts multiples of the stage's SLA: set sla_hours",
        );
    }
    let mut steps = Vec::new();
    let mut previous = 0;
    for step in raw.get_ref() {
        let after = *step.after.get_ref();
        if previous == 0 && after != 1 {
            ck.error(
                step.after.span(),
                format!("the first escalation step of stage `{stage}` has after = {after}"),
                "the first step is taken at the breach: after = 1",
            );
        } else if after <= previous {
            ck.error(
                step.after.span(),
                format!("escalation step after = {after} of stage `{stage}` does not come after the step before it (after = {previous})"),
                "`after` is a multiple of the SLA, at least 1, rising from step to step",
            );
        }
        previous = previous.max(after);
        if let Some(role) = check_role(ck, &step.role) {
            steps.push(EscalationStep {
                role,
                after,
                on_breach: step.on_breach.unwrap_or(BreachPolicy::Escalate),
            });
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use crate::domain::workflow::load_workflow;

    const TRAUMA: &str = include_str!("../../../../workflows/trauma.toml");
    const CHAIN: &str = r#"escalation = [
  { role = "supervisor", after = 1, on_breach = "flag" },
  { role = "director", after = 2 },
]"#;

    fn errors_with(chain: &str) -> Vec<String> {
        assert!(
            TRAUMA.contains(CHAIN),
            "the sign-off stage carries the chain"
        );
        let source = TRAUMA.replace(CHAIN, chain);
        match load_workflow("trauma.toml", &source) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_chain_must_start_at_the_breach_rise_and_name_known_roles() {
        assert!(errors_with(CHAIN).is_empty());
        let late_start = errors_with(r#"escalation = [{ role = "supervisor", after = 2 }]"#);
        assert!(
            late_start
                .iter()
                .any(|e| e.contains("after = 1") && e.contains("trauma.toml:")),
            "{late_start:?}"
        );
        let falling = errors_with(
            r#"escalation = [{ role = "supervisor", after = 1 }, { role = "director", after = 1 }]"#,
        );
        assert!(
            falling.iter().any(|e| e.contains("does not come after")),
            "{falling:?}"
        );
        let unknown = errors_with(r#"escalation = [{ role = "mayor", after = 1 }]"#);
        assert!(
            unknown.iter().any(|e| e.contains("unknown role `mayor`")),
            "{unknown:?}"
        );
        let both = errors_with(&format!("escalation_role = \"supervisor\"\n{CHAIN}"));
        assert!(
            both.iter().any(|e| e.contains("both `escalation`")),
            "{both:?}"
        );
    }
}
