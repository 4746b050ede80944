//! One decision form per case: the actions the user may take now, in one form with one
//! comment; the fields the chosen action needs (a coded reason, an amount, the documents a
//! return asks for, an emergency judgement) shown for it alone; and a confirmation before an
//! action that ends a case without paying or sends it back. The claim case page, the
//! violation page and the report page all use it. No script: the page's stylesheet shows a
//! field when an action that needs it is chosen (`:has()`), and the server checks the same
//! needs, so a field hidden or removed in the browser changes nothing.
use super::ctx::Ctx;
use crate::domain::workflow::FormNeeds;
use crate::error::{AppError, Msg};
use crate::service::cases::AvailableAction;
use crate::service::subjects::REJECT_REASONS;
use serde_json::{json, Map, Value};

/// What was typed into a decision form; kept when the form comes back.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DecisionForm {
    pub action: String,
    pub comment: String,
    pub expected_version: i64,
    pub amount: String,
    pub reason_code: String,
    /// A reviewer's judgement of a declared emergency: blank keeps it, `true` or `false`.
    pub judged_emergency: String,
    /// The checklist kinds a return asks for (the checkboxes repeat one key).
    pub missing: Vec<String>,
    /// A document outside the checklist a return asks for, by its description.
    pub extra: String,
    /// The second step of a destructive action.
    pub confirmed: bool,
    /// "Back to the form" from the confirmation: nothing is taken, the input comes back.
    pub back: bool,
    pub csrf: String,
}

impl DecisionForm {
    /// Reads the form pair by pair: `missing` repeats once per ticked document, which
    /// serde's form decoding cannot collect.
    pub fn parse(body: &[u8]) -> Result<DecisionForm, AppError> {
        let mut form = DecisionForm::default();
        let mut version = None;
        for (key, value) in form_urlencoded::parse(body) {
            let value = value.into_owned();
            match key.as_ref() {
                "action" => form.action = value,
                "comment" => form.comment = value,
                "expected_version" => version = Some(value),
                "amount" => form.amount = value,
                "reason_code" => form.reason_code = value,
                "judged_emergency" => form.judged_emergency = value,
                "missing" => form.missing.push(value),
                "extra" => form.extra = value,
                "confirmed" => form.confirmed = value == "1",
                "back" => form.back = value == "1",
                "_csrf" => form.csrf = value,
                _ => {}
            }
        }
        form.expected_version = match version.as_deref().map(str::trim) {
            Some(v) => v.parse().map_err(|_| {
                AppError::field(
                    "expected_version",
                    Msg::new("field-number").text("value", v),
                )
            })?,
            None => {
                return Err(AppError::field(
                    "expected_version",
                    Msg::new("field-required"),
                ))
            }
        };
        Ok(form)
    }

    /// The extra documents a return asks for (none when the box was left empty).
    pub fn extras(&self) -> Vec<String> {
        let extra = self.extra.trim();
        if extra.is_empty() {
            Vec::new()
        } else {
            vec![extra.to_string()]
        }
    }

    /// The hidden fields that carry this input through the confirmation step.
    fn carried(&self) -> Vec<Value> {
        let mut fields = vec![
            ("action", self.action.clone()),
            ("comment", self.comment.clone()),
            ("expected_version", self.expected_version.to_string()),
            ("amount", self.amount.clone()),
            ("reason_code", self.reason_code.clone()),
            ("judged_emergency", self.judged_emergency.clone()),
            ("extra", self.extra.clone()),
        ];
        fields.extend(self.missing.iter().map(|m| ("missing", m.clone())));
        fields
            .into_iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect()
    }
}

/// The class names that tell the stylesheet which fields an action needs.
fn classes(needs: FormNeeds) -> String {
    [
        (needs.reason_code, "needs-reason"),
        (needs.amount, "needs-amount"),
        (needs.documents, "needs-documents"),
        (needs.confirm, "needs-confirm"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, class)| *class)
    .collect::<Vec<_>>()
    .join(" ")
}

/// A checklist item a return may ask for: (kind, title, still missing or rejected).
pub struct ReturnItem {
    pub kind: String,
    pub title: String,
    pub lacking: bool,
}

/// Everything the decision form shows. `kept` is the input of a form that came back; the
/// `errors` are by field (`action`, `comment`, `amount`, `reason_code`, `missing`,
/// `judged_emergency`) with `form` for a refusal that names none.
pub struct DecisionView<'a> {
    pub actions: &'a [AvailableAction],
    pub version: i64,
    pub kept: Option<&'a DecisionForm>,
    pub errors: Map<String, Value>,
    pub documents: Vec<ReturnItem>,
    /// The current judgement of a declared emergency, when the user may judge it.
    pub emergency_now: Option<String>,
}

impl DecisionView<'_> {
    pub fn render(self, ctx: &Ctx) -> Value {
        let kept = self.kept;
        // A single action is chosen already; otherwise the user picks one.
        let chosen = kept
            .map(|k| k.action.clone())
            .filter(|a| self.actions.iter().any(|x| &x.name == a))
            .or_else(|| (self.actions.len() == 1).then(|| self.actions[0].name.clone()));
        let actions: Vec<Value> = self
            .actions
            .iter()
            .map(|a| {
                json!({
                    "name": a.name,
                    "title": ctx.pick(&a.title_zh, &a.title_en),
                    "comment_required": a.comment_required,
                    "classes": classes(a.needs),
                    "danger": a.needs.confirm,
                    "checked": chosen.as_deref() == Some(a.name.as_str()),
                })
            })
            .collect();
        let any = |f: fn(&FormNeeds) -> bool| self.actions.iter().any(|a| f(&a.needs));
        let reason = kept.map(|k| k.reason_code.as_str()).unwrap_or_default();
        let reasons: Vec<Value> = REJECT_REASONS
            .iter()
            .map(|(code, zh, en)| {
                json!({"code": code, "label": ctx.pick(zh, en), "selected": *code == reason})
            })
            .collect();
        let documents: Vec<Value> = self
            .documents
            .iter()
            .map(|d| {
                let ticked = match kept {
                    Some(k) => k.missing.contains(&d.kind),
                    None => d.lacking,
                };
                json!({"kind": d.kind, "title": d.title, "ticked": ticked})
            })
            .collect();
        let judged = kept
            .map(|k| k.judged_emergency.as_str())
            .unwrap_or_default();
        let emergency = self.emergency_now.map(|now| {
            let options: Vec<Value> = [
                ("", "case.judged_keep"),
                ("true", "case.judged_yes"),
                ("false", "case.judged_no"),
            ]
            .iter()
            .map(|(value, label)| {
                json!({"value": value, "label": ctx.t(label), "selected": *value == judged})
            })
            .collect();
            json!({"now": now, "options": options})
        });
        let mut errors = self.errors;
        for f in [
            "form",
            "action",
            "comment",
            "amount",
            "reason_code",
            "missing",
            "judged_emergency",
        ] {
            errors.entry(f).or_insert(Value::Null);
        }
        json!({
            "actions": actions,
            "version": self.version,
            "comment": kept.map(|k| k.comment.as_str()).unwrap_or_default(),
            "amount": kept.map(|k| k.amount.as_str()).unwrap_or_default(),
            "extra": kept.map(|k| k.extra.as_str()).unwrap_or_default(),
            "asks_reason": any(|n| n.reason_code),
            "asks_amount": any(|n| n.amount),
            "asks_documents": any(|n| n.documents),
            "reasons": reasons,
            "documents": documents,
            "emergency": emergency,
            "errors": errors,
        })
    }
}

/// The decision form of a supervision page (a violation, a report): no documents to ask for
/// and no emergency to judge.
pub fn decision_of(
    ctx: &Ctx,
    actions: &[AvailableAction],
    version: i64,
    kept: Option<(&DecisionForm, Map<String, Value>)>,
) -> Value {
    let (kept, errors) = match kept {
        Some((form, errors)) => (Some(form), errors),
        None => (None, Map::new()),
    };
    DecisionView {
        actions,
        version,
        kept,
        errors,
        documents: Vec::new(),
        emergency_now: None,
    }
    .render(ctx)
}

/// The page field a service's field name belongs to.
pub fn form_field(api_field: &str) -> String {
    match api_field {
        "amount_fen" => "amount",
        "missing_documents" | "extra_documents" => "missing",
        "comment" | "reason_code" | "judged_emergency" | "action" => api_field,
        _ => "form",
    }
    .to_string()
}

/// The confirmation asked before a destructive action: what it does, in the reader's
/// language, and the input carried through to the second step.
pub fn confirmation(ctx: &Ctx, action: &AvailableAction, form: &DecisionForm) -> Value {
    let reason = REJECT_REASONS
        .iter()
        .find(|(code, _, _)| *code == form.reason_code)
        .map(|(_, zh, en)| ctx.pick(zh, en).to_string());
    json!({
        "action": ctx.pick(&action.title_zh, &action.title_en),
        "comment": form.comment,
        "reason": if action.needs.reason_code { reason } else { None },
        "fields": form.carried(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_with_ticked_documents_reads_every_one() {
        let body = b"action=return_for_documents&comment=%E8%A1%A5&expected_version=4&missing=invoice&missing=medical_record&extra=+X-ray+&_csrf=t";
        let form = DecisionForm::parse(body).unwrap();
        assert_eq!(form.action, "return_for_documents");
        assert_eq!(form.comment, "补");
        assert_eq!(form.expected_version, 4);
        assert_eq!(form.missing, ["invoice", "medical_record"]);
        assert_eq!(form.extras(), ["X-ray"]);
        assert!(!form.confirmed && !form.back);
        let again: Vec<(String, String)> = form
            .carried()
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().into(),
                    f["value"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert!(again.contains(&("missing".into(), "medical_record".into())));
        assert!(again.contains(&("expected_version".into(), "4".into())));
    }

    #[test]
    fn a_form_without_a_readable_version_is_refused_by_field() {
        for body in [&b"action=approve"[..], b"action=approve&expected_version=x"] {
            match DecisionForm::parse(body) {
                Err(AppError::Validation(fields)) => {
                    assert_eq!(fields[0].field, "expected_version")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn the_classes_name_each_need() {
        let needs = FormNeeds {
            reason_code: true,
            confirm: true,
            ..FormNeeds::default()
        };
        assert_eq!(classes(needs), "needs-reason needs-confirm");
        assert_eq!(classes(FormNeeds::default()), "");
    }
}
