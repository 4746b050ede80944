//! The validated workflow model. Only `check::load_workflow` builds one, so every index and
//! name in it is known to be consistent.
use super::guard::Guard;
use crate::domain::roles::Role;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Title {
    pub zh: String,
    pub en: String,
}

impl Title {
    /// "审核中 / Under review": every stage of a confidential workflow but the one waiting
    /// on the resident reads like this to them.
    pub fn under_review() -> Title {
        Title {
            zh: "审核中".into(),
            en: "Under review".into(),
        }
    }
}

impl Title {
    pub fn get(&self, lang: &str) -> &str {
        if lang.starts_with("en") {
            &self.en
        } else {
            &self.zh
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Approved,
    PartiallyApproved,
    Rejected,
    Withdrawn,
    /// Supervision cases (violations, reports) end closed rather than approved.
    Closed,
}

impl OutcomeKind {
    pub const ALL: [OutcomeKind; 5] = [
        OutcomeKind::Approved,
        OutcomeKind::PartiallyApproved,
        OutcomeKind::Rejected,
        OutcomeKind::Withdrawn,
        OutcomeKind::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Approved => "approved",
            OutcomeKind::PartiallyApproved => "partially_approved",
            OutcomeKind::Rejected => "rejected",
            OutcomeKind::Withdrawn => "withdrawn",
            OutcomeKind::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<OutcomeKind> {
        OutcomeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The outcomes that pay (or clear) a claim, which the findings gate guards.
    pub fn pays(self) -> bool {
        matches!(self, OutcomeKind::Approved | OutcomeKind::PartiallyApproved)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Stage(usize),
    Outcome(OutcomeKind),
    /// Back to the stage that returned the case for documents.
    Returner,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreachPolicy {
    /// Move the case to the stage's escalation role.
    Escalate,
    /// Keep it where it is, flag it and notify the escalation role.
    Flag,
}

/// One step of a stage's escalation chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EscalationStep {
    /// Told of the breach, and handed the case when `on_breach` is `escalate`.
    pub role: Role,
    /// Taken once the case is this many times the stage's SLA in the stage (1: at the breach).
    pub after: u32,
    pub on_breach: BreachPolicy,
}

/// The fields an action needs beyond the one comment, and whether it is confirmed first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FormNeeds {
    /// A coded reason for refusing a claim.
    pub reason_code: bool,
    /// A decided amount.
    pub amount: bool,
    /// The documents a return asks the resident for.
    pub documents: bool,
    /// A destructive action: the page asks for a confirmation before taking it.
    pub confirm: bool,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub when_text: String,
    pub when: Guard,
    pub to: Target,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub name: String,
    pub title: Title,
    pub roles: Vec<Role>,
    pub guard_text: Option<String>,
    pub guard: Option<Guard>,
    pub routes: Vec<Route>,
    pub to: Target,
    /// A return-for-documents action: the case remembers this stage to come back to.
    pub returns: bool,
    pub comment_required: bool,
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub id: String,
    pub title: Title,
    pub role: Role,
    /// Working hours allowed in this stage; `None` means no SLA.
    pub sla_hours: Option<u32>,
    /// What a breach sets off, step by step, each once per stage visit. Empty: a breach is
    /// only flagged.
    pub escalation: Vec<EscalationStep>,
    /// Four-eyes: whoever acted in these stages may not act here.
    pub distinct_from: Vec<usize>,
    /// The case waits on the resident; the SLA clock is paused.
    pub waiting: bool,
    pub auto_assign: bool,
    pub actions: Vec<Action>,
    /// The action the system takes when the stage's deadline passes (an index into
    /// `actions`): the case moves on without the party it waited for. Every stage the
    /// facility acts in has one, so that a facility's silence never holds a case.
    pub on_deadline: Option<usize>,
}

impl Stage {
    /// A stage where the designated facility acts (its statement, an appeal, a review).
    pub fn is_facility_stage(&self) -> bool {
        self.role.is_facility()
    }

    /// What the system does here when the deadline passes.
    pub fn deadline_action(&self) -> Option<&Action> {
        self.on_deadline.map(|i| &self.actions[i])
    }
}

/// Documents required only when a condition on the case's facts holds.
#[derive(Debug, Clone)]
pub struct ConditionalDocuments {
    pub when_text: String,
    pub when: Guard,
    pub required: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Workflow {
    pub name: String,
    pub version: u32,
    pub subject: String,
    pub family: Option<String>,
    /// The resident sees only a neutral status for cases on this workflow: an investigation
    /// is never revealed to them.
    pub confidential: bool,
    pub title: Title,
    pub initial: usize,
    /// Where a decision above the actor's authority limit goes instead ("pending approval").
    pub authority_stage: Option<usize>,
    pub required_documents: Vec<String>,
    pub conditional_documents: Vec<ConditionalDocuments>,
    pub outcomes: Vec<(OutcomeKind, Title)>,
    pub stages: Vec<Stage>,
}

impl Workflow {
    pub fn stage(&self, id: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    pub fn stage_index(&self, id: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.id == id)
    }

    /// The document checklist for a case with these facts: the fixed list, then whatever
    /// conditional lists apply.
    pub fn required_documents(&self, facts: &super::guard::CaseFacts) -> Vec<&str> {
        let mut kinds: Vec<&str> = self.required_documents.iter().map(String::as_str).collect();
        for c in self
            .conditional_documents
            .iter()
            .filter(|c| c.when.eval(facts))
        {
            for k in &c.required {
                if !kinds.contains(&k.as_str()) {
                    kinds.push(k);
                }
            }
        }
        kinds
    }

    pub fn initial_stage(&self) -> &Stage {
        &self.stages[self.initial]
    }

    pub fn outcome_title(&self, kind: OutcomeKind) -> Option<&Title> {
        self.outcomes
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, t)| t)
    }

    /// The title of an outcome as a closed case stores it (`approved`, `withdrawn`, …).
    pub fn title_of_outcome(&self, stored: &str) -> Option<&Title> {
        OutcomeKind::parse(stored).and_then(|k| self.outcome_title(k))
    }

    /// Whether this workflow decides payments: its subject is a claim.
    pub fn pays_claims(&self) -> bool {
        self.subject == "claim"
    }

    /// Whether an action can end the case in a paying outcome (by its target or a route).
    pub fn can_pay(action: &Action) -> bool {
        Workflow::action_targets(action).any(|t| matches!(t, Target::Outcome(k) if k.pays()))
    }

    /// What the decision form asks for when this action is chosen in `stage_id`, read off
    /// the action's targets, so that a workflow file needs no form hints of its own.
    pub fn form_needs(&self, stage_id: &str, action: &Action) -> FormNeeds {
        let here = self.stage_index(stage_id).unwrap_or(0);
        let reaches = |kind: OutcomeKind| {
            Workflow::action_targets(action).any(|t| t == Target::Outcome(kind))
        };
        let backwards = Workflow::action_targets(action)
            .any(|t| matches!(t, Target::Stage(i) if i < here && !self.stages[i].waiting));
        FormNeeds {
            // A claim refused for good carries a coded reason; an appeal upheld does not.
            reason_code: self.pays_claims() && reaches(OutcomeKind::Rejected),
            // A partial approval, and an appeal's change, name the new amount.
            amount: reaches(OutcomeKind::PartiallyApproved)
                || (self.subject == "appeal" && reaches(OutcomeKind::Approved)),
            documents: action.returns,
            // Ending a case without paying, or sending it back, is asked twice.
            confirm: reaches(OutcomeKind::Rejected)
                || reaches(OutcomeKind::Withdrawn)
                || (backwards && !action.returns),
        }
    }

    /// Every target an action can lead to, for graph checks and diagrams.
    pub fn action_targets(action: &Action) -> impl Iterator<Item = Target> + '_ {
        action
            .routes
            .iter()
            .map(|r| r.to)
            .chain(std::iter::once(action.to))
    }
}
