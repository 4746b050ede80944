//! The controls' own vocabulary, as data (`policies/controls/controls.toml`): the reasons a
//! supervisor may give at sign-off to override an error finding, and which findings each
//! may override.
use super::checked_file::{CheckError, FileChecker};
use serde::{Deserialize, Serialize};
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    override_reasons: Vec<Spanned<RawReason>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReason {
    code: String,
    zh: String,
    en: String,
    #[serde(default)]
    applies_to: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OverrideReason {
    pub code: String,
    pub zh: String,
    pub en: String,
    /// The finding codes it may override; empty: any error finding.
    pub applies_to: Vec<String>,
}

impl OverrideReason {
    pub fn applies_to(&self, finding_code: &str) -> bool {
        self.applies_to.is_empty() || self.applies_to.iter().any(|c| c == finding_code)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controls {
    pub override_reasons: Vec<OverrideReason>,
}

impl Controls {
    pub fn parse(file: &str, source: &str) -> Result<Controls, Vec<CheckError>> {
        let mut c = FileChecker::new(file, source);
        let Some(raw) = c.parse::<RawFile>("see policies/controls/controls.toml") else {
            return c.finish(None);
        };
        let mut reasons: Vec<OverrideReason> = Vec::new();
        for r in &raw.override_reasons {
            let span = r.span();
            let r = r.get_ref();
            let lower_snake =
                !r.code.is_empty() && r.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            if !lower_snake {
                c.error(
                    span.clone(),
                    format!("reason code `{}` must be lower_snake_case", r.code),
                    "e.g. code = \"registry_corrected\"",
                );
            }
            if reasons.iter().any(|x| x.code == r.code) {
                c.error(
                    span.clone(),
                    format!("reason `{}` is listed twice", r.code),
                    "keep one",
                );
            }
            if r.zh.trim().is_empty() || r.en.trim().is_empty() {
                c.error(
                    span.clone(),
                    format!("reason `{}` needs zh and en texts", r.code),
                    "people read these in either language",
                );
            }
            if r.applies_to.as_ref().is_some_and(Vec::is_empty) {
                c.error(
                    span.clone(),
                    format!("reason `{}`: applies_to is empty", r.code),
                    "list finding codes, or leave applies_to out to allow any",
                );
            }
            reasons.push(OverrideReason {
                code: r.code.clone(),
                zh: r.zh.clone(),
                en: r.en.clone(),
                applies_to: r.applies_to.clone().unwrap_or_default(),
            });
        }
        if reasons.is_empty() {
            c.error(
                0..0,
                "no override reasons",
                "list at least one [[override_reasons]]",
            );
        }
        c.finish(Some(Controls {
            override_reasons: reasons,
        }))
    }

    pub fn override_reason(&self, code: &str) -> Option<&OverrideReason> {
        self.override_reasons.iter().find(|r| r.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../policies/controls/controls.toml");

    #[test]
    fn the_shipped_file_loads_and_scopes_its_reasons() {
        let c = Controls::parse("controls.toml", SHIPPED).unwrap();
        let hit = c.override_reason("hit_explained").unwrap();
        assert!(hit.applies_to("duplicate_invoice") && !hit.applies_to("not_eligible"));
        assert!(c
            .override_reason("court_or_authority_ruling")
            .unwrap()
            .applies_to("anything"));
    }

    /// An investigation may explain any screening hit: every rule's finding can be
    /// overridden for that reason, so that no cleared claim stays blocked by a rule added
    /// later.
    #[test]
    fn every_screening_rule_can_be_explained() {
        let c = Controls::parse("controls.toml", SHIPPED).unwrap();
        let hit = c.override_reason("hit_explained").unwrap();
        for code in crate::domain::screening::RuleCode::ALL {
            assert!(hit.applies_to(code.as_str()), "{}", code.as_str());
        }
    }

    #[test]
    fn bad_files_are_located() {
        let e = Controls::parse(
            "c.toml",
            "[[override_reasons]]\ncode = \"Bad\"\nzh = \"\"\nen = \"x\"\n",
        )
        .unwrap_err();
        assert!(
            e.iter()
                .any(|e| e.message.contains("lower_snake_case") && e.line == 1),
            "{e:?}"
        );
        assert!(e.iter().any(|e| e.message.contains("zh and en")), "{e:?}");
    }
}
