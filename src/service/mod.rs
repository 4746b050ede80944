//! Use cases: each loads what the pure core needs, asks it, and writes the result and its
//! audit event in one transaction. HTTP handlers, CLI commands and jobs all go through here.
pub mod appeal_decision;
pub mod appeals;
pub mod assignment;
pub mod auth;
pub mod cases;
pub mod cipher;
pub mod documents;
pub mod facility;
pub mod facility_tasks;
pub mod findings;
pub mod intake;
pub mod jobs;
pub mod lookups;
pub mod notify;
pub mod payments;
pub mod pricing;
pub mod queue;
pub mod registries;
pub mod reports;
pub mod scope;
pub mod screening;
pub mod subjects;
pub mod supervision;
pub mod timeline;
pub mod views;
pub mod whatif;

use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::error::{AppError, AppResult};
use crate::mail::Notifier;
use crate::store::{regions, users, DbConn};

/// The principal a user acts as, read from the database (for logins, CLI work and jobs).
pub fn principal(conn: &mut DbConn, user: users::User) -> AppResult<Principal> {
    let roles = users::roles_of(conn, user.id)?;
    let facilities = if roles.iter().any(|r| r.is_facility()) {
        crate::store::facility_side::codes_of(conn, user.id)?
    } else {
        Vec::new()
    };
    let region = regions::get(conn, &user.region_code)?
        .ok_or_else(|| AppError::NotFound(format!("region {}", user.region_code)))?;
    Ok(Principal {
        user_id: user.id,
        username: user.username,
        display_name: user.display_name,
        roles,
        region: region.code,
        region_path: region.path,
        org: user.org,
        lang: user.lang,
        facilities,
        session_id: String::new(),
    })
}

/// What a use case that writes letters reads besides its connection: the checked
/// definitions, and the templates its letters are rendered with.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub defs: &'a Definitions,
    pub notifier: &'a Notifier,
    /// Seals and opens payee account numbers.
    pub accounts: &'a cipher::AccountCipher,
    /// Days after a decision within which it may be appealed.
    pub appeal_days: u32,
    /// The configured bound on every amount of a claim (`max_claim_yuan`).
    pub max_claim_fen: i64,
}

impl<'a> Env<'a> {
    pub fn new(
        defs: &'a Definitions,
        notifier: &'a Notifier,
        accounts: &'a cipher::AccountCipher,
        config: &crate::config::Config,
    ) -> Env<'a> {
        Env {
            defs,
            notifier,
            accounts,
            appeal_days: config.appeal_days,
            max_claim_fen: config.max_claim_fen(),
        }
    }
}
