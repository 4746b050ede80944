//! Interface strings: `locales/<lang>.toml`, one table per page, flattened to dotted keys
//! (`login.title`). Simplified Chinese is the default language; English is the other.
//! Both files must define the same keys, so a page is never half translated.
use std::collections::BTreeMap;
use std::path::Path;

pub const DEFAULT_LANG: &str = "zh-CN";
pub const LANGS: [&str; 2] = ["zh-CN", "en"];

/// The language a request asked for, as one of `LANGS`.
pub fn pick(asked: Option<&str>) -> &'static str {
    match asked {
        Some(l) if l.starts_with("en") => "en",
        _ => DEFAULT_LANG,
    }
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    strings: BTreeMap<String, String>,
}

impl Catalog {
    /// Parses one locale file; errors name the key or the TOML position.
    pub fn parse(name: &str, source: &str) -> Result<Catalog, Vec<String>> {
        let table: toml::Table = source.parse().map_err(|e| vec![format!("{name}: {e}")])?;
        let mut strings = BTreeMap::new();
        let mut errors = Vec::new();
        flatten(name, "", &table, &mut strings, &mut errors);
        if errors.is_empty() {
            Ok(Catalog { strings })
        } else {
            Err(errors)
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.strings.get(key).map(String::as_str)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.strings.keys().map(String::as_str)
    }

    /// Every key of the catalog as a nested JSON object, for templates (`{{t.login.title}}`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut root = serde_json::Map::new();
        for (key, text) in &self.strings {
            let mut node = &mut root;
            let mut parts = key.split('.').peekable();
            while let Some(part) = parts.next() {
                if parts.peek().is_none() {
                    node.insert(part.to_string(), serde_json::Value::String(text.clone()));
                } else {
                    node = node
                        .entry(part.to_string())
                        .or_insert_with(|| serde_json::Value::Object(Default::default()))
                        .as_object_mut()
                        .expect("a key is either a table or a string, as parsed");
                }
            }
        }
        serde_json::Value::Object(root)
    }
}

fn flatten(
    file: &str,
    prefix: &str,
    table: &toml::Table,
    out: &mut BTreeMap<String, String>,
    errors: &mut Vec<String>,
) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Table(t) => flatten(file, &key, t, out, errors),
            other => errors.push(format!(
                "{file}: `{key}` must be a string or a table, found {}",
                other.type_str()
            )),
        }
    }
}

/// Keys one catalog has and the other lacks, as `(lang, key)` of the catalog lacking it.
pub fn missing_keys<'a>(catalogs: &'a [(&'a str, Catalog)]) -> Vec<(&'a str, String)> {
    let mut missing = Vec::new();
    for (lang, catalog) in catalogs {
        for (_, other) in catalogs {
            for key in other.keys() {
                if catalog.get(key).is_none() && !missing.contains(&(*lang, key.to_string())) {
                    missing.push((*lang, key.to_string()));
                }
            }
        }
    }
    missing
}

/// Loads `dir/<lang>.toml` for every language and checks that they agree on their keys.
pub fn load(dir: &Path) -> Result<Vec<(&'static str, Catalog)>, Vec<String>> {
    let mut catalogs = Vec::new();
    let mut errors = Vec::new();
    for lang in LANGS {
        let path = dir.join(format!("{lang}.toml"));
        match std::fs::read_to_string(&path) {
            Ok(source) => match Catalog::parse(&path.display().to_string(), &source) {
                Ok(c) => catalogs.push((lang, c)),
                Err(e) => errors.extend(e),
            },
            Err(e) => errors.push(format!("{}: cannot read: {e}", path.display())),
        }
    }
    for (lang, key) in missing_keys(&catalogs) {
        errors.push(format!(
            "{}: `{key}` is missing (the other language has it)",
            dir.join(format!("{lang}.toml")).display()
        ));
    }
    if errors.is_empty() {
        Ok(catalogs)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_locales_agree_on_every_key() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
        let catalogs = load(&dir).unwrap_or_else(|e| panic!("{}", e.join("\n")));
        assert_eq!(catalogs.len(), 2);
        assert_eq!(catalogs[0].1.get("login.title"), Some("登录"));
        assert_eq!(catalogs[1].1.get("login.title"), Some("Sign in"));
    }

    #[test]
    fn a_key_missing_from_one_language_is_named() {
        let zh = Catalog::parse("zh", "[a]\nx = \"甲\"\ny = \"乙\"\n").unwrap();
        let en = Catalog::parse("en", "[a]\nx = \"A\"\n").unwrap();
        let catalogs = [("zh-CN", zh), ("en", en)];
        let missing = missing_keys(&catalogs);
        assert_eq!(missing, vec![("en", "a.y".to_string())]);
    }

    #[test]
    fn a_non_string_value_is_refused_with_its_key() {
        let err = Catalog::parse("zh", "[a]\nx = 3\n").unwrap_err();
        assert!(err[0].contains("`a.x` must be a string"), "{err:?}");
    }

    #[test]
    fn nested_json_for_templates() {
        let c = Catalog::parse("en", "[login]\ntitle = \"Sign in\"\n").unwrap();
        assert_eq!(c.to_json()["login"]["title"], "Sign in");
    }

    #[test]
    fn english_only_when_asked() {
        assert_eq!(pick(Some("en-GB")), "en");
        assert_eq!(pick(Some("zh-CN")), "zh-CN");
        assert_eq!(pick(None), "zh-CN");
    }
}
