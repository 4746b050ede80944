//! The benefit calculator. Pure: a policy, a request (the claim, the person's tier and what
//! was already paid this year) in; a payout with every step explained out.
use super::breakdown::{pct, Breakdown, Steps, YearToDate};
use super::layers::{apply_layers, LayerInput};
use super::{CategoryRule, Policy};
use crate::domain::money::{Fen, CEILING_FEN, TOTAL_CEILING_FEN};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

fn one() -> u8 {
    1
}

fn one_unit() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalcRequest {
    /// Claim family; `trauma` applies the trauma cap.
    #[serde(default)]
    pub family: Option<String>,
    /// inpatient, outpatient, special_outpatient or maternity.
    pub encounter_kind: String,
    /// township, county, in_city or out_of_city (relative to the insured's county).
    pub facility_category: String,
    #[serde(default)]
    pub facility_code: Option<String>,
    /// Premium tier (一档 1, 二档 2).
    #[serde(default = "one")]
    pub tier: u8,
    pub total_fen: i64,
    pub policy_scope_fen: i64,
    /// Transfer or relocation filing made before treatment outside the county.
    #[serde(default)]
    pub filed: bool,
    /// A referral / transfer certificate.
    #[serde(default)]
    pub referral: bool,
    /// Judged an emergency: no ratio cut for missing filing.
    #[serde(default)]
    pub emergency: bool,
    #[serde(default)]
    pub special_disease: Option<String>,
    #[serde(default)]
    pub maternity_high_risk: bool,
    #[serde(default)]
    pub settled_in_real_time: bool,
    /// Outpatient at a county hospital with a primary-care referral.
    #[serde(default)]
    pub primary_referral: bool,
    #[serde(default)]
    pub trauma_approval_form: bool,
    /// A fixed-amount or ratio item of the policy (e.g. `cataract`).
    #[serde(default)]
    pub item: Option<String>,
    #[serde(default = "one_unit")]
    pub units: u32,
    #[serde(default)]
    pub age: Option<u32>,
    #[serde(default)]
    pub ytd: YearToDate,
    /// The person's special groups (tekun, dibao, …) on the service date.
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalcError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

fn invalid(field: &'static str, message: impl Into<String>) -> CalcError {
    CalcError::Invalid {
        field,
        message: message.into(),
    }
}

/// Prices a claim: the basic layer, then catastrophic insurance and medical assistance.
pub fn calculate(policy: &Policy, req: &CalcRequest) -> Result<Breakdown, CalcError> {
    calculate_decided(policy, req, None)
}

/// [`calculate`] with the steps' texts left empty: the same amounts, codes and keys, for a
/// replay of many claims that reads nothing else (formatting the texts was most of its time).
pub fn calculate_amounts(policy: &Policy, req: &CalcRequest) -> Result<Breakdown, CalcError> {
    priced(policy, req, None, false)
}

/// Prices a claim whose basic payout a reviewer decided (`decided`, when it differs from the
/// computed one): the later layers work on the decided amount.
pub fn calculate_decided(
    policy: &Policy,
    req: &CalcRequest,
    decided: Option<i64>,
) -> Result<Breakdown, CalcError> {
    priced(policy, req, decided, true)
}

fn priced(
    policy: &Policy,
    req: &CalcRequest,
    decided: Option<i64>,
    explain: bool,
) -> Result<Breakdown, CalcError> {
    validate(req)?;
    let scope = Fen(req.policy_scope_fen);
    let mut steps = Steps {
        steps: Vec::with_capacity(10),
        explain,
    };
    steps.add("policy_scope", "request.policy_scope_fen", scope, || {
        (
            format!(
                "政策范围内费用 {scope} 元（总费用 {} 元）",
                Fen(req.total_fen)
            ),
            format!(
                "Policy-scope cost {scope} (total cost {})",
                Fen(req.total_fen)
            ),
        )
    });
    let mut ytd = req.ytd;
    let special_as_inpatient = req.encounter_kind == "special_outpatient"
        && req
            .special_disease
            .as_ref()
            .is_some_and(|d| policy.inpatient.special_diseases.contains(d));
    let covered = req.item.is_none()
        && match req.encounter_kind.as_str() {
            "inpatient" => true,
            "special_outpatient" => special_as_inpatient,
            "maternity" => req.maternity_high_risk || policy.maternity_fixed.is_none(),
            _ => false,
        };
    let mut paid = if let Some(item) = &req.item {
        item_payout(policy, req, item, &mut steps)?
    } else if req.encounter_kind == "maternity"
        && !req.maternity_high_risk
        && policy.maternity_fixed.is_some()
    {
        let fixed = policy.maternity_fixed.unwrap_or_default();
        steps.add("maternity_fixed", "maternity.fixed", fixed, || {
            (
                format!("符合政策的分娩按定额 {fixed} 元包干"),
                format!("Policy-compliant birth: fixed amount {fixed}"),
            )
        });
        fixed
    } else if req.encounter_kind == "outpatient"
        || (req.encounter_kind == "special_outpatient" && !special_as_inpatient)
    {
        outpatient_payout(policy, req, &mut ytd, &mut steps)?
    } else {
        if special_as_inpatient {
            steps.add(
                "special_disease",
                "inpatient.special_diseases",
                scope,
                || {
                    (
                        "特殊门诊病种，视同住院".into(),
                        "Special outpatient disease: paid as inpatient".into(),
                    )
                },
            );
        } else if req.encounter_kind == "maternity" {
            steps.add(
                "maternity_high_risk",
                "request.maternity_high_risk",
                scope,
                || {
                    (
                        "高危孕产妇住院分娩，按住院政策报销".into(),
                        "High-risk birth: inpatient rules apply".into(),
                    )
                },
            );
        }
        inpatient_payout(policy, req, &mut ytd, &mut steps)?
    };

    if req.family.as_deref() == Some("trauma") {
        if let Some(cap) = policy.trauma_cap_without_approval {
            if req.trauma_approval_form {
                steps.add("trauma_approval", "trauma.cap_without_approval", paid, || (format!("已提交意外伤害病人补偿审批表，不受 {cap} 元限额"), format!("Accident-injury approval form present: the {cap} cap does not apply")));
            } else if paid > cap {
                paid = cap;
                steps.add("trauma_cap", "trauma.cap_without_approval", paid, || {
                    (
                        format!("外伤补助未附审批表，最高 {cap} 元"),
                        format!("Trauma benefit without the approval form is capped at {cap}"),
                    )
                });
            }
        }
    }
    if let Some((tier1, tier2)) = policy.inpatient.annual_payout_max {
        let (max, key) = if req.tier >= 2 {
            (tier2, "inpatient.annual_payout_max_tier2")
        } else {
            (tier1, "inpatient.annual_payout_max_tier1")
        };
        let room = Fen((max.0 - ytd.paid_fen).max(0));
        if paid > room {
            paid = room;
            steps.add("annual_payout_max", key, paid, || {
                (
                    format!(
                        "年度补助最高 {max} 元，本年已付 {} 元，本次最多 {room} 元",
                        Fen(ytd.paid_fen)
                    ),
                    format!(
                        "Annual maximum {max}; {} already paid this year, so at most {room} now",
                        Fen(ytd.paid_fen)
                    ),
                )
            });
        }
    }
    if paid > scope {
        paid = scope;
        steps.add("scope_clip", "request.policy_scope_fen", paid, || {
            (
                "支付额不超过政策范围内费用".into(),
                "The payout cannot exceed the policy-scope cost".into(),
            )
        });
    }
    // Attribute any clipping after the layers to the over-limit layer first.
    ytd.over_limit_paid_fen = ytd
        .over_limit_paid_fen
        .min(req.ytd.over_limit_paid_fen + paid.0);
    ytd.outpatient_paid_fen = ytd
        .outpatient_paid_fen
        .min(req.ytd.outpatient_paid_fen + paid.0);
    ytd.paid_fen = req.ytd.paid_fen + paid.0;
    steps.add("payable", "result", paid, || {
        (
            format!("本次基本医保基金支付 {paid} 元"),
            format!("Basic insurance (the fund) pays {paid}"),
        )
    });
    if let Some(d) = decided.filter(|d| *d != paid.0) {
        let computed = paid;
        paid = Fen(d.clamp(0, scope.0));
        ytd.paid_fen = req.ytd.paid_fen + paid.0;
        steps.add("decided", "decision.decided_fen", paid, || {
            (
                format!("审核决定基本医保支付 {paid} 元（计算值 {computed} 元）"),
                format!("The reviewers decided basic insurance pays {paid} (computed {computed})"),
            )
        });
    }
    let input = LayerInput {
        total: Fen(req.total_fen),
        scope,
        basic: paid,
        covered,
    };
    let bill = apply_layers(policy, &req.groups, input, &mut ytd, &mut steps);
    Ok(Breakdown {
        policy: policy.name.clone(),
        payable_fen: paid.0,
        steps: steps.steps,
        ytd_after: ytd,
        bill,
    })
}

fn validate(req: &CalcRequest) -> Result<(), CalcError> {
    if req.total_fen < 0 {
        return Err(invalid("total_fen", "must not be negative"));
    }
    if req.policy_scope_fen < 0 {
        return Err(invalid("policy_scope_fen", "must not be negative"));
    }
    if req.policy_scope_fen > req.total_fen {
        return Err(invalid("policy_scope_fen", "cannot exceed total_fen"));
    }
    if req.total_fen > CEILING_FEN {
        return Err(invalid(
            "total_fen",
            format!("must be at most {} yuan", Fen(CEILING_FEN).yuan_text()),
        ));
    }
    if let Some(g) = req
        .groups
        .iter()
        .find(|g| !crate::domain::eligibility::SPECIAL_GROUPS.contains(&g.as_str()))
    {
        return Err(invalid(
            "groups",
            format!(
                "unknown group `{g}`; expected some of {:?}",
                crate::domain::eligibility::SPECIAL_GROUPS
            ),
        ));
    }
    if !matches!(req.tier, 1 | 2) {
        return Err(invalid("tier", "expected 1 (一档) or 2 (二档)"));
    }
    if !["inpatient", "outpatient", "special_outpatient", "maternity"]
        .contains(&req.encounter_kind.as_str())
    {
        return Err(invalid(
            "encounter_kind",
            "expected inpatient, outpatient, special_outpatient or maternity",
        ));
    }
    let y = req.ytd;
    let totals = [
        y.scope_fen,
        y.over_limit_paid_fen,
        y.outpatient_paid_fen,
        y.paid_fen,
        y.catastrophic_base_fen,
        y.catastrophic_paid_fen,
        y.assistance_paid_fen,
    ];
    if totals.iter().any(|t| *t < 0) {
        return Err(invalid("ytd", "year-to-date amounts must not be negative"));
    }
    // Bounded so that adding this claim's amounts to them cannot overflow.
    if totals.iter().any(|t| *t > TOTAL_CEILING_FEN) {
        return Err(invalid("ytd", "year-to-date amounts are out of range"));
    }
    Ok(())
}

fn category<'p>(policy: &'p Policy, req: &CalcRequest) -> Result<&'p CategoryRule, CalcError> {
    policy
        .inpatient
        .categories
        .iter()
        .find(|c| c.id == req.facility_category)
        .ok_or_else(|| {
            invalid(
                "facility_category",
                format!(
                    "expected township, county, in_city or out_of_city, got `{}`",
                    req.facility_category
                ),
            )
        })
}

fn inpatient_payout(
    policy: &Policy,
    req: &CalcRequest,
    ytd: &mut YearToDate,
    steps: &mut Steps,
) -> Result<Fen, CalcError> {
    let ip = &policy.inpatient;
    let cat = category(policy, req)?;
    let scope = req.policy_scope_fen;
    let (within, over) = match ip.annual_scope_limit {
        Some(limit) => {
            let room = (limit.0 - ytd.scope_fen).max(0);
            let within = scope.min(room);
            steps.add("annual_scope_limit", "inpatient.annual_scope_limit", Fen(within), || (format!("年度政策范围内费用限额 {limit} 元，本年已计 {} 元；本次 {} 元在限额内，{} 元超限", Fen(ytd.scope_fen), Fen(within), Fen(scope - within)), format!("Annual policy-scope limit {limit}; {} counted already; {} of this claim is within it, {} above", Fen(ytd.scope_fen), Fen(within), Fen(scope - within))));
            (within, scope - within)
        }
        None => (scope, 0),
    };
    let deductible = cat.deductible.0.min(within);
    let base = Fen(within - deductible);
    steps.add(
        "deductible",
        format!("inpatient.categories.{}.deductible", cat.id),
        base,
        || {
            (
                format!(
                    "扣除起付线 {}（{}），余 {base} 元",
                    Fen(deductible),
                    category_zh(&cat.id)
                ),
                format!("Deductible {} ({}) leaves {base}", Fen(deductible), cat.id),
            )
        },
    );

    let mut ratio = cat.ratio;
    let mut ratio_key = format!("inpatient.categories.{}.ratio", cat.id);
    let override_ratio = ip
        .referral_overrides
        .iter()
        .find(|(code, _)| req.referral && req.facility_code.as_deref() == Some(code.as_str()));
    if let Some((code, r)) = override_ratio {
        ratio = *r;
        ratio_key = format!("inpatient.referral_overrides.{code}");
    }
    if req.tier >= 2 && ip.tier2_ratio_bonus > Decimal::ZERO {
        ratio += ip.tier2_ratio_bonus;
        ratio_key = "inpatient.tier2_ratio_bonus".into();
    }
    let unfiled =
        cat.outside_county && !req.filed && !req.referral && ip.unfiled_penalty > Decimal::ZERO;
    if unfiled && req.emergency {
        steps.add("emergency_exemption", "request.emergency", base, || (format!("县外就医未备案，但经审核属急诊，不降低比例（仍为 {}）", pct(ratio)), format!("Treated outside the county without filing, but judged an emergency: the ratio stays {}", pct(ratio))));
    } else if unfiled {
        ratio = (ratio - ip.unfiled_penalty).max(Decimal::ZERO);
        steps.add("unfiled_penalty", "inpatient.unfiled_penalty", base, || (format!("县外就医前未办理转诊转院或异地安置手续，比例下降 {} 至 {}", pct(ip.unfiled_penalty), pct(ratio)), format!("Outside the county without transfer or relocation filing: ratio lowered by {} to {}", pct(ip.unfiled_penalty), pct(ratio))));
        ratio_key = "inpatient.unfiled_penalty".into();
    }
    let basic = base.times_ratio(ratio);
    steps.add("ratio", ratio_key, basic, || {
        (
            format!("{base} 元 × {} = {basic} 元", pct(ratio)),
            format!("{base} × {} = {basic}", pct(ratio)),
        )
    });
    ytd.scope_fen += within;

    let mut total = basic;
    if over > 0 {
        match ip.over_limit {
            Some((r, max)) => {
                let raw = Fen(over).times_ratio(r);
                let room = Fen((max.0 - ytd.over_limit_paid_fen).max(0));
                let layer = raw.min(room);
                steps.add("over_limit", "inpatient.over_limit_ratio", layer, || (format!("超限部分 {} 元 × {} = {raw} 元；年度最高 {max} 元，本年已付 {} 元，本次 {layer} 元", Fen(over), pct(r), Fen(ytd.over_limit_paid_fen)), format!("Above the limit: {} × {} = {raw}; at most {max} a year, {} paid already, so {layer}", Fen(over), pct(r), Fen(ytd.over_limit_paid_fen))));
                ytd.over_limit_paid_fen += layer.0;
                total = Fen(total.0 + layer.0);
            }
            None => steps.add(
                "over_limit_excluded",
                "inpatient.annual_scope_limit",
                Fen::ZERO,
                || {
                    (
                        format!("超出年度限额的 {} 元不予支付", Fen(over)),
                        format!("{} above the annual limit is not paid", Fen(over)),
                    )
                },
            ),
        }
    }
    Ok(total)
}

fn outpatient_payout(
    policy: &Policy,
    req: &CalcRequest,
    ytd: &mut YearToDate,
    steps: &mut Steps,
) -> Result<Fen, CalcError> {
    category(policy, req)?;
    let Some(op) = &policy.outpatient else {
        steps.add("no_outpatient_benefit", "outpatient", Fen::ZERO, || {
            (
                "本政策无普通门诊待遇".into(),
                "This policy has no outpatient benefit".into(),
            )
        });
        return Ok(Fen::ZERO);
    };
    if op.real_time_only && !req.settled_in_real_time {
        steps.add(
            "not_real_time",
            "outpatient.real_time_only",
            Fen::ZERO,
            || {
                (
                    "未实时刷卡结算的门诊费用原则上不予支付".into(),
                    "Outpatient costs not settled in real time are in principle not paid".into(),
                )
            },
        );
        return Ok(Fen::ZERO);
    }
    let find = |list: &[(String, Decimal)]| {
        list.iter()
            .find(|(c, _)| *c == req.facility_category)
            .map(|(_, r)| *r)
    };
    let (ratio, key) = match (find(&op.no_referral_ratios), find(&op.ratios)) {
        (Some(r), _) if !req.primary_referral => (
            r,
            format!("outpatient.no_referral_ratios.{}", req.facility_category),
        ),
        (_, Some(r)) => (r, format!("outpatient.ratios.{}", req.facility_category)),
        _ => {
            steps.add(
                "no_outpatient_benefit",
                "outpatient.ratios",
                Fen::ZERO,
                || {
                    (
                        format!("{}门诊不在报销范围", category_zh(&req.facility_category)),
                        format!(
                            "Outpatient care at {} is not covered",
                            req.facility_category
                        ),
                    )
                },
            );
            return Ok(Fen::ZERO);
        }
    };
    let scope = Fen(req.policy_scope_fen);
    let raw = scope.times_ratio(ratio);
    steps.add("outpatient_ratio", key, raw, || {
        (
            format!("门诊 {scope} 元 × {} = {raw} 元", pct(ratio)),
            format!("Outpatient {scope} × {} = {raw}", pct(ratio)),
        )
    });
    let room = Fen((op.annual_max.0 - ytd.outpatient_paid_fen).max(0));
    let paid = raw.min(room);
    if paid < raw {
        steps.add(
            "outpatient_annual_max",
            "outpatient.annual_max",
            paid,
            || {
                (
                    format!(
                        "普通门诊每年最高 {} 元，本年已付 {} 元，本次 {paid} 元",
                        op.annual_max,
                        Fen(ytd.outpatient_paid_fen)
                    ),
                    format!(
                        "Outpatient maximum {} a year, {} paid already, so {paid}",
                        op.annual_max,
                        Fen(ytd.outpatient_paid_fen)
                    ),
                )
            },
        );
    }
    ytd.outpatient_paid_fen += paid.0;
    Ok(paid)
}

fn item_payout(
    policy: &Policy,
    req: &CalcRequest,
    item: &str,
    steps: &mut Steps,
) -> Result<Fen, CalcError> {
    if let Some(fixed) = policy.fixed_items.iter().find(|i| i.code == item) {
        let standard = Fen(fixed.amount.0 * i64::from(req.units));
        let paid = standard.times_ratio(fixed.fund_ratio);
        steps.add("fixed_item", format!("fixed_items.{item}"), paid, || {
            (
                format!(
                    "{}：{} 元 × {} 次 = {standard} 元，基金支付 {} = {paid} 元",
                    fixed.title.zh,
                    fixed.amount,
                    req.units,
                    pct(fixed.fund_ratio)
                ),
                format!(
                    "{}: {} × {} = {standard}, fund pays {} = {paid}",
                    fixed.title.en,
                    fixed.amount,
                    req.units,
                    pct(fixed.fund_ratio)
                ),
            )
        });
        return Ok(paid);
    }
    if let Some(ri) = policy.ratio_items.iter().find(|i| i.code == item) {
        if let (Some(max), Some(age)) = (ri.max_age, req.age) {
            if age > max {
                steps.add(
                    "item_age_excluded",
                    format!("ratio_items.{item}.max_age"),
                    Fen::ZERO,
                    || {
                        (
                            format!("{}限 {max} 周岁及以下，患者 {age} 周岁", ri.title.zh),
                            format!(
                                "{} is for ages up to {max}; the patient is {age}",
                                ri.title.en
                            ),
                        )
                    },
                );
                return Ok(Fen::ZERO);
            }
        }
        let scope = Fen(req.policy_scope_fen);
        let paid = scope.times_ratio(ri.ratio);
        steps.add(
            "ratio_item",
            format!("ratio_items.{item}.ratio"),
            paid,
            || {
                (
                    format!(
                        "{}：{scope} 元 × {} = {paid} 元",
                        ri.title.zh,
                        pct(ri.ratio)
                    ),
                    format!("{}: {scope} × {} = {paid}", ri.title.en, pct(ri.ratio)),
                )
            },
        );
        return Ok(paid);
    }
    Err(invalid(
        "item",
        format!("policy {} has no item `{item}`", policy.name),
    ))
}

fn category_zh(id: &str) -> &'static str {
    match id {
        "township" => "镇乡卫生院/社区",
        "county" => "县内县级医院",
        "in_city" => "县外市内医院",
        "out_of_city" => "市外医院",
        _ => "未知类别",
    }
}
