//! The registry reads intake makes: the insured person and their enrolments, the facility
//! with its designation history, regions, and the statistics screening compares with (the
//! facility's standing, the peers of a diagnosis group, a doctor's score). A request reads
//! them straight from the database ([`Direct`]); a bulk import memoises them across its file
//! and also answers for the claims it has planned but not yet written (`cli::import`).
use crate::domain::eligibility::Enrolment;
use crate::domain::facility::StatusChange;
use crate::domain::screening::{DoctorScore, OutlierScore, PeerKey, PeerStats, WeekendScore};
use crate::error::{AppError, AppResult};
use crate::store::facilities::{self, Facility};
use crate::store::persons::{self, Person};
use crate::store::regions::{self, Region};
use crate::store::screening::StayRow;
use crate::store::DbConn;

/// Another claim that carries an invoice of the same normal form, with its claimant.
pub use crate::store::claims::InvoiceUseRow as InvoiceUse;
use crate::store::screening::StatKind;

/// An invoice number and the other claims that carry it (by its normal form).
pub type InvoiceUses = (String, Vec<InvoiceUse>);

pub trait RegistryReads {
    fn person(&mut self, conn: &mut DbConn, id_number: &str) -> AppResult<Option<Person>>;
    fn enrolments(&mut self, conn: &mut DbConn, person_id: i64) -> AppResult<Vec<Enrolment>>;
    fn facility(
        &mut self,
        conn: &mut DbConn,
        code: &str,
    ) -> AppResult<Option<(Facility, Vec<StatusChange>)>>;
    fn region(&mut self, conn: &mut DbConn, code: &str) -> AppResult<Region>;
    /// The facility's outlier and weekend scores.
    fn standing(&mut self, conn: &mut DbConn, facility: &str) -> AppResult<Standing>;
    /// The cost and length of stay of a diagnosis group at a level.
    fn peers(&mut self, conn: &mut DbConn, key: &PeerKey) -> AppResult<Option<PeerStats>>;
    /// A doctor's score among peers.
    fn doctor(&mut self, conn: &mut DbConn, code: &str) -> AppResult<Option<DoctorScore>>;
    /// Claims planned alongside this one and not yet written that carry an invoice of this
    /// normal form.
    fn pending_invoice_uses(&self, _key: &str) -> &[InvoiceUse] {
        &[]
    }
    /// Stays of this person's claims planned alongside this one and not yet written.
    fn pending_stays(&self, _person_id: i64) -> &[StayRow] {
        &[]
    }
    /// Stays of the household's claims at the facility planned alongside this one.
    fn pending_household(&self, _household: &str, _facility: &str) -> &[StayRow] {
        &[]
    }
}

/// Straight from the database: what one request needs.
pub struct Direct;

pub fn enrolments_of(conn: &mut DbConn, person_id: i64) -> AppResult<Vec<Enrolment>> {
    Ok(persons::enrolments_of(conn, person_id)?
        .iter()
        .filter_map(|e| e.to_domain())
        .collect())
}

pub fn facility_of(
    conn: &mut DbConn,
    code: &str,
) -> AppResult<Option<(Facility, Vec<StatusChange>)>> {
    Ok(match facilities::get(conn, code)? {
        Some(f) => Some((f, facilities::to_changes(&facilities::history(conn, code)?))),
        None => None,
    })
}

pub fn region_of(conn: &mut DbConn, code: &str) -> AppResult<Region> {
    regions::get(conn, code)?.ok_or_else(|| AppError::NotFound(format!("region {code}")))
}

impl RegistryReads for Direct {
    fn person(&mut self, conn: &mut DbConn, id_number: &str) -> AppResult<Option<Person>> {
        Ok(persons::by_id_number(conn, id_number)?)
    }

    fn enrolments(&mut self, conn: &mut DbConn, person_id: i64) -> AppResult<Vec<Enrolment>> {
        enrolments_of(conn, person_id)
    }

    fn facility(
        &mut self,
        conn: &mut DbConn,
        code: &str,
    ) -> AppResult<Option<(Facility, Vec<StatusChange>)>> {
        facility_of(conn, code)
    }

    fn region(&mut self, conn: &mut DbConn, code: &str) -> AppResult<Region> {
        region_of(conn, code)
    }

    fn standing(&mut self, conn: &mut DbConn, facility: &str) -> AppResult<Standing> {
        standing_of(conn, facility)
    }

    fn peers(&mut self, conn: &mut DbConn, key: &PeerKey) -> AppResult<Option<PeerStats>> {
        let subject = peer_subject(key);
        stat(conn, StatKind::Peer, &subject)
    }

    fn doctor(&mut self, conn: &mut DbConn, code: &str) -> AppResult<Option<DoctorScore>> {
        stat(conn, StatKind::Doctor, code)
    }
}

/// A facility's standing as intake reads it: its outlier and weekend scores.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    pub outlier: Option<OutlierScore>,
    pub weekend: Option<WeekendScore>,
}

/// Reads a facility's standing from the stored scores.
pub fn standing_of(conn: &mut DbConn, facility: &str) -> AppResult<Standing> {
    Ok(Standing {
        outlier: crate::store::screening::score_for(conn, facility)?,
        weekend: stat(conn, StatKind::Weekend, facility)?,
    })
}

/// A stored statistic of one subject; one that no longer parses is as good as none.
pub fn stat<T: serde::de::DeserializeOwned>(
    conn: &mut DbConn,
    kind: StatKind,
    subject: &str,
) -> AppResult<Option<T>> {
    Ok(crate::store::screening::stat_for(conn, kind, subject)?
        .and_then(|j| serde_json::from_str(&j).ok()))
}

/// The subject a peer group is stored under.
pub fn peer_subject(key: &PeerKey) -> String {
    format!("{}|{}", key.group, key.level)
}
