//! The inspector's facility list: every designated facility with its designation status
//! today and its place in the risk ranking, the money ordered back and recovered, overdue
//! rectifications, and violations per month as a chart.
use super::ctx::{Ctx, PageError};
use super::{svg, yuan};
use crate::domain::roles::Role;
use crate::service::supervision;
use crate::store::facilities;
use actix_web::{get, HttpResponse};
use serde_json::{json, Value};
use std::collections::HashMap;

pub const INSPECT_ROLES: &[Role] = &[Role::Inspector, Role::Supervisor];

#[get("/facilities")]
pub async fn facilities_page(ctx: Ctx) -> Result<HttpResponse, PageError> {
    let user = ctx.require(INSPECT_ROLES)?;
    let now = crate::store::now_ms();
    let today = chrono::DateTime::from_timestamp_millis(now)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let (list, history, dashboard) = ctx
        .db(move |conn, _| {
            let list = facilities::list(conn)?;
            let history = facilities::all_history(conn)?;
            let dashboard = supervision::dashboard(conn, &user, &today.to_string(), now)?;
            Ok((list, history, dashboard))
        })
        .await?;
    let statuses = facilities::statuses_on(&history, today);
    let rank: HashMap<&str, (usize, &supervision::FacilityRisk)> = dashboard
        .risk_ranking
        .iter()
        .enumerate()
        .map(|(i, r)| (r.facility_code.as_str(), (i + 1, r)))
        .collect();
    let mut rows: Vec<(Option<usize>, Value)> = list
        .iter()
        .map(|f| {
            let status = statuses.get(&f.code).map_or("none", String::as_str);
            let risk = rank.get(f.code.as_str());
            let view = json!({
                "code": f.code,
                "name": f.name,
                "level": ctx.t(&format!("facilities.level_{}", f.level)),
                "status": status,
                "status_label": ctx.t(&format!("facilities.status_{status}")),
                "rank": risk.map(|(n, _)| *n),
                "risk": risk.map(|(_, r)| format!("{:.1}", r.risk)),
                "hits": risk.map(|(_, r)| format!("{:.1}", r.hits_per_100_claims)),
                "violations": risk.map_or(0, |(_, r)| r.violations),
            });
            (risk.map(|(n, _)| *n), view)
        })
        .collect();
    // Ranked facilities first, highest risk first; the rest by code.
    rows.sort_by_key(|(rank, _)| rank.unwrap_or(usize::MAX));
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
        "facilities": rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
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
