//! Escalation that climbs: which step of its stage's chain a breached case takes now, and
//! when the one after it falls due. Each step is taken once per stage visit.
use super::calendar::WorkCalendar;
use super::workflow::{EscalationStep, Stage};

const HOUR_MS: i64 = 3_600_000;

/// The step a breached stage visit takes now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueStep<'s> {
    /// From 1.
    pub number: i32,
    /// `None` for a stage without a chain: the breach is only flagged.
    pub step: Option<&'s EscalationStep>,
    /// When the following step falls due, if there is one.
    pub next_at: Option<i64>,
}

/// The step a case in `stage`, due at `due_at`, takes after `taken` steps; `None` when its
/// chain is climbed. The first step is taken at the breach (the checker makes sure of it);
/// step k when the case has spent `after` × the SLA, in working time, in the stage.
pub fn due_step<'s>(
    calendar: &WorkCalendar,
    stage: &'s Stage,
    due_at: i64,
    taken: i32,
) -> Option<DueStep<'s>> {
    let taken_steps = usize::try_from(taken).ok()?;
    if stage.escalation.is_empty() {
        return (taken == 0).then_some(DueStep {
            number: 1,
            step: None,
            next_at: None,
        });
    }
    let step = stage.escalation.get(taken_steps)?;
    let sla_ms = i64::from(stage.sla_hours.unwrap_or(0)) * HOUR_MS;
    let next_at = stage.escalation.get(taken_steps + 1).map(|next| {
        calendar.add_working_ms(due_at, i64::from(next.after.saturating_sub(1)) * sla_ms)
    });
    Some(DueStep {
        number: taken + 1,
        step: Some(step),
        next_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::roles::Role;
    use crate::domain::workflow::BreachPolicy;

    fn calendar() -> WorkCalendar {
        WorkCalendar {
            offset: chrono::FixedOffset::east_opt(8 * 3600).unwrap(),
            day_start: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            day_end: chrono::NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            holidays: Default::default(),
            makeup_workdays: Default::default(),
        }
    }

    fn signoff() -> Stage {
        let wf = crate::domain::workflow::load_workflow(
            "t.toml",
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/workflows/trauma.toml"
            ))
            .unwrap(),
        )
        .unwrap();
        wf.stage("signoff").unwrap().clone()
    }

    #[test]
    fn a_sign_off_breach_is_flagged_then_climbs_to_the_director() {
        let calendar = calendar();
        let stage = signoff();
        assert_eq!(stage.escalation.len(), 2);
        let due = calendar.add_working_ms(0, 0);
        let first = due_step(&calendar, &stage, due, 0).unwrap();
        assert_eq!(first.number, 1);
        assert_eq!(
            first.step.map(|s| (s.role, s.on_breach)),
            Some((Role::Supervisor, BreachPolicy::Flag))
        );
        // The director's step falls one more SLA (16 working hours: two days) later.
        let next_at = first.next_at.unwrap();
        assert_eq!(calendar.working_ms_between(due, next_at), 16 * HOUR_MS);
        let second = due_step(&calendar, &stage, due, 1).unwrap();
        assert_eq!(
            second.step.map(|s| (s.role, s.on_breach)),
            Some((Role::Director, BreachPolicy::Escalate))
        );
        assert_eq!(second.next_at, None);
        assert_eq!(
            due_step(&calendar, &stage, due, 2),
            None,
            "climbed: nothing more"
        );
    }

    #[test]
    fn a_stage_without_a_chain_is_flagged_once() {
        let mut stage = signoff();
        stage.escalation.clear();
        let calendar = calendar();
        let only = due_step(&calendar, &stage, 0, 0).unwrap();
        assert_eq!((only.number, only.step, only.next_at), (1, None, None));
        assert_eq!(due_step(&calendar, &stage, 0, 1), None);
    }
}
