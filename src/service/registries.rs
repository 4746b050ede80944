//! Insured persons, enrolments and designated facilities: one validation per record kind,
//! shared by the admin API and the CSV import.
use crate::auth::Principal;
use crate::domain::eligibility::{Channel, SPECIAL_GROUPS};
use crate::domain::person::IdNumber;
use crate::domain::roles::Role;
use crate::error::{AppError, AppResult, FieldError, Msg};
use crate::store::facilities::{self, Facility, LEVELS, STATUSES};
use crate::store::persons::{self, NewEnrolment, NewPerson};
use crate::store::{regions, DbConn};
use chrono::NaiveDate;
use serde::Deserialize;

fn date(errors: &mut Vec<FieldError>, field: &str, s: &str) -> Option<NaiveDate> {
    let d = crate::domain::dates::parse_iso_date(s.trim());
    if d.is_none() {
        errors.push(FieldError::new(
            field,
            Msg::new("field-date").text("value", s),
        ));
    }
    d
}

fn blank_to_none(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    #[schema(pattern = r"^[0-9]{17}[0-9Xx]$")]
    pub id_number: String,
    pub name: String,
    /// M or F; must agree with the ID number.
    #[schema(pattern = "^[MF]$")]
    pub sex: String,
    /// YYYY-MM-DD; must agree with the ID number.
    #[schema(format = Date)]
    pub birth_date: String,
    pub household: String,
    pub region_code: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    #[schema(format = Date)]
    pub death_date: Option<String>,
}

pub fn validate_person(input: &PersonInput) -> Result<NewPerson, Vec<FieldError>> {
    let mut errors = Vec::new();
    let id = IdNumber::parse(&input.id_number)
        .map_err(|e| errors.push(FieldError::new("id_number", e)))
        .ok();
    if input.name.trim().is_empty() {
        errors.push(FieldError::new("name", Msg::new("field-required")));
    }
    let birth = date(&mut errors, "birth_date", &input.birth_date);
    if let (Some(id), Some(birth)) = (&id, birth) {
        if id.birth_date() != birth {
            errors.push(FieldError::new(
                "birth_date",
                Msg::new("field-id-says").text("value", id.birth_date().to_string()),
            ));
        }
        if input.sex != id.sex().to_string() {
            errors.push(FieldError::new(
                "sex",
                Msg::new("field-id-says").text("value", id.sex().to_string()),
            ));
        }
    }
    let death = blank_to_none(&input.death_date);
    if let Some(d) = &death {
        date(&mut errors, "death_date", d);
    }
    let email = blank_to_none(&input.email);
    if email.as_ref().is_some_and(|e| !e.contains('@')) {
        errors.push(FieldError::new("email", Msg::new("field-email")));
    }
    match id {
        Some(id) if errors.is_empty() => Ok(NewPerson {
            id_number: id.as_str().into(),
            name: input.name.trim().into(),
            sex: input.sex.clone(),
            birth_date: input.birth_date.trim().into(),
            household: input.household.trim().into(),
            region_code: input.region_code.trim().into(),
            email,
            death_date: death,
            user_id: None,
        }),
        _ => Err(errors),
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentInput {
    #[schema(pattern = r"^[0-9]{17}[0-9Xx]$")]
    pub id_number: String,
    pub coverage_year: i32,
    /// Usually Jan 1 (Sep 1 for students in 秦皇岛).
    #[schema(format = Date)]
    pub period_start: String,
    #[schema(format = Date)]
    pub period_end: String,
    /// 1 (一档) or 2 (二档)
    #[schema(minimum = 1, maximum = 2)]
    pub tier: i32,
    /// Payment date.
    #[schema(format = Date)]
    pub enrolled_on: String,
    /// central, mid_year, newborn or from_employee
    pub channel: String,
    /// `;`-separated: wubao, dibao, tekun, disabled, tuopin, orphan
    #[serde(default)]
    pub special_groups: String,
    #[serde(default)]
    pub disabled_grade: Option<i32>,
}

/// Validates an enrolment; `person_id` is resolved by the caller from the ID number.
pub fn validate_enrolment(
    input: &EnrolmentInput,
    person_id: i64,
) -> Result<NewEnrolment, Vec<FieldError>> {
    let mut errors = Vec::new();
    let start = date(&mut errors, "period_start", &input.period_start);
    let end = date(&mut errors, "period_end", &input.period_end);
    date(&mut errors, "enrolled_on", &input.enrolled_on);
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            errors.push(FieldError::new(
                "period_end",
                Msg::new("field-end-before-start"),
            ));
        }
    }
    if !matches!(input.tier, 1 | 2) {
        errors.push(FieldError::new(
            "tier",
            Msg::new("field-one-of")
                .text("allowed", "1, 2")
                .text("value", input.tier.to_string()),
        ));
    }
    if Channel::parse(&input.channel).is_none() {
        errors.push(FieldError::new(
            "channel",
            Msg::new("field-one-of")
                .text("allowed", "central, mid_year, newborn, from_employee")
                .text("value", input.channel.as_str()),
        ));
    }
    let groups: Vec<String> = input
        .special_groups
        .split(';')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(String::from)
        .collect();
    for g in &groups {
        if !SPECIAL_GROUPS.contains(&g.as_str()) {
            errors.push(FieldError::new(
                "special_groups",
                Msg::new("field-one-of")
                    .text("allowed", SPECIAL_GROUPS.join(", "))
                    .text("value", g.as_str()),
            ));
        }
    }
    if input.disabled_grade.is_some_and(|g| !(1..=4).contains(&g)) {
        errors.push(FieldError::new(
            "disabled_grade",
            Msg::new("field-between").count("min", 1).count("max", 4),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(NewEnrolment {
        person_id,
        coverage_year: input.coverage_year,
        period_start: input.period_start.trim().into(),
        period_end: input.period_end.trim().into(),
        tier: input.tier,
        enrolled_on: input.enrolled_on.trim().into(),
        channel: input.channel.clone(),
        special_groups: serde_json::to_string(&groups).unwrap_or_else(|_| "[]".into()),
        disabled_grade: input.disabled_grade,
    })
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FacilityInput {
    pub code: String,
    pub name: String,
    /// township, county or city
    pub level: String,
    pub region_code: String,
    /// public or private
    pub ownership: String,
    /// Date designated (协议定点); YYYY-MM-DD.
    #[schema(format = Date)]
    pub designated_from: String,
}

pub fn validate_facility(input: &FacilityInput) -> Result<Facility, Vec<FieldError>> {
    let mut errors = Vec::new();
    if input.code.trim().is_empty() || input.code.len() > 32 {
        errors.push(FieldError::new(
            "code",
            Msg::new("field-length").count("min", 1).count("max", 32),
        ));
    }
    if input.name.trim().is_empty() {
        errors.push(FieldError::new("name", Msg::new("field-required")));
    }
    if !LEVELS.contains(&input.level.as_str()) {
        errors.push(FieldError::new(
            "level",
            Msg::new("field-one-of")
                .text("allowed", LEVELS.join(", "))
                .text("value", input.level.as_str()),
        ));
    }
    if !matches!(input.ownership.as_str(), "public" | "private") {
        errors.push(FieldError::new(
            "ownership",
            Msg::new("field-one-of")
                .text("allowed", "public, private")
                .text("value", input.ownership.as_str()),
        ));
    }
    date(&mut errors, "designated_from", &input.designated_from);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Facility {
        code: input.code.trim().into(),
        name: input.name.trim().into(),
        level: input.level.clone(),
        region_code: input.region_code.trim().into(),
        ownership: input.ownership.clone(),
    })
}

/// Checks that a region exists; `Err` names the field.
pub fn require_region(conn: &mut DbConn, code: &str) -> AppResult<regions::Region> {
    regions::get(conn, code)?.ok_or_else(|| {
        AppError::field(
            "region_code",
            Msg::new("field-unknown-region").text("code", code),
        )
    })
}

pub fn add_person(conn: &mut DbConn, input: &PersonInput) -> AppResult<i64> {
    let person = validate_person(input).map_err(AppError::Validation)?;
    require_region(conn, &person.region_code)?;
    if persons::by_id_number(conn, &person.id_number)?.is_some() {
        return Err(AppError::Conflict(
            Msg::new("conflict-person-exists").text("id", person.id_number.as_str()),
        ));
    }
    Ok(persons::insert(conn, &person)?)
}

pub fn add_enrolment(conn: &mut DbConn, input: &EnrolmentInput) -> AppResult<i64> {
    let id = IdNumber::parse(&input.id_number).map_err(|e| AppError::field("id_number", e))?;
    let person = persons::by_id_number(conn, id.as_str())?
        .ok_or_else(|| AppError::field("id_number", Msg::new("field-no-person")))?;
    let row = validate_enrolment(input, person.id).map_err(AppError::Validation)?;
    Ok(persons::insert_enrolment(conn, &row)?)
}

pub fn add_facility(conn: &mut DbConn, input: &FacilityInput, now_ms: i64) -> AppResult<()> {
    let facility = validate_facility(input).map_err(AppError::Validation)?;
    require_region(conn, &facility.region_code)?;
    if facilities::get(conn, &facility.code)?.is_some() {
        return Err(AppError::Conflict(
            Msg::new("conflict-facility-exists").text("code", facility.code.as_str()),
        ));
    }
    conn.write_tx(|conn| {
        facilities::insert(conn, &facility)?;
        facilities::add_status(
            conn,
            &facility.code,
            "designated",
            input.designated_from.trim(),
            "协议定点 / designated",
            now_ms,
        )?;
        Ok(())
    })
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    /// designated, suspended or terminated
    pub status: String,
    #[schema(format = Date)]
    pub effective_from: String,
    pub reason: String,
}

pub fn change_status(
    conn: &mut DbConn,
    code: &str,
    input: &StatusInput,
    now_ms: i64,
) -> AppResult<()> {
    if !STATUSES.contains(&input.status.as_str()) {
        return Err(AppError::field(
            "status",
            Msg::new("field-one-of")
                .text("allowed", STATUSES.join(", "))
                .text("value", input.status.as_str()),
        ));
    }
    let mut errors = Vec::new();
    date(&mut errors, "effective_from", &input.effective_from);
    if input.reason.trim().is_empty() {
        errors.push(FieldError::new("reason", Msg::new("field-status-reason")));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    facilities::get(conn, code)?.ok_or_else(|| AppError::NotFound(format!("facility {code}")))?;
    conn.write_tx(|conn| {
        let from = input.effective_from.trim();
        facilities::add_status(conn, code, &input.status, from, input.reason.trim(), now_ms)?;
        if input.status != "designated" {
            // Claims in flight inside the new status are gated, as after a sanction.
            let evidence = serde_json::json!({ "status_change": input.reason.trim() });
            let gated = crate::service::findings::gate_claims_at_facility(
                conn,
                code,
                &input.status,
                from,
                None,
                evidence,
                now_ms,
            )?;
            if !gated.is_empty() {
                tracing::info!(
                    facility = code,
                    ?gated,
                    "claims in flight gated by a status change"
                );
            }
        }
        Ok(())
    })
}

/// A staff or resident account to create (admins on the web page, or `claimflow user add`).
pub struct UserInput<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub display_name: &'a str,
    pub region_code: &'a str,
    pub org: &'a str,
    pub email: Option<&'a str>,
    pub lang: &'a str,
    pub roles: &'a [crate::domain::roles::Role],
    /// A facility user's facility codes (one, or a hospital group's several); none for
    /// anyone else.
    pub facilities: &'a [String],
}

/// Creates an account with an argon2id hash of its password; every problem is a field error.
/// A facility account speaks for the facilities named, and holds no staff or resident role
/// besides: its scope is the facility, never a region.
pub fn add_user(conn: &mut DbConn, input: &UserInput<'_>, now_ms: i64) -> AppResult<i64> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, msg: Msg| errors.push(FieldError::new(field, msg));
    let username = input.username.trim();
    if username.is_empty() || username.len() > 64 || username.chars().any(char::is_whitespace) {
        bad("username", Msg::new("field-username"));
    }
    if input.password.chars().count() < crate::service::auth::MIN_PASSWORD_CHARS {
        bad(
            "password",
            Msg::new("field-password-short")
                .count("min", crate::service::auth::MIN_PASSWORD_CHARS as i64),
        );
    }
    if input.roles.is_empty() {
        bad("roles", Msg::new("field-roles-empty"));
    }
    let facility = input.roles.iter().any(|r| r.is_facility());
    if facility && input.roles.iter().any(|r| !r.is_facility()) {
        bad("roles", Msg::new("field-facility-roles-alone"));
    }
    if facility && input.facilities.is_empty() {
        bad("facility_codes", Msg::new("field-facility-codes"));
    }
    if !facility && !input.facilities.is_empty() {
        bad(
            "facility_codes",
            Msg::new("field-facility-codes-not-facility"),
        );
    }
    // A facility account works in its (first) facility's region.
    let mut region_code = input.region_code.trim().to_string();
    for code in input.facilities {
        match crate::store::facilities::get(conn, code)? {
            None => bad(
                "facility_codes",
                Msg::new("field-unknown-facility").text("code", code.as_str()),
            ),
            Some(f) if code == &input.facilities[0] => region_code = f.region_code,
            Some(_) => {}
        }
    }
    if !facility && regions::get(conn, &region_code)?.is_none() {
        bad(
            "region_code",
            Msg::new("field-unknown-region").text("code", input.region_code.trim()),
        );
    }
    if !username.is_empty() && crate::store::users::find_by_username(conn, username)?.is_some() {
        bad(
            "username",
            Msg::new("field-username-taken").text("name", username),
        );
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let hash = crate::auth::hash_password(input.password)?;
    let display_name = match input.display_name.trim() {
        "" => username,
        name => name,
    };
    // argon2 ran above, outside the write: the account and its facilities are one write.
    let id = conn.write_tx(|conn| {
        let id = crate::store::users::insert(
            conn,
            &crate::store::users::NewUser {
                username,
                password_hash: &hash,
                display_name,
                region_code: &region_code,
                org: input.org.trim(),
                email: input.email,
                lang: input.lang,
                created_at: now_ms,
            },
            input.roles,
        )?;
        crate::store::facility_side::link(conn, id, input.facilities)?;
        Ok::<i64, diesel::result::Error>(id)
    })?;
    Ok(id)
}

/// Adds a region under `parent` (none for a province), with field errors for the form.
pub fn add_region(
    conn: &mut DbConn,
    code: &str,
    name_zh: &str,
    name_en: &str,
    parent: Option<&str>,
) -> AppResult<regions::Region> {
    let mut errors = Vec::new();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(FieldError::new(
            "code",
            Msg::new("field-region-code").text("value", code),
        ));
    }
    for (field, value) in [("name_zh", name_zh), ("name_en", name_en)] {
        if value.trim().is_empty() {
            errors.push(FieldError::new(field, Msg::new("field-required")));
        }
    }
    if errors.is_empty() && regions::get(conn, code)?.is_some() {
        errors.push(FieldError::new(
            "code",
            Msg::new("field-region-exists").text("code", code),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if let Some(p) = parent {
        match regions::get(conn, p)? {
            None => {
                return Err(AppError::field(
                    "parent",
                    Msg::new("field-unknown-region").text("code", p),
                ))
            }
            Some(r) if r.level == "county" => {
                return Err(AppError::field(
                    "parent",
                    Msg::new("field-region-county-leaf"),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(regions::add(
        conn,
        code,
        name_zh.trim(),
        name_en.trim(),
        parent,
    )?)
}

/// [`admin_in`] for a region typed into a form: an unknown region or one outside the
/// admin's is a problem with that field.
pub fn admin_in_as(
    conn: &mut DbConn,
    p: &Principal,
    region_code: &str,
    field: &str,
) -> AppResult<()> {
    admin_in(conn, p, region_code).map_err(|e| match e {
        AppError::Validation(_) => AppError::field(
            field,
            Msg::new("field-unknown-region").text("code", region_code),
        ),
        AppError::Forbidden(_) if p.has(Role::Admin) => AppError::field(
            field,
            Msg::new("field-region-outside").text("code", region_code),
        ),
        other => other,
    })
}

/// Admins act within their region subtree.
pub fn admin_in(conn: &mut DbConn, p: &Principal, region_code: &str) -> AppResult<()> {
    p.require_any(&[Role::Admin])?;
    let region = require_region(conn, region_code)?;
    if p.covers_region(&region.path) {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            Msg::new("field-region-outside").text("code", region_code),
        ))
    }
}

/// Where a facility's letters go: an administrator over the facility's region sets its
/// contact address (empty clears it); another region's facility is 403, as for a status
/// change, because the facility registry is public.
pub fn set_facility_contact(
    conn: &mut DbConn,
    p: &Principal,
    code: &str,
    email: &str,
) -> AppResult<()> {
    p.require_any(&[Role::Admin])?;
    let facility = crate::store::facilities::get(conn, code)?
        .ok_or_else(|| AppError::NotFound(format!("facility {code}")))?;
    // The registry is public, so another region's facility is refused, not hidden.
    admin_in(conn, p, &facility.region_code)?;
    let email = email.trim();
    if !email.is_empty()
        && (!email.contains('@') || email.len() > 254 || email.chars().any(char::is_whitespace))
    {
        return Err(AppError::field("email", Msg::new("field-email")));
    }
    crate::store::facility_side::set_contact_email(
        conn,
        code,
        (!email.is_empty()).then_some(email),
    )?;
    Ok(())
}

/// An administrator creates an account within their region; a facility account for
/// facilities of their region only (its region is the first facility's).
pub fn admin_add_user(
    conn: &mut DbConn,
    p: &Principal,
    input: &UserInput<'_>,
    now_ms: i64,
) -> AppResult<i64> {
    p.require_any(&[Role::Admin])?;
    // A facility outside the admin's region reads like one that does not exist.
    for code in input.facilities {
        if let Some(f) = crate::store::facilities::get(conn, code)? {
            admin_in(conn, p, &f.region_code).map_err(|_| {
                AppError::field(
                    "facility_codes",
                    Msg::new("field-unknown-facility").text("code", code.as_str()),
                )
            })?;
        }
    }
    // A facility account's region is its facility's, checked above.
    if !input.roles.iter().any(|r| r.is_facility()) {
        admin_in_as(conn, p, input.region_code.trim(), "region_code")?;
    }
    let id = add_user(conn, input, now_ms)?;
    let detail =
        serde_json::json!({ "roles": input.roles, "facilities": input.facilities }).to_string();
    crate::store::users::record_event(conn, p.user_id, id, "created", &detail, now_ms)?;
    Ok(id)
}
