//! Multipart uploads, shared by the API and the pages: the size limit enforced while the body
//! streams in, and the fields a document or evidence upload may carry.
use crate::error::Msg;
use crate::error::{AppError, AppResult};
use actix_multipart::Multipart;
use actix_web::HttpRequest;
use futures_util::StreamExt;

/// Reads a multipart body with a `kind` text field and a `file` field, enforcing the size
/// limit while streaming.
/// Refuses an oversized body before reading it; the streaming check covers chunked bodies.
fn upload_limit(limit: usize) -> Msg {
    Msg::new("too-large-upload").count("mib", (limit / (1024 * 1024)).max(1) as i64)
}

/// An upload read under `limit`: refused by its declared size before reading, and while
/// streaming.
pub(crate) async fn read_limited(
    req: &HttpRequest,
    form: actix_multipart::Multipart,
    limit: usize,
) -> AppResult<UploadForm> {
    refuse_declared_oversize(req, limit)?;
    read_upload(form, limit).await
}

pub(crate) fn refuse_declared_oversize(req: &HttpRequest, limit: usize) -> AppResult<()> {
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit + 16 * 1024) {
        return Err(AppError::PayloadTooLarge(upload_limit(limit)));
    }
    Ok(())
}

/// A multipart upload as read: the optional `kind` and `_csrf` text fields (the API sends
/// no `_csrf`; browser forms must) and the file.
pub struct UploadForm {
    pub kind: Option<String>,
    pub csrf: Option<String>,
    /// The returned item a document answers (claim documents only).
    pub request_id: Option<i64>,
    /// A whistleblower's tracking code (the public attachment form only).
    pub code: Option<String>,
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// Reads a multipart upload: optional `kind` and `_csrf` text fields and the `file`, which
/// must not be empty nor larger than `limit`.
pub(crate) async fn read_upload(mut form: Multipart, limit: usize) -> AppResult<UploadForm> {
    let (mut kind, mut csrf, mut request_id, mut code, mut file) = (None, None, None, None, None);
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| {
            AppError::BadRequest(Msg::new("bad-multipart").text("detail", e.to_string()))
        })?;
        let name = field.name().unwrap_or_default().to_string();
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .unwrap_or("upload")
            .to_string();
        let cap = if name == "file" { limit } else { 256 };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| {
                AppError::BadRequest(Msg::new("upload-interrupted").text("detail", e.to_string()))
            })?;
            if bytes.len() + chunk.len() > cap {
                return Err(if name == "file" {
                    AppError::PayloadTooLarge(upload_limit(limit))
                } else {
                    AppError::field(&name, Msg::new("field-too-long").count("max", 256))
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = |bytes: Vec<u8>| {
            String::from_utf8(bytes).map_err(|_| AppError::field(&name, Msg::new("field-utf8")))
        };
        match name.as_str() {
            "kind" => kind = Some(text(bytes)?),
            "_csrf" => csrf = Some(text(bytes)?),
            "request_id" => {
                let text = text(bytes)?;
                let text = text.trim();
                if !text.is_empty() {
                    let id = text
                        .parse::<i64>()
                        .map_err(|_| AppError::field("request_id", Msg::new("field-request-id")))?;
                    request_id = Some(id);
                }
            }
            "code" => code = Some(text(bytes)?),
            "file" => file = Some((filename, bytes)),
            other => return Err(AppError::field(other, Msg::new("field-upload-unexpected"))),
        }
    }
    let (filename, bytes) =
        file.ok_or_else(|| AppError::field("file", Msg::new("field-file-missing")))?;
    if bytes.is_empty() {
        return Err(AppError::field("file", Msg::new("field-file-empty")));
    }
    Ok(UploadForm {
        kind,
        csrf,
        request_id,
        code,
        filename,
        bytes,
    })
}
