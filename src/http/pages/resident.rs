//! The resident's pages, phone first: their claims in plain language, what is missing with
//! the upload right there, the decision letter, and a new-claim form per family.
use super::ctx::{see_other, Ctx, PageError};
use super::{yuan, yuan_to_fen};
use crate::domain::case::Subject;
use crate::domain::claim::{ClaimInput, Family, FamilyFacts};
use crate::domain::documents::document_kind;
use crate::domain::person::IdNumber;
use crate::domain::roles::Role;
use crate::error::AppError;
use crate::error::Msg;
use crate::http::upload::{read_limited, UploadForm};
use crate::service::documents::{self, Upload};
use crate::service::intake;
use crate::service::views::claim::{claim_detail, my_claim_list, ClaimDetail};
use crate::store::claims::ClaimRecord;
use crate::store::persons::Person;
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};

const RESIDENT: &[Role] = &[Role::Resident];

/// How a claim reads in a badge: approved, rejected, withdrawn, waiting (on the resident) or open.
pub fn state_of(stage: Option<&str>, outcome: Option<&str>) -> &'static str {
    match (stage, outcome) {
        (_, Some("approved" | "partially_approved")) => "approved",
        (_, Some(o)) if o.contains("reject") => "rejected",
        (_, Some(_)) => "withdrawn",
        (Some("awaiting_documents"), None) => "waiting",
        _ => "open",
    }
}

#[get("/my/claims")]
pub async fn my_claims(ctx: Ctx) -> Result<HttpResponse, PageError> {
    let user = ctx.require(RESIDENT)?;
    let claims = ctx
        .db(move |conn, env| my_claim_list(conn, env.defs, &user))
        .await?;
    let rows: Vec<Value> = claims
        .into_iter()
        .map(|c| {
            json!({
                "claim_id": c.claim_id,
                "family": ctx.pick(&c.family_zh, &c.family_en),
                "admission_date": c.admission_date,
                "total": yuan(c.total_fen),
                "payable": c.payable_fen.map(yuan),
                "decided": c.decided_fen.map(yuan),
                "status": ctx.pick(&c.status_zh, &c.status_en),
                "state": state_of(c.stage.as_deref(), c.outcome.as_deref()),
            })
        })
        .collect();
    ctx.page("my_claims", "claims.title", json!({ "claims": rows }))
}

/// The claim as its resident sees it; a claim of someone else is "not found", exactly like
/// one that does not exist.
pub(super) async fn load_own(ctx: &Ctx, claim_id: i64) -> Result<ClaimDetail, PageError> {
    let user = ctx.require(RESIDENT)?;
    ctx.db(move |conn, env| {
        let case = crate::service::scope::case_of(conn, &user, Subject::Claim(claim_id))?;
        claim_detail(conn, env.defs, &user, case)
    })
    .await
}

/// The claim's document checklist as page rows; `uploads` offers an upload for each item
/// still missing or rejected.
pub(super) fn checklist_rows(ctx: &Ctx, d: &ClaimDetail, uploads: bool) -> Vec<Value> {
    d.case
        .checklist
        .iter()
        .map(|item| {
            json!({
                "kind": item.kind,
                "title": ctx.pick(&item.title_zh, &item.title_en),
                "status": item.status,
                "status_label": ctx.t(&format!("documents.{}", item.status)),
                "reason": item.reason,
                "href": item.document_id.map(|id| format!("/api/claims/{}/documents/{id}", d.claim.id)),
                "upload": uploads && item.status != "present",
                "request_id": item.request_id,
                "document_id": item.document_id,
                "rejected": item.status == "rejected",
            })
        })
        .collect()
}

/// The benefit calculation step by step, with the policy key each number came from.
pub(super) fn breakdown_steps(ctx: &Ctx, d: &ClaimDetail) -> Vec<Value> {
    d.breakdown
        .iter()
        .flat_map(|b| &b.steps)
        .map(
            |s| json!({"text": ctx.pick(&s.zh, &s.en), "amount": yuan(s.amount_fen), "key": s.key}),
        )
        .collect()
}

/// The claim's own facts, as both the resident's and the reviewer's page show them.
pub(super) fn claim_fields(r: &ClaimRecord) -> Map<String, Value> {
    let c = &r.claim;
    let fields = json!({
        "facility": c.facility_code,
        "admission_date": c.admission_date,
        "discharge_date": c.discharge_date,
        "diagnosis": c.diagnosis_code,
        "doctor": c.attending_doctor,
        "invoices": c.invoice_numbers.join(", "),
        "total": yuan(c.total_fen.0),
        "policy_scope": yuan(c.policy_scope_fen.0),
        "self_paid": yuan(c.self_paid_fen.0),
        "payable": r.payable_fen.map(yuan),
    });
    match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Adds `fields` to a page's view object.
pub(super) fn extend(view: &mut Value, fields: Map<String, Value>) {
    if let Value::Object(map) = view {
        map.extend(fields);
    }
}

/// The view of one claim shared by the claim page and the decision letter.
pub(super) fn claim_view(ctx: &Ctx, d: &ClaimDetail) -> Value {
    let open = d.case.outcome.is_none();
    let checklist = checklist_rows(ctx, d, open);
    let timeline: Vec<Value> = d
        .timeline
        .iter()
        .map(|t| {
            json!({
                "when": ctx.when(t.at_ms),
                "text": ctx.pick(&t.zh, &t.en),
                "amount": t.amount_fen.map(yuan),
                "missing": t.missing.iter().map(|k| document_kind(k).map_or(k.as_str(), |m| ctx.pick(m.zh, m.en))).collect::<Vec<_>>(),
            })
        })
        .collect();
    let decision = d.decision.as_ref();
    // A rejection pays nothing; the computation it set aside would read as a payment.
    let steps = if decision.is_some_and(|x| x.outcome == "rejected") {
        Vec::new()
    } else {
        breakdown_steps(ctx, d)
    };
    // A rejection's reason is written for the resident; an approver's comment is internal.
    let reason = decision
        .and_then(|d| ctx.pick_opt(&d.reason_zh, &d.reason_en))
        .filter(|s| !s.is_empty());
    let c = &d.claim;
    let outcome_title = d
        .case
        .outcome_title
        .as_ref()
        .map(|t| ctx.pick(&t.zh, &t.en).to_string());
    let stage_title = d
        .case
        .stage_title
        .as_ref()
        .map(|t| ctx.pick(&t.zh, &t.en).to_string());
    let missing_any = checklist.iter().any(|i| i["upload"] == true);
    let can_resubmit = d.case.actions.iter().any(|a| a.name == "resubmit");
    let mut view = json!({
        "claim_id": c.id,
        "upload_action": format!("/my/claims/{}/documents", c.id),
        "family": ctx.pick(&d.case.workflow_title.zh, &d.case.workflow_title.en),
        "state": state_of(d.case.stage.as_deref(), d.case.outcome.as_deref()),
        "status": d.timeline.last().map(|t| ctx.pick(&t.zh, &t.en)),
        "stage_title": stage_title,
        "outcome_title": outcome_title,
        "decided": outcome_title.is_some(),
        "decided_amount": c.decided_fen.map(yuan),
        "reason": reason,
        "checklist": checklist,
        "missing_any": missing_any,
        "can_resubmit": can_resubmit,
        // Once the last document is in, the section stays for the resubmission it leads to.
        "documents_section": missing_any || can_resubmit,
        "version": d.case.version,
        "return_message": d.requests.first().map(|r| r.comment.as_str()).filter(|c| open && !c.is_empty()),
        "timeline": timeline,
        "steps": steps,
        "printed": ctx.when(crate::store::now_ms()),
    });
    extend(&mut view, claim_fields(c));
    extend(&mut view, super::payment::bill_fields(ctx, d));
    extend(&mut view, super::payment::payment_fields(ctx, d));
    extend(&mut view, super::payment::appeal_fields(ctx, d));
    view
}

#[get("/my/claims/{id}")]
pub async fn claim_page(ctx: Ctx, id: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let d = load_own(&ctx, id.into_inner()).await?;
    let title = format!("{} #{}", ctx.t("claim.title"), d.claim.id);
    ctx.page_titled("claim", title, claim_view(&ctx, &d), StatusCode::OK)
}

/// The decision letter, printable (the stylesheet drops the navigation when printed).
#[get("/my/claims/{id}/letter")]
pub async fn letter(ctx: Ctx, id: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let d = load_own(&ctx, id.into_inner()).await?;
    if d.case.outcome.is_none() {
        return Err(ctx.fail(AppError::NotFound("decision".into())));
    }
    let title = format!("{} #{}", ctx.t("letter.title"), d.claim.id);
    let (person_id, region_code) = (d.claim.person_id, d.claim.region_code.clone());
    let (applicant, region) = ctx
        .db(move |conn, _| {
            let person = match person_id {
                Some(id) => crate::store::persons::get(conn, id)?,
                None => None,
            };
            Ok((person, crate::store::regions::get(conn, &region_code)?))
        })
        .await?;
    let mut view = claim_view(&ctx, &d);
    extend(&mut view, letter_fields(&ctx, &d, applicant, region));
    ctx.page_titled("letter", title, view, StatusCode::OK)
}

/// What makes the letter a formal decision: the applicant (name, masked ID number), the
/// decision's number and date, the issuing agency and its region, what is paid (0 on a
/// rejection, with its reason instead of a computation) and the appeal route.
fn letter_fields(
    ctx: &Ctx,
    d: &ClaimDetail,
    applicant: Option<crate::store::persons::Person>,
    region: Option<crate::store::regions::Region>,
) -> Map<String, Value> {
    let decided_at = d.decided_at.unwrap_or_default();
    let date = ctx.state.defs.calendar().local_date(decided_at).to_string();
    let rejected = d.decision.as_ref().is_some_and(|x| x.outcome == "rejected");
    let reimbursed = d.decision.as_ref().map_or(0, |x| x.reimbursed_fen());
    let (region_name, agency) = region.map_or_else(Default::default, |r| {
        let name = ctx.pick(&r.name_zh, &r.name_en).to_string();
        let agency = if ctx.lang == "en" {
            format!("{name} Healthcare Security Administration")
        } else {
            format!("{name}医疗保障局")
        };
        (name, agency)
    });
    let fields = json!({
        "applicant": applicant.as_ref().map(|p| p.name.clone()),
        "applicant_id": applicant.as_ref().and_then(|p| crate::domain::person::IdNumber::parse(&p.id_number).ok()).map(|n| n.masked()),
        // Year of the decision, then the claim number: unique, and stable across reprints.
        "decision_number": format!("{}-{:06}", &date.get(..4).unwrap_or("0000"), d.claim.id),
        "decision_date": date,
        "agency": agency,
        "region_name": region_name,
        "rejected": rejected,
        "reimbursed": yuan(reimbursed),
        "appeal_route": ctx.t("letter.appeal_route").replace("{days}", &ctx.state.config.appeal_days.to_string()),
    });
    match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A document for a missing or rejected item, from the claim page (multipart: `_csrf`,
/// `kind`, `file`). Type and size are checked as for the API.
#[post("/my/claims/{id}/documents")]
pub async fn upload(
    ctx: Ctx,
    id: web::Path<i64>,
    req: HttpRequest,
    form: Multipart,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(RESIDENT)?;
    let limit = ctx.state.config.upload_max_bytes;
    let up = read_limited(&req, form, limit)
        .await
        .map_err(|e| ctx.fail(e))?;
    ctx.check_csrf(up.csrf.as_deref().unwrap_or_default())?;
    let claim_id = id.into_inner();
    add_uploaded(&ctx, user, claim_id, up)
        .await
        .map_err(|e| ctx.fail(e))?;
    Ok(see_other(&format!("/my/claims/{claim_id}#documents")))
}

/// Stores a page's upload on the claim, as the document kind the form named.
pub(super) async fn add_uploaded(
    ctx: &Ctx,
    user: crate::auth::Principal,
    claim_id: i64,
    up: UploadForm,
) -> Result<(), AppError> {
    let data_dir = ctx.state.config.data_dir.clone();
    crate::http::db(&ctx.state, move |conn, _| {
        let kind = up
            .kind
            .ok_or_else(|| AppError::field("kind", Msg::new("field-kind-missing")))?;
        documents::add_document(
            conn,
            &data_dir,
            &user,
            &Upload {
                claim_id,
                kind: &kind,
                filename: &up.filename,
                bytes: &up.bytes,
                now_ms: crate::store::now_ms(),
                request_id: up.request_id,
            },
        )
    })
    .await
    .map(|_| ())
}

#[derive(Deserialize)]
pub struct ResubmitForm {
    expected_version: i64,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// The resident sends the claim back to review once the requested documents are in (the
/// workflow's `resubmit`, with its `documents_complete` guard).
#[post("/my/claims/{id}/resubmit")]
pub async fn resubmit(
    ctx: Ctx,
    id: web::Path<i64>,
    form: web::Form<ResubmitForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(RESIDENT)?;
    ctx.check_csrf(&form.csrf)?;
    let claim_id = id.into_inner();
    let expected_version = form.expected_version;
    ctx.db(move |conn, env| {
        let case = crate::service::scope::case_of(conn, &user, Subject::Claim(claim_id))?;
        let req = crate::service::cases::ActionRequest {
            case_id: case.id,
            action: "resubmit",
            comment: "",
            expected_version,
            now_ms: crate::store::now_ms(),
            amount_fen: None,
            reason_code: None,
            missing_documents: &[],
            extra_documents: &[],
            judged_emergency: None,
        };
        crate::service::cases::act(conn, env, &user, &req)
    })
    .await?;
    Ok(see_other(&format!("/my/claims/{claim_id}")))
}

/// The families a resident can file, each with the documents it needs.
fn families(ctx: &Ctx, chosen: &str) -> Vec<Value> {
    Family::ALL
        .iter()
        .filter_map(|f| ctx.state.defs.latest(f.as_str()))
        .map(|wf| {
            let docs: Vec<&str> = wf
                .required_documents
                .iter()
                .map(|k| document_kind(k).map_or(k.as_str(), |m| ctx.pick(m.zh, m.en)))
                .collect();
            json!({
                "code": wf.name,
                "title": ctx.pick(&wf.title.zh, &wf.title.en),
                "documents": docs,
                "checked": wf.name == chosen,
            })
        })
        .collect()
}

const NEW_CLAIM_FIELDS: [&str; 14] = [
    "family",
    "encounter_kind",
    "facility_code",
    "admission_date",
    "discharge_date",
    "diagnosis_code",
    "attending_doctor",
    "invoice_numbers",
    "total",
    "policy_scope",
    "self_paid",
    "third_party_declaration",
    "filing_number",
    "referral_certificate",
];

const ENCOUNTERS: [&str; 4] = ["inpatient", "outpatient", "special_outpatient", "maternity"];

/// The new-claim form: the resident's own, or, at the counter, one filed for `applicant`.
pub(super) fn new_claim_page(
    ctx: &Ctx,
    form: &NewClaimForm,
    applicant: Option<&Person>,
    errors: Map<String, Value>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let encounters: Vec<Value> = ENCOUNTERS
        .iter()
        .map(|e| json!({"code": e, "label": ctx.t(&format!("new_claim.encounter_{e}")), "selected": form.encounter_kind == *e}))
        .collect();
    let view = json!({
        "action": if applicant.is_some() { "/intake/new" } else { "/my/claims/new" },
        "applicant": applicant.map(|p| json!({
            "id": p.id,
            "name": p.name,
            "id_number": IdNumber::parse(&p.id_number).map(|n| n.masked()).unwrap_or_default(),
        })),
        "families": families(ctx, &form.family),
        "encounters": encounters,
        "form": form,
        "has_errors": !errors.is_empty(),
        "errors": super::field_errors_for(errors, &NEW_CLAIM_FIELDS),
    });
    ctx.page_titled("new_claim", ctx.t("new_claim.title"), view, status)
}

#[derive(Deserialize, serde::Serialize, Default)]
pub struct NewClaimForm {
    /// At the counter: the insured person the clerk files for (a resident's is their own).
    #[serde(default, skip_serializing)]
    person_id: Option<i64>,
    #[serde(default)]
    family: String,
    #[serde(default)]
    encounter_kind: String,
    #[serde(default)]
    facility_code: String,
    #[serde(default)]
    admission_date: String,
    #[serde(default)]
    discharge_date: String,
    #[serde(default)]
    diagnosis_code: String,
    /// Optional: the attending doctor's code on the discharge record or the invoice.
    #[serde(default)]
    attending_doctor: String,
    #[serde(default)]
    invoice_numbers: String,
    #[serde(default)]
    total: String,
    #[serde(default)]
    policy_scope: String,
    #[serde(default)]
    self_paid: String,
    #[serde(default)]
    third_party_declaration: String,
    #[serde(default)]
    filing_number: String,
    #[serde(default)]
    referral_certificate: String,
    #[serde(default, rename = "_csrf", skip_serializing)]
    csrf: String,
}

impl NewClaimForm {
    /// An empty form, on the most common family and encounter.
    pub(super) fn blank(person_id: Option<i64>) -> NewClaimForm {
        NewClaimForm {
            person_id,
            family: "trauma".into(),
            encounter_kind: "inpatient".into(),
            ..Default::default()
        }
    }
}

#[get("/my/claims/new")]
pub async fn new_claim_form(ctx: Ctx) -> Result<HttpResponse, PageError> {
    ctx.require(RESIDENT)?;
    let form = NewClaimForm::blank(None);
    new_claim_page(&ctx, &form, None, Map::new(), StatusCode::OK)
}

/// The form as the API's claim input; amounts in yuan become fen exactly, or field errors.
fn to_input(form: &NewClaimForm) -> Result<ClaimInput, Vec<(&'static str, &'static str)>> {
    let mut errors = Vec::new();
    let mut money = |field: &'static str, text: &str| match yuan_to_fen(text) {
        Ok(fen) => fen,
        Err(key) => {
            errors.push((field, key));
            0
        }
    };
    let total_fen = money("total", &form.total);
    let policy_scope_fen = money("policy_scope", &form.policy_scope);
    let self_paid_fen = money("self_paid", &form.self_paid);
    if !errors.is_empty() {
        return Err(errors);
    }
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(ClaimInput {
        family: form.family.clone(),
        id_number: None,
        encounter_kind: form.encounter_kind.clone(),
        facility_code: form.facility_code.trim().to_string(),
        admission_date: form.admission_date.trim().to_string(),
        discharge_date: form.discharge_date.trim().to_string(),
        diagnosis_code: form.diagnosis_code.trim().to_uppercase(),
        invoice_numbers: form
            .invoice_numbers
            .split([',', '，', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        total_fen,
        policy_scope_fen,
        self_paid_fen,
        facts: FamilyFacts {
            filed: text(&form.filing_number).is_some(),
            filing_number: text(&form.filing_number),
            referral: text(&form.referral_certificate).is_some(),
            referral_certificate: text(&form.referral_certificate),
            third_party_declaration: text(&form.third_party_declaration),
            ..Default::default()
        },
        itemised_lines: Vec::new(),
        attending_doctor: text(&form.attending_doctor),
    })
}

/// The form field an API field error belongs to.
fn form_field(api_field: &str) -> &str {
    let base = api_field.split(['[', '.']).next().unwrap_or(api_field);
    match base {
        "total_fen" => "total",
        "policy_scope_fen" => "policy_scope",
        "self_paid_fen" => "self_paid",
        "facts" => api_field.rsplit('.').next().unwrap_or(base),
        other => other,
    }
}

#[post("/my/claims/new")]
pub async fn submit_claim(
    ctx: Ctx,
    form: web::Form<NewClaimForm>,
) -> Result<HttpResponse, PageError> {
    let user = ctx.require(RESIDENT)?;
    let form = form.into_inner();
    ctx.check_csrf(&form.csrf)?;
    file_claim(&ctx, user, form, None).await
}

impl NewClaimForm {
    pub(super) fn person_id(&self) -> Option<i64> {
        self.person_id
    }

    pub(super) fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Files the form's claim, for the signed-in resident or, at the counter, for `applicant`
/// (whose ID number the service checks again against the clerk's region). A refused field
/// re-renders the form with the message beside it and the input kept.
pub(super) async fn file_claim(
    ctx: &Ctx,
    user: crate::auth::Principal,
    form: NewClaimForm,
    applicant: Option<Person>,
) -> Result<HttpResponse, PageError> {
    let mut input = match to_input(&form) {
        Ok(input) => input,
        Err(errors) => {
            let map = errors
                .into_iter()
                .map(|(f, key)| (f.to_string(), Value::String(ctx.t(key))))
                .collect();
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return new_claim_page(ctx, &form, applicant.as_ref(), map, status);
        }
    };
    input.id_number = applicant.as_ref().map(|p| p.id_number.clone());
    let window_ms = ctx.state.config.honest_retry_minutes * 60_000;
    let submitted = crate::http::db(&ctx.state, move |conn, env| {
        // A form sent twice files one claim.
        let retries = intake::Retries {
            key: None,
            window_ms,
        };
        intake::submit(conn, env, &user, &input, retries, crate::store::now_ms())
    })
    .await;
    match submitted {
        // The counter goes on to the case, where it adds the documents.
        Ok(done) if applicant.is_some() => {
            Ok(see_other(&format!("/cases/{}#docs-h", done.case_id)))
        }
        Ok(done) => Ok(see_other(&format!("/my/claims/{}", done.claim_id))),
        Err(AppError::Validation(fields)) => {
            let map = ctx.field_messages(fields, |f| form_field(f).to_string());
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            new_claim_page(ctx, &form, applicant.as_ref(), map, status)
        }
        Err(AppError::Rule(rule)) if !rule.fields.is_empty() => {
            let map = ctx.rule_errors(&rule, |f| form_field(f).to_string());
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            new_claim_page(ctx, &form, applicant.as_ref(), map, status)
        }
        Err(e) => Err(ctx.fail(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_fields_map_to_form_fields() {
        assert_eq!(form_field("total_fen"), "total");
        assert_eq!(form_field("invoice_numbers[2]"), "invoice_numbers");
        assert_eq!(form_field("facts.emergency.place"), "place");
        assert_eq!(form_field("admission_date"), "admission_date");
    }

    #[test]
    fn a_form_becomes_claim_input_with_exact_fen() {
        let form = NewClaimForm {
            family: "trauma".into(),
            encounter_kind: "inpatient".into(),
            invoice_numbers: "A1， A2,A3".into(),
            total: "12,500.5".into(),
            policy_scope: "10000".into(),
            self_paid: "0.07".into(),
            attending_doctor: " d330-017 ".into(),
            ..Default::default()
        };
        let input = to_input(&form).unwrap();
        assert_eq!(input.attending_doctor.as_deref(), Some("d330-017"));
        assert_eq!(
            (input.total_fen, input.policy_scope_fen, input.self_paid_fen),
            (1_250_050, 1_000_000, 7)
        );
        assert_eq!(input.invoice_numbers, ["A1", "A2", "A3"]);
        let bad = NewClaimForm {
            total: "12.345".into(),
            ..form
        };
        assert_eq!(to_input(&bad).unwrap_err()[0].0, "total");
    }
}
