//! Registry read models for admins and staff: a person with their enrolments, the designated
//! facilities and one facility with its designation history; and the admin writes that must
//! first find a record in the caller's region.
use crate::auth::Principal;
use crate::domain::roles::Role;
use crate::error::Msg;
use crate::error::{AppError, AppResult};
use crate::service::registries::{self, admin_in, EnrolmentInput, StatusInput};
use crate::store::facilities::{self, Facility, StatusRow};
use crate::store::persons::{self, EnrolmentRow, Person};
use crate::store::DbConn;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonDetail {
    pub person: Person,
    pub enrolments: Vec<EnrolmentRow>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FacilityDetail {
    pub facility: Facility,
    pub history: Vec<StatusRow>,
}

/// A person by ID number, for an admin over their region. The role first, then a person
/// registered elsewhere reads like an ID number nobody has: neither answer tells whether
/// the number exists.
pub fn person_detail(conn: &mut DbConn, p: &Principal, id_number: &str) -> AppResult<PersonDetail> {
    p.require_any(&[Role::Admin])?;
    let missing = || AppError::NotFound(format!("person {id_number}"));
    let person = persons::by_id_number(conn, id_number)?.ok_or_else(missing)?;
    admin_in(conn, p, &person.region_code).map_err(|_| missing())?;
    let enrolments = persons::enrolments_of(conn, person.id)?;
    Ok(PersonDetail { person, enrolments })
}

/// Records an enrolment; a person registered outside the admin's region reads like an
/// unknown ID number.
pub fn enrol(conn: &mut DbConn, p: &Principal, input: &EnrolmentInput) -> AppResult<i64> {
    p.require_any(&[Role::Admin])?;
    if let Some(person) = persons::by_id_number(conn, input.id_number.trim())? {
        admin_in(conn, p, &person.region_code)
            .map_err(|_| AppError::field("id_number", Msg::new("field-no-person")))?;
    }
    registries::add_enrolment(conn, input)
}

/// The designated-facility registry is public (agencies publish it), so staff of any region
/// read all of it: a reviewer reads the facilities of out-of-region care.
pub fn facilities(conn: &mut DbConn, p: &Principal) -> AppResult<Vec<Facility>> {
    staff_only(p)?;
    Ok(facilities::list(conn)?)
}

pub fn facility(conn: &mut DbConn, p: &Principal, code: &str) -> AppResult<FacilityDetail> {
    staff_only(p)?;
    facility_detail(conn, code)
}

/// Records a designation change at a facility of the admin's region.
pub fn change_status(
    conn: &mut DbConn,
    p: &Principal,
    code: &str,
    input: &StatusInput,
    now_ms: i64,
) -> AppResult<FacilityDetail> {
    p.require_any(&[Role::Admin])?;
    let facility = facilities::get(conn, code)?
        .ok_or_else(|| AppError::NotFound(format!("facility {code}")))?;
    admin_in(conn, p, &facility.region_code)?;
    registries::change_status(conn, code, input, now_ms)?;
    facility_detail(conn, code)
}

pub fn facility_detail(conn: &mut DbConn, code: &str) -> AppResult<FacilityDetail> {
    let facility = facilities::get(conn, code)?
        .ok_or_else(|| AppError::NotFound(format!("facility {code}")))?;
    Ok(FacilityDetail {
        history: facilities::history(conn, code)?,
        facility,
    })
}

fn staff_only(p: &Principal) -> AppResult<()> {
    if p.is_staff() {
        Ok(())
    } else {
        Err(AppError::Forbidden(Msg::new("forbidden-staff-only")))
    }
}

/// What the admin's registry page shows: the accounts of the admin's region subtree (never
/// another region's), the regions, and the facility registry with its history.
pub struct RegistryBoard {
    pub users: Vec<(crate::store::users::User, Vec<String>)>,
    pub regions: Vec<crate::store::regions::Region>,
    pub facilities: Vec<Facility>,
    pub history: Vec<StatusRow>,
}

pub fn registry_board(conn: &mut DbConn, p: &Principal) -> AppResult<RegistryBoard> {
    p.require_any(&[Role::Admin])?;
    let regions = crate::store::regions::list(conn)?;
    let path_of = |code: &str| {
        regions
            .iter()
            .find(|r| r.code == code)
            .map(|r| r.path.as_str())
    };
    let users = crate::store::users::all_with_roles(conn)?
        .into_iter()
        .filter(|(u, _)| path_of(&u.region_code).is_some_and(|path| p.covers_region(path)))
        .collect();
    let (facilities, history) = facility_registry(conn, p)?;
    Ok(RegistryBoard {
        users,
        regions,
        facilities,
        history,
    })
}

/// Every facility and every designation change, for the staff pages that show statuses.
pub fn facility_registry(
    conn: &mut DbConn,
    p: &Principal,
) -> AppResult<(Vec<Facility>, Vec<StatusRow>)> {
    staff_only(p)?;
    Ok((facilities::list(conn)?, facilities::all_history(conn)?))
}
