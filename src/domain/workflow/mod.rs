//! The workflow engine: definitions loaded from TOML, checked once at load time, and a pure
//! transition function. Nothing here touches a database or a clock.
mod check;
mod engine;
pub mod guard;
mod model;

pub use check::{load_workflow, load_workflow_with, CheckError, Safety};
pub use engine::{Actor, Next, Refusal, StageActor, Transition};
pub use guard::{CaseFacts, Guard};
pub use model::{
    Action, BreachPolicy, ConditionalDocuments, EscalationStep, FormNeeds, OutcomeKind, Route,
    Stage, Target, Title, Workflow,
};
