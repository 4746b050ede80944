//! The facility side over HTTP: a designated facility's own people list their cases, read
//! one, act in their own stages, add files to the stage they stand in, correct a claim's
//! invoice amounts in the hospital's first review, read their dashboard, and (the facility's
//! administrator) add staff. Staff disclose evidence to the facility, administrators create
//! accounts and set a facility's letter address.
use super::admin::Created;
use crate::error::AppResult;
use crate::http::auth::AuthUser;
use crate::http::upload::{read_upload, refuse_declared_oversize};
use crate::http::{db, State};
use crate::service::cases::ActionRequest;
use crate::service::facility::{self as svc, FacilityCaseView, FacilityDashboard, TaskItem};
use crate::store::now_ms;
use crate::store::supervision::EvidenceRow;
use actix_multipart::Multipart;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

/// The caller's facility tasks, open ones first.
#[utoipa::path(get, path = "/api/facility/cases", tag = "facility", security(("bearer" = [])),
    responses((status = 200, body = [TaskItem]), (status = 403, body = crate::http::errors::ErrorBody)))]
#[get("/api/facility/cases")]
pub async fn list(state: State, user: AuthUser) -> AppResult<HttpResponse> {
    let items = db(&state, move |conn, env| svc::list(conn, env.defs, &user.0)).await?;
    Ok(HttpResponse::Ok().json(items))
}

/// One case as the facility may see it, with what it may do now.
#[utoipa::path(get, path = "/api/facility/cases/{id}", tag = "facility", security(("bearer" = [])),
    params(("id" = i64, Path, description = "case id")),
    responses((status = 200, body = FacilityCaseView), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/facility/cases/{id}")]
pub async fn get_case(state: State, user: AuthUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let view = db(&state, move |conn, env| {
        svc::case_view(conn, env.defs, &user.0, id, now_ms())
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FacilityAction {
    /// One of the facility's own actions of the stage (`submit_statement`, …).
    pub action: String,
    #[serde(default)]
    pub comment: String,
    pub expected_version: i64,
}

/// The facility's action in its own stage: its statement, its rectification report, its
/// appeal, or its confirmation of a claim's invoice. Any other action is refused (403).
#[utoipa::path(post, path = "/api/facility/cases/{id}/actions", tag = "facility", security(("bearer" = [])),
    params(("id" = i64, Path, description = "case id")), request_body = FacilityAction,
    responses((status = 200, body = FacilityCaseView), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody),
        (status = 409, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/facility/cases/{id}/actions")]
pub async fn act(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<FacilityAction>,
) -> AppResult<HttpResponse> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let view = db(&state, move |conn, env| {
        let now = now_ms();
        let req = ActionRequest::simple(
            id,
            &body.action,
            body.comment.trim(),
            body.expected_version,
            now,
        );
        svc::act(conn, env, &user.0, &req)?;
        svc::case_view(conn, env.defs, &user.0, id, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A file for the stage the facility stands in (multipart field `file`; PDF, JPEG or PNG by
/// content, size-limited): its statement's attachments, rectification evidence, appeal
/// documents. After the deadline, or once the case moved on, it is refused (409).
#[utoipa::path(post, path = "/api/facility/cases/{id}/files", tag = "facility", security(("bearer" = [])),
    params(("id" = i64, Path, description = "case id")),
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 201, body = EvidenceRow), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody),
        (status = 409, body = crate::http::errors::ErrorBody), (status = 413, body = crate::http::errors::ErrorBody),
        (status = 415, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/facility/cases/{id}/files")]
pub async fn upload(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    req: HttpRequest,
    form: Multipart,
) -> AppResult<HttpResponse> {
    // Who may upload at all is answered before the body is read.
    svc::require_facility(&user.0)?;
    let limit = state.config.upload_max_bytes;
    refuse_declared_oversize(&req, limit)?;
    let crate::http::upload::UploadForm {
        filename, bytes, ..
    } = read_upload(form, limit).await?;
    let data_dir = state.config.data_dir.clone();
    let id = id.into_inner();
    let row = db(&state, move |conn, _| {
        svc::attach(conn, &data_dir, &user.0, id, &filename, &bytes, now_ms())
    })
    .await?;
    Ok(HttpResponse::Created().json(row))
}

/// A file of the case the facility may open: its own, or evidence staff disclosed.
#[utoipa::path(get, path = "/api/facility/cases/{id}/files/{file_id}", tag = "facility", security(("bearer" = [])),
    params(("id" = i64, Path, description = "case id"), ("file_id" = i64, Path, description = "file id")),
    responses((status = 200, description = "the file"), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/facility/cases/{id}/files/{file_id}")]
pub async fn download(
    state: State,
    user: AuthUser,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (id, file_id) = path.into_inner();
    let data_dir = state.config.data_dir.clone();
    let (file, bytes) = db(&state, move |conn, _| {
        svc::open_file(conn, &user.0, &data_dir, id, file_id)
    })
    .await?;
    Ok(file_response(&file, bytes))
}

/// A stored file, inline, never run: no script, no form, no plugin.
pub fn file_response(file: &EvidenceRow, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(file.content_type.as_str())
        .insert_header((
            "Content-Disposition",
            format!("inline; filename=\"file-{}\"", file.id),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "private, no-store"))
        .body(bytes)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceCorrection {
    pub total_fen: i64,
    pub policy_scope_fen: i64,
    pub self_paid_fen: i64,
    /// What was wrong, for the agency's reviewers.
    pub comment: String,
    pub expected_version: i64,
}

/// The hospital's first review corrects a claim's invoice amounts: the claim is priced again,
/// both are in the trail, and the review's `correct_invoice` action is taken.
#[utoipa::path(post, path = "/api/facility/cases/{id}/invoice", tag = "facility", security(("bearer" = [])),
    params(("id" = i64, Path, description = "case id")), request_body = InvoiceCorrection,
    responses((status = 200, body = FacilityCaseView), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody),
        (status = 409, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/facility/cases/{id}/invoice")]
pub async fn correct_invoice(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    body: web::Json<InvoiceCorrection>,
) -> AppResult<HttpResponse> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let view = db(&state, move |conn, env| {
        let now = now_ms();
        let correction = svc::Correction {
            case_id: id,
            amounts: crate::domain::claim::InvoiceAmounts {
                total_fen: body.total_fen,
                policy_scope_fen: body.policy_scope_fen,
                self_paid_fen: body.self_paid_fen,
            },
            comment: body.comment.trim(),
            expected_version: body.expected_version,
        };
        svc::correct_invoice(conn, env, &user.0, &correction, now)?;
        svc::case_view(conn, env.defs, &user.0, id, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The facility's dashboard: designation, open tasks with deadlines, screening hits per rule
/// beside its peers' median, money owed.
#[utoipa::path(get, path = "/api/facility/dashboard", tag = "facility", security(("bearer" = [])),
    responses((status = 200, body = FacilityDashboard), (status = 403, body = crate::http::errors::ErrorBody)))]
#[get("/api/facility/dashboard")]
pub async fn dashboard(state: State, user: AuthUser) -> AppResult<HttpResponse> {
    let today = state.defs.calendar().local_date(now_ms());
    let board = db(&state, move |conn, env| {
        svc::dashboard(conn, env.defs, &user.0, today)
    })
    .await?;
    Ok(HttpResponse::Ok().json(board))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StaffMember {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<crate::domain::roles::Role>,
    pub disabled: bool,
}

/// The accounts that speak for the caller's facilities.
#[utoipa::path(get, path = "/api/facility/staff", tag = "facility", security(("bearer" = [])),
    responses((status = 200, body = [StaffMember]), (status = 403, body = crate::http::errors::ErrorBody)))]
#[get("/api/facility/staff")]
pub async fn staff(state: State, user: AuthUser) -> AppResult<HttpResponse> {
    let members = db(&state, move |conn, _| svc::staff_of(conn, &user.0)).await?;
    let members: Vec<StaffMember> = members
        .into_iter()
        .map(|(u, roles)| StaffMember {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            disabled: u.disabled_at.is_some(),
            roles,
        })
        .collect();
    Ok(HttpResponse::Ok().json(members))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffBody {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    /// At least 8 characters; stored only as an argon2id hash.
    pub password: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// The facility's administrator adds a staff account for its facilities, within the number
/// the agency allows (`facility_staff_limit`; beyond it 409).
#[utoipa::path(post, path = "/api/facility/staff", tag = "facility", security(("bearer" = [])), request_body = NewStaffBody,
    responses((status = 201, body = Created), (status = 403, body = crate::http::errors::ErrorBody), (status = 409, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/facility/staff")]
pub async fn add_staff(
    state: State,
    user: AuthUser,
    body: web::Json<NewStaffBody>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let limit = state.config.facility_staff_limit;
    let id = db(&state, move |conn, _| {
        let member = svc::NewStaff {
            username: &body.username,
            display_name: &body.display_name,
            password: &body.password,
            email: body.email.as_deref(),
        };
        svc::add_staff(conn, &user.0, &member, limit, now_ms())
    })
    .await?;
    Ok(HttpResponse::Created().json(Created { id }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Disclosure {
    /// Shown to the facility (true) or internal (false).
    pub disclosed: bool,
}

/// Staff disclose one of their evidence files to the facility, or make it internal again
/// (inspectors and supervisors of the violation's region).
#[utoipa::path(post, path = "/api/violations/{id}/evidence/{evidence_id}/disclosure", tag = "supervision", security(("bearer" = [])),
    params(("id" = i64, Path, description = "violation id"), ("evidence_id" = i64, Path, description = "evidence file id")), request_body = Disclosure,
    responses((status = 200, body = EvidenceRow), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody)))]
#[post("/api/violations/{id}/evidence/{evidence_id}/disclosure")]
pub async fn disclose(
    state: State,
    user: AuthUser,
    path: web::Path<(i64, i64)>,
    body: web::Json<Disclosure>,
) -> AppResult<HttpResponse> {
    let (violation_id, evidence_id) = path.into_inner();
    let disclosed = body.disclosed;
    let row = db(&state, move |conn, _| {
        let row = svc::set_disclosed(conn, &user.0, evidence_id, disclosed, now_ms())?;
        if row.subject_id != violation_id {
            return Err(crate::error::AppError::NotFound(format!(
                "evidence {evidence_id}"
            )));
        }
        Ok(row)
    })
    .await?;
    Ok(HttpResponse::Ok().json(row))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub password: String,
    /// Staff: the region the account works in. A facility account takes its first
    /// facility's region.
    #[serde(default)]
    pub region_code: String,
    pub roles: Vec<crate::domain::roles::Role>,
    /// A facility account's facilities (one, or a hospital group's several).
    #[serde(default)]
    pub facility_codes: Vec<String>,
    #[serde(default)]
    pub org: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// An administrator creates an account in their region: staff, or a facility's
/// (`facility`, `facility_admin`) for facilities of their region.
#[utoipa::path(post, path = "/api/admin/users", tag = "accounts", security(("bearer" = [])), request_body = NewAccount,
    responses((status = 201, body = Created), (status = 403, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/admin/users")]
pub async fn add_account(
    state: State,
    user: AuthUser,
    body: web::Json<NewAccount>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let id = db(&state, move |conn, _| {
        let facilities: Vec<String> = body
            .facility_codes
            .iter()
            .map(|c| c.trim().to_string())
            .collect();
        crate::service::registries::admin_add_user(
            conn,
            &user.0,
            &crate::service::registries::UserInput {
                username: &body.username,
                password: &body.password,
                display_name: &body.display_name,
                region_code: &body.region_code,
                org: &body.org,
                email: body.email.as_deref(),
                lang: "zh-CN",
                roles: &body.roles,
                facilities: &facilities,
            },
            now_ms(),
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(Created { id }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Where the facility's letters go; empty clears it.
    pub email: String,
}

/// An administrator over the facility's region sets where its letters go.
#[utoipa::path(put, path = "/api/admin/facilities/{code}/contact", tag = "registry", security(("bearer" = [])),
    params(("code" = String, Path, description = "facility code")), request_body = Contact,
    responses((status = 204, description = "set"), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[put("/api/admin/facilities/{code}/contact")]
pub async fn set_contact(
    state: State,
    user: AuthUser,
    code: web::Path<String>,
    body: web::Json<Contact>,
) -> AppResult<HttpResponse> {
    let (code, email) = (code.into_inner(), body.into_inner().email);
    db(&state, move |conn, _| {
        crate::service::registries::set_facility_contact(conn, &user.0, &code, &email)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
