//! Email templates: `templates/emails/<name>/<lang>/{subject,body.txt,body.html}.hbs`, one
//! set per language, rendered by handlebars in strict mode so that a misspelt or missing
//! field is an error, not an empty gap in a letter. Only the HTML body is HTML-escaped.
use handlebars::Handlebars;
use serde::Serialize;
use std::path::Path;

/// Every notice the platform sends.
pub const TEMPLATES: [&str; 15] = [
    "claim_received",
    "returned_for_documents",
    "claim_decided",
    "documents_reminder",
    "withdrawn_no_response",
    "case_assigned",
    "case_escalated",
    "digest",
    "payment_paid",
    "payment_failed",
    "appeal_decided",
    "facility_notified",
    "facility_received",
    "facility_decision",
    "facility_deadline",
];

pub const LANGS: [&str; 2] = ["zh-CN", "en"];

const PARTS: [&str; 3] = ["subject", "body.txt", "body.html"];

/// The template language for a recipient's language setting: English when it asks for
/// English, otherwise Simplified Chinese.
pub fn lang_for(setting: &str) -> &'static str {
    if setting.starts_with("en") {
        "en"
    } else {
        "zh-CN"
    }
}

pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub struct MailTemplates {
    text: Handlebars<'static>,
    html: Handlebars<'static>,
}

impl MailTemplates {
    /// Loads and compiles every template for every language; each missing file or syntax
    /// error is reported with its path.
    pub fn load(dir: &Path) -> Result<MailTemplates, Vec<String>> {
        let mut text = Handlebars::new();
        text.set_strict_mode(true);
        text.register_escape_fn(handlebars::no_escape);
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        let mut errors = Vec::new();
        for name in TEMPLATES {
            for lang in LANGS {
                for part in PARTS {
                    let path = dir.join(name).join(lang).join(format!("{part}.hbs"));
                    let source = match std::fs::read_to_string(&path) {
                        Ok(s) => s,
                        Err(e) => {
                            errors.push(format!("{}: cannot read: {e}", path.display()));
                            continue;
                        }
                    };
                    let defs = if part == "body.html" {
                        &mut html
                    } else {
                        &mut text
                    };
                    if let Err(e) = defs.register_template_string(&key(name, lang, part), source) {
                        errors.push(format!("{}: {e}", path.display()));
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(MailTemplates { text, html })
        } else {
            Err(errors)
        }
    }

    pub fn render<T: Serialize>(
        &self,
        name: &str,
        lang: &str,
        data: &T,
    ) -> Result<Rendered, handlebars::RenderError> {
        let lang = lang_for(lang);
        Ok(Rendered {
            // A subject is one line whatever the template's trailing newline.
            subject: self
                .text
                .render(&key(name, lang, "subject"), data)?
                .trim()
                .to_string(),
            text: self.text.render(&key(name, lang, "body.txt"), data)?,
            html: self.html.render(&key(name, lang, "body.html"), data)?,
        })
    }
}

fn key(name: &str, lang: &str, part: &str) -> String {
    format!("{name}/{lang}/{part}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shipped() -> MailTemplates {
        MailTemplates::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/emails"))
            .expect("shipped templates load")
    }

    #[test]
    fn strict_mode_refuses_a_missing_field() {
        let t = shipped();
        let err = t
            .render(
                "claim_received",
                "zh-CN",
                &json!({ "recipient_name": "张伟" }),
            )
            .err()
            .expect("missing fields are an error");
        assert!(
            err.to_string().contains("claim_id") || err.to_string().contains("strict"),
            "{err}"
        );
    }

    #[test]
    fn language_by_recipient_and_html_escaped_only_in_html() {
        let t = shipped();
        let data = json!({
            "recipient_name": "<b>Li</b>", "base_url": "http://x", "case_id": 7, "claim_id": 9,
            "workflow_zh": "外伤", "workflow_en": "Trauma", "stage_zh": "初审", "stage_en": "Initial review",
            "due": "", "total_yuan": "12.50",
        });
        let zh = t.render("claim_received", "zh-CN", &data).unwrap();
        assert_eq!(zh.subject, "已受理您的报销申请（第 9 号）");
        assert!(zh.text.contains("<b>Li</b>"));
        assert!(zh.html.contains("&lt;b&gt;Li&lt;/b&gt;"));
        let en = t.render("claim_received", "en-GB", &data).unwrap();
        assert!(en.subject.starts_with("We have received your claim"));
        assert!(en.text.contains("CNY 12.50"));
    }

    #[test]
    fn a_missing_template_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let errors = MailTemplates::load(dir.path()).err().unwrap();
        assert_eq!(errors.len(), TEMPLATES.len() * LANGS.len() * PARTS.len());
        assert!(
            errors[0].contains("claim_received/zh-CN/subject.hbs"),
            "{}",
            errors[0]
        );
    }
}
