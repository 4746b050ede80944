//! Fund supervision rules (handbook §7): the coded violation types, what each article of
//! Order 735 allows as a sanction, the check of a supervisor's choice against it, and the
//! whistleblower reward. The article table is data (`policies/supervision/order735.toml`).
use super::checked_file::{CheckError, FileChecker};
use super::money::Fen;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use toml::Spanned;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    articles: Vec<Spanned<RawArticle>>,
    violation_types: Vec<Spanned<RawViolationType>>,
    reward: Spanned<RawReward>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArticle {
    article: String,
    title: Title,
    repay: bool,
    #[serde(default)]
    fine_multiple: Option<[Decimal; 2]>,
    #[serde(default)]
    fixed_fine_yuan: Option<[Decimal; 2]>,
    #[serde(default)]
    suspension_months: Option<[u32; 2]>,
    #[serde(default)]
    may_terminate: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawViolationType {
    code: String,
    article: String,
    zh: String,
    en: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReward {
    rate: Decimal,
    min_yuan: Decimal,
    cap_yuan: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct Title {
    pub zh: String,
    pub en: String,
}

/// What one article allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Article {
    pub article: String,
    pub title: Title,
    pub repay: bool,
    /// Fine as multiples of the amount involved, inclusive.
    pub fine_multiple: Option<(Decimal, Decimal)>,
    /// Fixed fine range, inclusive.
    pub fixed_fine: Option<(Fen, Fen)>,
    /// Suspension range in months, inclusive.
    pub suspension_months: Option<(u32, u32)>,
    pub may_terminate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ViolationType {
    pub code: String,
    pub article: String,
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RewardRule {
    pub rate: Decimal,
    pub min: Fen,
    pub cap: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sanctions {
    pub articles: Vec<Article>,
    pub violation_types: Vec<ViolationType>,
    pub reward: RewardRule,
}

fn yuan(d: Decimal) -> Option<Fen> {
    (d.scale() <= 2 && !d.is_sign_negative())
        .then(|| Fen::from_yuan_half_up(d))
        .flatten()
}

impl Sanctions {
    /// Parses and validates the article table; every error names its line.
    pub fn parse(file: &str, source: &str) -> Result<Sanctions, Vec<CheckError>> {
        let mut c = FileChecker::new(file, source);
        let Some(raw) = c.parse::<RawFile>("see policies/supervision/order735.toml") else {
            return c.finish(None);
        };
        let mut articles: Vec<Article> = Vec::new();
        for a in &raw.articles {
            let span = a.span();
            let a = a.get_ref();
            if articles.iter().any(|x| x.article == a.article) {
                c.error(
                    span.clone(),
                    format!("article {} is listed twice", a.article),
                    "",
                );
            }
            let ordered = |lo: Decimal, hi: Decimal| lo <= hi && !lo.is_sign_negative();
            if let Some([lo, hi]) = a.fine_multiple {
                if !ordered(lo, hi) {
                    c.error(
                        span.clone(),
                        format!(
                            "article {}: fine_multiple must be [low, high] with 0 ≤ low ≤ high",
                            a.article
                        ),
                        "",
                    );
                }
            }
            let fixed = match a.fixed_fine_yuan {
                Some([lo, hi]) => match (yuan(lo), yuan(hi)) {
                    (Some(l), Some(h)) if l <= h => Some((l, h)),
                    _ => {
                        c.error(
                            span.clone(),
                            format!("article {}: fixed_fine_yuan must be [low, high] in yuan with at most two decimals, low ≤ high", a.article),
                            "",
                        );
                        None
                    }
                },
                None => None,
            };
            if let Some([lo, hi]) = a.suspension_months {
                if lo > hi || hi > 120 {
                    c.error(
                        span.clone(),
                        format!("article {}: suspension_months must be [low, high] months, low ≤ high ≤ 120", a.article),
                        "",
                    );
                }
            }
            if a.fine_multiple.is_some() && a.fixed_fine_yuan.is_some() {
                c.error(
                    span.clone(),
                    format!(
                        "article {}: give fine_multiple or fixed_fine_yuan, not both",
                        a.article
                    ),
                    "",
                );
            }
            articles.push(Article {
                article: a.article.clone(),
                title: a.title.clone(),
                repay: a.repay,
                fine_multiple: a.fine_multiple.map(|[l, h]| (l, h)),
                fixed_fine: fixed,
                suspension_months: a.suspension_months.map(|[l, h]| (l, h)),
                may_terminate: a.may_terminate,
            });
        }
        let mut types: Vec<ViolationType> = Vec::new();
        for t in &raw.violation_types {
            let span = t.span();
            let t = t.get_ref();
            if !articles.iter().any(|a| a.article == t.article) {
                c.error(
                    span.clone(),
                    format!(
                        "violation type `{}` names article {}, which is not in the table",
                        t.code, t.article
                    ),
                    "add the article under [[articles]] or fix the number",
                );
            }
            if types.iter().any(|x| x.code == t.code) {
                c.error(
                    span.clone(),
                    format!("violation type `{}` is listed twice", t.code),
                    "",
                );
            }
            types.push(ViolationType {
                code: t.code.clone(),
                article: t.article.clone(),
                zh: t.zh.clone(),
                en: t.en.clone(),
            });
        }
        let r = raw.reward.get_ref();
        let reward = match (yuan(r.min_yuan), yuan(r.cap_yuan)) {
            (Some(min), Some(cap))
                if min <= cap && r.rate > Decimal::ZERO && r.rate <= Decimal::ONE =>
            {
                Some(RewardRule {
                    rate: r.rate,
                    min,
                    cap,
                })
            }
            _ => {
                c.error(
                    raw.reward.span(),
                    "reward: rate must be in (0, 1] and min_yuan ≤ cap_yuan, in yuan with at most two decimals",
                    "",
                );
                None
            }
        };
        let value = reward.map(|reward| Sanctions {
            articles,
            violation_types: types,
            reward,
        });
        c.finish(value)
    }

    pub fn violation_type(&self, code: &str) -> Option<&ViolationType> {
        self.violation_types.iter().find(|t| t.code == code)
    }

    pub fn article(&self, article: &str) -> Option<&Article> {
        self.articles.iter().find(|a| a.article == article)
    }
}

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
    pub reason: &'a str,
}

/// Where a choice leaves the range, if it does: (field, why). A choice outside the range
/// stands only with a reason; termination stands only where the article allows it.
pub fn outside_range(
    range: &SanctionRange,
    choice: &SanctionChoice<'_>,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if choice.fine_fen < range.fine_min_fen || choice.fine_fen > range.fine_max_fen {
        out.push((
            "fine_fen",
            format!(
                "{} fen is outside the {} to {} fen that article {} allows",
                choice.fine_fen, range.fine_min_fen, range.fine_max_fen, range.article
            ),
        ));
    }
    let m = choice.suspension_months;
    if m != 0 && (m < range.suspension_min_months || m > range.suspension_max_months) {
        out.push((
            "suspension_months",
            if range.suspension_max_months == 0 {
                format!("article {} provides no suspension", range.article)
            } else {
                format!(
                    "{m} months is outside the {} to {} months that article {} allows",
                    range.suspension_min_months, range.suspension_max_months, range.article
                )
            },
        ));
    }
    if choice.terminate && !range.may_terminate {
        out.push((
            "terminate",
            format!("article {} does not provide termination", range.article),
        ));
    }
    out
}

/// Checks a choice: inside the range it stands; outside it needs a reason, and is refused
/// naming every field that left the range. Negative fines are never allowed.
pub fn check_choice(
    range: &SanctionRange,
    choice: &SanctionChoice<'_>,
) -> Result<bool, Vec<(&'static str, String)>> {
    if choice.fine_fen < 0 {
        return Err(vec![("fine_fen", "must not be negative".into())]);
    }
    let outside = outside_range(range, choice);
    if outside.is_empty() {
        Ok(false)
    } else if choice.reason.trim().is_empty() {
        Err(outside
            .into_iter()
            .map(|(f, why)| {
                (
                    f,
                    format!("{why}; a choice outside the range needs a reason"),
                )
            })
            .collect())
    } else {
        Ok(true)
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
        let text = include_str!("../../policies/supervision/order735.toml");
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
    fn a_choice_outside_the_range_needs_a_reason() {
        let s = shipped();
        let range = s.article("38").unwrap().range(Fen(100_000));
        let mut choice = SanctionChoice {
            fine_fen: 150_000,
            suspension_months: 6,
            terminate: false,
            reason: "",
        };
        assert_eq!(check_choice(&range, &choice), Ok(false));
        choice.fine_fen = 100_000;
        assert_eq!(
            check_choice(&range, &choice),
            Ok(false),
            "the low end is inside"
        );
        choice.fine_fen = 200_001;
        let err = check_choice(&range, &choice).unwrap_err();
        assert_eq!(err[0].0, "fine_fen");
        assert!(err[0].1.contains("100000 to 200000"), "{err:?}");
        choice.reason = "repeat offence, aggravated";
        assert_eq!(check_choice(&range, &choice), Ok(true));
        let bad = SanctionChoice {
            fine_fen: 150_000,
            suspension_months: 13,
            terminate: true,
            reason: "",
        };
        let fields: Vec<_> = check_choice(&range, &bad)
            .unwrap_err()
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(fields, ["suspension_months", "terminate"]);
        let negative = SanctionChoice {
            fine_fen: -1,
            suspension_months: 0,
            terminate: false,
            reason: "x",
        };
        assert!(check_choice(&range, &negative).is_err());
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
