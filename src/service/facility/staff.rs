//! A facility's own administrator adds staff to the facility, within the number the agency
//! allows each facility (`facility_staff_limit`); each account speaks for the administrator's
//! facilities and nothing else, and its creation is in the account history.
use super::require_facility;
use crate::auth::Principal;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult, Msg, RuleKind};
use crate::service::registries::{add_user, UserInput};
use crate::store::facility_side as store;
use crate::store::users::User;
use crate::store::DbConn;

pub struct NewStaff<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    pub email: Option<&'a str>,
}

/// Creates a `facility` account for the administrator's facilities. Refused when any of them
/// already has `limit` accounts.
pub fn add_staff(
    conn: &mut DbConn,
    p: &Principal,
    staff: &NewStaff<'_>,
    limit: i64,
    now_ms: i64,
) -> AppResult<i64> {
    p.require_any(&[Role::FacilityAdmin])?;
    let Some(first) = p.facilities.first() else {
        return Err(AppError::Forbidden(
            Msg::new("forbidden-roles").text("roles", "facility_admin"),
        ));
    };
    for code in &p.facilities {
        if store::users_of(conn, code)? >= limit {
            return Err(AppError::rule_msg(
                RuleKind::Conflict,
                "facility_staff_limit",
                Msg::new("rule-facility-staff-limit")
                    .text("facility", code.as_str())
                    .count("limit", limit),
            ));
        }
    }
    let facility = crate::store::facilities::get(conn, first)?
        .ok_or_else(|| AppError::NotFound(format!("facility {first}")))?;
    let id = add_user(
        conn,
        &UserInput {
            username: staff.username,
            password: staff.password,
            display_name: staff.display_name,
            region_code: &facility.region_code,
            org: &facility.name,
            email: staff.email,
            lang: &p.lang,
            roles: &[Role::Facility],
            facilities: &p.facilities,
        },
        now_ms,
    )?;
    let detail =
        serde_json::json!({ "roles": ["facility"], "facilities": p.facilities }).to_string();
    crate::store::users::record_event(conn, p.user_id, id, "created", &detail, now_ms)?;
    Ok(id)
}

/// The accounts that speak for the caller's facilities.
pub fn staff_of(conn: &mut DbConn, p: &Principal) -> AppResult<Vec<(User, Vec<Role>)>> {
    require_facility(p)?;
    let mut ids: Vec<i64> = Vec::new();
    for code in &p.facilities {
        ids.extend(store::user_ids_of(conn, code)?);
    }
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        if let Some(user) = crate::store::users::get(conn, id)? {
            let roles = crate::store::users::roles_of(conn, id)?;
            out.push((user, roles));
        }
    }
    Ok(out)
}
