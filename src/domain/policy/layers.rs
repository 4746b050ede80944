//! The layers after basic insurance on one bill (一单结算, 三重保障; handbook §8.1):
//! catastrophic insurance on the year's policy-scope out-of-pocket above a threshold, then
//! medical assistance on what remains, each with the single most favourable group (就高).
use super::breakdown::{pct, Bill, Steps, YearToDate};
use super::{Catastrophic, GroupCap, GroupRule, Policy};
use crate::domain::money::Fen;
use rust_decimal::Decimal;

/// What the layers work on: the claim's amounts and what the basic layer paid.
#[derive(Debug, Clone, Copy)]
pub(super) struct LayerInput {
    pub total: Fen,
    pub scope: Fen,
    pub basic: Fen,
    /// Whether the claim is of a kind the layers cover (inpatient and what is paid as
    /// inpatient); ordinary outpatient, fixed amounts and items are basic only.
    pub covered: bool,
}

/// One segment's part of a claim: (amount in the segment, ratio, paid).
type Band = (Fen, Decimal, Fen);

/// One way of treating the person in a layer: the general rule or a group's.
struct Candidate<'p> {
    group: Option<&'p GroupRule>,
    threshold: Fen,
    bonus: Decimal,
    cap: Option<Fen>,
    key: String,
}

fn group_zh(g: Option<&GroupRule>) -> &str {
    g.map_or("普通参保人", |g| g.title.zh.as_str())
}

fn group_en(g: Option<&GroupRule>) -> &str {
    g.map_or("ordinary insured", |g| g.title.en.as_str())
}

/// The groups of the policy the person belongs to, in the policy file's order.
fn member_groups<'p>(policy: &'p Policy, groups: &[String]) -> Vec<&'p GroupRule> {
    policy
        .groups
        .iter()
        .filter(|g| groups.contains(&g.id))
        .collect()
}

/// Pays the catastrophic and assistance layers, adds their steps and the closing bill.
pub(super) fn apply_layers(
    policy: &Policy,
    groups: &[String],
    input: LayerInput,
    ytd: &mut YearToDate,
    steps: &mut Steps,
) -> Bill {
    let members = member_groups(policy, groups);
    let oop = Fen((input.scope.0 - input.basic.0).max(0));
    let (catastrophic, catastrophic_group) = match (&policy.catastrophic, input.covered) {
        (Some(rule), true) => catastrophic_layer(rule, &members, oop, ytd, steps),
        _ => (Fen::ZERO, None),
    };
    let has_assistance = policy.groups.iter().any(|g| g.assistance.is_some());
    let (assistance, assistance_group) = if has_assistance && input.covered {
        let remaining = Fen(oop.0 - catastrophic.0);
        assistance_layer(&members, remaining, ytd, steps)
    } else {
        (Fen::ZERO, None)
    };
    let self_pay = Fen(input.total.0 - input.basic.0 - catastrophic.0 - assistance.0);
    steps.add("bill", "result.bill", input.total, || (format!(
            "总费用 {} 元 = 基本医保 {} 元 + 大病保险 {catastrophic} 元 + 医疗救助 {assistance} 元 + 个人自付 {self_pay} 元",
            input.total, input.basic
        ), format!(
            "Total cost {} = basic insurance {} + catastrophic insurance {catastrophic} + medical assistance {assistance} + paid by the resident {self_pay}",
            input.total, input.basic
        )));
    Bill {
        total_fen: input.total.0,
        policy_scope_fen: input.scope.0,
        fund_fen: input.basic.0,
        catastrophic_fen: catastrophic.0,
        assistance_fen: assistance.0,
        self_pay_fen: self_pay.0,
        catastrophic_group,
        assistance_group,
    }
}

fn candidates<'p>(rule: &Catastrophic, members: &[&'p GroupRule]) -> Vec<Candidate<'p>> {
    let mut all = vec![Candidate {
        group: None,
        threshold: rule.threshold,
        bonus: Decimal::ZERO,
        cap: rule.annual_cap,
        key: "catastrophic".into(),
    }];
    for g in members {
        if let Some(c) = &g.catastrophic {
            all.push(Candidate {
                group: Some(g),
                threshold: c.threshold,
                bonus: c.ratio_bonus,
                cap: match c.cap {
                    GroupCap::General => rule.annual_cap,
                    GroupCap::Uncapped => None,
                    GroupCap::Own(f) => Some(f),
                },
                key: format!("groups.{}.catastrophic", g.id),
            });
        }
    }
    all
}

/// What one candidate pays on the part of the year's out-of-pocket from `before` to `after`,
/// band by band: (payout, the bands as (amount, ratio, paid)).
fn segments_paid(
    rule: &Catastrophic,
    c: &Candidate<'_>,
    before: i64,
    after: i64,
) -> (Fen, Vec<Band>) {
    let mut bands = Vec::new();
    let mut total = 0i64;
    for (i, seg) in rule.segments.iter().enumerate() {
        let lo = c.threshold.0.saturating_add(seg.from.0);
        let hi = rule
            .segments
            .get(i + 1)
            .map_or(i64::MAX, |next| c.threshold.0.saturating_add(next.from.0));
        let part = after.min(hi) - before.max(lo);
        if part > 0 {
            let ratio = (seg.ratio + c.bonus).min(Decimal::ONE);
            let paid = Fen(part).times_ratio(ratio);
            total += paid.0;
            bands.push((Fen(part), ratio, paid));
        }
    }
    (Fen(total), bands)
}

fn catastrophic_layer(
    rule: &Catastrophic,
    members: &[&GroupRule],
    oop: Fen,
    ytd: &mut YearToDate,
    steps: &mut Steps,
) -> (Fen, Option<String>) {
    let before = ytd.catastrophic_base_fen;
    let after = before + oop.0;
    // Each candidate's payout after its cap; the most favourable wins, the general rule on a tie.
    let priced: Vec<(Candidate<'_>, Fen, Vec<Band>)> = candidates(rule, members)
        .into_iter()
        .map(|c| {
            let (raw, bands) = segments_paid(rule, &c, before, after);
            let room = c.cap.map_or(raw, |cap| {
                Fen((cap.0 - ytd.catastrophic_paid_fen).max(0)).min(raw)
            });
            (c, room, bands)
        })
        .collect();
    let best = priced
        .iter()
        .enumerate()
        .max_by_key(|(i, (_, paid, _))| (paid.0, std::cmp::Reverse(*i)))
        .map_or(0, |(i, _)| i);
    let (chosen, paid, bands) = &priced[best];
    if priced.len() > 1 {
        let others_zh: Vec<String> = priced
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != best)
            .map(|(_, (c, p, _))| format!("{} {p} 元", group_zh(c.group)))
            .collect();
        let others_en: Vec<String> = priced
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != best)
            .map(|(_, (c, p, _))| format!("{} {p}", group_en(c.group)))
            .collect();
        steps.add("catastrophic_group", chosen.key.clone(), *paid, || (format!(
                "就高原则：大病保险按{}待遇支付 {paid} 元（其他身份：{}）",
                group_zh(chosen.group),
                others_zh.join("，")
            ), format!(
                "Most favourable status (就高): catastrophic insurance pays {paid} under the {} rule (others: {})",
                group_en(chosen.group),
                others_en.join(", ")
            )));
    }
    let threshold = chosen.threshold;
    if after <= threshold.0 {
        steps.add("catastrophic_threshold", format!("{}.threshold", chosen.key), Fen::ZERO, || (format!(
                "大病保险：本年政策范围内自付累计 {} 元（本次 {oop} 元），未超过起付线 {threshold} 元，不支付",
                Fen(after)
            ), format!(
                "Catastrophic insurance: the year's policy-scope out-of-pocket is {} ({oop} from this claim), not above the threshold {threshold}: nothing is paid",
                Fen(after)
            )));
    } else {
        steps.add("catastrophic_threshold", format!("{}.threshold", chosen.key), Fen((after - before.max(threshold.0)).max(0)), || (format!(
                "大病保险：本年政策范围内自付累计 {} 元（此前 {} 元，本次 {oop} 元），起付线 {threshold} 元以上本次 {} 元",
                Fen(after),
                Fen(before),
                Fen(after - before.max(threshold.0))
            ), format!(
                "Catastrophic insurance: the year's policy-scope out-of-pocket is {} ({} before, {oop} from this claim); {} of this claim is above the threshold {threshold}",
                Fen(after),
                Fen(before),
                Fen(after - before.max(threshold.0))
            )));
        let raw: i64 = bands.iter().map(|(_, _, p)| p.0).sum();
        let segment_key = match chosen.group {
            Some(g) if chosen.bonus > Decimal::ZERO => {
                format!("groups.{}.catastrophic.ratio_bonus", g.id)
            }
            _ => "catastrophic.segments".to_string(),
        };
        for (n, (part, ratio, band_paid)) in bands.iter().enumerate() {
            steps.add(
                "catastrophic_segment",
                segment_key.clone(),
                *band_paid,
                || {
                    (
                        format!(
                            "大病保险分段 {}：{part} 元 × {} = {band_paid} 元",
                            n + 1,
                            pct(*ratio)
                        ),
                        format!(
                            "Catastrophic segment {}: {part} × {} = {band_paid}",
                            n + 1,
                            pct(*ratio)
                        ),
                    )
                },
            );
        }
        if paid.0 < raw {
            let cap = chosen.cap.unwrap_or_default();
            steps.add(
                "catastrophic_cap",
                format!("{}.annual_cap", chosen.key),
                *paid,
                || {
                    (
                        format!(
                            "大病保险年度最高 {cap} 元，本年已付 {} 元，本次 {paid} 元",
                            Fen(ytd.catastrophic_paid_fen)
                        ),
                        format!(
                    "Catastrophic insurance pays at most {cap} a year; {} paid already, so {paid}",
                    Fen(ytd.catastrophic_paid_fen)
                ),
                    )
                },
            );
        }
    }
    ytd.catastrophic_base_fen = after;
    ytd.catastrophic_paid_fen += paid.0;
    (*paid, chosen.group.map(|g| g.id.clone()))
}

fn assistance_layer(
    members: &[&GroupRule],
    remaining: Fen,
    ytd: &mut YearToDate,
    steps: &mut Steps,
) -> (Fen, Option<String>) {
    let offers: Vec<(&GroupRule, Fen, Fen)> = members
        .iter()
        .filter_map(|g| g.assistance.as_ref().map(|a| (*g, a)))
        .map(|(g, a)| {
            let raw = remaining.times_ratio(a.ratio);
            let room = Fen((a.annual_cap.0 - ytd.assistance_paid_fen).max(0));
            (g, raw, raw.min(room))
        })
        .collect();
    let Some(best) = offers
        .iter()
        .enumerate()
        .max_by_key(|(i, (_, _, paid))| (paid.0, std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
    else {
        steps.add("assistance_none", "groups", Fen::ZERO, || {
            (
                "不属于医疗救助对象，医疗救助不支付".into(),
                "Not in a medical-assistance group: medical assistance pays nothing".into(),
            )
        });
        return (Fen::ZERO, None);
    };
    let (group, raw, paid) = offers[best];
    let rule = group
        .assistance
        .as_ref()
        .expect("offers come from groups with assistance");
    if offers.len() > 1 {
        let others_zh: Vec<String> = offers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != best)
            .map(|(_, (g, _, p))| format!("{} {p} 元", g.title.zh))
            .collect();
        let others_en: Vec<String> = offers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != best)
            .map(|(_, (g, _, p))| format!("{} {p}", g.title.en))
            .collect();
        steps.add("assistance_group", format!("groups.{}.assistance", group.id), paid, || (format!(
                "就高原则：医疗救助按{}标准支付 {paid} 元（其他身份：{}）",
                group.title.zh,
                others_zh.join("，")
            ), format!(
                "Most favourable status (就高): medical assistance pays {paid} under the {} rule (others: {})",
                group.title.en,
                others_en.join(", ")
            )));
    }
    steps.add("assistance", format!("groups.{}.assistance.ratio", group.id), raw, || (format!(
            "医疗救助（{}）：两项保险后政策范围内自付 {remaining} 元 × {} = {raw} 元",
            group.title.zh,
            pct(rule.ratio)
        ), format!(
            "Medical assistance ({}): {remaining} left within the policy scope after both insurances × {} = {raw}",
            group.title.en,
            pct(rule.ratio)
        )));
    if paid < raw {
        steps.add(
            "assistance_cap",
            format!("groups.{}.assistance.annual_cap", group.id),
            paid,
            || {
                (
                    format!(
                        "医疗救助年度最高 {} 元，本年已付 {} 元，本次 {paid} 元",
                        rule.annual_cap,
                        Fen(ytd.assistance_paid_fen)
                    ),
                    format!(
                        "Medical assistance pays at most {} a year; {} paid already, so {paid}",
                        rule.annual_cap,
                        Fen(ytd.assistance_paid_fen)
                    ),
                )
            },
        );
    }
    ytd.assistance_paid_fen += paid.0;
    (paid, Some(group.id.clone()))
}
