//! The facility's own dashboard: its designation and its history, its open tasks with their
//! deadlines, its screening hits per rule beside the median of the facilities at its level,
//! and what it owes. The inspectors' risk ranking is theirs and does not appear.
use super::require_facility;
use crate::auth::Principal;
use crate::definitions::Definitions;
pub use crate::domain::facility::RuleRate;
use crate::error::AppResult;
use crate::store::facilities::{self, Facility, StatusRow};
use crate::store::facility_side as store;
use crate::store::DbConn;
use serde::Serialize;

/// One of the caller's facilities, as its dashboard shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FacilityBoard {
    pub facility: Facility,
    /// The designation in force today (`designated`, `suspended`, `terminated`), if any.
    pub status: Option<String>,
    pub history: Vec<StatusRow>,
    /// Screening hits per rule over the last year's claims, beside the peers' median.
    pub rates: Vec<RuleRate>,
    pub claims: i64,
    /// Repayments and fines still owed, in fen.
    pub owed_fen: i64,
    pub paid_fen: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FacilityDashboard {
    pub facilities: Vec<FacilityBoard>,
    /// The tasks still open, soonest deadline first.
    pub open: Vec<super::TaskItem>,
    /// The first day of the period the rates cover.
    pub since: String,
}

/// The dashboard of every facility the caller speaks for. `today` is the agency's local day.
pub fn dashboard(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    today: chrono::NaiveDate,
) -> AppResult<FacilityDashboard> {
    require_facility(p)?;
    let since = (today - chrono::Days::new(365)).to_string();
    let recoveries = store::recoveries_at(conn, &p.facilities)?;
    let mut boards = Vec::new();
    for code in &p.facilities {
        let Some(facility) = facilities::get(conn, code)? else {
            continue;
        };
        let history = facilities::history(conn, code)?;
        let status = crate::domain::facility::status_on(&facilities::to_changes(&history), today)
            .map(str::to_string);
        let peers = store::codes_at_level(conn, &facility.level)?;
        let counts: std::collections::BTreeMap<String, i64> = peers
            .iter()
            .map(|c| (c.clone(), 0))
            .chain(store::claim_counts(conn, &peers, &since)?)
            .collect();
        let hits: Vec<(String, String, i64)> = store::finding_counts(conn, &peers, &since)?
            .into_iter()
            .filter(|(_, rule, _)| crate::domain::screening::RuleCode::parse(rule).is_some())
            .collect();
        let own = recoveries.iter().filter(|(c, _)| c == code).map(|(_, r)| r);
        let (owed_fen, paid_fen) = own.fold((0, 0), |(o, p), r| {
            (o + r.outstanding_fen(), p + r.paid_fen)
        });
        boards.push(FacilityBoard {
            rates: crate::domain::facility::rule_rates(code, &counts, &hits),
            claims: counts.get(code).copied().unwrap_or(0),
            facility,
            status,
            history,
            owed_fen,
            paid_fen,
        });
    }
    let mut open: Vec<super::TaskItem> = super::list(conn, defs, p)?
        .into_iter()
        .filter(|t| t.closed_at.is_none())
        .collect();
    open.sort_by_key(|t| (t.due_at.is_none(), t.due_at));
    Ok(FacilityDashboard {
        facilities: boards,
        open,
        since,
    })
}
