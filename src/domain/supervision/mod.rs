//! Fund supervision rules (handbook §7): the coded violation types, what each article of
//! Order 735 allows as a sanction, the check of a supervisor's choice against it, and the
//! whistleblower reward. The article table is data (`policies/supervision/order735.toml`).
use super::money::Fen;
use crate::domain::message::Msg;
use serde::Serialize;

mod table;
pub use table::{Article, Mitigation, RewardRule, Sanctions, Title, ViolationType};

/// What the article allows for a violation involving `amount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SanctionRange {
    pub article: String,
    pub repay_fen: i64,
    pub fine_min_fen: i64,
    pub fine_max_fen: i64,
    pub suspension_min_months: u32,
    pub suspension_max_months: u32,
    pub may_terminate: bool,
}

impl Article {
    pub fn range(&self, amount: Fen) -> SanctionRange {
        let (fine_min, fine_max) = match (self.fine_multiple, self.fixed_fine) {
            (Some((lo, hi)), _) => (amount.times_ratio(lo), amount.times_ratio(hi)),
            (None, Some((lo, hi))) => (lo, hi),
            (None, None) => (Fen::ZERO, Fen::ZERO),
        };
        let (s_lo, s_hi) = self.suspension_months.unwrap_or((0, 0));
        SanctionRange {
            article: self.article.clone(),
            repay_fen: if self.repay { amount.0 } else { 0 },
            fine_min_fen: fine_min.0,
            fine_max_fen: fine_max.0,
            suspension_min_months: s_lo,
            suspension_max_months: s_hi,
            may_terminate: self.may_terminate,
        }
    }
}

/// A supervisor's choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanctionChoice<'a> {
    pub fine_fen: i64,
    /// 0 for none.
    pub suspension_months: u32,
    pub terminate: bool,
    /// A mitigating circumstance from the article's list, for a choice below its minimum.
    pub mitigation: Option<&'a str>,
}

/// How a choice inside the law stands: within the article's range, or below its minimum on
/// a mitigating circumstance, which a second supervisor must approve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Within,
    Mitigated {
        mitigation: Mitigation,
        below: Vec<&'static str>,
    },
}

/// Why a choice is refused: the field, and what the law allows, in yuan and months.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub field: &'static str,
    pub code: &'static str,
    pub msg: Msg,
}

/// Checks a choice against the article. Above a maximum it is refused, with no way
/// around; below a minimum it needs one of the article's mitigating circumstances (and,
/// in the shell, a second supervisor). Every refused field is named at once.
pub fn check_choice(
    article: &Article,
    range: &SanctionRange,
    mitigations: &[Mitigation],
    choice: &SanctionChoice<'_>,
) -> Result<Verdict, Vec<Breach>> {
    let mut breaches = Vec::new();
    let mut below = Vec::new();
    let art = &range.article;
    if choice.fine_fen < 0 {
        breaches.push(Breach {
            field: "fine_fen",
            code: "fine_negative",
            msg: Msg::new("sanction-fine-negative"),
        });
    } else if choice.fine_fen > range.fine_max_fen {
        breaches.push(Breach {
            field: "fine_fen",
            code: "fine_above_maximum",
            msg: Msg::new("sanction-fine-above")
                .fen("fine", choice.fine_fen)
                .text("article", art.to_string())
                .fen("min", range.fine_min_fen)
                .fen("max", range.fine_max_fen),
        });
    } else if choice.fine_fen < range.fine_min_fen
        && !(article.fine_optional && choice.fine_fen == 0)
    {
        below.push("fine_fen");
    }
    let m = choice.suspension_months;
    let (m_lo, m_hi) = (range.suspension_min_months, range.suspension_max_months);
    if m > 0 && m_hi == 0 {
        breaches.push(Breach {
            field: "suspension_months",
            code: "no_suspension_in_article",
            msg: Msg::new("sanction-no-suspension").text("article", art.to_string()),
        });
    } else if m > m_hi {
        breaches.push(Breach {
            field: "suspension_months",
            code: "suspension_above_maximum",
            msg: Msg::new("sanction-suspension-above")
                .count("months", i64::from(m))
                .text("article", art.to_string())
                .count("min", i64::from(m_lo))
                .count("max", i64::from(m_hi)),
        });
    } else if m > 0 && m < m_lo {
        below.push("suspension_months");
    }
    if choice.terminate && !range.may_terminate {
        breaches.push(Breach {
            field: "terminate",
            code: "no_termination_in_article",
            msg: Msg::new("sanction-no-termination").text("article", art.to_string()),
        });
    }
    if !breaches.is_empty() {
        return Err(breaches);
    }
    if below.is_empty() {
        return Ok(Verdict::Within);
    }
    let allowed: Vec<&Mitigation> = mitigations
        .iter()
        .filter(|x| article.mitigations.contains(&x.code))
        .collect();
    let names = |zh: bool| {
        allowed
            .iter()
            .map(|x| if zh { x.zh.as_str() } else { x.code.as_str() })
            .collect::<Vec<_>>()
    };
    let circumstances = names(true).join("、");
    let circumstances_en = names(false).join(", ");
    let what = if below == ["suspension_months"] {
        Msg::new("sanction-suspension-below")
            .count("months", i64::from(m))
            .text("article", art.to_string())
            .count("min", i64::from(m_lo))
            .both("circumstances", circumstances, circumstances_en)
    } else {
        Msg::new("sanction-fine-below")
            .fen("fine", choice.fine_fen)
            .text("article", art.to_string())
            .fen("min", range.fine_min_fen)
            .both("circumstances", circumstances, circumstances_en)
    };
    match choice
        .mitigation
        .and_then(|code| allowed.iter().find(|x| x.code == code))
    {
        Some(found) => Ok(Verdict::Mitigated {
            mitigation: (*found).clone(),
            below,
        }),
        None => Err(vec![Breach {
            field: below[0],
            code: "below_minimum_needs_mitigation",
            msg: what,
        }]),
    }
}

/// The reward for a confirmed report: `rate × recovered`, rounded half-up, at least the
/// floor and at most the cap; nothing when nothing was recovered.
pub fn reward(rule: &RewardRule, recovered: Fen) -> Fen {
    if recovered.0 <= 0 {
        return Fen::ZERO;
    }
    recovered.times_ratio(rule.rate).max(rule.min).min(rule.cap)
}

/// The day `months` calendar months after `from` (the end of a suspension), clamped to the
/// month's last day (2024-08-31 + 6 months = 2025-02-28).
pub fn months_after(from: chrono::NaiveDate, months: u32) -> Option<chrono::NaiveDate> {
    from.checked_add_months(chrono::Months::new(months))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Sanctions {
        let text = include_str!("../../../policies/supervision/order735.toml");
        Sanctions::parse("order735.toml", text).expect("the shipped table is valid")
    }

    #[test]
    fn article_ranges_follow_order_735() {
        let s = shipped();
        let amount = Fen(1_234_567);
        let a38 = s.article("38").unwrap().range(amount);
        assert_eq!(
            (a38.repay_fen, a38.fine_min_fen, a38.fine_max_fen),
            (1_234_567, 1_234_567, 2_469_134)
        );
        assert_eq!(
            (
                a38.suspension_min_months,
                a38.suspension_max_months,
                a38.may_terminate
            ),
            (6, 12, false)
        );
        let a40 = s.article("40").unwrap().range(amount);
        assert_eq!(
            (a40.fine_min_fen, a40.fine_max_fen, a40.may_terminate),
            (2_469_134, 6_172_835, true)
        );
        let a39 = s.article("39").unwrap().range(amount);
        assert_eq!(
            (a39.repay_fen, a39.fine_min_fen, a39.fine_max_fen),
            (0, 1_000_000, 5_000_000)
        );
        let a41 = s.article("41").unwrap().range(amount);
        assert_eq!(
            (a41.suspension_min_months, a41.suspension_max_months),
            (3, 12)
        );
        assert_eq!(s.violation_type("phantom_bed").unwrap().article, "38");
        assert_eq!(s.violation_types.len(), 14);
    }

    #[test]
    fn above_the_maximum_is_refused_and_below_the_minimum_needs_mitigation() {
        let s = shipped();
        let a40 = s.article("40").unwrap();
        let range = a40.range(Fen(5_000_000));
        let choice = |fine_fen, suspension_months, mitigation| SanctionChoice {
            fine_fen,
            suspension_months,
            terminate: false,
            mitigation,
        };
        assert_eq!(
            check_choice(a40, &range, &s.mitigations, &choice(10_000_000, 6, None)),
            Ok(Verdict::Within)
        );
        // 6 × and 24 months under Art. 40 (2-5 ×, 6-12 months): refused, whatever the reason.
        let over = check_choice(
            a40,
            &range,
            &s.mitigations,
            &choice(30_000_000, 24, Some("corrected_promptly")),
        )
        .unwrap_err();
        let fields: Vec<_> = over.iter().map(|b| b.field).collect();
        assert_eq!(fields, ["fine_fen", "suspension_months"]);
        // The figures the words are given (the words themselves: src/messages.rs).
        use crate::domain::message::Arg;
        assert_eq!(over[0].msg.code, "sanction-fine-above");
        assert!(over[0].msg.args.contains(&("fine", Arg::Fen(30_000_000))));
        assert!(over[0].msg.args.contains(&("max", Arg::Fen(25_000_000))));
        assert_eq!(over[1].msg.code, "sanction-suspension-above");
        assert!(over[1].msg.args.contains(&("months", Arg::Count(24))));
        assert!(over[1].msg.args.contains(&("max", Arg::Count(12))));
        // Below the minimum: refused without a listed circumstance, taken for approval with one.
        let low =
            check_choice(a40, &range, &s.mitigations, &choice(5_000_000, 0, None)).unwrap_err();
        assert_eq!(
            (low[0].field, low[0].code),
            ("fine_fen", "below_minimum_needs_mitigation")
        );
        assert_eq!(low[0].msg.code, "sanction-fine-below");
        assert!(low[0].msg.args.contains(&("min", Arg::Fen(10_000_000))));
        assert!(check_choice(
            a40,
            &range,
            &s.mitigations,
            &choice(5_000_000, 0, Some("bogus"))
        )
        .is_err());
        assert!(matches!(
            check_choice(a40, &range, &s.mitigations, &choice(5_000_000, 3, Some("corrected_promptly"))),
            Ok(Verdict::Mitigated { ref below, .. }) if below == &["fine_fen", "suspension_months"]
        ));
        // Art. 41: no fine is inside the range when there was no fraud.
        let a41 = s.article("41").unwrap();
        let r41 = a41.range(Fen(100_000));
        assert_eq!(
            check_choice(a41, &r41, &s.mitigations, &choice(0, 3, None)),
            Ok(Verdict::Within)
        );
        let terminate = SanctionChoice {
            terminate: true,
            ..choice(0, 3, None)
        };
        assert_eq!(
            check_choice(a41, &r41, &s.mitigations, &terminate).unwrap_err()[0].field,
            "terminate"
        );
        assert_eq!(
            check_choice(a41, &r41, &s.mitigations, &choice(-1, 0, None)).unwrap_err()[0].field,
            "fine_fen"
        );
    }

    #[test]
    fn rewards_are_a_share_within_floor_and_cap() {
        let r = shipped().reward;
        assert_eq!(reward(&r, Fen(0)), Fen(0));
        assert_eq!(
            reward(&r, Fen(100_000)),
            Fen(20_000),
            "5 % of 1,000 yuan is below the 200-yuan floor"
        );
        assert_eq!(
            reward(&r, Fen(1_234_567)),
            Fen(61_728),
            "61,728.35 fen rounds half-up to 61,728"
        );
        assert_eq!(
            reward(&r, Fen(1_000_000_000)),
            Fen(20_000_000),
            "capped at 200,000 yuan"
        );
    }

    #[test]
    fn bad_tables_are_refused_with_the_line() {
        let text = r#"
[[articles]]
article = "38"
title = { zh = "x", en = "x" }
repay = true
fine_multiple = ["2", "1"]

[[violation_types]]
code = "phantom_bed"
article = "99"
zh = "挂床住院"
en = "Phantom bed"

[reward]
rate = "0.05"
min_yuan = "200"
cap_yuan = "100"
"#;
        let errors = Sanctions::parse("t.toml", text).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 8, 14], "{errors:?}");
        assert!(errors[1].message.contains("article 99"));
    }

    #[test]
    fn suspensions_end_on_the_same_day_months_later() {
        let d = |s: &str| crate::domain::dates::parse_iso_date(s).unwrap();
        assert_eq!(months_after(d("2026-03-15"), 6), Some(d("2026-09-15")));
        assert_eq!(months_after(d("2024-08-31"), 6), Some(d("2025-02-28")));
    }
}
