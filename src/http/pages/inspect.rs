//! The inspector's facility list: every designated facility with its designation status
//! today and its place in the risk ranking, the money ordered back and recovered, overdue
//! rectifications, and violations per month as a chart.
use super::ctx::{Ctx, PageError};
use super::listing::csv_download;
use super::{svg, yuan};
use crate::domain::roles::Role;
use crate::service::supervision;
use crate::store::facilities;
use actix_web::{get, HttpResponse};
use serde_json::{json, Value};
use std::collections::HashMap;

pub const INSPECT_ROLES: &[Role] = &[Role::Inspector, Role::Supervisor];

/// A facility as the list shows it: its designation today and, when it is ranked, its place
/// and figures in the risk ranking.
struct FacilityLine<'a> {
    facility: &'a facilities::Facility,
    status: &'a str,
    ranked: Option<(usize, &'a supervision::FacilityRisk)>,
}

/// Ranked facilities first, highest risk first; the rest in code order.
fn lines<'a>(
    list: &'a [facilities::Facility],
    statuses: &'a HashMap<String, String>,
    dashboard: &'a supervision::Dashboard,
) -> Vec<FacilityLine<'a>> {
    let rank: HashMap<&str, (usize, &supervision::FacilityRisk)> = dashboard
        .risk_ranking
        .iter()
        .enumerate()
        .map(|(i, r)| (r.facility_code.as_str(), (i + 1, r)))
        .collect();
    let mut out: Vec<FacilityLine<'a>> = list
        .iter()
        .map(|f| FacilityLine {
            facility: f,
            status: statuses.get(&f.code).map_or("none", String::as_str),
            ranked: rank.get(f.code.as_str()).copied(),
        })
        .collect();
    out.sort_by_key(|l| l.ranked.map_or(usize::MAX, |(n, _)| n));
    out
}

type Loaded = (
    Vec<facilities::Facility>,
    HashMap<String, String>,
    supervision::Dashboard,
);

/// Facilities, their designation today, and the supervision dashboard of the user's region.
async fn load(ctx: &Ctx) -> Result<Loaded, PageError> {
    let user = ctx.require(INSPECT_ROLES)?;
    let now = crate::store::now_ms();
    let today = chrono::DateTime::from_timestamp_millis(now)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let (list, history, dashboard) = ctx
        .db(move |conn, _| {
            let (list, history) = crate::service::views::registry::facility_registry(conn, &user)?;
            let dashboard = supervision::dashboard(conn, &user, &today.to_string(), now)?;
            Ok((list, history, dashboard))
        })
        .await?;
    let statuses = facilities::statuses_on(&history, today);
    Ok((list, statuses, dashboard))
}

#[get("/facilities")]
pub async fn facilities_page(ctx: Ctx) -> Result<HttpResponse, PageError> {
    let (list, statuses, dashboard) = load(&ctx).await?;
    let rows: Vec<Value> = lines(&list, &statuses, &dashboard)
        .iter()
        .map(|l| {
            let f = l.facility;
            json!({
                "code": f.code,
                "name": f.name,
                "level": ctx.t(&format!("facilities.level_{}", f.level)),
                "status": l.status,
                "status_label": ctx.t(&format!("facilities.status_{}", l.status)),
                "rank": l.ranked.map(|(n, _)| n),
                "risk": l.ranked.map(|(_, r)| format!("{:.1}", r.risk)),
                "hits": l.ranked.map(|(_, r)| format!("{:.1}", r.hits_per_100_claims)),
                "violations": l.ranked.map_or(0, |(_, r)| r.violations),
            })
        })
        .collect();
    let months: Vec<String> = dashboard
        .violations_by_month
        .iter()
        .map(|t| t.key.clone())
        .collect();
    let counts: Vec<f64> = dashboard
        .violations_by_month
        .iter()
        .map(|t| t.count as f64)
        .collect();
    let chart = svg::bar_chart(
        &ctx.t("facilities.chart_title"),
        &months,
        &[svg::Series {
            name: &ctx.t("facilities.chart_series"),
            class: "s1",
        }],
        &[counts],
    );
    let overdue: Vec<Value> = dashboard
        .overdue_rectifications
        .iter()
        .map(|o| json!({"violation_id": o.violation_id, "facility": o.facility_code, "due": o.rectification_due}))
        .collect();
    let view = json!({
        "facilities": rows,
        "chart": chart,
        "has_violations": !dashboard.violations_by_month.is_empty(),
        "repay_ordered": yuan(dashboard.repay_ordered_fen),
        "repay_recovered": yuan(dashboard.repay_recovered_fen),
        "fines_ordered": yuan(dashboard.fines_ordered_fen),
        "fines_paid": yuan(dashboard.fines_paid_fen),
        "overdue": overdue,
    });
    ctx.page("facilities", "facilities.title", view)
}

/// The facility list as CSV, in the page's order, with the ranking's figures unrounded.
#[get("/facilities.csv")]
pub async fn facilities_csv(ctx: Ctx) -> Result<HttpResponse, PageError> {
    let (list, statuses, dashboard) = load(&ctx).await?;
    let figure = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    csv_download(
        &ctx,
        "facilities.csv",
        [
            "code",
            "name",
            "level",
            "ownership",
            "region",
            "designation",
            "risk_rank",
            "risk_score",
            "claims",
            "rule_hits",
            "hits_per_100_claims",
            "violations",
        ],
        lines(&list, &statuses, &dashboard).iter().map(|l| {
            let f = l.facility;
            let r = l.ranked.map(|(_, r)| r);
            [
                f.code.clone(),
                f.name.clone(),
                f.level.clone(),
                f.ownership.clone(),
                f.region_code.clone(),
                l.status.to_string(),
                l.ranked.map(|(n, _)| n.to_string()).unwrap_or_default(),
                figure(r.map(|r| r.risk)),
                r.map(|r| r.claims.to_string()).unwrap_or_default(),
                r.map(|r| r.rule_hits.to_string()).unwrap_or_default(),
                figure(r.map(|r| r.hits_per_100_claims)),
                r.map(|r| r.violations.to_string()).unwrap_or_default(),
            ]
        }),
    )
}
