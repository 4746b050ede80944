//! The few facts of a claim's family facts that the rules read, and their stored form in
//! `claim_stays` (a few bytes where the whole facts are hundreds).
use crate::domain::claim::FamilyFacts;
use serde::Deserialize;

/// The facts the rules read; parsed from the stored form or from a claim's whole facts (rows
/// written before `claim_stays` existed carry those), the rest skipped.
#[derive(Debug, Deserialize, Default, PartialEq)]
#[serde(default)]
pub struct RuleFacts {
    pub third_party_liable: bool,
    pub discharge_medicine_days: Option<u32>,
    pub chronic_condition: bool,
    pub referral: bool,
    pub special_disease: Option<String>,
    /// Present (an explanation, or `true` in the stored form) when the claim explains an
    /// emergency.
    emergency: Option<serde::de::IgnoredAny>,
}

impl RuleFacts {
    /// The facts in `json`; facts that do not parse are none.
    pub fn parse(json: &str) -> RuleFacts {
        serde_json::from_str(json).unwrap_or_default()
    }

    pub fn emergency(&self) -> bool {
        self.emergency.is_some()
    }

    /// The stored form of a claim's rule facts: only those set, so that most claims store `{}`.
    pub fn stored(facts: &FamilyFacts) -> String {
        let mut out = serde_json::Map::new();
        if facts.third_party_liable {
            out.insert("third_party_liable".into(), true.into());
        }
        if let Some(days) = facts.discharge_medicine_days {
            out.insert("discharge_medicine_days".into(), days.into());
        }
        if facts.chronic_condition {
            out.insert("chronic_condition".into(), true.into());
        }
        if facts.referral {
            out.insert("referral".into(), true.into());
        }
        if let Some(disease) = &facts.special_disease {
            out.insert("special_disease".into(), disease.as_str().into());
        }
        if facts.emergency.is_some() {
            out.insert("emergency".into(), true.into());
        }
        serde_json::Value::Object(out).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_form_reads_back_as_the_whole_facts_do() {
        let facts = FamilyFacts {
            filed: true,
            emergency: Some(crate::domain::claim::EmergencyExplanation {
                cause: "胸痛".into(),
                ..Default::default()
            }),
            referral: true,
            special_disease: Some("dialysis".into()),
            discharge_medicine_days: Some(40),
            chronic_condition: true,
            ..FamilyFacts::default()
        };
        let whole = serde_json::to_string(&facts).expect("facts serialise");
        let stored = RuleFacts::stored(&facts);
        assert_eq!(RuleFacts::parse(&stored), RuleFacts::parse(&whole));
        let read = RuleFacts::parse(&stored);
        assert!(read.emergency() && read.referral && read.chronic_condition);
        assert_eq!(read.discharge_medicine_days, Some(40));
        assert_eq!(read.special_disease.as_deref(), Some("dialysis"));
        assert_eq!(RuleFacts::stored(&FamilyFacts::default()), "{}");
        assert_eq!(RuleFacts::parse("{}"), RuleFacts::default());
        assert!(!RuleFacts::parse(r#"{"emergency":null}"#).emergency());
    }
}
