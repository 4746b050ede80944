//! Loading and checking workflow files. A file either becomes a fully validated [`Workflow`]
//! or a list of errors, each with file:line:column, what is wrong and how to fix it.
use super::guard::Guard;
use super::model::{
    Action, BreachPolicy, ConditionalDocuments, OutcomeKind, Route, Stage, Target, Title, Workflow,
};
pub use crate::domain::checked_file::CheckError;
use crate::domain::checked_file::FileChecker;
use crate::domain::documents::{document_kind, DOCUMENT_KINDS};
use crate::domain::roles::Role;
use serde::Deserialize;
use std::collections::{BTreeSet, VecDeque};
use toml::Spanned;

mod escalation;
mod facility;
mod safety;
pub use safety::Safety;

/// The target that sends a case back to the stage that returned it for documents.
pub const RETURN_TARGET: &str = "@return";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkflow {
    name: Spanned<String>,
    version: Spanned<u32>,
    subject: Spanned<String>,
    family: Option<String>,
    /// The resident sees only a neutral status ("under review") for cases on this workflow.
    #[serde(default)]
    confidential: bool,
    title: Title,
    initial_stage: Spanned<String>,
    authority_stage: Option<Spanned<String>>,
    #[serde(default)]
    required_documents: Vec<Spanned<String>>,
    #[serde(default)]
    conditional_documents: Vec<RawConditionalDocuments>,
    outcomes: Vec<RawOutcome>,
    stages: Vec<RawStage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConditionalDocuments {
    when: Spanned<String>,
    required: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutcome {
    id: Spanned<String>,
    title: Title,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    id: Spanned<String>,
    title: Title,
    role: Spanned<String>,
    sla_hours: Option<u32>,
    escalation_role: Option<Spanned<String>>,
    on_breach: Option<BreachPolicy>,
    escalation: Option<Spanned<Vec<escalation::RawStep>>>,
    #[serde(default)]
    distinct_from: Vec<Spanned<String>>,
    #[serde(default)]
    waiting: bool,
    #[serde(default)]
    auto_assign: bool,
    /// The action the system takes when the stage's deadline (`sla_hours`) passes.
    on_deadline: Option<Spanned<String>>,
    #[serde(default)]
    actions: Vec<RawAction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    name: Spanned<String>,
    title: Title,
    roles: Vec<Spanned<String>>,
    to: Spanned<String>,
    guard: Option<Spanned<String>>,
    #[serde(default)]
    routes: Vec<RawRoute>,
    #[serde(default)]
    returns: bool,
    #[serde(default)]
    comment_required: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    when: Spanned<String>,
    to: Spanned<String>,
}

const SUBJECTS: [&str; 4] = ["claim", "violation", "report", "appeal"];
const FAMILIES: [&str; 4] = ["out_of_region", "trauma", "unreferred_transfer", "suspect"];

type Checker<'a> = FileChecker<'a>;

fn check_role(ck: &mut Checker<'_>, raw: &Spanned<String>) -> Option<Role> {
    match raw.get_ref().parse::<Role>() {
        Ok(r) => Some(r),
        Err(e) => {
            ck.error(
                raw.span(),
                e.to_string(),
                "use one of the roles of handbook §2",
            );
            None
        }
    }
}

/// Parses and checks one workflow file under the shipped authority limits. `file` is only
/// used in error messages.
pub fn load_workflow(file: &str, source: &str) -> Result<Workflow, Vec<CheckError>> {
    load_workflow_with(file, source, &Safety::default())
}

/// Parses and checks one workflow file, its shape and its safety (see [`Safety`]).
pub fn load_workflow_with(
    file: &str,
    source: &str,
    safety: &Safety,
) -> Result<Workflow, Vec<CheckError>> {
    let mut ck = Checker {
        file,
        source,
        errors: Vec::new(),
    };
    let raw: RawWorkflow = match toml::from_str(source) {
        Ok(raw) => raw,
        Err(e) => {
            ck.error(
                e.span().unwrap_or(0..0),
                e.message().trim().to_string(),
                "see workflows/README.md for the file format",
            );
            return Err(ck.errors);
        }
    };
    let wf = build(&mut ck, &raw);
    match wf {
        Some(wf) if ck.errors.is_empty() => {
            check_graph(&mut ck, &raw, &wf);
            if ck.errors.is_empty() {
                safety::check(&mut ck, &raw, &wf, safety);
            }
            if ck.errors.is_empty() {
                Ok(wf)
            } else {
                Err(ck.errors)
            }
        }
        _ => Err(ck.errors),
    }
}

fn build(ck: &mut Checker<'_>, raw: &RawWorkflow) -> Option<Workflow> {
    if raw.name.get_ref().is_empty()
        || !raw
            .name
            .get_ref()
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
    {
        ck.error(
            raw.name.span(),
            "workflow name must be lower_snake_case",
            "e.g. name = \"trauma\"",
        );
    }
    if *raw.version.get_ref() == 0 {
        ck.error(
            raw.version.span(),
            "version must be 1 or more",
            "bump the version on every published change",
        );
    }
    if !SUBJECTS.contains(&raw.subject.get_ref().as_str()) {
        ck.error(
            raw.subject.span(),
            format!("unknown subject `{}`", raw.subject.get_ref()),
            format!("expected one of {SUBJECTS:?}"),
        );
    }
    if let Some(family) = &raw.family {
        if !FAMILIES.contains(&family.as_str()) {
            ck.error(
                raw.name.span(),
                format!("unknown family `{family}`"),
                format!("expected one of {FAMILIES:?}"),
            );
        }
    }
    let required_documents = document_list(ck, &raw.required_documents);
    let mut outcomes = Vec::new();
    for o in &raw.outcomes {
        match OutcomeKind::parse(o.id.get_ref()) {
            Some(kind) if outcomes.iter().any(|(k, _)| *k == kind) => ck.error(
                o.id.span(),
                format!("outcome `{}` declared twice", o.id.get_ref()),
                "remove the repeat",
            ),
            Some(kind) => outcomes.push((kind, o.title.clone())),
            None => ck.error(
                o.id.span(),
                format!("unknown outcome `{}`", o.id.get_ref()),
                "expected approved, partially_approved, rejected, withdrawn or closed",
            ),
        }
    }
    // Stage ids first, so that actions can refer to stages declared later.
    let mut stage_ids: Vec<&str> = Vec::new();
    for s in &raw.stages {
        let id = s.id.get_ref().as_str();
        if stage_ids.contains(&id) {
            ck.error(
                s.id.span(),
                format!("stage `{id}` declared twice"),
                "stage ids must be unique",
            );
        } else if OutcomeKind::parse(id).is_some() || id == RETURN_TARGET {
            ck.error(
                s.id.span(),
                format!("`{id}` is reserved for an outcome or target"),
                "rename the stage",
            );
        }
        stage_ids.push(id);
    }
    let resolve = |ck: &mut Checker<'_>, to: &Spanned<String>| -> Option<Target> {
        let name = to.get_ref().as_str();
        if name == RETURN_TARGET {
            return Some(Target::Returner);
        }
        if let Some(i) = stage_ids.iter().position(|s| *s == name) {
            return Some(Target::Stage(i));
        }
        if let Some(kind) = OutcomeKind::parse(name) {
            if outcomes.iter().any(|(k, _)| *k == kind) {
                return Some(Target::Outcome(kind));
            }
            ck.error(
                to.span(),
                format!("outcome `{name}` is not declared in [[outcomes]]"),
                "declare it, or target another stage",
            );
            return None;
        }
        ck.error(
            to.span(),
            format!("unknown stage `{name}`"),
            format!(
                "known stages: {}; outcomes; or \"{RETURN_TARGET}\"",
                stage_ids.join(", ")
            ),
        );
        None
    };
    let parse_guard = |ck: &mut Checker<'_>, g: &Spanned<String>| -> Option<Guard> {
        Guard::parse(g.get_ref())
            .map_err(|e| {
                // +1 skips the opening quote of the TOML string.
                let at = g.span().start + 1 + e.offset;
                ck.error(
                    at..at,
                    format!("guard `{}`: {}", g.get_ref(), e.message),
                    "guards compare facts with literals, joined by and/or/not",
                );
            })
            .ok()
    };

    let mut conditional_documents = Vec::new();
    for c in &raw.conditional_documents {
        let kinds = document_list(ck, &c.required);
        if let Some(when) = parse_guard(ck, &c.when) {
            conditional_documents.push(ConditionalDocuments {
                when_text: c.when.get_ref().clone(),
                when,
                required: kinds,
            });
        }
    }
    let mut stages = Vec::new();
    for s in &raw.stages {
        let role = check_role(ck, &s.role);
        let escalation = escalation::chain(ck, s);
        let mut distinct_from = Vec::new();
        for d in &s.distinct_from {
            match stage_ids.iter().position(|id| *id == d.get_ref()) {
                Some(i) => distinct_from.push(i),
                None => ck.error(
                    d.span(),
                    format!("four-eyes rule names unknown stage `{}`", d.get_ref()),
                    format!("known stages: {}", stage_ids.join(", ")),
                ),
            }
        }
        let mut actions: Vec<Action> = Vec::new();
        for a in &s.actions {
            if actions.iter().any(|x| x.name == *a.name.get_ref()) {
                ck.error(
                    a.name.span(),
                    format!(
                        "duplicate action `{}` in stage `{}`",
                        a.name.get_ref(),
                        s.id.get_ref()
                    ),
                    "action names must be unique within a stage",
                );
                continue;
            }
            let roles: Vec<Role> = a.roles.iter().filter_map(|r| check_role(ck, r)).collect();
            if a.roles.is_empty() {
                ck.error(
                    a.name.span(),
                    format!("action `{}` allows no role", a.name.get_ref()),
                    "add roles = [\"reviewer\"] or similar",
                );
            }
            let guard = a.guard.as_ref().and_then(|g| parse_guard(ck, g));
            let mut routes = Vec::new();
            for r in &a.routes {
                if let (Some(when), Some(to)) = (parse_guard(ck, &r.when), resolve(ck, &r.to)) {
                    routes.push(Route {
                        when_text: r.when.get_ref().clone(),
                        when,
                        to,
                    });
                }
            }
            let to = resolve(ck, &a.to);
            if a.returns && !matches!(to, Some(Target::Stage(i)) if raw.stages[i].waiting) {
                ck.error(
                    a.to.span(),
                    format!(
                        "return action `{}` must target a waiting stage",
                        a.name.get_ref()
                    ),
                    "set waiting = true on the stage it targets",
                );
            }
            if let Some(to) = to {
                actions.push(Action {
                    name: a.name.get_ref().clone(),
                    title: a.title.clone(),
                    roles,
                    guard_text: a.guard.as_ref().map(|g| g.get_ref().clone()),
                    guard: guard.clone(),
                    routes,
                    to,
                    returns: a.returns,
                    comment_required: a.comment_required,
                });
            }
        }
        if s.actions.is_empty() {
            ck.error(
                s.id.span(),
                format!("stage `{}` has no actions", s.id.get_ref()),
                "every stage needs a way out",
            );
        }
        let on_deadline = facility::deadline(ck, s, role, &actions);
        stages.push(Stage {
            id: s.id.get_ref().clone(),
            title: s.title.clone(),
            role: role.unwrap_or(Role::Admin),
            sla_hours: s.sla_hours,
            escalation,
            distinct_from,
            waiting: s.waiting,
            auto_assign: s.auto_assign,
            actions,
            on_deadline,
        });
    }
    let initial = stage_ids
        .iter()
        .position(|s| *s == raw.initial_stage.get_ref());
    if initial.is_none() {
        ck.error(
            raw.initial_stage.span(),
            format!(
                "initial stage `{}` is not declared",
                raw.initial_stage.get_ref()
            ),
            format!("known stages: {}", stage_ids.join(", ")),
        );
    }
    let authority_stage = raw.authority_stage.as_ref().and_then(|a| {
        let found = stage_ids.iter().position(|s| *s == a.get_ref());
        if found.is_none() {
            ck.error(
                a.span(),
                format!("authority stage `{}` is not declared", a.get_ref()),
                format!("known stages: {}", stage_ids.join(", ")),
            );
        }
        found
    });
    if raw.stages.is_empty() {
        ck.error(
            raw.name.span(),
            "the workflow declares no stages",
            "add [[stages]] tables",
        );
    }
    Some(Workflow {
        name: raw.name.get_ref().clone(),
        version: *raw.version.get_ref(),
        subject: raw.subject.get_ref().clone(),
        family: raw.family.clone(),
        confidential: raw.confidential,
        title: raw.title.clone(),
        initial: initial?,
        authority_stage,
        required_documents,
        conditional_documents,
        outcomes,
        stages,
    })
}

fn document_list(ck: &mut Checker<'_>, raw: &[Spanned<String>]) -> Vec<String> {
    let mut kinds: Vec<String> = Vec::new();
    for doc in raw {
        if document_kind(doc.get_ref()).is_none() {
            let known: Vec<&str> = DOCUMENT_KINDS.iter().map(|k| k.code).collect();
            ck.error(
                doc.span(),
                format!("unknown document kind `{}`", doc.get_ref()),
                format!("known kinds: {}", known.join(", ")),
            );
        } else if kinds.contains(doc.get_ref()) {
            ck.error(
                doc.span(),
                format!("document kind `{}` listed twice", doc.get_ref()),
                "remove the repeat",
            );
        } else {
            kinds.push(doc.get_ref().clone());
        }
    }
    kinds
}

/// Successor stages of each stage. A return-for-documents edge into a waiting stage implies
/// an edge from the waiting stage back to the returner.
fn successors(wf: &Workflow) -> Vec<BTreeSet<usize>> {
    let mut next = vec![BTreeSet::new(); wf.stages.len()];
    for (i, stage) in wf.stages.iter().enumerate() {
        for action in &stage.actions {
            for target in Workflow::action_targets(action) {
                if let Target::Stage(j) = target {
                    next[i].insert(j);
                    if action.returns {
                        next[j].insert(i);
                    }
                }
            }
        }
    }
    next
}

fn reachable_from(next: &[BTreeSet<usize>], start: usize) -> Vec<bool> {
    let mut seen = vec![false; next.len()];
    let mut queue = VecDeque::from([start]);
    seen[start] = true;
    while let Some(i) = queue.pop_front() {
        for &j in &next[i] {
            if !seen[j] {
                seen[j] = true;
                queue.push_back(j);
            }
        }
    }
    seen
}

fn check_graph(ck: &mut Checker<'_>, raw: &RawWorkflow, wf: &Workflow) {
    let next = successors(wf);
    let reached = reachable_from(&next, wf.initial);
    // Stages that can end: they have an outcome action, or lead to a stage that can.
    let mut can_end: Vec<bool> = wf
        .stages
        .iter()
        .map(|s| {
            s.actions
                .iter()
                .any(|a| Workflow::action_targets(a).any(|t| matches!(t, Target::Outcome(_))))
        })
        .collect();
    loop {
        let mut changed = false;
        for i in 0..wf.stages.len() {
            if !can_end[i] && next[i].iter().any(|&j| can_end[j]) {
                can_end[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (i, s) in raw.stages.iter().enumerate() {
        if !reached[i] {
            ck.error(
                s.id.span(),
                format!(
                    "stage `{}` cannot be reached from the initial stage `{}`",
                    s.id.get_ref(),
                    raw.initial_stage.get_ref()
                ),
                "add an action that leads here, or remove the stage",
            );
        } else if !can_end[i] {
            ck.error(
                s.id.span(),
                format!(
                    "no terminal outcome can be reached from stage `{}`",
                    s.id.get_ref()
                ),
                "add an action towards an outcome or a stage that ends",
            );
        }
        for (d, &earlier) in s.distinct_from.iter().zip(&wf.stages[i].distinct_from) {
            if earlier == i || !reachable_from(&next, earlier)[i] {
                ck.error(
                    d.span(),
                    format!(
                        "four-eyes rule in `{}` names `{}`, which does not precede it",
                        s.id.get_ref(),
                        d.get_ref()
                    ),
                    "name a stage on a path leading to this one",
                );
            }
        }
    }
    for (i, stage) in wf.stages.iter().enumerate() {
        let returned_into = wf.stages.iter().any(|s| {
            s.actions
                .iter()
                .any(|a| a.returns && a.to == Target::Stage(i))
        });
        let uses_return = stage
            .actions
            .iter()
            .any(|a| Workflow::action_targets(a).any(|t| t == Target::Returner));
        if uses_return && !returned_into {
            ck.error(raw.stages[i].id.span(), format!("stage `{}` sends cases to \"{RETURN_TARGET}\" but no action returns cases into it", stage.id), "mark the action that sends cases here with returns = true");
        }
    }
}

#[cfg(test)]
mod tests;
