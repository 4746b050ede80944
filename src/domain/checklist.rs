//! A claim's document checklist: what its workflow requires given its facts, against what
//! was uploaded, then what returns asked for beyond it.
use crate::domain::documents::document_kind;
use crate::domain::workflow::{CaseFacts, Workflow};
use serde::Serialize;

/// What the checklist reads of one uploaded document.
pub trait Uploaded {
    fn id(&self) -> i64;
    fn kind(&self) -> &str;
    /// present or rejected
    fn status(&self) -> &str;
    fn reject_reason(&self) -> Option<&str>;
}

/// No document at all: the checklist of a claim before anything was uploaded.
pub enum NoDocument {}

impl Uploaded for NoDocument {
    fn id(&self) -> i64 {
        match *self {}
    }

    fn kind(&self) -> &str {
        match *self {}
    }

    fn status(&self) -> &str {
        match *self {}
    }

    fn reject_reason(&self) -> Option<&str> {
        match *self {}
    }
}

pub const NO_DOCUMENTS: &[NoDocument] = &[];

/// A document a return asked for: a checklist kind, or a named extra one (`other`) with a
/// description, with the reviewer's comment to the resident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DocumentRequest {
    pub id: i64,
    pub kind: String,
    /// What exactly is wanted: the reviewer's words for an `other` document.
    pub description: String,
    /// The comment the case was returned with, for the resident.
    pub comment: String,
    pub requested_at: i64,
    /// The upload that answered it.
    pub document_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChecklistItem {
    pub kind: String,
    pub title_zh: String,
    pub title_en: String,
    /// present, missing or rejected
    pub status: String,
    pub reason: Option<String>,
    pub document_id: Option<i64>,
    /// Set on an item a return asked for: upload with this request id to answer it.
    pub request_id: Option<i64>,
    /// The reviewer's description of a requested extra document.
    pub description: Option<String>,
}

impl ChecklistItem {
    pub fn is_present(&self) -> bool {
        self.status == "present"
    }
}

/// The workflow's document checklist against what was uploaded, then what returns asked
/// for beyond it. The newest upload of a kind decides its status; a requested item is
/// `requested` until the upload that answers it.
pub fn checklist<D: Uploaded>(
    workflow: &Workflow,
    facts: &CaseFacts,
    docs: &[D],
    requests: &[DocumentRequest],
) -> Vec<ChecklistItem> {
    let mut items: Vec<ChecklistItem> = workflow
        .required_documents(facts)
        .into_iter()
        .map(|kind| {
            let meta = document_kind(kind);
            let latest = docs
                .iter()
                .filter(|d| d.kind() == kind)
                .max_by_key(|d| d.id());
            ChecklistItem {
                kind: kind.to_string(),
                title_zh: meta.map_or(kind, |m| m.zh).to_string(),
                title_en: meta.map_or(kind, |m| m.en).to_string(),
                status: latest.map_or("missing", |d| d.status()).to_string(),
                reason: latest.and_then(|d| d.reject_reason().map(str::to_string)),
                document_id: latest.map(|d| d.id()),
                request_id: None,
                description: None,
            }
        })
        .collect();
    for r in requests {
        let answered = r
            .document_id
            .and_then(|id| docs.iter().find(|d| d.id() == id));
        let status = answered.map_or("requested", |d| d.status()).to_string();
        let description = Some(r.description.clone()).filter(|d| !d.is_empty());
        match items
            .iter_mut()
            .find(|i| i.kind == r.kind && r.kind != "other")
        {
            // A checklist kind asked for again: only an upload after the return answers it.
            Some(item) => {
                item.status = status;
                item.request_id = Some(r.id);
                item.document_id = answered.map(|d| d.id());
                item.description = description;
            }
            None => {
                let meta = document_kind(&r.kind);
                let title = |name: Option<&str>, sep: &str| match (name, &description) {
                    (Some(name), Some(d)) => format!("{name}{sep}{d}"),
                    (Some(name), None) => name.to_string(),
                    (None, _) => r.description.clone(),
                };
                items.push(ChecklistItem {
                    kind: r.kind.clone(),
                    title_zh: title(meta.map(|m| m.zh), "："),
                    title_en: title(meta.map(|m| m.en), ": "),
                    status,
                    reason: answered.and_then(|d| d.reject_reason().map(str::to_string)),
                    document_id: answered.map(|d| d.id()),
                    request_id: Some(r.id),
                    description,
                });
            }
        }
    }
    items
}
