//! The service counter (窗口受理): a clerk finds the insured person by ID number or name,
//! files the claim for them on the form residents use, and then adds, replaces or rejects
//! its documents on the case page, where the checklist ticks as they go.
use super::ctx::{Ctx, PageError};
use super::resident::{file_claim, new_claim_page, NewClaimForm};
use crate::auth::Principal;
use crate::domain::person::IdNumber;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::store::persons::{self, Person};
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const INTAKE_ROLES: &[Role] = &[Role::Clerk];

/// At most this many people are listed for one search; a longer list means a narrower one.
const SHOWN: i64 = 50;

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[get("/intake")]
pub async fn search(ctx: Ctx, q: web::Query<SearchQuery>) -> Result<HttpResponse, PageError> {
    let user = ctx.require(INTAKE_ROLES)?;
    let q = q.into_inner().q.trim().to_string();
    let found = if q.is_empty() {
        Vec::new()
    } else {
        let (region, text) = (user.region_path.clone(), q.clone());
        ctx.db(move |conn, _| Ok(persons::search_in_region(conn, &region, &text, SHOWN)?))
            .await?
    };
    let people: Vec<Value> = found
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.name,
                "id_number": IdNumber::parse(&p.id_number).map(|n| n.masked()).unwrap_or_default(),
                "birth_date": p.birth_date,
                "region": p.region_code,
            })
        })
        .collect();
    let view = json!({
        "q": q,
        "searched": !q.is_empty(),
        "people": people,
        "more": found.len() as i64 == SHOWN,
    });
    ctx.page_titled("intake", ctx.t("intake.title"), view, StatusCode::OK)
}

/// The person a clerk files for: registered inside the clerk's region, or unknown (a person
/// elsewhere reads exactly like one that does not exist).
async fn applicant(
    ctx: &Ctx,
    user: &Principal,
    person_id: Option<i64>,
) -> Result<Person, PageError> {
    let id = person_id.ok_or_else(|| ctx.fail(AppError::NotFound("person".into())))?;
    let user = user.clone();
    ctx.db(move |conn, _| {
        let person = persons::get(conn, id)?;
        let region = match &person {
            Some(p) => crate::store::regions::get(conn, &p.region_code)?,
            None => None,
        };
        match (person, region) {
            (Some(person), Some(region)) if user.covers_region(&region.path) => Ok(person),
            _ => Err(AppError::NotFound(format!("person {id}"))),
        }
    })
    .await
}

#[derive(Deserialize)]
pub struct PersonQuery {
    person: Option<i64>,
}

#[get("/intake/new")]
pub async fn new_claim(ctx: Ctx, q: web::Query<PersonQuery>) -> Result<HttpResponse, PageError> {
    let user = ctx.require(INTAKE_ROLES)?;
    let person = applicant(&ctx, &user, q.person).await?;
    let form = NewClaimForm::blank(Some(person.id));
    new_claim_page(&ctx, &form, Some(&person), Map::new(), StatusCode::OK)
}

#[post("/intake/new")]
pub async fn submit(ctx: Ctx, form: web::Form<NewClaimForm>) -> Result<HttpResponse, PageError> {
    let user = ctx.require(INTAKE_ROLES)?;
    let form = form.into_inner();
    ctx.check_csrf(form.csrf())?;
    let person = applicant(&ctx, &user, form.person_id()).await?;
    file_claim(&ctx, user, form, Some(person)).await
}
