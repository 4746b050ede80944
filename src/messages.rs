//! The words for every message code (`domain::message::Msg`), in Simplified Chinese and in
//! English: `locales/messages.zh-CN.ftl` and `locales/messages.en.ftl`, Project Fluent's
//! format, so that a message carries named arguments and chooses plural forms. The files are
//! compiled in: a release cannot ship without its words, and a test checks that every code
//! the source uses is in both files with the same arguments.
use crate::domain::message::{Arg, Msg};
use crate::domain::money::Fen;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::OnceLock;

const ZH: &str = include_str!("../locales/messages.zh-CN.ftl");
const EN: &str = include_str!("../locales/messages.en.ftl");

struct Catalogue {
    zh: FluentBundle<FluentResource>,
    en: FluentBundle<FluentResource>,
}

fn bundle(lang: &str, source: &str) -> FluentBundle<FluentResource> {
    let id: unic_langid::LanguageIdentifier = lang.parse().expect("a valid language tag");
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: the texts go into HTML and JSON, where
    // they would be invisible characters in copied text.
    bundle.set_use_isolating(false);
    let resource = FluentResource::try_new(source.to_string())
        .unwrap_or_else(|(_, errors)| panic!("locales/messages.{lang}.ftl: {errors:?}"));
    bundle
        .add_resource(resource)
        .unwrap_or_else(|errors| panic!("locales/messages.{lang}.ftl: {errors:?}"));
    bundle
}

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| Catalogue {
        zh: bundle("zh-CN", ZH),
        en: bundle("en", EN),
    })
}

/// The message in `lang` (English for `en…`, Chinese otherwise). A code missing from the
/// files (which the tests rule out) reads as the code itself rather than failing a request.
pub fn render(msg: &Msg, lang: &str) -> String {
    let c = catalogue();
    let english = lang.starts_with("en");
    let bundle = if english { &c.en } else { &c.zh };
    let Some(pattern) = bundle.get_message(msg.code).and_then(|m| m.value()) else {
        tracing::warn!(code = msg.code, "message code without words");
        return msg.code.to_string();
    };
    let mut args = FluentArgs::with_capacity(msg.args.len());
    for (name, arg) in &msg.args {
        let value = match arg {
            Arg::Text(t) => FluentValue::from(t.as_str()),
            Arg::Count(n) => FluentValue::from(*n),
            Arg::Fen(fen) => FluentValue::from(Fen(*fen).yuan_text()),
            Arg::Both { en, .. } if english => FluentValue::from(en.as_str()),
            Arg::Both { zh, .. } => FluentValue::from(zh.as_str()),
        };
        args.set(*name, value);
    }
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(&args), &mut errors);
    if !errors.is_empty() {
        tracing::warn!(code = msg.code, ?errors, "message rendered with errors");
    }
    text.into_owned()
}

/// English, for logs, the terminal and `anyhow` chains.
impl std::fmt::Display for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&render(self, "en"))
    }
}

/// A file row's problem as a line of text in `lang`: where, which field, what is wrong.
pub fn row_error_text(e: &crate::domain::payment::RowError, lang: &str) -> String {
    let line = Msg::new("row-error")
        .count("line", e.line as i64)
        .text("field", e.field.as_str())
        .text("problem", render(&e.msg, lang));
    render(&line, lang)
}

/// For the terminal: English, then Chinese.
impl std::fmt::Display for crate::domain::payment::RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} / {}",
            row_error_text(self, "en"),
            row_error_text(self, "zh-CN")
        )
    }
}

/// Both languages at once, for answers that carry both.
pub fn render_both(msg: &Msg) -> (String, String) {
    (render(msg, "zh-CN"), render(msg, "en"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// Message id → the `$variables` its text uses, read off an .ftl file: a message starts
    /// at a line `id = …` and runs on over indented lines.
    fn variables_by_id(source: &str) -> BTreeMap<String, BTreeSet<String>> {
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in source.lines() {
            if line.trim_start().starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if !line.starts_with(' ') {
                let id = line.split('=').next().unwrap_or("").trim().to_string();
                assert!(
                    out.insert(id.clone(), BTreeSet::new()).is_none(),
                    "{id} twice"
                );
                current = Some(id);
            }
            let vars = out
                .get_mut(current.as_ref().expect("text before any id"))
                .unwrap();
            let mut rest = line;
            while let Some(at) = rest.find('$') {
                let name: String = rest[at + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                vars.insert(name);
                rest = &rest[at + 1..];
            }
        }
        out
    }

    /// Every `Msg::new("code")` in `src/`, with the arguments its chain sets.
    fn codes_in_source() -> Vec<(String, String, BTreeSet<String>)> {
        fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, files);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut found = Vec::new();
        let opener = ["Msg", "::new("].concat();
        for file in files {
            if file.ends_with("src/messages.rs") {
                continue; // its own tests name codes that must not exist
            }
            let text = std::fs::read_to_string(&file).unwrap();
            let mut rest = text.as_str();
            while let Some(at) = rest.find(&opener) {
                rest = rest[at + opener.len()..].trim_start();
                let place = format!("{}", file.display());
                assert!(
                    rest.starts_with('"'),
                    "{place}: a message code must be a string literal"
                );
                let code: String = rest[1..].chars().take_while(|c| *c != '"').collect();
                rest = &rest[code.len() + 2..];
                let mut args = BTreeSet::new();
                // The chain of `.text("name", …)`, `.count(…)`, `.fen(…)` that follows.
                let mut chain = rest.trim_start().strip_prefix(')').unwrap_or(rest);
                loop {
                    let trimmed = chain.trim_start();
                    let Some(call) = [".text(", ".count(", ".fen(", ".both("]
                        .iter()
                        .find(|c| trimmed.starts_with(**c))
                    else {
                        break;
                    };
                    let inside = trimmed[call.len()..].trim_start();
                    assert!(
                        inside.starts_with('"'),
                        "{place}: `{code}`: an argument name must be a string literal"
                    );
                    let name: String = inside[1..].chars().take_while(|c| *c != '"').collect();
                    args.insert(name);
                    // Skip to the call's closing parenthesis.
                    let open = call.len() - 1;
                    let (mut depth, mut end) = (0, trimmed.len());
                    for (i, ch) in trimmed[open..].char_indices() {
                        match ch {
                            '(' => depth += 1,
                            ')' => depth -= 1,
                            _ => {}
                        }
                        if depth == 0 {
                            end = open + i + 1;
                            break;
                        }
                    }
                    chain = &trimmed[end..];
                }
                found.push((place, code, args));
            }
        }
        found
    }

    #[test]
    fn both_languages_have_the_same_messages_with_the_same_arguments() {
        let zh = variables_by_id(ZH);
        let en = variables_by_id(EN);
        let zh_ids: BTreeSet<_> = zh.keys().collect();
        let en_ids: BTreeSet<_> = en.keys().collect();
        assert_eq!(
            zh_ids.symmetric_difference(&en_ids).collect::<Vec<_>>(),
            Vec::<&&String>::new(),
            "ids in one language only"
        );
        for (id, vars) in &zh {
            assert_eq!(
                vars, &en[id],
                "{id}: the two languages use different arguments"
            );
        }
        // Both files parse as Fluent (a bad file panics here).
        let _ = catalogue();
    }

    #[test]
    fn every_code_in_the_source_has_words_in_both_languages_for_its_arguments() {
        let zh = variables_by_id(ZH);
        let found = codes_in_source();
        assert!(
            found.len() > 50,
            "the scan found only {} codes",
            found.len()
        );
        let mut problems = Vec::new();
        for (place, code, args) in &found {
            match zh.get(code) {
                None => problems.push(format!("{place}: `{code}` is in neither .ftl file")),
                Some(vars) if vars != args => problems.push(format!(
                    "{place}: `{code}` is given {args:?} but its words use {vars:?}"
                )),
                Some(_) => {}
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn arguments_amounts_and_plurals_render_in_each_language() {
        let msg = Msg::new("field-date").text("value", "2026-13-01");
        let (zh, en) = render_both(&msg);
        assert!(zh.contains("2026-13-01") && zh.contains("日期"), "{zh}");
        assert!(en.contains("2026-13-01") && en.contains("date"), "{en}");
        let amount = Msg::new("field-amount-at-most").fen("max", 123_456_789);
        assert!(render(&amount, "zh-CN").contains("1,234,567.89 元"));
        assert!(render(&amount, "en").contains("1,234,567.89 yuan"));
        let one = render(&Msg::new("field-at-most-chars").count("max", 1), "en");
        let many = render(&Msg::new("field-at-most-chars").count("max", 200), "en");
        assert!(one.ends_with("1 character"), "{one}");
        assert!(many.ends_with("200 characters"), "{many}");
        assert_eq!(render(&Msg::new("no-such-code"), "en"), "no-such-code");
    }
}
