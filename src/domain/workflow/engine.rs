//! The transition function. Given a definition, where a case stands, who is acting and the
//! case's facts, it either names the next stage or outcome, or says precisely why not.
use super::guard::CaseFacts;
use super::model::{Action, OutcomeKind, Stage, Target, Workflow};
use crate::domain::message::Msg;
use crate::domain::roles::Role;

#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub id: i64,
    pub roles: &'a [Role],
    /// Set when the case was escalated to a role this actor holds: they may take any of the
    /// stage's actions, acting in that role. Four-eyes still applies.
    pub stand_in: Option<Role>,
}

/// Someone who took an action in a stage of this case (from the audit trail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageActor {
    pub stage: String,
    pub actor_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Stage(String),
    Outcome(OutcomeKind),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub action: String,
    /// The role the actor acted in: the first of their roles the action allows.
    pub role: Role,
    pub from: String,
    pub to: Next,
    /// Set when the case leaves for documents; cleared when it comes back.
    pub returned_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the case is closed")]
    Closed,
    #[error("the case is in stage `{0}`, which this workflow version does not define")]
    UnknownStage(String),
    #[error("action `{action}` is not available in stage `{stage}`")]
    UnknownAction { stage: String, action: String },
    #[error("action `{action}` needs one of the roles {allowed:?}")]
    RoleNotAllowed { action: String, allowed: Vec<Role> },
    #[error("four-eyes rule: you acted in stage `{earlier}` of this case, so you may not act in `{stage}`")]
    FourEyes { stage: String, earlier: String },
    #[error("action `{action}` is not allowed now: its condition `{guard}` does not hold")]
    GuardFailed { action: String, guard: String },
    #[error("action `{0}` requires a comment")]
    CommentRequired(String),
    #[error("the case has no stage to return to")]
    NoReturnStage,
    #[error("action `{action}` would pay the claim, but {count} finding(s) of severity error stand; a supervisor must override each at sign-off with a reason first")]
    BlockedByFindings { action: String, count: i64 },
    #[error("action `{action}` would close the violation while {} yuan is still owed; record the payments, or have two supervisors write it off", crate::domain::money::Fen(*outstanding_fen).yuan_text())]
    MoneyOutstanding {
        action: String,
        outstanding_fen: i64,
    },
}

impl Refusal {
    /// What the person is told, as a catalogue message (`locales/messages.*.ftl`); the
    /// `Display` above is the same in English for logs.
    pub fn msg(&self) -> Msg {
        match self {
            Refusal::Closed => Msg::new("refusal-closed"),
            Refusal::UnknownStage(stage) => {
                Msg::new("refusal-unknown-stage").text("stage", stage.as_str())
            }
            Refusal::UnknownAction { stage, action } => Msg::new("refusal-unknown-action")
                .text("stage", stage.as_str())
                .text("action", action.as_str()),
            Refusal::RoleNotAllowed { action, allowed } => {
                let zh: Vec<&str> = allowed.iter().map(|r| r.title_zh()).collect();
                let en: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
                Msg::new("refusal-role")
                    .text("action", action.as_str())
                    .both("roles", zh.join("、"), en.join(", "))
            }
            Refusal::FourEyes { stage, earlier } => Msg::new("refusal-four-eyes")
                .text("stage", stage.as_str())
                .text("earlier", earlier.as_str()),
            Refusal::GuardFailed { action, guard } => Msg::new("refusal-guard")
                .text("action", action.as_str())
                .text("guard", guard.as_str()),
            Refusal::CommentRequired(action) => {
                Msg::new("refusal-comment-required").text("action", action.as_str())
            }
            Refusal::NoReturnStage => Msg::new("refusal-no-return-stage"),
            Refusal::BlockedByFindings { action, count } => Msg::new("refusal-blocked-by-findings")
                .text("action", action.as_str())
                .count("count", *count),
            Refusal::MoneyOutstanding {
                action,
                outstanding_fen,
            } => Msg::new("refusal-money-outstanding")
                .text("action", action.as_str())
                .fen("outstanding", *outstanding_fen),
        }
    }
}

impl Workflow {
    /// The actions this actor may take now, in file order.
    pub fn available_actions<'w>(
        &'w self,
        stage_id: &str,
        actor: Actor<'_>,
        facts: &CaseFacts,
        history: &[StageActor],
    ) -> Vec<&'w Action> {
        let Some(stage) = self.stage(stage_id) else {
            return Vec::new();
        };
        if self.four_eyes_conflict(stage, actor, history).is_some() {
            return Vec::new();
        }
        stage
            .actions
            .iter()
            .filter(|a| acting_role(a, actor).is_some())
            .filter(|a| a.guard.as_ref().is_none_or(|g| g.eval(facts)))
            .filter(|a| self.gate(a, self.target(a, facts), facts).is_none())
            .collect()
    }

    /// The roles that act somewhere in this stage, when the actor holds none of them (and
    /// stands in for nobody): such an actor may not act here whatever the action or version.
    pub fn outsider_of(&self, stage_id: &str, actor: Actor<'_>) -> Option<Vec<Role>> {
        let stage = self.stage(stage_id)?;
        if stage
            .actions
            .iter()
            .any(|a| acting_role(a, actor).is_some())
        {
            return None;
        }
        let mut roles: Vec<Role> = stage.actions.iter().flat_map(|a| a.roles.clone()).collect();
        roles.sort();
        roles.dedup();
        Some(roles)
    }

    /// Where an action leads with these facts: its first matching route, else its target.
    fn target(&self, action: &Action, facts: &CaseFacts) -> Target {
        action
            .routes
            .iter()
            .find(|r| r.when.eval(facts))
            .map_or(action.to, |r| r.to)
    }

    /// The engine's own gates, which no workflow file can leave out: no target that pays a
    /// claim while an error finding stands, and none that closes a violation while money is
    /// owed.
    fn gate(&self, action: &Action, target: Target, facts: &CaseFacts) -> Option<Refusal> {
        let Target::Outcome(outcome) = target else {
            return None;
        };
        if self.pays_claims() && outcome.pays() && facts.blocking_findings > 0 {
            return Some(Refusal::BlockedByFindings {
                action: action.name.clone(),
                count: facts.blocking_findings,
            });
        }
        if self.subject == "violation"
            && outcome == OutcomeKind::Closed
            && facts.outstanding_fen > 0
        {
            return Some(Refusal::MoneyOutstanding {
                action: action.name.clone(),
                outstanding_fen: facts.outstanding_fen,
            });
        }
        None
    }

    /// Whether the four-eyes rule keeps this actor out of the stage at all.
    pub fn excludes(&self, stage_id: &str, actor_id: i64, history: &[StageActor]) -> bool {
        let Some(stage) = self.stage(stage_id) else {
            return true;
        };
        self.four_eyes_conflict(
            stage,
            Actor {
                id: actor_id,
                roles: &[],
                stand_in: None,
            },
            history,
        )
        .is_some()
    }

    fn four_eyes_conflict<'w>(
        &'w self,
        stage: &Stage,
        actor: Actor<'_>,
        history: &[StageActor],
    ) -> Option<&'w str> {
        stage
            .distinct_from
            .iter()
            .map(|&i| self.stages[i].id.as_str())
            .find(|earlier| {
                history
                    .iter()
                    .any(|h| h.actor_id == actor.id && h.stage == *earlier)
            })
    }

    /// Decides one action. `stage_id` is `None` for a closed case.
    #[allow(clippy::too_many_arguments)]
    pub fn decide(
        &self,
        stage_id: Option<&str>,
        returned_from: Option<&str>,
        action_name: &str,
        actor: Actor<'_>,
        comment: &str,
        facts: &CaseFacts,
        history: &[StageActor],
    ) -> Result<Transition, Refusal> {
        let stage_id = stage_id.ok_or(Refusal::Closed)?;
        let stage = self
            .stage(stage_id)
            .ok_or_else(|| Refusal::UnknownStage(stage_id.into()))?;
        let action = stage
            .actions
            .iter()
            .find(|a| a.name == action_name)
            .ok_or_else(|| Refusal::UnknownAction {
                stage: stage_id.into(),
                action: action_name.into(),
            })?;
        let role = acting_role(action, actor).ok_or_else(|| Refusal::RoleNotAllowed {
            action: action_name.into(),
            allowed: action.roles.clone(),
        })?;
        if let Some(earlier) = self.four_eyes_conflict(stage, actor, history) {
            return Err(Refusal::FourEyes {
                stage: stage_id.into(),
                earlier: earlier.into(),
            });
        }
        // The engine's gates first: their refusal says exactly what stands in the way, where
        // a guard that repeats them would only say that a condition does not hold.
        let target = self.target(action, facts);
        if let Some(refusal) = self.gate(action, target, facts) {
            return Err(refusal);
        }
        if let (Some(guard), Some(text)) = (&action.guard, &action.guard_text) {
            if !guard.eval(facts) {
                return Err(Refusal::GuardFailed {
                    action: action_name.into(),
                    guard: text.clone(),
                });
            }
        }
        if action.comment_required && comment.trim().is_empty() {
            return Err(Refusal::CommentRequired(action_name.into()));
        }
        let to = match target {
            Target::Stage(i) => Next::Stage(self.stages[i].id.clone()),
            Target::Outcome(kind) => Next::Outcome(kind),
            Target::Returner => {
                let back = returned_from.ok_or(Refusal::NoReturnStage)?;
                if self.stage(back).is_none() {
                    return Err(Refusal::UnknownStage(back.into()));
                }
                Next::Stage(back.into())
            }
        };
        let returned_from = if action.returns {
            Some(stage_id.to_string())
        } else if target == Target::Returner {
            None
        } else {
            returned_from.map(str::to_string)
        };
        Ok(Transition {
            action: action.name.clone(),
            role,
            from: stage_id.into(),
            to,
            returned_from,
        })
    }
}

impl Workflow {
    /// The stage's deadline action, as the system takes it when the deadline passed: no
    /// actor, so no role or four-eyes check and no comment, but the engine's gates and the
    /// action's guard still hold. It is never a return, so the return stage carries over.
    pub fn on_deadline(
        &self,
        stage_id: &str,
        returned_from: Option<&str>,
        facts: &CaseFacts,
    ) -> Result<Transition, Refusal> {
        let stage = self
            .stage(stage_id)
            .ok_or_else(|| Refusal::UnknownStage(stage_id.into()))?;
        let action = stage
            .deadline_action()
            .ok_or_else(|| Refusal::UnknownAction {
                stage: stage_id.into(),
                action: "on_deadline".into(),
            })?;
        let target = self.target(action, facts);
        if let Some(refusal) = self.gate(action, target, facts) {
            return Err(refusal);
        }
        if let (Some(guard), Some(text)) = (&action.guard, &action.guard_text) {
            if !guard.eval(facts) {
                return Err(Refusal::GuardFailed {
                    action: action.name.clone(),
                    guard: text.clone(),
                });
            }
        }
        let to = match target {
            Target::Stage(i) => Next::Stage(self.stages[i].id.clone()),
            Target::Outcome(kind) => Next::Outcome(kind),
            Target::Returner => Next::Stage(
                returned_from
                    .filter(|back| self.stage(back).is_some())
                    .ok_or(Refusal::NoReturnStage)?
                    .into(),
            ),
        };
        Ok(Transition {
            action: action.name.clone(),
            // The checker makes sure a staff role may take it by hand too.
            role: action
                .roles
                .iter()
                .copied()
                .find(|r| r.is_staff())
                .unwrap_or(stage.role),
            from: stage_id.into(),
            to,
            returned_from: match target {
                Target::Returner => None,
                _ => returned_from.map(str::to_string),
            },
        })
    }
}

/// The role the actor takes this action in. Standing in for an escalated case covers the
/// staff's actions only: a resident's or a facility's own action (its statement, its
/// appeal) is theirs to take, and nobody speaks for them.
fn acting_role(action: &Action, actor: Actor<'_>) -> Option<Role> {
    action
        .roles
        .iter()
        .copied()
        .find(|r| actor.roles.contains(r))
        .or(actor
            .stand_in
            .filter(|_| action.roles.iter().any(|r| r.is_staff())))
}
