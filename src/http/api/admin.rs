//! Registries for admins: insured persons, enrolments, designated facilities.
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult};
use crate::http::auth::AuthUser;
use crate::http::{db, State};
use crate::service::registries::{
    self, admin_in, EnrolmentInput, FacilityInput, PersonInput, StatusInput,
};
use crate::store::facilities::{self, Facility, StatusRow};
use crate::store::persons::{self, EnrolmentRow, Person};
use crate::store::DbConn;
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

#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonDetail {
    pub person: Person,
    pub enrolments: Vec<EnrolmentRow>,
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
        // The role first, then a person registered elsewhere reads like an ID number nobody
        // has: neither answer tells whether the number exists.
        user.0.require_any(&[Role::Admin])?;
        let missing = || AppError::NotFound(format!("person {id_number}"));
        let person = persons::by_id_number(conn, &id_number)?.ok_or_else(missing)?;
        admin_in(conn, &user.0, &person.region_code).map_err(|_| missing())?;
        let enrolments = persons::enrolments_of(conn, person.id)?;
        Ok(PersonDetail { person, enrolments })
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
    let id = db(&state, move |conn, _| {
        user.0.require_any(&[Role::Admin])?;
        // A person registered elsewhere reads like an unknown ID number.
        if let Some(person) = persons::by_id_number(conn, input.id_number.trim())? {
            admin_in(conn, &user.0, &person.region_code).map_err(|_| {
                AppError::field("id_number", "no insured person has this ID number")
            })?;
        }
        registries::add_enrolment(conn, &input)
    })
    .await?;
    Ok(HttpResponse::Created().json(Created { id }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FacilityDetail {
    pub facility: Facility,
    pub history: Vec<StatusRow>,
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
        facility_detail(conn, input.code.trim())
    })
    .await?;
    Ok(HttpResponse::Created().json(detail))
}

fn facility_detail(conn: &mut DbConn, code: &str) -> AppResult<FacilityDetail> {
    let facility = facilities::get(conn, code)?
        .ok_or_else(|| AppError::NotFound(format!("facility {code}")))?;
    Ok(FacilityDetail {
        history: facilities::history(conn, code)?,
        facility,
    })
}

/// All designated facilities (staff).
#[utoipa::path(get, path = "/api/facilities", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<Facility>), (status = 403, body = crate::http::errors::ErrorBody)))]
#[get("/api/facilities")]
pub async fn list_facilities(state: State, user: AuthUser) -> AppResult<HttpResponse> {
    if !user.0.is_staff() {
        return Err(AppError::Forbidden("staff only".into()));
    }
    let list = db(&state, |conn, _| Ok(facilities::list(conn)?)).await?;
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
    if !user.0.is_staff() {
        return Err(AppError::Forbidden("staff only".into()));
    }
    let code = code.into_inner();
    let detail = db(&state, move |conn, _| facility_detail(conn, &code)).await?;
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
    user.0.require_any(&[Role::Admin])?;
    let detail = db(&state, move |conn, _| {
        let facility = facilities::get(conn, &code)?
            .ok_or_else(|| AppError::NotFound(format!("facility {code}")))?;
        admin_in(conn, &user.0, &facility.region_code)?;
        registries::change_status(conn, &code, &input, crate::store::now_ms())?;
        facility_detail(conn, &code)
    })
    .await?;
    Ok(HttpResponse::Ok().json(detail))
}
