//! The article table of Order 735 as a checked file (`policies/supervision/order735.toml`):
//! each article's sanction range, the mitigating circumstances, the coded violation types
//! and the whistleblower reward rule, refused with file, line and column when malformed.
use crate::domain::checked_file::{CheckError, FileChecker};
use crate::domain::money::Fen;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use toml::Spanned;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    articles: Vec<Spanned<RawArticle>>,
    #[serde(default)]
    mitigations: Vec<Mitigation>,
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
    #[serde(default)]
    fine_optional: bool,
    #[serde(default)]
    mitigations: Vec<String>,
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
    /// No fine is a choice inside the range (Art. 39: only if not corrected; Art. 41: only
    /// with intent to defraud).
    pub fine_optional: bool,
    /// The mitigating circumstances that may justify a choice below the minimum.
    pub mitigations: Vec<String>,
}

/// A circumstance that justifies a lighter sanction (行政处罚法 Art. 32).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Mitigation {
    pub code: String,
    pub zh: String,
    pub en: String,
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
    pub mitigations: Vec<Mitigation>,
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
                fine_optional: a.fine_optional,
                mitigations: a.mitigations.clone(),
            });
            for code in &a.mitigations {
                if !raw.mitigations.iter().any(|m| &m.code == code) {
                    c.error(
                        span.clone(),
                        format!(
                            "article {}: mitigation `{code}` is not under [[mitigations]]",
                            a.article
                        ),
                        "declare it with code, zh and en",
                    );
                }
            }
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
            mitigations: raw.mitigations.clone(),
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
