//! Registries for admins: insured persons, enrolments, designated facilities.
use crate::error::AppResult;
use crate::http::auth::AuthUser;
use crate::http::{db, State};
use crate::service::registries::{
    self, admin_in, EnrolmentInput, FacilityInput, PersonInput, StatusInput,
};
use crate::service::views::registry::{self as view, FacilityDetail, PersonDetail};
use crate::store::facilities::Facility;
use actix_web::{get, post, web, HttpResponse};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Registers an insured person (ID number checked against GB 11643).
#[utoipa::path(post, path = "/api/admin/persons", tag = "admin", security(("bearer" = [])), request_body = PersonInput,
    responses((status = 201, body = Created), (status = 403, body = crate::http::errors::ErrorBody), (status = 409, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/admin/persons")]
pub async fn add_person(
    state: State,
    user: AuthUser,
    body: web::Json<PersonInput>,
) -> AppResult<HttpResponse> {
    let input = body.into_inner();
    let id = db(&state, move |conn, _| {
        admin_in(conn, &user.0, input.region_code.trim())?;
        registries::add_person(conn, &input)
    })
    .await?;
    Ok(HttpResponse::Created().json(Created { id }))
}

/// An insured person by ID number, with enrolments.
#[utoipa::path(get, path = "/api/admin/persons/{id_number}", tag = "admin", security(("bearer" = [])),
    params(("id_number" = String, Path, description = "ID number")),
    responses((status = 200, body = PersonDetail), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/admin/persons/{id_number}")]
pub async fn get_person(
    state: State,
    user: AuthUser,
    id_number: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id_number = id_number.into_inner();
    let detail = db(&state, move |conn, _| {
        view::person_detail(conn, &user.0, &id_number)
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Records an enrolment period for a person.
#[utoipa::path(post, path = "/api/admin/enrolments", tag = "admin", security(("bearer" = [])), request_body = EnrolmentInput,
    responses((status = 201, body = Created), (status = 403, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/admin/enrolments")]
pub async fn add_enrolment(
    state: State,
    user: AuthUser,
    body: web::Json<EnrolmentInput>,
) -> AppResult<HttpResponse> {
    let input = body.into_inner();
    let id = db(&state, move |conn, _| view::enrol(conn, &user.0, &input)).await?;
    Ok(HttpResponse::Created().json(Created { id }))
}

/// Registers a designated facility.
#[utoipa::path(post, path = "/api/admin/facilities", tag = "admin", security(("bearer" = [])), request_body = FacilityInput,
    responses((status = 201, body = FacilityDetail), (status = 403, body = crate::http::errors::ErrorBody), (status = 409, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/admin/facilities")]
pub async fn add_facility(
    state: State,
    user: AuthUser,
    body: web::Json<FacilityInput>,
) -> AppResult<HttpResponse> {
    let input = body.into_inner();
    let detail = db(&state, move |conn, _| {
        admin_in(conn, &user.0, input.region_code.trim())?;
        registries::add_facility(conn, &input, crate::store::now_ms())?;
        view::facility_detail(conn, input.code.trim())
    })
    .await?;
    Ok(HttpResponse::Created().json(detail))
}

/// All designated facilities (staff).
#[utoipa::path(get, path = "/api/facilities", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<Facility>), (status = 403, body = crate::http::errors::ErrorBody)))]
#[get("/api/facilities")]
pub async fn list_facilities(state: State, user: AuthUser) -> AppResult<HttpResponse> {
    let list = db(&state, move |conn, _| view::facilities(conn, &user.0)).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One facility with its designation history.
#[utoipa::path(get, path = "/api/facilities/{code}", tag = "admin", security(("bearer" = [])),
    params(("code" = String, Path, description = "facility code")),
    responses((status = 200, body = FacilityDetail), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody)))]
#[get("/api/facilities/{code}")]
pub async fn get_facility(
    state: State,
    user: AuthUser,
    code: web::Path<String>,
) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    let detail = db(&state, move |conn, _| view::facility(conn, &user.0, &code)).await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Records a designation change: designated, suspended or terminated from a date.
#[utoipa::path(post, path = "/api/admin/facilities/{code}/status", tag = "admin", security(("bearer" = [])),
    params(("code" = String, Path, description = "facility code")), request_body = StatusInput,
    responses((status = 200, body = FacilityDetail), (status = 403, body = crate::http::errors::ErrorBody), (status = 404, body = crate::http::errors::ErrorBody), (status = 422, body = crate::http::errors::ErrorBody)))]
#[post("/api/admin/facilities/{code}/status")]
pub async fn change_status(
    state: State,
    user: AuthUser,
    code: web::Path<String>,
    body: web::Json<StatusInput>,
) -> AppResult<HttpResponse> {
    let code = code.into_inner();
    let input = body.into_inner();
    let detail = db(&state, move |conn, _| {
        view::change_status(conn, &user.0, &code, &input, crate::store::now_ms())
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}
