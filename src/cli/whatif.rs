//! `claimflow whatif`: a draft schedule replayed over past claims (service::whatif), written
//! as summary.md, by_group.csv and claims.csv, or for a sweep also sweep.csv and sweep.svg.
//! Every input is checked before anything is written; a failed run leaves no files.
use crate::definitions::Definitions;
use crate::domain::money::Fen;
use crate::domain::policy::{load_policy, Policy};
use crate::domain::whatif::{
    diff_keys, set_key, sweep_chart, Changed, Dimension, KeyChange, Layers, Outcome, Pair, Sweep,
    TARGET_RATIO_PERCENT,
};
use crate::service::whatif::{self as service, ReplayPlan, ReplayReport};
use crate::store::Pool;
use anyhow::{anyhow, bail, Context};
use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The command line, checked.
pub struct Args {
    pub policy: PathBuf,
    pub baseline: Option<PathBuf>,
    pub from: String,
    pub to: String,
    pub region: Option<String>,
    pub out: PathBuf,
    pub sweep: Option<String>,
}

/// A policy file loaded as `check` loads it, its errors printed with their lines.
fn load(path: &Path) -> anyhow::Result<(Policy, toml::Value)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    let policy = load_policy(&name, &text).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow!(
            "{name}：草案未通过检查 / the policy file does not pass `claimflow check`:\n{}",
            lines.join("\n")
        )
    })?;
    let doc = toml::from_str(&text).with_context(|| format!("parsing {name}"))?;
    Ok((policy, doc))
}

/// The drafts to replay: the file itself, or one per sweep value.
fn drafts(draft: &Policy, doc: &toml::Value, sweep: Option<&Sweep>) -> anyhow::Result<Vec<Policy>> {
    let Some(sweep) = sweep else {
        return Ok(vec![draft.clone()]);
    };
    let mut out = Vec::with_capacity(sweep.values.len());
    for value in &sweep.values {
        let mut d = doc.clone();
        set_key(&mut d, &sweep.key, *value).map_err(|e| anyhow!("--sweep: {e}"))?;
        let text = toml::to_string(&d).context("writing the swept policy")?;
        let name = format!("{}={}", sweep.key, value.normalize());
        let policy = load_policy(&name, &text).map_err(|errors| {
            anyhow!(
                "--sweep {name}: the policy with this value does not pass `check`:\n{}",
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })?;
        out.push(policy);
    }
    Ok(out)
}

/// Runs the command; returns the summary's text.
pub fn run(
    pool: &Pool,
    defs: &Definitions,
    policies_dir: &Path,
    args: &Args,
    progress: bool,
) -> anyhow::Result<String> {
    let day = |flag: &str, v: &str| {
        crate::domain::dates::parse_iso_date(v).ok_or_else(|| {
            anyhow!("{flag} `{v}`：应为日期 YYYY-MM-DD / expected a date YYYY-MM-DD")
        })
    };
    let (from, to) = (day("--from", &args.from)?, day("--to", &args.to)?);
    let (draft, draft_doc) = load(&args.policy)?;
    let baseline = args.baseline.as_deref().map(load).transpose()?;
    let sweep = args
        .sweep
        .as_deref()
        .map(Sweep::parse)
        .transpose()
        .map_err(|e| anyhow!("--sweep: {e}"))?;
    let drafts = drafts(&draft, &draft_doc, sweep.as_ref())?;
    let plan = ReplayPlan {
        from,
        to,
        region: args.region.clone(),
        baseline: baseline.as_ref().map(|(p, _)| p.clone()),
        drafts,
    };
    let created = !args.out.exists();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let result = write_report(
        pool,
        defs,
        policies_dir,
        &plan,
        args,
        &draft_doc,
        baseline.as_ref().map(|(_, d)| d),
        sweep.as_ref(),
        progress,
    );
    if result.is_err() {
        let _ = std::fs::remove_file(args.out.join("claims.csv.part"));
        if created {
            let _ = std::fs::remove_dir(&args.out);
        }
    }
    result
}

#[allow(clippy::too_many_arguments)]
fn write_report(
    pool: &Pool,
    defs: &Definitions,
    policies_dir: &Path,
    plan: &ReplayPlan,
    args: &Args,
    draft_doc: &toml::Value,
    baseline_doc_given: Option<&toml::Value>,
    sweep: Option<&Sweep>,
    progress: bool,
) -> anyhow::Result<String> {
    let part = args.out.join("claims.csv.part");
    let mut claims_csv = csv::Writer::from_path(&part)?;
    claims_csv.write_record([
        "claim_id",
        "person_id",
        "month",
        "baseline_basic_yuan",
        "baseline_catastrophic_yuan",
        "baseline_assistance_yuan",
        "baseline_self_pay_yuan",
        "draft_basic_yuan",
        "draft_catastrophic_yuan",
        "draft_assistance_yuan",
        "draft_self_pay_yuan",
        "self_pay_change_yuan",
        "step",
        "policy_key",
    ])?;
    let bar = super::screen::progress_bar(progress, "‰ 参保人 persons");
    bar.set_length(1000);
    let report = service::replay(
        pool,
        defs,
        plan,
        &|at| bar.set_position(at),
        &mut |c: &Changed| {
            let y = |f: i64| cell(i128::from(f));
            claims_csv
                .write_record([
                    c.claim_id.to_string(),
                    c.person_id.to_string(),
                    c.month.clone(),
                    y(c.baseline.fund_fen),
                    y(c.baseline.catastrophic_fen),
                    y(c.baseline.assistance_fen),
                    y(c.baseline.self_pay_fen),
                    y(c.draft.fund_fen),
                    y(c.draft.catastrophic_fen),
                    y(c.draft.assistance_fen),
                    y(c.draft.self_pay_fen),
                    y(c.self_pay_change()),
                    c.step_code.clone(),
                    c.step_key.clone(),
                ])
                .map_err(std::io::Error::other)
        },
    );
    bar.finish_and_clear();
    let report = report?;
    claims_csv.flush()?;
    drop(claims_csv);
    let outcome = report.outcomes.first().ok_or_else(|| anyhow!("no draft"))?;
    let baseline_doc = match baseline_doc_given {
        Some(d) => Some(d.clone()),
        None => {
            service::main_baseline(&report).and_then(|name| service::policy_doc(policies_dir, name))
        }
    };
    let changes = baseline_doc
        .as_ref()
        .map(|b| diff_keys(b, draft_doc))
        .unwrap_or_default();
    let mut md = summary(plan, args, &report, outcome, &changes);
    write_by_group(&args.out.join("by_group.csv"), outcome)?;
    if let Some(sweep) = sweep {
        md.push_str(&write_sweep(&args.out, sweep, &report.outcomes)?);
    }
    std::fs::write(args.out.join("summary.md"), &md)?;
    std::fs::rename(&part, args.out.join("claims.csv"))?;
    Ok(md)
}

/// Yuan for reading: `12,345.60`.
fn yuan(fen: i128) -> String {
    Fen::saturating(fen).yuan_text()
}

/// Yuan for a CSV cell: `12345.60`, a number a spreadsheet reads.
fn cell(fen: i128) -> String {
    let mut y = Fen::saturating(fen).to_yuan();
    y.rescale(2);
    y.to_string()
}

/// `+12.34 %`, rounded half up; `—` when there was nothing before.
fn relative(before: i128, after: i128) -> String {
    if before == 0 {
        return "—".into();
    }
    let pct = Decimal::from_i128_with_scale((after - before) * 100, 0)
        / Decimal::from_i128_with_scale(before, 0);
    let mut pct = pct.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    pct.rescale(2);
    if pct.is_zero() {
        "0.00 %".into()
    } else {
        format!("{pct:+} %")
    }
}

fn ratio_text(bp: Option<i128>) -> String {
    bp.map_or("—".into(), |b| format!("{}.{:02} %", b / 100, b % 100))
}

/// A row of the layer table: its label and the layer's amount.
type LayerRow = (&'static str, fn(&Layers) -> i128);

fn layer_rows(md: &mut String, pair: &Pair) {
    let rows: [LayerRow; 5] = [
        ("基本医保 basic", |l| l.basic),
        ("大病保险 catastrophic", |l| l.catastrophic),
        ("医疗救助 assistance", |l| l.assistance),
        ("**基金合计 fund cost**", Layers::fund_cost),
        ("个人负担 out-of-pocket", |l| l.self_pay),
    ];
    for (name, get) in rows {
        let (b, d) = (get(&pair.baseline), get(&pair.draft));
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {} | {} |",
            yuan(b),
            yuan(d),
            yuan(d - b),
            relative(b, d)
        );
    }
}

fn summary(
    plan: &ReplayPlan,
    args: &Args,
    report: &ReplayReport,
    o: &Outcome,
    changes: &[KeyChange],
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# 政策测算 Policy what-if: {}\n", args.policy.display());
    let _ = writeln!(
        md,
        "期间 Period {} – {}; 地区 region {}; 重放案件 claims replayed {}; 变化 changed {}.\n",
        plan.from,
        plan.to,
        plan.region
            .as_deref()
            .unwrap_or(plan.drafts.first().map_or("", |d| d.region.as_str())),
        report.claims,
        o.changed_claims
    );
    let baselines: Vec<String> = report
        .baselines_used
        .iter()
        .map(|(n, c)| format!("{n} ({c})"))
        .collect();
    let _ = writeln!(
        md,
        "基线 Baseline: {}. Amounts in yuan; the basic layer is the calculator's amount (a reviewer's decided amount is not replayed).\n",
        match &args.baseline {
            Some(p) => p.display().to_string(),
            None => format!("the policy each claim was priced with: {}", baselines.join(", ")),
        }
    );
    for (name, n) in &report.unknown_baseline {
        let _ = writeln!(
            md,
            "- skipped: {n} claim(s) priced with `{name}`, which is no longer loaded"
        );
    }
    for (message, n) in &report.refused {
        let _ = writeln!(md, "- not priced: {n} claim(s): {message}");
    }
    md.push_str("\n## 基金支出 Fund cost by layer\n\n| layer | baseline | draft | change | change % |\n| --- | ---: | ---: | ---: | ---: |\n");
    layer_rows(&mut md, &o.total);
    let _ = writeln!(
        md,
        "\n## 政策范围内住院费用基金支付比例 Policy-scope inpatient ratio\n\nbaseline {} · draft {} · target {TARGET_RATIO_PERCENT} %\n",
        ratio_text(o.total.baseline.ratio_bp()),
        ratio_text(o.total.draft.ratio_bp())
    );
    for dim in Dimension::ALL {
        let _ = writeln!(
            md,
            "## {} {}\n\n| {} | claims | baseline fund cost | draft fund cost | change | change % | draft ratio |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            dim.zh(),
            dim.as_str(),
            dim.as_str()
        );
        for ((d, value), pair) in &o.by {
            if *d != dim {
                continue;
            }
            let (b, a) = (pair.baseline.fund_cost(), pair.draft.fund_cost());
            let _ = writeln!(
                md,
                "| {value} | {} | {} | {} | {} | {} | {} |",
                pair.draft.claims,
                yuan(b),
                yuan(a),
                yuan(a - b),
                relative(b, a),
                ratio_text(pair.draft.ratio_bp())
            );
        }
        md.push('\n');
    }
    let (more, less, same) = o.more_less_same();
    let _ = writeln!(
        md,
        "## 个人负担变化 Residents' out-of-pocket\n\n{more} residents pay more, {less} pay less, {same} the same (多付 {more} 人，少付 {less} 人，不变 {same} 人).\n"
    );
    let deciles = o.deciles();
    if !deciles.is_empty() {
        md.push_str(
            "| decile | 10 % | 20 % | 30 % | 40 % | 50 % | 60 % | 70 % | 80 % | 90 % |\n| --- |",
        );
        md.push_str(&" ---: |".repeat(9));
        md.push_str("\n| change (yuan) |");
        for d in &deciles {
            let _ = write!(md, " {} |", Fen(*d).yuan_text());
        }
        md.push_str("\n\n");
    }
    md.push_str("### 变化最大的十件 The ten largest changes\n\n| claim | month | baseline out-of-pocket | draft out-of-pocket | change | step | policy key |\n| --- | --- | ---: | ---: | ---: | --- | --- |\n");
    for c in &o.top {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | `{}` |",
            c.claim_id,
            c.month,
            Fen(c.baseline.self_pay_fen).yuan_text(),
            Fen(c.draft.self_pay_fen).yuan_text(),
            Fen(c.self_pay_change()).yuan_text(),
            c.step_code,
            c.step_key
        );
    }
    md.push_str("\n## 政策文件差异 Policy keys changed\n\n");
    if changes.is_empty() {
        md.push_str("No key differs from the baseline file.\n");
    } else {
        md.push_str("| key | baseline | draft |\n| --- | --- | --- |\n");
        for c in changes {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} |",
                c.key,
                c.before.as_deref().unwrap_or("—"),
                c.after.as_deref().unwrap_or("—")
            );
        }
    }
    md
}

fn write_by_group(path: &Path, o: &Outcome) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "dimension",
        "value",
        "claims",
        "baseline_basic_yuan",
        "draft_basic_yuan",
        "baseline_catastrophic_yuan",
        "draft_catastrophic_yuan",
        "baseline_assistance_yuan",
        "draft_assistance_yuan",
        "baseline_fund_cost_yuan",
        "draft_fund_cost_yuan",
        "baseline_self_pay_yuan",
        "draft_self_pay_yuan",
        "baseline_ratio_percent",
        "draft_ratio_percent",
    ])?;
    let total = (("total", "all".to_string()), &o.total);
    let rows =
        std::iter::once(total).chain(o.by.iter().map(|((d, v), p)| ((d.as_str(), v.clone()), p)));
    for ((dim, value), p) in rows {
        let (b, d) = (&p.baseline, &p.draft);
        let ratio = |l: &Layers| {
            l.ratio_bp()
                .map_or(String::new(), |bp| format!("{}.{:02}", bp / 100, bp % 100))
        };
        w.write_record([
            dim.to_string(),
            value,
            d.claims.to_string(),
            cell(b.basic),
            cell(d.basic),
            cell(b.catastrophic),
            cell(d.catastrophic),
            cell(b.assistance),
            cell(d.assistance),
            cell(b.fund_cost()),
            cell(d.fund_cost()),
            cell(b.self_pay),
            cell(d.self_pay),
            ratio(b),
            ratio(d),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// sweep.csv and sweep.svg; returns the summary's sweep section.
fn write_sweep(out: &Path, sweep: &Sweep, outcomes: &[Outcome]) -> anyhow::Result<String> {
    if outcomes.len() != sweep.values.len() {
        bail!(
            "the sweep replayed {} of {} values",
            outcomes.len(),
            sweep.values.len()
        );
    }
    let mut w = csv::Writer::from_path(out.join("sweep.csv"))?;
    w.write_record([
        "value",
        "fund_cost_yuan",
        "change_yuan",
        "basic_yuan",
        "catastrophic_yuan",
        "assistance_yuan",
        "ratio_percent",
    ])?;
    let mut md = format!(
        "\n## 参数扫描 Sweep of `{}`\n\n![sweep](sweep.svg)\n\n| value | fund cost | change | ratio |\n| ---: | ---: | ---: | ---: |\n",
        sweep.key
    );
    let mut points = Vec::with_capacity(outcomes.len());
    for (value, o) in sweep.values.iter().zip(outcomes) {
        let d = &o.total.draft;
        let change = d.fund_cost() - o.total.baseline.fund_cost();
        w.write_record([
            value.normalize().to_string(),
            cell(d.fund_cost()),
            cell(change),
            cell(d.basic),
            cell(d.catastrophic),
            cell(d.assistance),
            d.ratio_bp()
                .map_or(String::new(), |bp| format!("{}.{:02}", bp / 100, bp % 100)),
        ])?;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            value.normalize(),
            yuan(d.fund_cost()),
            yuan(change),
            ratio_text(d.ratio_bp())
        );
        points.push((*value, d.fund_cost(), d.ratio_bp()));
    }
    w.flush()?;
    std::fs::write(out.join("sweep.svg"), sweep_chart(&sweep.key, &points))?;
    Ok(md)
}
