//! Property tests for the pure workflow engine over the shipped workflow files.
use claimflow::domain::roles::Role;
use claimflow::domain::workflow::{Actor, CaseFacts, Next, StageActor, Workflow};
use proptest::prelude::*;
use std::path::Path;

fn shipped() -> Vec<Workflow> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows");
    claimflow::definitions::load_dir(&dir, &Default::default())
        .unwrap_or_else(|errors| panic!("shipped workflows must pass check: {errors:#?}"))
        .into_iter()
        .map(|f| f.workflow)
        .collect()
}

#[test]
fn every_shipped_workflow_passes_check() {
    let names: Vec<String> = shipped().into_iter().map(|w| w.name).collect();
    for expected in ["out_of_region", "trauma", "unreferred_transfer"] {
        assert!(
            names.contains(&expected.to_string()),
            "{expected} missing from {names:?}"
        );
    }
}

/// Actors: id and roles. Id 7 holds both review roles, the case four-eyes exists for.
const ACTORS: [(i64, &[Role]); 8] = [
    (1, &[Role::Resident]),
    (2, &[Role::Clerk]),
    (3, &[Role::Reviewer]),
    (4, &[Role::SeniorReviewer]),
    (5, &[Role::Supervisor]),
    (6, &[Role::Auditor]),
    (7, &[Role::Reviewer, Role::SeniorReviewer, Role::Supervisor]),
    (8, &[Role::SeniorReviewer, Role::Supervisor]),
];

fn facts_strategy() -> impl Strategy<Value = CaseFacts> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0i64..5_000_000,
    )
        .prop_map(|(docs, emergency, filed, liable, fen)| CaseFacts {
            documents_complete: docs,
            emergency,
            filed,
            third_party_liable: liable,
            claimed_fen: fen,
            payable_fen: fen / 2,
            ..CaseFacts::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_action_sequences_stay_inside_the_definition(
        wf_index in 0usize..3,
        steps in prop::collection::vec((0usize..ACTORS.len(), 0usize..64, facts_strategy(), any::<bool>()), 1..60),
    ) {
        let workflows = shipped();
        let wf = &workflows[wf_index % workflows.len()];
        let names: Vec<&str> = wf.stages.iter().flat_map(|s| s.actions.iter().map(|a| a.name.as_str())).collect();
        let mut stage: Option<String> = Some(wf.initial_stage().id.clone());
        let mut returned_from: Option<String> = None;
        let mut history: Vec<StageActor> = Vec::new();
        for (who, pick, facts, with_comment) in steps {
            let (id, roles) = ACTORS[who];
            let action = names[pick % names.len()];
            let comment = if with_comment { "reason" } else { "" };
            let result = wf.decide(stage.as_deref(), returned_from.as_deref(), action, Actor { id, roles, stand_in: None }, comment, &facts, &history);
            let Ok(t) = result else { continue };
            let from = stage.clone().expect("a closed case never transitions");
            let from_stage = wf.stage(&from).expect("current stage is defined");
            // Four-eyes holds for every accepted action.
            for &earlier in &from_stage.distinct_from {
                let earlier = &wf.stages[earlier].id;
                prop_assert!(!history.iter().any(|h| h.actor_id == id && &h.stage == earlier),
                    "actor {id} acted in {earlier} and again in {from}");
            }
            prop_assert!(t.role != Role::Auditor, "the auditor is read-only");
            history.push(StageActor { stage: from, actor_id: id });
            match t.to {
                Next::Stage(s) => {
                    prop_assert!(wf.stage(&s).is_some(), "reached undefined stage {s}");
                    stage = Some(s);
                }
                Next::Outcome(o) => {
                    prop_assert!(wf.outcome_title(o).is_some(), "undeclared outcome {o:?}");
                    stage = None;
                }
            }
            returned_from = t.returned_from;
            if let Some(r) = &returned_from {
                prop_assert!(wf.stage(r).is_some());
            }
        }
    }

    #[test]
    fn available_actions_are_exactly_the_ones_decide_accepts(
        wf_index in 0usize..3, who in 0usize..ACTORS.len(), stage_pick in 0usize..16, facts in facts_strategy(),
    ) {
        let workflows = shipped();
        let wf = &workflows[wf_index % workflows.len()];
        let stage = &wf.stages[stage_pick % wf.stages.len()];
        let (id, roles) = ACTORS[who];
        let actor = Actor { id, roles, stand_in: None };
        let offered: Vec<&str> = wf.available_actions(&stage.id, actor, &facts, &[]).iter().map(|a| a.name.as_str()).collect();
        // A case waiting for documents remembers the stage that returned it.
        let returner = wf.stages.iter().find(|s| s.actions.iter().any(|a| a.returns)).map(|s| s.id.as_str());
        for action in &stage.actions {
            let ok = wf.decide(Some(&stage.id), returner, &action.name, actor, "a comment", &facts, &[]).is_ok();
            prop_assert_eq!(ok, offered.contains(&action.name.as_str()), "{} in {}", action.name, stage.id);
        }
    }
}
