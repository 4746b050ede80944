//! Supervision figures for a region and the facility risk ranking.
use super::*;

/// A count and an amount under a key (type, facility or month).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Tally {
    pub key: String,
    pub count: i64,
    pub amount_fen: i64,
}

/// A rectification past its deadline.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Overdue {
    pub violation_id: i64,
    pub facility_code: String,
    pub rectification_due: Option<String>,
    pub due_at: Option<i64>,
}

/// A facility's risk and what it is made of: screening hits per 100 claims, violations (10
/// points each), and the outlier z-scores above 0 (5 points per unit of the larger).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FacilityRisk {
    pub facility_code: String,
    pub name: String,
    pub claims: i64,
    pub rule_hits: i64,
    pub hits_per_100_claims: f64,
    pub violations: i64,
    pub cost_z: Option<f64>,
    pub admission_z: Option<f64>,
    pub risk: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub violations_by_type: Vec<Tally>,
    pub violations_by_facility: Vec<Tally>,
    pub violations_by_month: Vec<Tally>,
    pub repay_ordered_fen: i64,
    pub repay_recovered_fen: i64,
    pub fines_ordered_fen: i64,
    pub fines_paid_fen: i64,
    pub overdue_rectifications: Vec<Overdue>,
    /// Highest risk first, at most 20.
    pub risk_ranking: Vec<FacilityRisk>,
}

fn tallies(map: std::collections::BTreeMap<String, (i64, i64)>) -> Vec<Tally> {
    map.into_iter()
        .map(|(key, (count, amount_fen))| Tally {
            key,
            count,
            amount_fen,
        })
        .collect()
}

/// Supervision figures for the user's region: violations by type, facility and month,
/// money ordered and recovered, rectifications past their deadline, and the facility risk
/// ranking with its components.
pub fn dashboard(
    conn: &mut DbConn,
    p: &Principal,
    today: &str,
    now_ms: i64,
) -> AppResult<Dashboard> {
    p.require_any(&[Role::Inspector, Role::Supervisor, Role::Auditor])?;
    let rows = store::violations_in(conn, crate::service::scope::staff_region(p)?)?;
    let (mut by_type, mut by_facility, mut by_month) = Default::default();
    let tally = |m: &mut std::collections::BTreeMap<String, (i64, i64)>, k: String, amount: i64| {
        let e = m.entry(k).or_insert((0, 0));
        e.0 += 1;
        e.1 += amount;
    };
    let mut overdue = Vec::new();
    for (v, stage, due_at) in &rows {
        tally(&mut by_type, v.type_code.clone(), v.amount_fen);
        tally(&mut by_facility, v.facility_code.clone(), v.amount_fen);
        let month = chrono::DateTime::from_timestamp_millis(v.created_at)
            .map(|d| d.format("%Y-%m").to_string())
            .unwrap_or_default();
        tally(&mut by_month, month, v.amount_fen);
        let late = v.rectification_due.as_deref().is_some_and(|d| d < today)
            || due_at.is_some_and(|d| d < now_ms);
        if stage.as_deref() == Some("rectification") && late {
            overdue.push(Overdue {
                violation_id: v.id,
                facility_code: v.facility_code.clone(),
                rectification_due: v.rectification_due.clone(),
                due_at: *due_at,
            });
        }
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.0.id).collect();
    let recoveries = store::recoveries_for(conn, &ids)?;
    let sum = |kind: &str, paid: bool| -> i64 {
        crate::domain::money::sum_fen(recoveries.iter().filter(|r| r.kind == kind).map(|r| {
            if paid {
                r.paid_fen
            } else {
                r.amount_fen
            }
        }))
    };
    let risk_ranking = risk_ranking(conn, p, &by_facility)?;
    Ok(Dashboard {
        repay_ordered_fen: sum("repay", false),
        repay_recovered_fen: sum("repay", true),
        fines_ordered_fen: sum("fine", false),
        fines_paid_fen: sum("fine", true),
        violations_by_type: tallies(by_type),
        violations_by_facility: tallies(by_facility),
        violations_by_month: tallies(by_month),
        overdue_rectifications: overdue,
        risk_ranking,
    })
}

fn risk_ranking(
    conn: &mut DbConn,
    p: &Principal,
    violations: &std::collections::BTreeMap<String, (i64, i64)>,
) -> AppResult<Vec<FacilityRisk>> {
    let paths: std::collections::HashMap<String, String> = regions::list(conn)?
        .into_iter()
        .map(|r| (r.code, r.path))
        .collect();
    let codes = crate::domain::screening::RuleCode::ALL.map(|c| c.as_str());
    let (claims, hits) = store::facility_claims_and_hits(conn, &codes)?;
    let claims: std::collections::HashMap<String, i64> = claims.into_iter().collect();
    let hits: std::collections::HashMap<String, i64> = hits.into_iter().collect();
    let scores: std::collections::HashMap<String, crate::domain::screening::OutlierScore> =
        crate::store::screening::all_scores(conn)?
            .into_iter()
            .map(|s| (s.facility.clone(), s))
            .collect();
    let mut ranking: Vec<FacilityRisk> = facilities::list(conn)?
        .into_iter()
        .filter(|f| {
            paths
                .get(&f.region_code)
                .is_some_and(|path| p.covers_region(path))
        })
        .map(|f| {
            let n = claims.get(&f.code).copied().unwrap_or(0);
            let h = hits.get(&f.code).copied().unwrap_or(0);
            let v = violations.get(&f.code).map_or(0, |t| t.0);
            let score = scores.get(&f.code);
            let rate = if n > 0 {
                (h as f64 * 10_000.0 / n as f64).round() / 100.0
            } else {
                0.0
            };
            let z = score.map_or(0.0, |s| s.cost_z.max(s.admission_z).max(0.0));
            FacilityRisk {
                risk: ((rate + 10.0 * v as f64 + 5.0 * z) * 100.0).round() / 100.0,
                facility_code: f.code,
                name: f.name,
                claims: n,
                rule_hits: h,
                hits_per_100_claims: rate,
                violations: v,
                cost_z: score.map(|s| s.cost_z),
                admission_z: score.map(|s| s.admission_z),
            }
        })
        .filter(|r| r.risk > 0.0)
        .collect();
    ranking.sort_by(|a, b| {
        b.risk
            .total_cmp(&a.risk)
            .then(a.facility_code.cmp(&b.facility_code))
    });
    ranking.truncate(20);
    Ok(ranking)
}
