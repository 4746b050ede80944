//! A claim's documents: uploads checked by content, stored by digest, recorded with an audit
//! event on the claim's case; and a reviewer's rejection of one, with the reason the
//! resident sees.
use super::scope;
use crate::auth::Principal;
use crate::domain::audit::Event;
use crate::domain::case::Subject;
use crate::domain::documents::document_kind;
use crate::domain::roles::Role;
use crate::error::Msg;
use crate::error::{AppError, AppResult};
use crate::store::audit;
use crate::store::blobs;
use crate::store::claims::{self as claim_store, DocumentRow, NewDocument};
use crate::store::DbConn;
use serde_json::json;
use std::path::Path;

pub const MAX_FILENAME: usize = 200;

/// An uploaded file's name as shown back to people: no control characters or path
/// separators, at most [`MAX_FILENAME`] characters. Storage never uses it as a path.
pub fn safe_filename(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
        .take(MAX_FILENAME)
        .collect()
}

/// The content type, judged by the file's first bytes and never by its name.
pub fn sniff_content_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

/// The checked content type of an upload, or 415.
pub fn content_type_of(bytes: &[u8]) -> AppResult<&'static str> {
    sniff_content_type(bytes).ok_or_else(|| AppError::UnsupportedMedia(Msg::new("media-document")))
}

/// Writes `bytes` under a temporary name, runs `record` in a write transaction, and gives the
/// file its final name once that has committed. Nothing touches the disk while the write
/// lock is held.
pub fn with_stored_blob<T>(
    conn: &mut DbConn,
    data_dir: &Path,
    bytes: &[u8],
    record: impl FnOnce(&mut DbConn, &str) -> AppResult<T>,
) -> AppResult<T> {
    let staged =
        blobs::stage(data_dir, bytes).map_err(|e| anyhow::anyhow!("cannot store upload: {e}"))?;
    let sha256 = staged.sha256.clone();
    let value = conn.write_tx(|conn| record(conn, &sha256))?;
    staged
        .commit(data_dir)
        .map_err(|e| anyhow::anyhow!("cannot store upload: {e}"))?;
    Ok(value)
}

pub struct Upload<'a> {
    pub claim_id: i64,
    pub kind: &'a str,
    pub filename: &'a str,
    pub bytes: &'a [u8],
    pub now_ms: i64,
    /// The item of the latest return this file answers; without it, the first open item of
    /// the same kind is taken as answered.
    pub request_id: Option<i64>,
}

/// The role a document change is recorded under: the resident's own, else their first
/// staff role.
fn acting_role(p: &Principal, owner: Option<i64>) -> Role {
    if owner == Some(p.user_id) {
        return Role::Resident;
    }
    p.roles
        .iter()
        .copied()
        .find(|r| r.is_staff())
        .unwrap_or(Role::Resident)
}

/// Adds a document to a claim: checks kind, type and access, stores the blob, records it
/// with an audit event on the claim's case.
pub fn add_document(
    conn: &mut DbConn,
    data_dir: &Path,
    p: &Principal,
    up: &Upload<'_>,
) -> AppResult<DocumentRow> {
    if document_kind(up.kind).is_none() {
        return Err(AppError::field(
            "kind",
            Msg::new("field-unknown-doc-kind").text("kind", up.kind),
        ));
    }
    let content_type = content_type_of(up.bytes)?;
    let filename = safe_filename(up.filename);
    with_stored_blob(conn, data_dir, up.bytes, |conn, sha| {
        let case = scope::case_of(conn, p, Subject::Claim(up.claim_id))?;
        if !(case.owner_user_id == Some(p.user_id)
            || p.has(Role::Clerk)
            || p.has(Role::Reviewer)
            || p.has(Role::SeniorReviewer))
        {
            return Err(AppError::Forbidden(Msg::new("forbidden-add-documents")));
        }
        // A decided claim takes documents again only for an appeal under way.
        let appealing = crate::store::appeals::of_claim(conn, up.claim_id)?
            .is_some_and(|a| a.outcome.is_none());
        if case.stage.is_none() && !appealing {
            return Err(AppError::rule_msg(
                crate::error::RuleKind::Conflict,
                "case_closed",
                Msg::new("rule-case-closed"),
            ));
        }
        let answers = answered_request(conn, up)?;
        let doc_id = claim_store::insert_document(
            conn,
            &NewDocument {
                claim_id: up.claim_id,
                kind: up.kind,
                sha256: sha,
                content_type,
                size_bytes: up.bytes.len() as i64,
                filename: &filename,
                status: "present",
                uploaded_by: p.user_id,
                uploaded_at: up.now_ms,
                request_id: answers,
            },
        )?;
        if let Some(request_id) = answers {
            claim_store::answer_request(conn, request_id, doc_id, up.now_ms)?;
        }
        let role = acting_role(p, case.owner_user_id);
        audit::append(
            conn,
            case.id,
            Event::new(Some(p.user_id), &p.username, role.as_str(), "document_added", up.now_ms)
                .values("{}", json!({ "document_id": doc_id, "kind": up.kind, "sha256": sha, "size": up.bytes.len() })),
        )?;
        // The reviewer holding the case hears of a document someone else added.
        if let Some(holder) = case.assignee_id.filter(|a| *a != p.user_id) {
            let key = format!("documents_arrived:{}:{doc_id}", case.id);
            let href = super::notify::staff_href(&case);
            super::notify::to_inbox(
                conn,
                holder,
                "documents_arrived",
                &case,
                &key,
                &href,
                up.now_ms,
            )?;
        }
        claim_store::document(conn, up.claim_id, doc_id)?
            .ok_or_else(|| AppError::NotFound("document".into()))
    })
}

/// The open item of the claim's latest return that this upload answers. A named item must
/// be open and of the upload's kind; an unnamed upload answers the first open item of its
/// kind, so a resident who simply uploads the missing invoice is not asked again.
fn answered_request(conn: &mut DbConn, up: &Upload<'_>) -> AppResult<Option<i64>> {
    let requests = claim_store::latest_requests(conn, up.claim_id)?;
    let open = |r: &&crate::domain::claim::DocumentRequest| r.document_id.is_none();
    match up.request_id {
        Some(id) => {
            let Some(request) = requests.iter().find(|r| r.id == id) else {
                return Err(AppError::rule_on_msg(
                    "request_id",
                    "request_not_open",
                    Msg::new("rule-request-not-open").text("id", id.to_string()),
                ));
            };
            if !open(&request) {
                return Err(AppError::rule_on_msg(
                    "request_id",
                    "request_answered",
                    Msg::new("rule-request-answered").text("id", id.to_string()),
                ));
            }
            if request.kind != up.kind {
                let (asked, given) = (document_kind(&request.kind), document_kind(up.kind));
                return Err(AppError::rule_on_msg(
                    "kind",
                    "request_kind_mismatch",
                    Msg::new("rule-request-kind-mismatch")
                        .text("id", id.to_string())
                        .both(
                            "asked",
                            asked.map_or(request.kind.as_str(), |k| k.zh),
                            asked.map_or(request.kind.as_str(), |k| k.en),
                        )
                        .both(
                            "given",
                            given.map_or(up.kind, |k| k.zh),
                            given.map_or(up.kind, |k| k.en),
                        ),
                ));
            }
            Ok(Some(id))
        }
        None => Ok(requests
            .iter()
            .filter(open)
            .find(|r| r.kind == up.kind)
            .map(|r| r.id)),
    }
}

/// A reviewer or clerk marks a document unusable; the checklist then shows it as rejected
/// with the reason, and the resident sees what to replace.
/// A document of a claim, with its bytes, for its resident or for staff in region who read
/// documents (not admins). The role before any lookup, so that the answer says nothing of
/// which claims exist.
pub fn open(
    conn: &mut DbConn,
    p: &Principal,
    data_dir: &Path,
    claim_id: i64,
    doc_id: i64,
) -> AppResult<(DocumentRow, Vec<u8>)> {
    if !p.roles.iter().any(|r| r.reads_documents()) {
        return Err(AppError::Forbidden(Msg::new("forbidden-admin-documents")));
    }
    scope::case_of(conn, p, Subject::Claim(claim_id))?;
    let doc = claim_store::document(conn, claim_id, doc_id)?
        .ok_or_else(|| AppError::NotFound(format!("document {doc_id}")))?;
    let path = blobs::path(data_dir, &doc.sha256)
        .ok_or_else(|| AppError::NotFound("document file".into()))?;
    let bytes = std::fs::read(path)
        .map_err(|e| AppError::internal(anyhow::anyhow!("cannot read stored document: {e}")))?;
    Ok((doc, bytes))
}

pub fn reject_document(
    conn: &mut DbConn,
    p: &Principal,
    claim_id: i64,
    doc_id: i64,
    reason: &str,
    now_ms: i64,
) -> AppResult<DocumentRow> {
    p.require_any(&[
        Role::Clerk,
        Role::Reviewer,
        Role::SeniorReviewer,
        Role::Supervisor,
    ])?;
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > 500 {
        return Err(AppError::field(
            "reason",
            Msg::new("field-reason-length").count("max", 500),
        ));
    }
    conn.write_tx(|conn| {
        let case = scope::case_of(conn, p, Subject::Claim(claim_id))?;
        let doc = claim_store::document(conn, claim_id, doc_id)?
            .ok_or_else(|| AppError::NotFound(format!("document {doc_id}")))?;
        claim_store::reject_document(conn, claim_id, doc_id, reason)?;
        let role = acting_role(p, None);
        audit::append(
            conn,
            case.id,
            Event::new(Some(p.user_id), &p.username, role.as_str(), "document_rejected", now_ms)
                .values(
                    json!({ "document_id": doc_id, "kind": doc.kind, "status": doc.status }),
                    json!({ "document_id": doc_id, "kind": doc.kind, "status": "rejected", "reason": reason }),
                )
                .comment(reason),
        )?;
        claim_store::document(conn, claim_id, doc_id)?
            .ok_or_else(|| AppError::NotFound("document".into()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_magic_bytes() {
        assert_eq!(sniff_content_type(b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(sniff_content_type(b"MZ\x90\x00 windows exe"), None);
        assert_eq!(safe_filename("../a\u{0}b/c.pdf"), "..abc.pdf");
    }
}
