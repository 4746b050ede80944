//! The pure core: plain data and functions, no database, no clock, no I/O.
//! Time is always passed in; files are read by the shell and handed over as text.

pub mod audit;
pub mod backup;
pub mod calendar;
pub mod case;
pub mod checked_file;
pub mod checklist;
pub mod claim;
pub mod controls;
pub mod dates;
pub mod documents;
pub mod eligibility;
pub mod escalation;
pub mod export;
pub mod facility;
pub mod field_error;
pub mod message;
pub mod money;
pub mod payment;
pub mod person;
pub mod policy;
pub mod replica_lag;
pub mod review_metrics;
pub mod roles;
pub mod screening;
pub mod supervision;
pub mod throttle;
pub mod trail;
pub mod whatif;
pub mod workflow;
