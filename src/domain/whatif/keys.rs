//! Policy files by key: a diff of two files, a parameter sweep's values, and one key set to a
//! value. Keys are dotted paths; an array of tables with an `id` (the inpatient categories)
//! or `code` (fixed and ratio items) is addressed by it: `inpatient.categories.county.deductible`.
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;
use toml::Value;

/// One key whose value differs between two policy files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    pub key: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

fn name_of(item: &Value) -> Option<&str> {
    let t = item.as_table()?;
    t.get("id").or_else(|| t.get("code"))?.as_str()
}

fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        Value::Table(t) => {
            for (k, v) in t {
                flatten(&join(k), v, out);
            }
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(|i| name_of(i).is_some()) => {
            for item in items {
                let name = name_of(item).unwrap_or_default();
                flatten(&join(name), item, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// The keys whose values differ, in key order (`name` and `valid_*` included: a draft says
/// which year it is for).
pub fn diff_keys(before: &Value, after: &Value) -> Vec<KeyChange> {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    flatten("", before, &mut a);
    flatten("", after, &mut b);
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| KeyChange {
            key: k.clone(),
            before: a.get(k).cloned(),
            after: b.get(k).cloned(),
        })
        .collect()
}

/// `--sweep KEY=FROM..TO/STEP`: the key and each value from FROM to TO inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sweep {
    pub key: String,
    pub values: Vec<Decimal>,
}

/// Most points one sweep may have: each is a full replay.
pub const MAX_POINTS: usize = 50;

impl Sweep {
    pub fn parse(spec: &str) -> Result<Sweep, String> {
        let expected =
            "expected KEY=FROM..TO/STEP, e.g. inpatient.categories.county.deductible=600..1200/100";
        let (key, range) = spec
            .split_once('=')
            .ok_or_else(|| format!("`{spec}`: no `=`; {expected}"))?;
        let (span, step) = range
            .split_once('/')
            .ok_or_else(|| format!("`{range}`: no `/STEP`; {expected}"))?;
        let (from, to) = span
            .split_once("..")
            .ok_or_else(|| format!("`{span}`: no `..`; {expected}"))?;
        let number = |what: &str, text: &str| {
            Decimal::from_str(text.trim())
                .map_err(|_| format!("{what} `{text}` is not a number; {expected}"))
        };
        let (from, to, step) = (
            number("FROM", from)?,
            number("TO", to)?,
            number("STEP", step)?,
        );
        if key.trim().is_empty() {
            return Err(format!("the key is empty; {expected}"));
        }
        if step <= Decimal::ZERO {
            return Err(format!("STEP must be above 0, got {step}"));
        }
        if to < from {
            return Err(format!("TO ({to}) is below FROM ({from})"));
        }
        let mut values = Vec::new();
        let mut v = from;
        while v <= to {
            values.push(v);
            if values.len() > MAX_POINTS {
                return Err(format!("more than {MAX_POINTS} points; use a larger STEP"));
            }
            v += step;
        }
        Ok(Sweep {
            key: key.trim().to_string(),
            values,
        })
    }
}

/// Sets `key` in a policy document to `value`, written as the file writes it (a string of
/// yuan or a ratio keeps its decimals; a number stays a number). The key must exist and hold
/// a number. Returns the old value.
pub fn set_key(doc: &mut Value, key: &str, value: Decimal) -> Result<String, String> {
    let mut at = doc;
    let mut walked = String::new();
    for part in key.split('.') {
        let here = if walked.is_empty() {
            "the file".to_string()
        } else {
            format!("`{walked}`")
        };
        at = match at {
            Value::Table(t) => t.get_mut(part),
            Value::Array(items) => items.iter_mut().find(|i| name_of(i) == Some(part)),
            _ => None,
        }
        .ok_or_else(|| format!("`{key}`: {here} has no `{part}`"))?;
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(part);
    }
    match at {
        Value::String(s) => {
            let old =
                Decimal::from_str(s).map_err(|_| format!("`{key}` is `{s}`, not a number"))?;
            // As many decimals as the file wrote, or as the value needs.
            let mut written = value;
            written.rescale(old.scale().max(value.normalize().scale()));
            let text = written.to_string();
            Ok(std::mem::replace(s, text))
        }
        Value::Integer(i) => {
            if !value.fract().is_zero() {
                return Err(format!("`{key}` is a whole number; {value} is not"));
            }
            let new =
                i64::try_from(value).map_err(|_| format!("`{key}`: {value} is out of range"))?;
            Ok(std::mem::replace(i, new).to_string())
        }
        other => Err(format!("`{key}` is `{other}`, not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const DOC: &str = r#"
name = "p"
[inpatient]
categories = [
  { id = "township", deductible = "600.00", ratio = "0.80" },
  { id = "county", deductible = "900.00", ratio = "0.70" },
]
annual_scope_limit = "120000.00"
[catastrophic]
threshold = 20000
"#;

    fn doc() -> Value {
        toml::from_str(DOC).unwrap()
    }

    #[test]
    fn a_key_is_set_in_the_files_own_format() {
        let mut d = doc();
        assert_eq!(
            set_key(&mut d, "inpatient.categories.county.deductible", dec!(1000)).unwrap(),
            "900.00"
        );
        assert_eq!(
            set_key(&mut d, "inpatient.categories.county.ratio", dec!(0.75)).unwrap(),
            "0.70"
        );
        assert_eq!(
            set_key(&mut d, "catastrophic.threshold", dec!(15000)).unwrap(),
            "20000"
        );
        let changes = diff_keys(&doc(), &d);
        let keys: Vec<(&str, Option<&str>)> = changes
            .iter()
            .map(|c| (c.key.as_str(), c.after.as_deref()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("catastrophic.threshold", Some("15000")),
                ("inpatient.categories.county.deductible", Some("1000.00")),
                ("inpatient.categories.county.ratio", Some("0.75")),
            ]
        );
    }

    #[test]
    fn a_missing_or_non_numeric_key_is_named() {
        let mut d = doc();
        let e = set_key(&mut d, "inpatient.categories.city.deductible", dec!(1)).unwrap_err();
        assert!(e.contains("has no `city`"), "{e}");
        let e = set_key(&mut d, "name", dec!(1)).unwrap_err();
        assert!(e.contains("not a number"), "{e}");
        let e = set_key(&mut d, "catastrophic.threshold", dec!(1.5)).unwrap_err();
        assert!(e.contains("whole number"), "{e}");
    }

    #[test]
    fn sweeps_parse_and_refuse_what_they_cannot_do() {
        let s = Sweep::parse("inpatient.categories.county.deductible=600..1200/100").unwrap();
        assert_eq!(s.values.len(), 7);
        assert_eq!((s.values[0], s.values[6]), (dec!(600), dec!(1200)));
        for (spec, says) in [
            ("k=1..2", "/STEP"),
            ("k=a..2/1", "FROM `a`"),
            ("k=3..2/1", "below FROM"),
            ("k=1..2/0", "above 0"),
            ("k=1..1000/1", "more than"),
            ("k", "no `=`"),
        ] {
            let e = Sweep::parse(spec).unwrap_err();
            assert!(e.contains(says), "{spec}: {e}");
        }
    }
}
