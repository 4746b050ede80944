//! claimflow: workflow and case management for resident medical-insurance claims review and
//! fund supervision. See README.md for the architecture map.
// serde_json's `json!` recurses per key; the page views are larger than its default allows.
#![recursion_limit = "256"]
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod core;
pub mod definitions;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod messages;
pub mod service;
pub mod store;
