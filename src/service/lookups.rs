//! The registry reads intake makes: the insured person and their enrolments, the facility
//! with its designation history, regions, and the facility's outlier score. A request reads
//! them straight from the database ([`Direct`]); a bulk import memoises them across its file
//! and also answers for the claims it has planned but not yet written (`cli::import`).
use crate::domain::eligibility::Enrolment;
use crate::domain::facility::StatusChange;
use crate::domain::screening::OutlierScore;
use crate::error::{AppError, AppResult};
use crate::store::facilities::{self, Facility};
use crate::store::persons::{self, Person};
use crate::store::regions::{self, Region};
use crate::store::screening::StayRow;
use crate::store::DbConn;

/// Another claim that carries an invoice number: (claim, facility, person).
pub type InvoiceUse = (i64, String, Option<i64>);

/// An invoice number and the other claims that carry it.
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
    fn score(&mut self, conn: &mut DbConn, facility: &str) -> AppResult<Option<OutlierScore>>;
    /// Claims planned alongside this one and not yet written that carry the invoice.
    fn pending_invoice_uses(&self, _invoice: &str) -> &[InvoiceUse] {
        &[]
    }
    /// Stays of this person's claims planned alongside this one and not yet written.
    fn pending_stays(&self, _person_id: i64) -> &[StayRow] {
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

    fn score(&mut self, conn: &mut DbConn, facility: &str) -> AppResult<Option<OutlierScore>> {
        Ok(crate::store::screening::score_for(conn, facility)?)
    }
}
