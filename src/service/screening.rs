//! The screening rules at work: per claim at intake (indexed lookups, no scans), the facility
//! outlier scores, and the backtest over history (`claimflow screen`).
use super::lookups::{InvoiceUses, RegistryReads};
use super::pricing::ClaimContext;
use crate::definitions::Definitions;
use crate::domain::claim::{Claim, EncounterKind};
use crate::domain::screening::{
    self, Against, FacilityStats, Hit, InvoiceUse, OutlierScore, PersonFacts, Screened, Stay,
};
use crate::error::AppResult;
use crate::store::screening::{self as store, StayRow};
use crate::store::DbConn;
use chrono::{Days, NaiveDate};

/// The workflow a claim with an `investigate` hit opens in.
pub const INVESTIGATION: &str = "fraud_investigation";

/// A stored claim as the pair rules see it; `None` if its dates do not parse.
pub fn stay_of(row: &StayRow) -> Option<Stay<'_>> {
    Some(Stay {
        claim_id: row.id,
        facility: &row.facility_code,
        inpatient: row.encounter_kind == "inpatient",
        admission: date(&row.admission_date)?,
        discharge: date(&row.discharge_date)?,
    })
}

fn date(s: &str) -> Option<NaiveDate> {
    crate::domain::dates::parse_iso_date(s)
}

/// Runs every rule on a claim being planned: the person's stays near its dates come from the
/// `(person_id, admission_date)` index (plus the batch's pending ones), the invoice uses from
/// the invoice index, the facility's score from `facility_scores`.
pub fn at_intake(
    conn: &mut DbConn,
    defs: &Definitions,
    reads: &mut dyn RegistryReads,
    claim: &Claim,
    ctx: &ClaimContext,
    duplicates: &[InvoiceUses],
) -> AppResult<Vec<Hit>> {
    let rules = defs.screening();
    let window = Days::new(u64::from(rules.readmission_days));
    let from = (claim.admission_date - window).to_string();
    let to = (claim.discharge_date + window).to_string();
    let mut near = store::stays_near(conn, ctx.person.id, &from, &to)?;
    near.extend(
        reads
            .pending_stays(ctx.person.id)
            .iter()
            .filter(|s| s.admission_date <= to && s.discharge_date >= from)
            .cloned(),
    );
    let earlier: Vec<Stay<'_>> = near.iter().filter_map(stay_of).collect();
    let coverage: Vec<(NaiveDate, NaiveDate)> = reads
        .enrolments(conn, ctx.person.id)?
        .iter()
        .map(|e| (e.period_start, e.period_end))
        .collect();
    let person = date(&ctx.person.birth_date).map(|birth| PersonFacts {
        sex: &ctx.person.sex,
        birth,
        death: ctx.person.death_date.as_deref().and_then(date),
        coverage: &coverage,
    });
    let uses: Vec<InvoiceUse<'_>> = duplicates
        .iter()
        .flat_map(|(invoice, others)| {
            others
                .iter()
                .map(move |(claim_id, facility, person_id)| InvoiceUse {
                    invoice,
                    claim_id: *claim_id,
                    facility,
                    person_id: *person_id,
                })
        })
        .collect();
    let score = reads.score(conn, &claim.facility_code)?;
    let screened = Screened {
        stay: Stay {
            // Not written yet: no id, and no earlier stay is this one.
            claim_id: 0,
            facility: &claim.facility_code,
            inpatient: claim.encounter_kind == EncounterKind::Inpatient,
            admission: claim.admission_date,
            discharge: claim.discharge_date,
        },
        family: claim.family.as_str(),
        diagnosis: &claim.diagnosis_code,
        third_party_liable: claim.facts.third_party_liable,
        discharge_medicine_days: claim.facts.discharge_medicine_days,
        chronic: claim.facts.chronic_condition,
    };
    let mut hits = Vec::new();
    screening::screen(
        rules,
        &screened,
        &Against {
            person_id: Some(ctx.person.id),
            person,
            earlier_stays: &earlier,
            facility_history: &ctx.history,
            invoice_uses: &uses,
            facility_outlier: score.as_ref(),
        },
        &mut hits,
    );
    Ok(hits)
}

/// Scores every facility on the claims admitted in `from..=to` and stores the scores that
/// intake reads, in one transaction. Returns them.
pub fn refresh_scores(
    conn: &mut DbConn,
    defs: &Definitions,
    from: NaiveDate,
    to: NaiveDate,
    now_ms: i64,
) -> AppResult<Vec<OutlierScore>> {
    let rules = defs.screening();
    let stats: Vec<FacilityStats> =
        store::facility_stats(conn, &from.to_string(), &to.to_string())?;
    let scores = screening::outliers(&rules.outlier, &stats);
    conn.write_tx(|conn| store::replace_scores(conn, &scores, now_ms))?;
    Ok(scores)
}
