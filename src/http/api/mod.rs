pub mod admin;
pub mod auth;
pub mod cases;
pub mod claims;
pub mod desk;
pub mod health;
pub mod queue;
pub mod workflows;
