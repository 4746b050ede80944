//! Extreme amounts through the pure core: claim intake checks, the calculator, the
//! facility-outlier statistics and the report sums take any i64 without a panic or an
//! overflow, and refuse what lies outside the documented bounds.
use claimflow::domain::claim::{Claim, ClaimInput, DEFAULT_MAX_CLAIM_FEN};
use claimflow::domain::money::{sum_fen, CEILING_FEN};
use claimflow::domain::policy::{calculate, load_policy, CalcRequest, YearToDate};
use claimflow::domain::screening::{outliers, FacilityStats, OutlierParams};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// Amounts that matter: the edges of i64, the bounds, and anything in between.
fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(-1i64),
        Just(0i64),
        Just(DEFAULT_MAX_CLAIM_FEN),
        Just(DEFAULT_MAX_CLAIM_FEN + 1),
        Just(CEILING_FEN),
        Just(CEILING_FEN + 1),
        any::<i64>(),
        0i64..=DEFAULT_MAX_CLAIM_FEN,
    ]
}

fn claim_input(total: i64, scope: i64, self_paid: i64, lines: Vec<i64>) -> ClaimInput {
    serde_json::from_value(serde_json::json!({
        "family": "trauma",
        "encounter_kind": "inpatient",
        "facility_code": "H330326001",
        "admission_date": "2019-05-02",
        "discharge_date": "2019-05-10",
        "diagnosis_code": "S52.501",
        "invoice_numbers": ["PY2026-000123"],
        "total_fen": total,
        "policy_scope_fen": scope,
        "self_paid_fen": self_paid,
        "facts": { "third_party_declaration": "在家中跌倒，无第三方责任" },
        "itemised_lines": lines.iter().enumerate().map(|(i, fen)| serde_json::json!({
            "code": format!("L{i}"), "name": "item", "quantity": 1, "total_fen": fen, "in_policy_scope": true
        })).collect::<Vec<_>>(),
    }))
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn intake_accepts_only_amounts_within_the_bound(total in amount(), scope in amount(), self_paid in amount(),
                                                   lines in prop::collection::vec(amount(), 0..4)) {
        let input = claim_input(total, scope, self_paid, lines.clone());
        match Claim::parse(&input, DEFAULT_MAX_CLAIM_FEN) {
            Ok(claim) => {
                for fen in [claim.total_fen.0, claim.policy_scope_fen.0, claim.self_paid_fen.0] {
                    prop_assert!((0..=DEFAULT_MAX_CLAIM_FEN).contains(&fen));
                }
                prop_assert!(lines.iter().all(|l| (0..=DEFAULT_MAX_CLAIM_FEN).contains(l)));
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                // Each error names its field, and no message echoes a raw fen figure.
                for e in &errors {
                    prop_assert!(!e.field.is_empty());
                    for lang in ["zh-CN", "en"] {
                        let text = claimflow::messages::render(&e.msg, lang);
                        prop_assert!(!text.contains(&i64::MAX.to_string()), "{}", text);
                        prop_assert!(!text.contains(e.msg.code), "no words for {}", e.msg.code);
                    }
                }
            }
        }
    }

    #[test]
    fn the_calculator_refuses_or_prices_any_amount(total in amount(), scope in amount(), ytd in amount()) {
        let policy = load_policy("pingyang-2019", &std::fs::read_to_string(
            concat!(env!("CARGO_MANIFEST_DIR"), "/policies/pingyang-2019.toml")).unwrap()).unwrap();
        let req = CalcRequest {
            family: None,
            encounter_kind: "inpatient".into(),
            facility_category: "county".into(),
            facility_code: None,
            tier: 1,
            total_fen: total,
            policy_scope_fen: scope,
            filed: true,
            referral: true,
            emergency: false,
            special_disease: None,
            maternity_high_risk: false,
            settled_in_real_time: false,
            primary_referral: false,
            trauma_approval_form: false,
            item: None,
            units: 1,
            age: Some(40),
            ytd: YearToDate { scope_fen: ytd, over_limit_paid_fen: ytd, outpatient_paid_fen: ytd, paid_fen: ytd, catastrophic_base_fen: ytd, catastrophic_paid_fen: ytd, assistance_paid_fen: ytd },
            groups: vec!["tekun".into(), "dibao".into()],
        };
        if let Ok(b) = calculate(&policy, &req) {
            prop_assert!(b.payable_fen >= 0 && b.payable_fen <= scope);
            prop_assert!(b.ytd_after.paid_fen >= ytd);
            prop_assert_eq!(b.bill.fund_fen + b.bill.catastrophic_fen + b.bill.assistance_fen + b.bill.self_pay_fen, total);
        }
    }

    #[test]
    fn outlier_statistics_take_extreme_costs(costs in prop::collection::vec((amount(), 0u64..=u64::MAX, 1u64..=u64::MAX), 3..8)) {
        let stats: Vec<FacilityStats> = costs.iter().enumerate().map(|(i, (cost, stays, claims))| FacilityStats {
            facility: format!("H{i}"),
            level: "county".into(),
            region_code: "330326".into(),
            stays: *stays,
            stay_cost_fen: *cost,
            claims: *claims,
        }).collect();
        let params = OutlierParams { threshold: Decimal::new(35, 1), min_peers: 3, min_claims: 1 };
        let scores = outliers(&params, &stats);
        prop_assert_eq!(scores.len(), stats.len());
    }

    #[test]
    fn report_sums_widen_instead_of_overflowing(values in prop::collection::vec(amount(), 0..50)) {
        let exact: i128 = values.iter().map(|v| i128::from(*v)).sum();
        let expected = exact.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        prop_assert_eq!(sum_fen(values.iter().copied()), expected);
    }
}
