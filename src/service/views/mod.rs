//! Read models: what the API and the pages show, built in one place with the reader's
//! authorisation applied.
pub mod audit;
pub mod case;
pub mod claim;
pub mod registry;
pub mod reviewers;
pub mod team;
