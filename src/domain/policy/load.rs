//! Policy files. Amounts are strings in yuan ("1300.00"), ratios strings ("0.50"), so no
//! float ever touches money.
use super::*;
use crate::domain::checked_file::{CheckError, FileChecker};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTitle {
    zh: String,
    en: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: Spanned<String>,
    title: RawTitle,
    region: String,
    valid_from: Spanned<String>,
    valid_to: Spanned<String>,
    inpatient: RawInpatient,
    outpatient: Option<RawOutpatient>,
    maternity: Option<RawMaternity>,
    trauma: Option<RawTrauma>,
    #[serde(default)]
    fixed_items: Vec<RawFixedItem>,
    #[serde(default)]
    ratio_items: Vec<RawRatioItem>,
    schedule: Option<String>,
    coverage: Option<RawCoverage>,
    catastrophic: Option<RawCatastrophic>,
    #[serde(default)]
    groups: Vec<RawGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCoverage {
    /// "admission" or "discharge".
    crossing: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSegment {
    from: Spanned<String>,
    ratio: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatastrophic {
    threshold: Spanned<String>,
    segments: Vec<RawSegment>,
    annual_cap: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroupCatastrophic {
    threshold: Spanned<String>,
    ratio_bonus: Option<Spanned<String>>,
    /// "general" (default), "none", or an amount in yuan.
    cap: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssistance {
    ratio: Spanned<String>,
    annual_cap: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    id: Spanned<String>,
    title: RawTitle,
    catastrophic: Option<RawGroupCatastrophic>,
    assistance: Option<RawAssistance>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCategory {
    id: Spanned<String>,
    deductible: Spanned<String>,
    ratio: Spanned<String>,
    outside_county: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInpatient {
    categories: Vec<RawCategory>,
    tier2_ratio_bonus: Option<Spanned<String>>,
    unfiled_penalty: Option<Spanned<String>>,
    #[serde(default)]
    referral_overrides: BTreeMap<String, Spanned<String>>,
    annual_scope_limit: Option<Spanned<String>>,
    over_limit_ratio: Option<Spanned<String>>,
    over_limit_annual_max: Option<Spanned<String>>,
    annual_payout_max_tier1: Option<Spanned<String>>,
    annual_payout_max_tier2: Option<Spanned<String>>,
    #[serde(default)]
    special_diseases: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutpatient {
    ratios: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    no_referral_ratios: BTreeMap<String, Spanned<String>>,
    annual_max: Spanned<String>,
    real_time_only: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMaternity {
    fixed: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrauma {
    cap_without_approval: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFixedItem {
    code: String,
    title: RawTitle,
    amount: Spanned<String>,
    fund_ratio: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRatioItem {
    code: String,
    title: RawTitle,
    ratio: Spanned<String>,
    max_age: Option<u32>,
}

pub const CATEGORIES: [&str; 4] = ["township", "county", "in_city", "out_of_city"];

fn yuan(ck: &mut FileChecker<'_>, raw: &Spanned<String>) -> Fen {
    let parsed = raw
        .get_ref()
        .parse::<Decimal>()
        .ok()
        .filter(|d| *d >= Decimal::ZERO && d.scale() <= 2);
    match parsed.and_then(Fen::from_yuan_half_up) {
        Some(f) => f,
        None => {
            ck.error(
                raw.span(),
                format!("`{}` is not an amount in yuan", raw.get_ref()),
                "write a non-negative amount with at most two decimals, as a string: \"1300.00\"",
            );
            Fen::ZERO
        }
    }
}

fn ratio(ck: &mut FileChecker<'_>, raw: &Spanned<String>) -> Decimal {
    match raw.get_ref().parse::<Decimal>() {
        Ok(d) if d >= Decimal::ZERO && d <= Decimal::ONE => d,
        _ => {
            ck.error(
                raw.span(),
                format!("`{}` is not a ratio between 0 and 1", raw.get_ref()),
                "write ratios as strings: \"0.80\" for 80 %",
            );
            Decimal::ZERO
        }
    }
}

fn date(ck: &mut FileChecker<'_>, raw: &Spanned<String>) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(raw.get_ref(), "%Y-%m-%d").unwrap_or_else(|_| {
        ck.error(
            raw.span(),
            format!("`{}` is not a date", raw.get_ref()),
            "use YYYY-MM-DD",
        );
        chrono::NaiveDate::MIN
    })
}

fn title(t: RawTitle) -> Title {
    Title { zh: t.zh, en: t.en }
}

pub fn load_policy(file: &str, source: &str) -> Result<Policy, Vec<CheckError>> {
    let mut ck = FileChecker::new(file, source);
    let Some(raw) = ck.parse::<RawPolicy>("see policies/README.md for the file format") else {
        return Err(ck.errors);
    };
    let policy = build(&mut ck, raw);
    ck.finish(Some(policy))
}

fn build(ck: &mut FileChecker<'_>, raw: RawPolicy) -> Policy {
    let valid_from = date(ck, &raw.valid_from);
    let valid_to = date(ck, &raw.valid_to);
    if valid_to < valid_from {
        ck.error(
            raw.valid_to.span(),
            "valid_to is before valid_from",
            "a policy is valid over a non-empty period",
        );
    }
    let mut categories: Vec<CategoryRule> = Vec::new();
    for c in &raw.inpatient.categories {
        if !CATEGORIES.contains(&c.id.get_ref().as_str()) {
            ck.error(
                c.id.span(),
                format!("unknown category `{}`", c.id.get_ref()),
                format!("expected one of {CATEGORIES:?}"),
            );
        } else if categories.iter().any(|x| x.id == *c.id.get_ref()) {
            ck.error(
                c.id.span(),
                format!("category `{}` declared twice", c.id.get_ref()),
                "remove the repeat",
            );
        }
        categories.push(CategoryRule {
            id: c.id.get_ref().clone(),
            deductible: yuan(ck, &c.deductible),
            ratio: ratio(ck, &c.ratio),
            outside_county: c.outside_county,
        });
    }
    for needed in CATEGORIES {
        if !categories.iter().any(|c| c.id == needed) {
            ck.error(
                raw.name.span(),
                format!("inpatient category `{needed}` is missing"),
                "every policy covers all four places of treatment",
            );
        }
    }
    let ip = &raw.inpatient;
    let opt_ratio = |ck: &mut FileChecker<'_>, r: &Option<Spanned<String>>| {
        r.as_ref().map_or(Decimal::ZERO, |r| ratio(ck, r))
    };
    let over_limit = match (&ip.over_limit_ratio, &ip.over_limit_annual_max) {
        (Some(r), Some(m)) => Some((ratio(ck, r), yuan(ck, m))),
        (None, None) => None,
        (Some(r), None) => {
            ck.error(
                r.span(),
                "over_limit_ratio needs over_limit_annual_max",
                "set both or neither",
            );
            None
        }
        (None, Some(m)) => {
            ck.error(
                m.span(),
                "over_limit_annual_max needs over_limit_ratio",
                "set both or neither",
            );
            None
        }
    };
    if over_limit.is_some() && ip.annual_scope_limit.is_none() {
        ck.error(
            raw.name.span(),
            "an over-limit layer needs annual_scope_limit",
            "set the limit the layer starts above",
        );
    }
    let annual_payout_max = match (&ip.annual_payout_max_tier1, &ip.annual_payout_max_tier2) {
        (Some(a), Some(b)) => Some((yuan(ck, a), yuan(ck, b))),
        (None, None) => None,
        (Some(s), None) | (None, Some(s)) => {
            ck.error(
                s.span(),
                "give the annual payout maximum for both tiers",
                "set annual_payout_max_tier1 and annual_payout_max_tier2",
            );
            None
        }
    };
    let referral_overrides = ip
        .referral_overrides
        .iter()
        .map(|(k, v)| (k.clone(), ratio(ck, v)))
        .collect();
    let inpatient = Inpatient {
        categories,
        tier2_ratio_bonus: opt_ratio(ck, &ip.tier2_ratio_bonus),
        unfiled_penalty: opt_ratio(ck, &ip.unfiled_penalty),
        referral_overrides,
        annual_scope_limit: ip.annual_scope_limit.as_ref().map(|v| yuan(ck, v)),
        over_limit,
        annual_payout_max,
        special_diseases: ip.special_diseases.clone(),
    };
    let outpatient = raw.outpatient.as_ref().map(|o| {
        let map = |ck: &mut FileChecker<'_>,
                   m: &BTreeMap<String, Spanned<String>>|
         -> Vec<(String, Decimal)> {
            m.iter()
                .map(|(k, v)| {
                    if !CATEGORIES.contains(&k.as_str()) {
                        ck.error(
                            v.span(),
                            format!("unknown category `{k}`"),
                            format!("expected one of {CATEGORIES:?}"),
                        );
                    }
                    (k.clone(), ratio(ck, v))
                })
                .collect()
        };
        Outpatient {
            ratios: map(ck, &o.ratios),
            no_referral_ratios: map(ck, &o.no_referral_ratios),
            annual_max: yuan(ck, &o.annual_max),
            real_time_only: o.real_time_only,
        }
    });
    let crossing = match raw.coverage.as_ref().map(|c| &c.crossing) {
        None => Crossing::Discharge,
        Some(c) if c.get_ref() == "discharge" => Crossing::Discharge,
        Some(c) if c.get_ref() == "admission" => Crossing::Admission,
        Some(c) => {
            ck.error(
                c.span(),
                format!("unknown crossing rule `{}`", c.get_ref()),
                "expected \"admission\" or \"discharge\": the date whose coverage year a stay across a year boundary counts in",
            );
            Crossing::Discharge
        }
    };
    let catastrophic = raw.catastrophic.as_ref().map(|c| catastrophic(ck, c));
    let groups = raw
        .groups
        .into_iter()
        .map(|g| group(ck, g, catastrophic.is_some()))
        .collect::<Vec<_>>();
    for (i, g) in groups.iter().enumerate() {
        if groups[..i].iter().any(|o| o.id == g.id) {
            ck.error(
                raw.name.span(),
                format!("group `{}` declared twice", g.id),
                "declare each group once",
            );
        }
    }
    Policy {
        schedule: raw.schedule.unwrap_or_else(|| raw.name.get_ref().clone()),
        catastrophic,
        groups,
        crossing,
        name: raw.name.get_ref().clone(),
        title: title(raw.title),
        region: raw.region,
        valid_from,
        valid_to,
        inpatient,
        outpatient,
        maternity_fixed: raw.maternity.as_ref().map(|m| yuan(ck, &m.fixed)),
        trauma_cap_without_approval: raw
            .trauma
            .as_ref()
            .map(|t| yuan(ck, &t.cap_without_approval)),
        fixed_items: raw
            .fixed_items
            .into_iter()
            .map(|i| FixedItem {
                amount: yuan(ck, &i.amount),
                fund_ratio: ratio(ck, &i.fund_ratio),
                code: i.code,
                title: title(i.title),
            })
            .collect(),
        ratio_items: raw
            .ratio_items
            .into_iter()
            .map(|i| RatioItem {
                ratio: ratio(ck, &i.ratio),
                code: i.code,
                title: title(i.title),
                max_age: i.max_age,
            })
            .collect(),
    }
}

fn catastrophic(ck: &mut FileChecker<'_>, raw: &RawCatastrophic) -> Catastrophic {
    let segments: Vec<Segment> = raw
        .segments
        .iter()
        .map(|s| Segment {
            from: yuan(ck, &s.from),
            ratio: ratio(ck, &s.ratio),
        })
        .collect();
    match segments.first() {
        None => ck.error(
            raw.threshold.span(),
            "the catastrophic layer has no segments",
            "give at least one segment: { from = \"0.00\", ratio = \"0.60\" }",
        ),
        Some(first) if first.from != Fen::ZERO => ck.error(
            raw.segments[0].from.span(),
            "the first segment must start at the threshold",
            "write from = \"0.00\" for the first segment",
        ),
        Some(_) => {}
    }
    for (i, pair) in segments.windows(2).enumerate() {
        if pair[1].from <= pair[0].from {
            ck.error(
                raw.segments[i + 1].from.span(),
                "segments must start at rising amounts",
                "order the segments by `from`, each above the one before",
            );
        }
    }
    Catastrophic {
        threshold: yuan(ck, &raw.threshold),
        segments,
        annual_cap: raw.annual_cap.as_ref().map(|c| yuan(ck, c)),
    }
}

fn group(ck: &mut FileChecker<'_>, raw: RawGroup, has_catastrophic: bool) -> GroupRule {
    let groups = crate::domain::eligibility::SPECIAL_GROUPS;
    if !groups.contains(&raw.id.get_ref().as_str()) {
        ck.error(
            raw.id.span(),
            format!("unknown group `{}`", raw.id.get_ref()),
            format!("expected one of {groups:?}, as enrolments name them"),
        );
    }
    let catastrophic = raw.catastrophic.as_ref().map(|c| {
        if !has_catastrophic {
            ck.error(
                c.threshold.span(),
                "a group's catastrophic rule needs a [catastrophic] layer",
                "add the general [catastrophic] section the group's rule departs from",
            );
        }
        let cap = match c.cap.as_ref() {
            None => GroupCap::General,
            Some(s) if s.get_ref() == "general" => GroupCap::General,
            Some(s) if s.get_ref() == "none" => GroupCap::Uncapped,
            Some(s) => GroupCap::Own(yuan(ck, s)),
        };
        GroupCatastrophic {
            threshold: yuan(ck, &c.threshold),
            ratio_bonus: c
                .ratio_bonus
                .as_ref()
                .map_or(Decimal::ZERO, |r| ratio(ck, r)),
            cap,
        }
    });
    let assistance = raw.assistance.as_ref().map(|a| Assistance {
        ratio: ratio(ck, &a.ratio),
        annual_cap: yuan(ck, &a.annual_cap),
    });
    GroupRule {
        id: raw.id.into_inner(),
        title: title(raw.title),
        catastrophic,
        assistance,
    }
}
