pub mod auth;
pub mod config;
pub mod domain;
pub mod error;
pub mod registry;
pub mod store;
