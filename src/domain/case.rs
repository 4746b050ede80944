//! What a case is about, and the rules of the case engine that are not in a workflow file:
//! when a decision must wait for sign-off because it exceeds the actor's authority, and how
//! the SLA clock pauses while a case waits on the resident. Pure: time and the calendar are
//! passed in.
use crate::domain::calendar::WorkCalendar;
use crate::domain::roles::Role;
use crate::domain::workflow::{Next, OutcomeKind, Transition, Workflow};

const HOUR_MS: i64 = 3_600_000;

/// The kinds of thing a case can be about, as the `cases.subject_kind` column stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Claim,
    Violation,
    Report,
    Appeal,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 4] = [
        SubjectKind::Claim,
        SubjectKind::Violation,
        SubjectKind::Report,
        SubjectKind::Appeal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Claim => "claim",
            SubjectKind::Violation => "violation",
            SubjectKind::Report => "report",
            SubjectKind::Appeal => "appeal",
        }
    }

    pub fn parse(s: &str) -> Option<SubjectKind> {
        SubjectKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for SubjectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown case subject kind `{0}`")]
pub struct UnknownSubject(pub String);

/// The store reads the column as text and converts it here.
impl TryFrom<String> for SubjectKind {
    type Error = UnknownSubject;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        SubjectKind::parse(&s).ok_or(UnknownSubject(s))
    }
}

/// What a case is about: the kind and the id of its subject row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Claim(i64),
    Violation(i64),
    Report(i64),
    Appeal(i64),
}

impl Subject {
    pub fn new(kind: SubjectKind, id: i64) -> Subject {
        match kind {
            SubjectKind::Claim => Subject::Claim(id),
            SubjectKind::Violation => Subject::Violation(id),
            SubjectKind::Report => Subject::Report(id),
            SubjectKind::Appeal => Subject::Appeal(id),
        }
    }

    pub fn kind(self) -> SubjectKind {
        match self {
            Subject::Claim(_) => SubjectKind::Claim,
            Subject::Violation(_) => SubjectKind::Violation,
            Subject::Report(_) => SubjectKind::Report,
            Subject::Appeal(_) => SubjectKind::Appeal,
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Subject::Claim(id)
            | Subject::Violation(id)
            | Subject::Report(id)
            | Subject::Appeal(id) => id,
        }
    }

    /// The claim's id when this is a claim.
    pub fn claim(self) -> Option<i64> {
        match self {
            Subject::Claim(id) => Some(id),
            _ => None,
        }
    }
}

/// A decision that exceeded the actor's authority and waits for sign-off instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingApproval {
    pub amount_fen: i64,
    pub limit_fen: i64,
    pub role: Role,
    pub requested: OutcomeKind,
    /// The workflow's authority stage, where the decision goes.
    pub stage: String,
}

/// Authority limits: an approval of more than the acting role may decide alone goes to the
/// workflow's authority stage (sign-off) instead of ending the case. `None` when the
/// decision stands: not an approval, no limit for the role, within it, or taken at the
/// authority stage itself.
pub fn authority_redirect(
    workflow: &Workflow,
    transition: &Transition,
    amount_fen: i64,
    limit_fen: Option<i64>,
) -> Option<PendingApproval> {
    let Next::Outcome(requested @ (OutcomeKind::Approved | OutcomeKind::PartiallyApproved)) =
        transition.to
    else {
        return None;
    };
    let stage = &workflow.stages[workflow.authority_stage?];
    let limit_fen = limit_fen?;
    (amount_fen > limit_fen && stage.id != transition.from).then(|| PendingApproval {
        amount_fen,
        limit_fen,
        role: transition.role,
        requested,
        stage: stage.id.clone(),
    })
}

/// When a stage's SLA runs out, counted in working time from `now_ms`, or from the working
/// time a returned case still had left. Waiting stages have no clock.
pub fn due_at(
    calendar: &WorkCalendar,
    workflow: &Workflow,
    stage: &str,
    now_ms: i64,
    remaining_ms: Option<i64>,
) -> Option<i64> {
    let stage = workflow.stage(stage)?;
    if stage.waiting {
        return None;
    }
    let work = remaining_ms.or(stage.sla_hours.map(|h| i64::from(h) * HOUR_MS))?;
    Some(calendar.add_working_ms(now_ms, work))
}

/// A case's SLA clock: when it runs out, and the working time kept while it is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clock {
    pub due_at: Option<i64>,
    pub remaining_ms: Option<i64>,
}

/// Whether a transition sends the case back for documents (it leaves a stage to come back).
pub fn is_return(transition: &Transition) -> bool {
    matches!(transition.to, Next::Stage(_))
        && transition.returned_from.as_deref() == Some(transition.from.as_str())
}

/// The clock after a transition. The SLA pauses while the case waits for documents: a
/// return keeps the working time left, and coming back resumes from it; any other move
/// starts the new stage's full SLA.
pub fn clock_after(
    calendar: &WorkCalendar,
    workflow: &Workflow,
    transition: &Transition,
    before: Clock,
    now_ms: i64,
) -> Clock {
    let remaining_ms = is_return(transition)
        .then(|| calendar.working_ms_between(now_ms, before.due_at.unwrap_or(now_ms)));
    let coming_back = workflow.stage(&transition.from).is_some_and(|s| s.waiting)
        && before.remaining_ms.is_some();
    let resume = coming_back.then_some(before.remaining_ms).flatten();
    let due_at = match &transition.to {
        Next::Stage(stage) => due_at(calendar, workflow, stage, now_ms, resume),
        Next::Outcome(_) => None,
    };
    Clock {
        due_at,
        remaining_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::workflow::load_workflow;

    fn workflow() -> Workflow {
        let source = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/workflows/trauma.toml"
        ))
        .expect("trauma workflow");
        load_workflow("trauma.toml", &source).expect("valid workflow")
    }

    fn approve(from: &str, role: Role) -> Transition {
        Transition {
            action: "approve".into(),
            role,
            from: from.into(),
            to: Next::Outcome(OutcomeKind::Approved),
            returned_from: None,
        }
    }

    #[test]
    fn subjects_round_trip_through_their_stored_kind() {
        for kind in SubjectKind::ALL {
            assert_eq!(
                SubjectKind::try_from(kind.as_str().to_string()).unwrap(),
                kind
            );
            assert_eq!(Subject::new(kind, 7).kind(), kind);
        }
        assert!(SubjectKind::try_from("bogus".to_string()).is_err());
        assert_eq!(Subject::Claim(3).claim(), Some(3));
        assert_eq!(Subject::Violation(3).claim(), None);
    }

    #[test]
    fn approvals_above_the_limit_wait_for_sign_off() {
        let wf = workflow();
        let sign_off = wf.stages[wf.authority_stage.unwrap()].id.clone();
        let t = approve("second_review", Role::SeniorReviewer);
        let pending = authority_redirect(&wf, &t, 600_000, Some(500_000)).unwrap();
        assert_eq!(pending.stage, sign_off);
        assert_eq!(pending.requested, OutcomeKind::Approved);
        assert_eq!(
            authority_redirect(&wf, &t, 500_000, Some(500_000)),
            None,
            "at the limit"
        );
        assert_eq!(authority_redirect(&wf, &t, 600_000, None), None, "no limit");
        let at_sign_off = approve(&sign_off, Role::Supervisor);
        assert_eq!(
            authority_redirect(&wf, &at_sign_off, 9_000_000, Some(1)),
            None
        );
        let reject = Transition {
            to: Next::Outcome(OutcomeKind::Rejected),
            ..t
        };
        assert_eq!(authority_redirect(&wf, &reject, 9_000_000, Some(1)), None);
    }
}
