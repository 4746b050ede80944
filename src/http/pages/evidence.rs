//! A violation's evidence on its page: staff upload files, and choose which of theirs the
//! facility may see (disclosed) and which stay internal; the facility's own files (its
//! statement's attachments, its rectification evidence) are marked as the facility's.
use super::ctx::{see_other, Ctx, PageError};
use crate::domain::roles::Role;
use crate::http::upload::{read_upload, refuse_declared_oversize};
use crate::service::supervision::{self as svc, EvidenceUpload};
use crate::store::supervision::EvidenceRow;
use actix_multipart::Multipart;
use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

/// Who works a violation's evidence: its inspectors and supervisors.
pub const SUPERVISION_ROLES: &[Role] = &[Role::Inspector, Role::Supervisor];

/// One evidence file as the violation page lists it.
pub fn row(ctx: &Ctx, e: &EvidenceRow) -> Value {
    let staff_file = e.purpose == "evidence";
    json!({
        "id": e.id,
        "name": e.filename,
        "kind": e.content_type,
        "size_kb": (e.size_bytes + 1023) / 1024,
        "when": ctx.when(e.uploaded_at),
        "from_facility": (!staff_file).then(|| ctx.stage_title_in("facility_violation", &e.purpose)),
        "disclosed": staff_file && e.disclosed,
        "can_disclose": staff_file && ctx.user.as_ref().is_some_and(|u| SUPERVISION_ROLES.iter().any(|r| u.has(*r))),
    })
}

#[post("/violations/{id}/evidence")]
pub async fn upload_evidence(
    ctx: Ctx,
    id: web::Path<i64>,
    req: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(SUPERVISION_ROLES)?;
    let limit = ctx.state.config.upload_max_bytes;
    refuse_declared_oversize(&req, limit).map_err(|e| ctx.fail(e))?;
    let up = read_upload(form, limit).await.map_err(|e| ctx.fail(e))?;
    ctx.check_csrf(up.csrf.as_deref().unwrap_or_default())?;
    let violation_id = id.into_inner();
    let data_dir = ctx.state.config.data_dir.clone();
    ctx.db(move |conn, _| {
        svc::add_evidence(
            conn,
            &data_dir,
            &user,
            &EvidenceUpload {
                violation_id,
                filename: &up.filename,
                bytes: &up.bytes,
                now_ms: crate::store::now_ms(),
            },
        )
    })
    .await?;
    Ok(see_other(&format!("/violations/{violation_id}#evidence")))
}

#[derive(Deserialize)]
pub struct DisclosureForm {
    #[serde(default)]
    disclosed: bool,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// Shows one of the staff's evidence files to the facility, or makes it internal again.
#[post("/violations/{id}/evidence/{evidence_id}/disclosure")]
pub async fn disclose(
    ctx: Ctx,
    path: web::Path<(i64, i64)>,
    form: web::Form<DisclosureForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(SUPERVISION_ROLES)?;
    ctx.check_csrf(&form.csrf)?;
    let (violation_id, evidence_id) = path.into_inner();
    let disclosed = form.disclosed;
    ctx.db(move |conn, _| {
        let row = crate::service::facility::set_disclosed(
            conn,
            &user,
            evidence_id,
            disclosed,
            crate::store::now_ms(),
        )?;
        if row.subject_id != violation_id {
            return Err(crate::error::AppError::NotFound(format!(
                "evidence {evidence_id}"
            )));
        }
        Ok(row)
    })
    .await?;
    Ok(see_other(&format!("/violations/{violation_id}#evidence")))
}
