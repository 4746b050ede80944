//! Policy what-if in the browser (supervisors and admins): upload a draft schedule, which is
//! checked as `claimflow check` checks it (errors with their lines); choose the period and
//! region; the replay runs in the background with its progress on the page; the outcome
//! shows charts and tables, and earlier runs stay listed to compare. A draft uploaded here is
//! never used to price a claim.
use super::ctx::{see_other, Ctx, PageError};
use super::svg::{self, Series};
use super::yuan;
use crate::domain::dates::parse_iso_date;
use crate::domain::policy::load_policy;
use crate::domain::roles::Role;
use crate::error::{AppError, Msg};
use crate::http::upload::{read_upload, refuse_declared_oversize};
use crate::service::whatif::{self as svc, LayerFen, ReplayPlan, RunResult};
use crate::store::whatif::{self as store, RunRow};
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

pub const WHATIF_ROLES: &[Role] = &[Role::Supervisor, Role::Admin];

/// A draft policy is a small text file.
const DRAFT_LIMIT: usize = 256 * 1024;

fn ratio(bp: Option<i64>) -> String {
    bp.map_or("—".into(), |b| format!("{}.{:02} %", b / 100, b % 100))
}

fn change(before: i64, after: i64) -> String {
    let d = after - before;
    if d > 0 {
        format!("+{}", yuan(d))
    } else {
        yuan(d)
    }
}

fn status_label(ctx: &Ctx, status: &str) -> String {
    ctx.t(&format!("whatif.status_{status}"))
}

fn run_row(ctx: &Ctx, r: &RunRow) -> Value {
    let result: Option<RunResult> = r
        .result
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok());
    json!({
        "id": r.id, "draft": r.draft_name, "region": r.region_code.clone().unwrap_or_else(|| r.draft_region.clone()),
        "period": match (&r.from_date, &r.to_date) { (Some(f), Some(t)) => format!("{f} – {t}"), _ => "—".into() },
        "status": r.status, "status_label": status_label(ctx, &r.status), "created": ctx.when(r.created_at),
        "cost_change": result.as_ref().map(|x| change(x.baseline.fund_cost, x.draft.fund_cost)),
        "ratio": result.as_ref().map(|x| ratio(x.draft.ratio_bp)),
    })
}

/// The latest runs of regions inside the user's own.
fn runs_in_scope(
    conn: &mut crate::store::DbConn,
    user: &crate::auth::Principal,
    limit: i64,
) -> crate::error::AppResult<Vec<RunRow>> {
    let mut runs = Vec::new();
    for r in store::latest(conn, limit)? {
        if svc::region_in_scope(conn, user, run_region(&r))? {
            runs.push(r);
        }
    }
    Ok(runs)
}

fn run_region(r: &RunRow) -> &str {
    r.region_code.as_deref().unwrap_or(&r.draft_region)
}

async fn desk(ctx: &Ctx, errors: Vec<String>) -> Result<HttpResponse, PageError> {
    let user = ctx.require(WHATIF_ROLES)?;
    let runs = ctx
        .db(move |conn, _| runs_in_scope(conn, &user, 50))
        .await?;
    let rows: Vec<Value> = runs.iter().map(|r| run_row(ctx, r)).collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let view = json!({"runs": rows, "errors": errors, "csrf": ctx.csrf()});
    ctx.page_titled("whatif", ctx.t("whatif.title"), view, status)
}

#[get("/whatif")]
pub async fn whatif_desk(ctx: Ctx) -> Result<HttpResponse, PageError> {
    desk(&ctx, Vec::new()).await
}

/// A draft uploaded (multipart: `_csrf`, `file`): checked whole, kept when it passes.
#[post("/whatif")]
pub async fn upload_draft(
    ctx: Ctx,
    req: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(WHATIF_ROLES)?;
    refuse_declared_oversize(&req, DRAFT_LIMIT).map_err(|e| ctx.fail(e))?;
    let upload = read_upload(form, DRAFT_LIMIT)
        .await
        .map_err(|e| ctx.fail(e))?;
    ctx.check_csrf(upload.csrf.as_deref().unwrap_or_default())?;
    let is_toml = std::path::Path::new(&upload.filename)
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("toml"));
    let Some(text) = String::from_utf8(upload.bytes).ok().filter(|_| is_toml) else {
        let msg = ctx.pick(
            "草案应为 UTF-8 编码的 TOML 政策文件（.toml）",
            "the draft must be a policy file in TOML (.toml), UTF-8 text",
        );
        return desk(&ctx, vec![msg.to_string()]).await;
    };
    let policy = match load_policy(&upload.filename, &text) {
        Ok(p) => p,
        Err(errors) => {
            let lines = errors
                .iter()
                .map(|e| {
                    let mut line = format!("{}:{}:{}: {}", e.file, e.line, e.column, e.message);
                    if !e.hint.is_empty() {
                        line.push_str(&format!(" — {}", e.hint));
                    }
                    line
                })
                .collect();
            return desk(&ctx, lines).await;
        }
    };
    let region = policy.region.clone();
    let id = ctx
        .db(move |conn, _| {
            if !svc::region_in_scope(conn, &user, &policy.region)? {
                return Ok(None);
            }
            Ok(Some(store::insert_checked(
                conn,
                user.user_id,
                crate::store::now_ms(),
                &policy.name,
                &policy.region,
                &text,
            )?))
        })
        .await?;
    match id {
        Some(id) => Ok(see_other(&format!("/whatif/{id}"))),
        None => {
            let msg = ctx
                .pick(
                    &format!("草案适用地区 {region} 不在您的管辖范围内"),
                    &format!("the draft is for region {region}, outside your own region"),
                )
                .to_string();
            desk(&ctx, vec![msg]).await
        }
    }
}

fn layer_table(ctx: &Ctx, b: &LayerFen, d: &LayerFen) -> Vec<Value> {
    [
        ("whatif.basic", b.basic, d.basic),
        ("whatif.catastrophic", b.catastrophic, d.catastrophic),
        ("whatif.assistance", b.assistance, d.assistance),
        ("whatif.fund_cost", b.fund_cost, d.fund_cost),
        ("whatif.self_pay", b.self_pay, d.self_pay),
    ]
    .into_iter()
    .map(|(key, before, after)| {
        json!({"layer": ctx.t(key), "baseline": yuan(before), "draft": yuan(after), "change": change(before, after)})
    })
    .collect()
}

/// Bars for drawing only, in 10,000 yuan (万元): the figures are in the tables beside them.
fn as_wan_f64(fen: i64) -> f64 {
    fen as f64 / 1_000_000.0
}

fn result_view(ctx: &Ctx, r: &RunResult) -> Value {
    let layers = ["whatif.basic", "whatif.catastrophic", "whatif.assistance"];
    let labels: Vec<String> = layers.iter().map(|k| ctx.t(k)).collect();
    let (base_name, draft_name) = (ctx.t("whatif.baseline"), ctx.t("whatif.draft"));
    // One row per series (baseline, draft), one value per layer, in units of 10,000 yuan so
    // that the axis labels fit.
    let sides = [&r.baseline, &r.draft];
    let values: Vec<Vec<f64>> = sides
        .iter()
        .map(|l| {
            vec![
                as_wan_f64(l.basic),
                as_wan_f64(l.catastrophic),
                as_wan_f64(l.assistance),
            ]
        })
        .collect();
    let layer_chart = svg::bar_chart(
        &ctx.t("whatif.layer_chart"),
        &labels,
        &[
            Series {
                name: &base_name,
                class: "s1",
            },
            Series {
                name: &draft_name,
                class: "s2",
            },
        ],
        &values,
    );
    let decile_labels: Vec<String> = (1..=r.deciles.len()).map(|d| format!("{}0%", d)).collect();
    let decile_chart = crate::domain::whatif::change_chart(
        &ctx.t("whatif.decile_chart"),
        &decile_labels,
        &r.deciles,
    );
    let groups: Vec<Value> = r
        .groups
        .iter()
        .map(|g| {
            json!({
                "dimension": ctx.t(&format!("whatif.dim_{}", g.dimension)), "value": g.value, "claims": g.draft.claims,
                "baseline": yuan(g.baseline.fund_cost), "draft": yuan(g.draft.fund_cost),
                "change": change(g.baseline.fund_cost, g.draft.fund_cost), "ratio": ratio(g.draft.ratio_bp),
            })
        })
        .collect();
    let top: Vec<Value> = r
        .top
        .iter()
        .map(|t| {
            json!({"claim_id": t.claim_id, "month": t.month, "baseline": yuan(t.baseline_self_pay),
                   "draft": yuan(t.draft_self_pay), "change": change(t.baseline_self_pay, t.draft_self_pay),
                   "step": t.step, "key": t.key})
        })
        .collect();
    let changes: Vec<Value> = r
        .changes
        .iter()
        .map(|(k, b, a)| json!({"key": k, "before": b.clone().unwrap_or("—".into()), "after": a.clone().unwrap_or("—".into())}))
        .collect();
    let deciles: Vec<Value> = r
        .deciles
        .iter()
        .zip(&decile_labels)
        .map(|(d, l)| json!({"label": l, "value": change(0, *d)}))
        .collect();
    json!({
        "claims": r.claims, "changed": r.changed, "layers": layer_table(ctx, &r.baseline, &r.draft),
        "ratio_baseline": ratio(r.baseline.ratio_bp), "ratio_draft": ratio(r.draft.ratio_bp),
        "target": crate::domain::whatif::TARGET_RATIO_PERCENT,
        "layer_chart": layer_chart, "decile_chart": decile_chart, "deciles": deciles,
        "more": r.more, "less": r.less, "same": r.same, "groups": groups, "top": top, "changes": changes,
    })
}

#[get("/whatif/{id}")]
pub async fn run_page(ctx: Ctx, id: web::Path<i64>) -> Result<HttpResponse, PageError> {
    show(&ctx, id.into_inner(), None).await
}

/// A run the user may see: one of a region inside their own; anything else is "not found",
/// as for an id never issued.
fn run_in_scope(
    conn: &mut crate::store::DbConn,
    user: &crate::auth::Principal,
    id: i64,
) -> crate::error::AppResult<RunRow> {
    let not_found = || AppError::NotFound(format!("what-if run {id}"));
    let run = store::get(conn, id)?.ok_or_else(not_found)?;
    if svc::region_in_scope(conn, user, run_region(&run))? {
        Ok(run)
    } else {
        Err(not_found())
    }
}

async fn show(ctx: &Ctx, id: i64, error: Option<String>) -> Result<HttpResponse, PageError> {
    let user = ctx.require(WHATIF_ROLES)?;
    let (run, others) = ctx
        .db(move |conn, _| {
            Ok((
                run_in_scope(conn, &user, id)?,
                runs_in_scope(conn, &user, 20)?,
            ))
        })
        .await?;
    let result: Option<RunResult> = run
        .result
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok());
    let compare: Vec<Value> = others
        .iter()
        .filter(|r| r.status == "done")
        .map(|r| run_row(ctx, r))
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let view = json!({
        "run": run_row(ctx, &run),
        "can_start": run.status == "checked" || run.status == "failed",
        "running": run.status == "running",
        "progress": run.progress / 10,
        "failed": run.status == "failed",
        "run_error": ctx.pick_opt(&run.error_zh, &run.error_en),
        "result": result.as_ref().map(|r| result_view(ctx, r)),
        "compare": compare, "error": error, "csrf": ctx.csrf(),
        "from": run.from_date.clone().unwrap_or_else(|| "2019-01-01".into()),
        "to": run.to_date.clone().unwrap_or_else(|| "2019-12-31".into()),
        "region": run.region_code.clone().unwrap_or_else(|| run.draft_region.clone()),
    });
    ctx.page_titled(
        "whatif_run",
        format!("{} #{}", ctx.t("whatif.title"), run.id),
        view,
        status,
    )
}

#[derive(Deserialize)]
pub struct StartForm {
    #[serde(rename = "_csrf")]
    csrf: String,
    from: String,
    to: String,
    #[serde(default)]
    region: String,
}

/// Starts the replay of a checked draft over a period.
#[post("/whatif/{id}/run")]
pub async fn start(
    ctx: Ctx,
    id: web::Path<i64>,
    form: web::Form<StartForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(WHATIF_ROLES)?;
    ctx.check_csrf(&form.csrf)?;
    let id = id.into_inner();
    let date = |field: &str, v: &str| {
        parse_iso_date(v.trim()).ok_or_else(|| {
            ctx.fail(AppError::field(
                field,
                Msg::new("field-date").text("value", v),
            ))
        })
    };
    let (from, to) = (date("from", &form.from)?, date("to", &form.to)?);
    let region = Some(form.region.trim().to_string()).filter(|r| !r.is_empty());
    let run = ctx.db(move |conn, _| run_in_scope(conn, &user, id)).await?;
    // Checked at upload; checked again, since the file is parsed anew for the replay.
    let (Ok(draft), Ok(doc)) = (
        load_policy(&run.draft_name, &run.draft_text),
        toml::from_str::<toml::Value>(&run.draft_text),
    ) else {
        return show(
            &ctx,
            id,
            Some(
                ctx.pick("草案未通过检查", "the draft does not pass the check")
                    .into(),
            ),
        )
        .await;
    };
    let plan = ReplayPlan {
        from,
        to,
        region: region.clone(),
        baseline: None,
        drafts: vec![draft],
    };
    let (checked, plan) = ctx
        .db(move |conn, _| {
            let checked = svc::check_plan(conn, &plan).map_err(|e| e.texts());
            if checked.is_ok() {
                let started = store::start(
                    conn,
                    id,
                    &from.to_string(),
                    &to.to_string(),
                    region.as_deref(),
                )?;
                if !started {
                    return Ok((
                        Err((
                            "该测算已在运行或已完成".to_string(),
                            "this run is already running or done".to_string(),
                        )),
                        plan,
                    ));
                }
            }
            Ok((checked, plan))
        })
        .await?;
    if let Err((zh, en)) = checked {
        return show(&ctx, id, Some(ctx.pick(&zh, &en).to_string())).await;
    }
    let state = &ctx.state;
    svc::launch(
        state.pool.clone(),
        state.reads.clone(),
        state.defs.clone(),
        state.config.policies_dir.clone(),
        id,
        plan,
        doc,
    );
    Ok(see_other(&format!("/whatif/{id}")))
}
