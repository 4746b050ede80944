//! The supervisor's team board: workload per reviewer, cases breached, at risk or escalated
//! with bulk reassignment, and four charts (cases opened and closed per day, median working
//! time per stage, SLA compliance, and the policy-scope reimbursement ratio against the
//! national 75 % target).
use super::ctx::{see_other, Ctx, PageError};
use super::listing::{self, csv_download};
use super::svg;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::error::Msg;
use crate::service::views::team::{team_board, TeamBoard};
use crate::service::{assignment, queue};
use crate::store::queue::Sla;
use actix_web::{get, post, web, HttpResponse};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const SUPERVISOR: &[Role] = &[Role::Supervisor];
const DAY_MS: i64 = 86_400_000;
const DAYS: i64 = 14;
/// Turnaround buckets in working hours: under 4, 4-8 (a working day), 8-16, 16-24, 24 and more.
const TURNAROUND_BOUNDS_MS: [i64; 4] =
    [4 * 3_600_000, 8 * 3_600_000, 16 * 3_600_000, 24 * 3_600_000];
/// The national target for the policy-scope reimbursement ratio of resident inpatient care.
pub const POLICY_SCOPE_TARGET: Decimal = Decimal::from_parts(75, 0, 0, false, 2);

/// Cases opened and closed per day over the `days` days ending today, oldest first; the days
/// start at local midnight, `offset_ms` east of UTC (the working calendar's zone).
pub fn per_day(
    rows: &[(i64, Option<String>, i64)],
    now_ms: i64,
    days: i64,
    offset_ms: i64,
) -> Vec<(String, u32, u32)> {
    let today = (now_ms + offset_ms).div_euclid(DAY_MS);
    let first = today - days + 1;
    let mut out: Vec<(String, u32, u32)> = (first..=today)
        .map(|d| {
            let label = chrono::DateTime::from_timestamp_millis(d * DAY_MS)
                .map(|t| t.format("%m-%d").to_string())
                .unwrap_or_default();
            (label, 0, 0)
        })
        .collect();
    let slot = |ms: i64| {
        let d = (ms + offset_ms).div_euclid(DAY_MS);
        (first..=today).contains(&d).then(|| (d - first) as usize)
    };
    for (opened, outcome, updated) in rows {
        if let Some(i) = slot(*opened) {
            out[i].1 += 1;
        }
        if outcome.is_some() {
            if let Some(i) = slot(*updated) {
                out[i].2 += 1;
            }
        }
    }
    out
}

/// Amount granted over policy-scope cost, to four places rounded half-up; none without cost.
pub fn policy_scope_ratio(rows: &[(i64, Option<i64>)]) -> Option<Decimal> {
    let scope = crate::domain::money::sum_fen(rows.iter().map(|(s, _)| *s));
    let granted = crate::domain::money::sum_fen(rows.iter().filter_map(|(_, g)| *g));
    (scope > 0).then(|| {
        (Decimal::from(granted) / Decimal::from(scope))
            .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
    })
}

fn percent(ratio: Decimal) -> String {
    format!(
        "{}%",
        (ratio * Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
    )
}

/// The open cases by stage, each with its holders and their counts linked to the queue.
fn by_stage_view(ctx: &Ctx, loads: &[crate::service::views::team::StageLoad]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for l in loads {
        let holder_filter = match &l.holder {
            Some((id, _)) => format!("&holder={id}"),
            None => "&unassigned=on".to_string(),
        };
        let holder = json!({
            "name": l.holder.as_ref().map_or_else(|| ctx.t("team.pool"), |(_, n)| n.clone()),
            "cases": l.cases,
            "href": format!("/queue?family={}&stage={}{holder_filter}", l.workflow, l.stage),
        });
        let same = out
            .last_mut()
            .filter(|s| s["workflow"] == l.workflow.as_str() && s["stage_id"] == l.stage.as_str());
        match same {
            Some(s) => {
                s["total"] = json!(s["total"].as_i64().unwrap_or(0) + l.cases);
                if let Some(hs) = s["holders"].as_array_mut() {
                    hs.push(holder);
                }
            }
            None => {
                let family = ctx.state.defs.latest(&l.workflow);
                out.push(json!({
                    "workflow": l.workflow,
                    "stage_id": l.stage,
                    "family": family.as_ref().map(|wf| ctx.pick(&wf.title.zh, &wf.title.en).to_string()),
                    "stage": ctx.stage_title_in(&l.workflow, &l.stage),
                    "total": l.cases,
                    "href": format!("/queue?family={}&stage={}", l.workflow, l.stage),
                    "holders": [holder],
                }));
            }
        }
    }
    out
}

/// The board's data and the days it covers, read in one blocking call.
async fn load_board(ctx: &Ctx, now: i64, attention_limit: i64) -> Result<TeamBoard, PageError> {
    let user = ctx.require(SUPERVISOR)?;
    ctx.db(move |conn, env| team_board(conn, env.defs, &user, (now, DAYS, attention_limit)))
        .await
}

/// A case's SLA state as the board shows it: a case without a due time is paused.
fn sla_state(due_at: Option<i64>, now: i64) -> &'static str {
    match queue::sla_of(due_at, now) {
        Sla::Breached => "breached",
        Sla::AtRisk => "at_risk",
        Sla::OnTrack if due_at.is_none() => "paused",
        Sla::OnTrack => "on_track",
    }
}

#[derive(serde::Deserialize)]
pub struct BoardQuery {
    moved: Option<u32>,
}

#[get("/team")]
pub async fn board(ctx: Ctx, q: web::Query<BoardQuery>) -> Result<HttpResponse, PageError> {
    let now = crate::store::now_ms();
    let b = load_board(&ctx, now, 50).await?;
    let defs = &ctx.state.defs;
    let attention: Vec<Value> = b
        .attention
        .iter()
        .map(|c| {
            let sla = sla_state(c.due_at, now);
            let wf = defs.latest(&c.workflow);
            json!({
                "case_id": c.id,
                "family": wf.as_ref().map(|wf| ctx.pick(&wf.title.zh, &wf.title.en).to_string()),
                "stage": wf.as_ref().and_then(|wf| wf.stage(c.stage.as_deref()?).map(|s| ctx.pick(&s.title.zh, &s.title.en).to_string())),
                "sla": sla,
                "sla_label": ctx.t(&format!("queue.{sla}")),
                "due": c.due_at.map(|d| ctx.due(d)),
                "escalated": c.escalated_at.is_some(),
            })
        })
        .collect();
    let offset_ms = i64::from(ctx.state.defs.calendar().offset.local_minus_utc()) * 1000;
    let days = per_day(&b.opened_closed, now, DAYS, offset_ms);
    let labels: Vec<String> = days.iter().map(|d| d.0.clone()).collect();
    let opened_closed = svg::bar_chart(
        &ctx.t("team.chart_days"),
        &labels,
        &[
            svg::Series {
                name: &ctx.t("team.opened"),
                class: "s1",
            },
            svg::Series {
                name: &ctx.t("team.closed"),
                class: "s2",
            },
        ],
        &[
            days.iter().map(|d| f64::from(d.1)).collect(),
            days.iter().map(|d| f64::from(d.2)).collect(),
        ],
    );
    // How long each stage took (working hours) over the team's cases of the last 30 days.
    let mut spread: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for t in &b.metrics.teams {
        for (stage, counts) in t.figures.distribution(&TURNAROUND_BOUNDS_MS) {
            let total = spread.entry(stage).or_insert_with(|| vec![0; counts.len()]);
            for (sum, n) in total.iter_mut().zip(counts) {
                *sum += n;
            }
        }
    }
    let stage_title = |id: &str| ctx.stage_title(id);
    let stage_labels: Vec<String> = spread.keys().map(|s| stage_title(s)).collect();
    let bucket_names: Vec<String> = (0..=TURNAROUND_BOUNDS_MS.len())
        .map(|i| ctx.t(&format!("team.bucket_{i}")))
        .collect();
    let bucket_series: Vec<svg::Series<'_>> = bucket_names
        .iter()
        .zip(["s1", "s2", "s3", "s4", "s5"])
        .map(|(name, class)| svg::Series { name, class })
        .collect();
    let bucket_values: Vec<Vec<f64>> = (0..=TURNAROUND_BOUNDS_MS.len())
        .map(|i| spread.values().map(|counts| f64::from(counts[i])).collect())
        .collect();
    let turnaround = svg::bar_chart(
        &ctx.t("team.chart_stages"),
        &stage_labels,
        &bucket_series,
        &bucket_values,
    );
    let teams: Vec<String> = b.metrics.teams.iter().map(|t| t.team.clone()).collect();
    let compliance: Vec<f64> = b
        .metrics
        .teams
        .iter()
        .map(|t| t.figures.sla_compliance.unwrap_or(0.0) * 100.0)
        .collect();
    let sla_chart = svg::bar_chart(
        &ctx.t("team.chart_sla"),
        &teams,
        &[svg::Series {
            name: &ctx.t("team.sla_percent"),
            class: "s1",
        }],
        &[compliance],
    );
    let ratio = policy_scope_ratio(&b.approved);
    let ratio_chart = ratio.map(|r| {
        svg::share_bar(
            &ctx.t("team.chart_ratio"),
            r.to_f64().unwrap_or(0.0),
            POLICY_SCOPE_TARGET.to_f64().unwrap_or(0.75),
            &format!("{} {}", ctx.t("team.ratio_now"), percent(r)),
            &format!("{} {}", ctx.t("team.target"), percent(POLICY_SCOPE_TARGET)),
        )
    });
    let reviewers: Vec<Value> = b
        .metrics
        .reviewers
        .iter()
        .map(|r| {
            json!({
                "name": r.display_name,
                "team": r.team,
                "closed": r.figures.closed,
                "actions": r.figures.actions,
                "sla": r.figures.sla_compliance.map(|v| format!("{:.0}%", v * 100.0)),
                "overturn": r.figures.overturn_rate.map(|v| format!("{:.0}%", v * 100.0)),
            })
        })
        .collect();
    let workload: Vec<Value> = b
        .workload
        .iter()
        .map(|(name, n)| json!({"name": name, "open": n}))
        .collect();
    let view = json!({
        "moved": moved_notice(&ctx, q.moved),
        "by_stage": by_stage_view(&ctx, &b.by_stage),
        "workload": workload,
        "reviewers": reviewers,
        "attention": attention,
        "chart_days": opened_closed,
        "chart_stages": turnaround,
        "has_stages": !spread.is_empty(),
        "chart_sla": sla_chart,
        "has_teams": !b.metrics.teams.is_empty(),
        "chart_ratio": ratio_chart,
    });
    ctx.page("team", "team.title", view)
}

/// One of the board's lists as CSV: `workload` (open cases per reviewer), `reviewers` (each
/// reviewer's figures over 30 days) or `attention` (every breached, at-risk or escalated
/// case, not only the first 50).
#[get("/team/{list}.csv")]
pub async fn board_csv(ctx: Ctx, list: web::Path<String>) -> Result<HttpResponse, PageError> {
    let list = list.into_inner();
    if !["workload", "reviewers", "attention"].contains(&list.as_str()) {
        return Err(ctx.fail(AppError::NotFound(format!("team list `{list}`"))));
    }
    let now = crate::store::now_ms();
    let b = load_board(&ctx, now, listing::CSV_MAX).await?;
    let name = format!("team-{list}.csv");
    let ratio = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    match list.as_str() {
        "workload" => csv_download(
            &ctx,
            &name,
            ["reviewer", "open_cases"],
            b.workload
                .iter()
                .map(|(n, open)| [n.clone(), open.to_string()]),
        ),
        "reviewers" => csv_download(
            &ctx,
            &name,
            [
                "reviewer",
                "team",
                "closed",
                "actions",
                "sla_compliance",
                "overturn_rate",
            ],
            b.metrics.reviewers.iter().map(|r| {
                [
                    r.display_name.clone(),
                    r.team.clone(),
                    r.figures.closed.to_string(),
                    r.figures.actions.to_string(),
                    ratio(r.figures.sla_compliance),
                    ratio(r.figures.overturn_rate),
                ]
            }),
        ),
        _ => csv_download(
            &ctx,
            &name,
            [
                "case_id",
                "workflow",
                "stage",
                "sla",
                "due",
                "assignee_id",
                "escalated_to",
            ],
            b.attention.iter().map(|c| {
                [
                    c.id.to_string(),
                    c.workflow.clone(),
                    c.stage.clone().unwrap_or_default(),
                    sla_state(c.due_at, now).to_string(),
                    c.due_at.map(|d| ctx.due(d)).unwrap_or_default(),
                    c.assignee_id.map(|a| a.to_string()).unwrap_or_default(),
                    c.escalated_to.clone().unwrap_or_default(),
                ]
            }),
        ),
    }
}

/// The reassignment form: `case_ids` repeats once per selected case, which serde's form
/// decoding cannot collect, so the body is read pair by pair.
#[derive(Debug, Default, PartialEq)]
pub struct ReassignForm {
    case_ids: Vec<i64>,
    to: String,
    reason: String,
    /// The page to return to (the team board or the queue).
    back: String,
    csrf: String,
}

impl ReassignForm {
    fn parse(body: &[u8]) -> Result<ReassignForm, AppError> {
        let mut form = ReassignForm::default();
        for (key, value) in form_urlencoded::parse(body) {
            match key.as_ref() {
                "case_ids" => form.case_ids.push(value.parse().map_err(|_| {
                    AppError::field(
                        "case_ids",
                        Msg::new("field-case-number").text("value", value.as_ref()),
                    )
                })?),
                "to" => form.to = value.into_owned(),
                "reason" => form.reason = value.into_owned(),
                "back" => form.back = value.into_owned(),
                "_csrf" => form.csrf = value.into_owned(),
                _ => {}
            }
        }
        Ok(form)
    }
}

/// Where a reassignment returns: the queue or the team board, never another site.
fn back_of(form: &ReassignForm) -> String {
    match super::ctx::local_path(&form.back) {
        "/" => "/team".to_string(),
        path => path.to_string(),
    }
}

/// The confirmation page: the selected cases with their stage and holder, only the people who
/// may take every one of them, the reason, and a button that says how many will move.
async fn review_page(
    ctx: &Ctx,
    form: ReassignForm,
    refusal: Option<String>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(SUPERVISOR)?;
    let ids = form.case_ids.clone();
    let found = crate::http::db(&ctx.state, move |conn, env| {
        let (cases, targets) =
            assignment::eligible_for(conn, env, &user, &ids, crate::store::now_ms())?;
        let holders: Vec<i64> = cases.iter().filter_map(|c| c.assignee_id).collect();
        let names = crate::store::users::display_names(conn, &holders)?;
        Ok((cases, targets, names))
    })
    .await;
    let back = back_of(&form);
    let (cases, targets, names, refusal) = match found {
        Ok((cases, targets, names)) => (cases, targets, names, refusal),
        Err(e @ AppError::Rule(_)) => (
            Vec::new(),
            Vec::new(),
            Default::default(),
            Some(e.text(ctx.lang)),
        ),
        Err(e) => return Err(ctx.fail(e)),
    };
    let rows: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({
                "case_id": c.id,
                "stage": c.stage.as_deref().map(|s| ctx.stage_title_in(&c.workflow, s)),
                "holder": c.assignee_id.map(|id| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))),
            })
        })
        .collect();
    let n = cases.len();
    let move_label = if n == 1 {
        ctx.t("team.move_one")
    } else {
        ctx.t("team.move_n").replace("{n}", &n.to_string())
    };
    let view = json!({
        "cases": rows,
        "targets": targets.iter().map(|s| json!({"id": s.id, "name": s.display_name, "selected": form.to == s.id.to_string()})).collect::<Vec<_>>(),
        "no_targets": targets.is_empty(),
        "reason": form.reason,
        "back": back,
        "move_label": move_label,
        "refusal": refusal,
    });
    let status = if view["refusal"].is_null() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    ctx.page_titled("reassign", ctx.t("team.confirm_title"), view, status)
}

/// Step one of a reassignment: the cases ticked on the queue or the board, to confirm.
#[post("/team/reassign/review")]
pub async fn reassign_review(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, PageError> {
    ctx.require(SUPERVISOR)?;
    let form = ReassignForm::parse(&body).map_err(|e| ctx.fail(e))?;
    ctx.check_csrf(&form.csrf)?;
    review_page(&ctx, form, None).await
}

/// Step two: reassigns the confirmed cases, all or none, as the API does. A refusal comes
/// back on the confirmation page; success returns to where the user came from and says how
/// many cases moved.
#[post("/team/reassign")]
pub async fn reassign(ctx: Ctx, body: web::Bytes) -> Result<HttpResponse, PageError> {
    let user = ctx.require(SUPERVISOR)?;
    let form = ReassignForm::parse(&body).map_err(|e| ctx.fail(e))?;
    ctx.check_csrf(&form.csrf)?;
    let to = match form.to.as_str() {
        "" | "pool" => None,
        id => match id.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                let text = ctx.t("team.pick_target");
                return review_page(&ctx, form, Some(text)).await;
            }
        },
    };
    let (ids, reason) = (form.case_ids.clone(), form.reason.clone());
    let moved = crate::http::db(&ctx.state, move |conn, env| {
        assignment::reassign(conn, env, &user, &ids, to, &reason, crate::store::now_ms())
    })
    .await;
    match moved {
        Ok(done) => {
            let back = back_of(&form);
            let sep = if back.contains('?') { '&' } else { '?' };
            Ok(see_other(&format!("{back}{sep}moved={}", done.len())))
        }
        Err(e @ AppError::Rule(_)) => {
            let text = e.text(ctx.lang);
            review_page(&ctx, form, Some(text)).await
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

/// The notice after a reassignment: how many cases moved, in the page's language.
pub fn moved_notice(ctx: &Ctx, moved: Option<u32>) -> Option<String> {
    moved.map(|n| {
        if n == 1 {
            ctx.t("team.moved_one")
        } else {
            ctx.t("team.moved_n").replace("{n}", &n.to_string())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_selected_case_is_read() {
        let form = ReassignForm::parse(
            b"_csrf=t&case_ids=3&case_ids=12&to=7&reason=%E4%BC%91%E5%81%87&back=%2Fqueue",
        )
        .unwrap();
        assert_eq!(form.case_ids, [3, 12]);
        assert_eq!(
            (form.to.as_str(), form.reason.as_str(), form.back.as_str()),
            ("7", "休假", "/queue")
        );
        let err = ReassignForm::parse(b"case_ids=x").unwrap_err().to_string();
        assert!(err.contains("case_ids"), "{err}");
    }

    #[test]
    fn cases_fall_on_their_beijing_day() {
        // 2026-11-30 16:30 UTC is 1 December, 00:30 in Beijing.
        let now = 1_796_056_200_000;
        let rows = vec![
            (now, None, now),
            (now - DAY_MS, Some("approved".to_string()), now),
            (
                now - 20 * DAY_MS,
                Some("rejected".to_string()),
                now - 20 * DAY_MS,
            ),
        ];
        let days = per_day(&rows, now, 3, 8 * 3_600_000);
        assert_eq!(
            days.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
            ["11-29", "11-30", "12-01"]
        );
        assert_eq!(days[2], ("12-01".to_string(), 1, 1));
        assert_eq!(days[1], ("11-30".to_string(), 1, 0));
        assert_eq!(
            days[0].1 + days[0].2,
            0,
            "the case from 20 days ago is outside the chart"
        );
    }

    #[test]
    fn the_ratio_is_exact_and_rounded_half_up() {
        assert_eq!(policy_scope_ratio(&[]), None);
        let r = policy_scope_ratio(&[(30_000, Some(20_000)), (0, None)]).unwrap();
        assert_eq!(r.to_string(), "0.6667");
        assert_eq!(percent(r), "66.7%");
        assert_eq!(percent(POLICY_SCOPE_TARGET), "75.0%");
        // 10,001 / 160,000 = 0.06250625: four places keep 0.0625.
        assert_eq!(
            policy_scope_ratio(&[(160_000, Some(10_001))])
                .unwrap()
                .to_string(),
            "0.0625"
        );
    }
}
