//! The screening rules file: every rule described once with its texts, action and
//! parameters, each error located.
use super::{Hit, HitAction, RuleCode, RuleInfo};
use crate::domain::checked_file::{CheckError, FileChecker};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use toml::Spanned;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Restriction {
    /// ICD-10 code prefix, e.g. `O` or `N40`.
    pub prefix: String,
    pub zh: String,
    pub en: String,
    #[serde(default)]
    pub sex: Option<String>,
    #[serde(default)]
    pub min_age: Option<u32>,
    #[serde(default)]
    pub max_age: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutlierParams {
    pub threshold: Decimal,
    pub min_peers: usize,
    pub min_claims: u64,
}

/// The checked rule file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScreeningRules {
    pub rules: Vec<RuleInfo>,
    pub readmission_days: u32,
    pub acute_medicine_days: u32,
    pub chronic_medicine_days: u32,
    pub restrictions: Vec<Restriction>,
    pub outlier: OutlierParams,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    rules: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    code: String,
    zh: String,
    en: String,
    action: HitAction,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    params: Option<toml::Value>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadmissionParams {
    within_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MedicineParams {
    acute_max_days: u32,
    chronic_max_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestrictionParams {
    restrictions: Vec<Restriction>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutlierParams {
    threshold: Decimal,
    min_peers: usize,
    min_claims: u64,
}

impl ScreeningRules {
    /// Parses and validates the rule file; every error names its line.
    pub fn parse(file: &str, source: &str) -> Result<ScreeningRules, Vec<CheckError>> {
        let mut c = FileChecker::new(file, source);
        let Some(raw) = c.parse::<RawFile>("see policies/screening/rules.toml") else {
            return c.finish(None);
        };
        let mut out = ScreeningRules {
            rules: Vec::new(),
            readmission_days: 0,
            acute_medicine_days: 0,
            chronic_medicine_days: 0,
            restrictions: Vec::new(),
            outlier: OutlierParams {
                threshold: Decimal::ZERO,
                min_peers: 0,
                min_claims: 0,
            },
        };
        let known: Vec<&str> = RuleCode::ALL.iter().map(|c| c.as_str()).collect();
        for spanned in &raw.rules {
            let span = spanned.span();
            let r = spanned.get_ref();
            let Some(code) = RuleCode::parse(&r.code) else {
                c.error(
                    span,
                    format!("unknown rule `{}`", r.code),
                    format!("expected one of {}", known.join(", ")),
                );
                continue;
            };
            if out.rules.iter().any(|x| x.code == code) {
                c.error(
                    span.clone(),
                    format!("rule `{}` is listed twice", r.code),
                    "",
                );
            }
            if r.zh.trim().is_empty() || r.en.trim().is_empty() {
                c.error(
                    span.clone(),
                    format!("rule `{}` needs a description in zh and en", r.code),
                    "",
                );
            }
            let params = r.params.clone();
            let mut read = |what: &str| -> Option<toml::Value> {
                if params.is_none() {
                    c.error(
                        span.clone(),
                        format!("rule `{}` needs params: {what}", r.code),
                        "",
                    );
                }
                params.clone()
            };
            let problem = match code {
                RuleCode::Readmission => read("within_days").map(|v| {
                    v.try_into::<ReadmissionParams>().map(|p| {
                        out.readmission_days = p.within_days;
                        (p.within_days == 0).then_some("within_days must be at least 1")
                    })
                }),
                RuleCode::DischargeMedicine => read("acute_max_days, chronic_max_days").map(|v| {
                    v.try_into::<MedicineParams>().map(|p| {
                        out.acute_medicine_days = p.acute_max_days;
                        out.chronic_medicine_days = p.chronic_max_days;
                        (p.acute_max_days > p.chronic_max_days)
                            .then_some("acute_max_days must not exceed chronic_max_days")
                    })
                }),
                RuleCode::RestrictedDiagnosis => read("restrictions").map(|v| {
                    v.try_into::<RestrictionParams>().map(|p| {
                        let bad = p.restrictions.iter().find_map(|x| restriction_problem(x));
                        out.restrictions = p.restrictions;
                        bad
                    })
                }),
                RuleCode::FacilityOutlier => read("threshold, min_peers, min_claims").map(|v| {
                    v.try_into::<RawOutlierParams>().map(|p| {
                        let bad = (p.threshold <= Decimal::ZERO || p.min_peers < 3)
                            .then_some("threshold must be positive and min_peers at least 3");
                        out.outlier = OutlierParams {
                            threshold: p.threshold,
                            min_peers: p.min_peers,
                            min_claims: p.min_claims,
                        };
                        bad
                    })
                }),
                _ => r
                    .params
                    .as_ref()
                    .map(|_| Ok(Some("this rule takes no params"))),
            };
            match problem {
                Some(Err(e)) => c.error(
                    span.clone(),
                    format!("rule `{}` params: {}", r.code, e.message().trim()),
                    "",
                ),
                Some(Ok(Some(msg))) => {
                    c.error(span.clone(), format!("rule `{}`: {msg}", r.code), "")
                }
                _ => {}
            }
            out.rules.push(RuleInfo {
                code,
                zh: r.zh.clone(),
                en: r.en.clone(),
                action: r.action,
                enabled: r.enabled,
            });
        }
        for code in RuleCode::ALL {
            if !out.rules.iter().any(|r| r.code == code) {
                c.error(
                    0..0,
                    format!("rule `{}` is missing", code.as_str()),
                    "list every rule; set enabled = false to turn one off",
                );
            }
        }
        c.finish(Some(out))
    }

    pub fn info(&self, code: RuleCode) -> Option<&RuleInfo> {
        self.rules.iter().find(|r| r.code == code)
    }

    pub fn enabled(&self, code: RuleCode) -> bool {
        self.info(code).is_some_and(|r| r.enabled)
    }

    /// Whether any of the hits sends the claim to investigation.
    pub fn investigates(&self, hits: &[Hit]) -> bool {
        hits.iter().any(|h| {
            self.info(h.code)
                .is_some_and(|r| r.action == HitAction::Investigate)
        })
    }
}

fn restriction_problem(r: &Restriction) -> Option<&'static str> {
    if r.prefix.is_empty() || !r.prefix.starts_with(|c: char| c.is_ascii_uppercase()) {
        return Some("a restriction's prefix must start with an ICD-10 chapter letter");
    }
    if r.sex.as_deref().is_some_and(|s| s != "M" && s != "F") {
        return Some("a restriction's sex must be \"M\" or \"F\"");
    }
    if r.sex.is_none() && r.min_age.is_none() && r.max_age.is_none() {
        return Some("a restriction needs a sex, a min_age or a max_age");
    }
    if let (Some(lo), Some(hi)) = (r.min_age, r.max_age) {
        if lo > hi {
            return Some("a restriction's min_age must not exceed its max_age");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::screening::fixtures::*;

    #[test]
    fn the_file_is_checked_with_lines() {
        let broken = RULES.replace("within_days = 15", "within_day = 15");
        let errors = ScreeningRules::parse("rules.toml", &broken).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("readmission") && e.message.contains("within_day")),
            "{errors:?}"
        );
        let line = RULES
            .lines()
            .position(|l| l.contains("code = \"readmission\""))
            .unwrap()
            + 1;
        assert!(
            errors
                .iter()
                .any(|e| (line - 1..=line + 6).contains(&e.line)),
            "{errors:?}"
        );
        let missing = RULES.replace("code = \"trauma_liable_party\"", "code = \"trauma_liable\"");
        let errors = ScreeningRules::parse("rules.toml", &missing).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("unknown rule `trauma_liable`")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("rule `trauma_liable_party` is missing")),
            "{errors:?}"
        );
        let bad_sex = RULES.replace("sex = \"M\"", "sex = \"male\"");
        let errors = ScreeningRules::parse("rules.toml", &bad_sex).unwrap_err();
        assert!(
            errors.iter().any(|e| e.message.contains("\"M\" or \"F\"")),
            "{errors:?}"
        );
    }
}
