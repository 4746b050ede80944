//! Claim intake. A filing is planned first (every read and check: the person, the facility,
//! coverage, the price, duplicate invoices, screening, the findings) and written after, the
//! claim, its invoices, its case with the first audit event and its findings in one
//! transaction. A bulk import plans a whole batch before it writes any of it.
use super::cases::{self, OpenCase};
use super::lookups::{InvoiceUses, RegistryReads};
use super::pricing::{self, ClaimContext, Totals};
use super::Env;
use crate::auth::Principal;
use crate::definitions::Definitions;
use crate::domain::case::Subject;
use crate::domain::claim::{
    self as claim_domain, Amounts, Claim, ClaimInput, EncounterKind, NO_DOCUMENTS,
};
use crate::domain::eligibility::Eligibility;
use crate::domain::person::IdNumber;
use crate::domain::policy::Breakdown;
use crate::domain::roles::Role;
use crate::domain::screening::{invoice_key, risk_score, Hit, HitAction};
use crate::domain::workflow::{CaseFacts, Workflow};
use crate::error::Msg;
use crate::error::{AppError, AppResult};
use crate::store::claims::{self as claim_store, NewClaimRecord, NewInvoice};
use crate::store::findings::{self as findings_store, NewFinding};
use crate::store::persons;
use crate::store::regions::Region;
use crate::store::{self, DbConn, IdTable};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub struct Submitted {
    pub claim_id: i64,
    pub case_id: i64,
    /// True when an earlier request with the same Idempotency-Key created it.
    pub replayed: bool,
    /// The claim was recorded and refused at once (`action = "reject"` in the screening
    /// rules), its case closed with the findings saying why.
    pub refused: bool,
}

fn request_hash(input: &ClaimInput) -> AppResult<String> {
    let body = serde_json::to_vec(input).map_err(anyhow::Error::from)?;
    Ok(hex::encode(Sha256::digest(&body)))
}

/// One claim being filed: by whom, in which role, for whom, on which workflow.
pub struct Filing<'a> {
    pub p: &'a Principal,
    pub role: Role,
    pub claim: &'a Claim,
    /// The insured person's ID number, when a clerk files on their behalf.
    pub id_number: Option<&'a str>,
    pub workflow: &'a Arc<Workflow>,
    pub now_ms: i64,
}

/// How a repeated submission is recognised: by the client's `Idempotency-Key`, or, without
/// one, as the same body from the same user within `window_ms` (an honest retry: a form sent
/// twice, a request resent after a timeout).
#[derive(Debug, Clone, Copy)]
pub struct Retries<'a> {
    pub key: Option<&'a str>,
    /// 0: without a key nothing is taken for a retry.
    pub window_ms: i64,
}

impl Retries<'_> {
    /// No key and no window: every submission is new (seeding, imports of distinct claims).
    pub const NONE: Retries<'static> = Retries {
        key: None,
        window_ms: 0,
    };
}

/// Submits a claim through the API or the pages: checked, planned and written, the resident
/// told, the case auto-assigned. A repeat (see [`Retries`]) replays the first result, so an
/// honest retry opens no second case and no duplicate-invoice finding against the resident.
pub fn submit(
    conn: &mut DbConn,
    env: Env<'_>,
    p: &Principal,
    input: &ClaimInput,
    retries: Retries<'_>,
    now_ms: i64,
) -> AppResult<Submitted> {
    let idempotency_key = retries.key;
    let role = p.require_any(&[Role::Resident, Role::Clerk])?;
    let claim = Claim::parse(input, env.max_claim_fen).map_err(AppError::Validation)?;
    if let Some(key) = idempotency_key {
        if key.is_empty() || key.len() > 200 {
            return Err(AppError::field(
                "Idempotency-Key",
                Msg::new("field-length").count("min", 1).count("max", 200),
            ));
        }
    }
    let hash = request_hash(input)?;
    let workflow = env.defs.latest(claim.family.as_str()).ok_or_else(|| {
        AppError::field(
            "family",
            Msg::new("field-no-workflow").text("family", claim.family.as_str()),
        )
    })?;
    let filing = Filing {
        p,
        role,
        claim: &claim,
        id_number: input.id_number.as_deref(),
        workflow: &workflow,
        now_ms,
    };
    // Without a key, the body itself is the key, honoured within the window.
    let implicit = format!("retry:{hash}");
    let (key, window_ms) = match idempotency_key {
        Some(key) => (Some(key), None),
        None if retries.window_ms > 0 => (Some(implicit.as_str()), Some(retries.window_ms)),
        None => (None, None),
    };
    conn.write_tx(|conn| {
        if let Some(key) = key {
            if let Some((seen_hash, claim_id, case_id, at_ms)) =
                claim_store::idempotent(conn, p.user_id, key)?
            {
                let fresh = window_ms.is_none_or(|w| now_ms - at_ms <= w);
                if seen_hash == hash && fresh {
                    let refused = super::scope::load(conn, case_id)?.outcome.is_some();
                    return Ok(Submitted {
                        claim_id,
                        case_id,
                        replayed: true,
                        refused,
                    });
                }
                if seen_hash != hash {
                    return Err(AppError::Conflict(Msg::new("conflict-idempotency")));
                }
            }
        }
        let done = intake(conn, env.defs, &mut super::lookups::Direct, &filing)?;
        // Submissions through the API tell the resident; bulk imports of old paper claims
        // do not (they go through `intake` without this).
        let case = super::scope::load(conn, done.case_id)?;
        let letter = super::notify::Letter {
            template: "claim_received",
            dedupe: "",
            extra: json!({}),
        };
        super::notify::to_resident(conn, env, &case, letter, now_ms)?;
        if done.refused {
            // The refusal's letter: the decision and its reason, as any rejection.
            let decision = claim_store::get(conn, done.claim_id)?.and_then(|c| c.decision);
            let details = json!({ "decision": decision });
            cases::tell_resident(conn, env, &case, &details, now_ms)?;
        } else {
            super::assignment::auto_assign(conn, env, done.case_id, now_ms)?;
        }
        if let Some(key) = key {
            claim_store::remember_idempotent(
                conn,
                p.user_id,
                key,
                &hash,
                done.claim_id,
                done.case_id,
                now_ms,
            )?;
        }
        Ok(done)
    })
}

/// A claim with every read and check done and nothing written yet: what
/// [`write_intakes`] stores. Splitting the two lets a bulk import reject a row before it
/// writes anything, so it needs no savepoint per row.
pub struct IntakePlan {
    /// 0 until [`IntakePlan::assign_ids`].
    pub claim_id: i64,
    pub case_id: i64,
    pub claim: Claim,
    pub person_id: i64,
    /// The resident's account, when the person has one.
    pub owner_user_id: Option<i64>,
    pub policy_name: Option<String>,
    pub breakdown: Option<Breakdown>,
    /// Earlier claims carrying each invoice number.
    pub duplicates: Vec<InvoiceUses>,
    /// Who the claim is for, as later plans of a batch are checked against it.
    pub claimant: Claimant,
    region: Region,
    submitted_by: i64,
    role: Role,
    workflow: Arc<Workflow>,
    screening_hits: i64,
    /// The weights of the rules hit (0-100): the investigation queue's order.
    risk_score: i64,
    /// A hit refuses the claim outright: recorded, and its case closed as rejected.
    pub refused: bool,
    findings: Vec<NewFinding>,
}

/// The insured person a plan is for, as the duplicate and household checks of the plans
/// after it in a batch read them.
#[derive(Debug, Clone)]
pub struct Claimant {
    pub name: String,
    pub id_number: String,
    pub household: String,
}

impl IntakePlan {
    /// Why the claim is refused at once, in zh and en (the refusing hits' findings), or
    /// `None` when it goes to review.
    pub fn refusal(&self) -> Option<(String, String)> {
        if !self.refused {
            return None;
        }
        let (zh, en): (Vec<&str>, Vec<&str>) = self
            .findings
            .iter()
            .filter(|f| f.severity == "error" && f.code != "not_eligible")
            .map(|f| (f.zh.as_str(), f.en.as_str()))
            .unzip();
        Some((zh.join("；"), en.join("; ")))
    }

    /// Gives the claim and its case the ids they will be written under (reserved with
    /// [`crate::store::reserve_ids`]).
    pub fn assign_ids(&mut self, claim_id: i64, case_id: i64) {
        self.claim_id = claim_id;
        self.case_id = case_id;
    }

    fn facts(&self) -> CaseFacts {
        let amounts = Amounts {
            payable_fen: self.breakdown.as_ref().map_or(0, |b| b.payable_fen),
            decided_fen: 0,
        };
        CaseFacts {
            screening_hits: self.screening_hits,
            ..claim_domain::facts(&self.claim, amounts, NO_DOCUMENTS, &[], &self.workflow)
        }
    }
}

/// The intake path inside the caller's transaction: plan, reserve ids, write.
pub fn intake(
    conn: &mut DbConn,
    defs: &Definitions,
    reads: &mut dyn RegistryReads,
    filing: &Filing<'_>,
) -> AppResult<Submitted> {
    let mut plan = plan_intake(conn, defs, reads, filing)?;
    let claim_id = store::reserve_ids(conn, IdTable::Claims, 1)?[0];
    let case_id = store::reserve_ids(conn, IdTable::Cases, 1)?[0];
    plan.assign_ids(claim_id, case_id);
    let refused = plan.refused;
    write_intakes(conn, defs, filing.p, &[plan], filing.now_ms)?;
    Ok(Submitted {
        claim_id,
        case_id,
        replayed: false,
        refused,
    })
}

/// The insured person a filing is for: the resident's own, or the one a clerk names, in
/// the clerk's region.
fn person_of(
    conn: &mut DbConn,
    reads: &mut dyn RegistryReads,
    filing: &Filing<'_>,
) -> AppResult<(persons::Person, Region)> {
    let person = match filing.role {
        Role::Resident => persons::by_user(conn, filing.p.user_id)?
            .ok_or_else(|| AppError::field("id_number", Msg::new("field-account-not-linked")))?,
        _ => {
            let id = filing
                .id_number
                .ok_or_else(|| AppError::field("id_number", Msg::new("field-clerk-needs-id")))?;
            let id = IdNumber::parse(id).map_err(|e| AppError::field("id_number", e))?;
            reads
                .person(conn, id.as_str())?
                .ok_or_else(|| AppError::field("id_number", Msg::new("field-no-person")))?
        }
    };
    let region = reads.region(conn, &person.region_code)?;
    // A person registered outside the clerk's region reads like an unknown ID number.
    if filing.role == Role::Clerk && !filing.p.covers_region(&region.path) {
        return Err(AppError::field("id_number", Msg::new("field-no-person")));
    }
    Ok((person, region))
}

/// Care at a facility while its designation was suspended, or after it was terminated, is
/// not paid: the claim is refused at intake, saying why.
fn refuse_undesignated(claim: &Claim, ctx: &ClaimContext) -> AppResult<()> {
    let Some((day, status)) = crate::domain::facility::first_undesignated_day(
        &ctx.history,
        claim.admission_date,
        claim.discharge_date,
    ) else {
        return Ok(());
    };
    let (zh, en) = match status.as_str() {
        "suspended" => ("暂停医保服务", "suspended from the fund"),
        "terminated" => (
            "已解除医保服务协议",
            "no longer designated: its agreement was terminated",
        ),
        _ => ("不是医保定点机构", "not a designated facility"),
    };
    Err(AppError::rule_on_msg(
        "facility_code",
        "facility_not_designated",
        Msg::new("rule-facility-not-designated")
            .text("facility", ctx.facility.name.as_str())
            .text("day", day.to_string())
            .both("status", zh, en),
    ))
}

/// An error finding when the person's direct settlement was suspended (Order 735 Art. 41)
/// on the service dates: the claim is gated until sign-off overrides it.
fn person_suspended(
    conn: &mut DbConn,
    claim: &Claim,
    ctx: &ClaimContext,
) -> AppResult<Option<NewFinding>> {
    let from = claim.admission_date.to_string();
    let to = claim.discharge_date.to_string();
    let over = crate::store::supervision::person_suspensions_over(conn, ctx.person.id, &from, &to)?;
    Ok(over.first().map(|(starts, ends, violation_id)| NewFinding {
        code: "person_suspended",
        severity: "error",
        zh: format!("参保人因违规暂停医保结算（{starts} 至 {ends}），本申请的就诊日期在此期间"),
        en: format!("The insured person's settlement is suspended from {starts} to {ends}; this claim falls inside it"),
        evidence: json!({ "violation_id": violation_id, "from": starts, "until": ends }),
    }))
}

/// The reading half of intake: who, where, eligibility, the price, duplicates, findings.
pub fn plan_intake(
    conn: &mut DbConn,
    defs: &Definitions,
    reads: &mut dyn RegistryReads,
    filing: &Filing<'_>,
) -> AppResult<IntakePlan> {
    let claim = filing.claim;
    let (person, region) = person_of(conn, reads, filing)?;
    let ctx = pricing::context(conn, reads, person, &claim.facility_code)?;
    refuse_undesignated(claim, &ctx)?;
    let eligibility = pricing::eligibility_of(conn, reads, claim, &ctx)?;
    let priced = pricing::price(conn, defs, reads, claim, &ctx, &[], Totals::Read)?;
    let (policy_name, breakdown) = match priced {
        Some((pricing, breakdown)) => (Some(pricing.policy), Some(breakdown)),
        None => (None, None),
    };
    // Earlier uses of each invoice, compared on its normal form (case, punctuation and
    // leading zeros retyped are the same invoice).
    let mut duplicates = Vec::with_capacity(claim.invoice_numbers.len());
    for invoice in &claim.invoice_numbers {
        let key = invoice_key(invoice);
        let mut uses = claim_store::claims_with_invoice_key(conn, &key, 0)?;
        uses.extend_from_slice(reads.pending_invoice_uses(&key));
        duplicates.push((invoice.clone(), uses));
    }
    let hits = super::screening::at_intake(conn, defs, reads, claim, &ctx, &duplicates)?;
    let rules = defs.screening();
    let refused = rules.rejects(&hits);
    let mut findings = intake_findings(
        defs,
        claim,
        &ctx,
        filing.workflow,
        eligibility.as_ref(),
        &hits,
    );
    findings.extend(person_suspended(conn, claim, &ctx)?);
    // A hit that calls for investigation routes the claim there instead of the normal review;
    // a refused claim stays on its family's workflow, where it is closed at once.
    let workflow = match !refused && rules.investigates(&hits) {
        true => defs
            .latest(super::screening::INVESTIGATION)
            .unwrap_or_else(|| {
                tracing::warn!(
                    "workflow `{}` is not published; the suspect claim goes to normal review",
                    super::screening::INVESTIGATION
                );
                filing.workflow.clone()
            }),
        false => filing.workflow.clone(),
    };
    Ok(IntakePlan {
        claim_id: 0,
        case_id: 0,
        claim: claim.clone(),
        person_id: ctx.person.id,
        owner_user_id: ctx.person.user_id,
        claimant: Claimant {
            name: ctx.person.name.clone(),
            id_number: ctx.person.id_number.clone(),
            household: ctx.person.household.clone(),
        },
        policy_name,
        breakdown,
        duplicates,
        region,
        submitted_by: filing.p.user_id,
        role: filing.role,
        workflow,
        screening_hits: hits.len() as i64,
        risk_score: i64::from(risk_score(rules, &hits)),
        refused,
        findings,
    })
}

/// Intake checks (handbook §3-6) and the screening hits, each a finding on the case. Pure:
/// the caller supplies the eligibility and the hits.
pub fn intake_findings(
    defs: &Definitions,
    claim: &Claim,
    ctx: &ClaimContext,
    workflow: &Workflow,
    eligibility: Option<&Eligibility>,
    hits: &[Hit],
) -> Vec<NewFinding> {
    let mut findings = Vec::new();
    if let Some(e) = eligibility.filter(|e| !e.covered) {
        findings.push(NewFinding { code: "not_eligible", severity: "error", zh: e.zh.clone(), en: e.en.clone(), evidence: json!({ "reason": e.code, "service_date": claim.admission_date, "covered_from": e.covered_from }) });
    }
    for hit in hits {
        let investigate = defs
            .screening()
            .info(hit.code)
            .is_some_and(|r| r.action != HitAction::Flag);
        findings.push(NewFinding {
            code: hit.code.as_str(),
            severity: if investigate { "error" } else { "warning" },
            zh: hit.zh.clone(),
            en: hit.en.clone(),
            evidence: hit.evidence.clone(),
        });
    }
    let facts = claim_domain::facts(claim, Amounts::default(), NO_DOCUMENTS, &[], workflow);
    let missing: Vec<&str> = workflow.required_documents(&facts);
    if !missing.is_empty() {
        findings.push(NewFinding {
            code: "documents_missing",
            severity: "info",
            zh: format!("受理时缺少材料 {} 项，补齐前不能通过受理", missing.len()),
            en: format!(
                "{} required documents were missing at submission; intake waits for them",
                missing.len()
            ),
            evidence: json!({ "missing": missing }),
        });
    }
    let policy = defs.policy_for_stay(
        &ctx.person_region_path,
        claim.admission_date,
        claim.service_end(),
    );
    if claim.encounter_kind == EncounterKind::Outpatient && !claim.facts.settled_in_real_time {
        if let Some(p) = policy.filter(|p| p.outpatient.as_ref().is_some_and(|o| o.real_time_only))
        {
            findings.push(NewFinding {
                code: "outpatient_not_real_time",
                severity: "warning",
                zh: "未实时结算的门诊费用原则上不予支付".into(),
                en: "Outpatient costs not settled in real time are in principle not paid".into(),
                evidence: json!({ "policy": p.name }),
            });
        }
    }
    if policy.is_none() {
        findings.push(NewFinding {
            code: "no_policy",
            severity: "warning",
            zh: format!(
                "参保地（{}）在 {} 没有适用的待遇政策，无法计算支付额，请由管理员发布该年度政策",
                ctx.person.region_code,
                claim.service_end()
            ),
            en: format!(
                "No benefit policy applies to the insured's region ({}) on {}: the amount cannot be priced until an admin publishes that year's policy",
                ctx.person.region_code,
                claim.service_end()
            ),
            evidence: json!({ "region": ctx.person.region_code, "date": claim.discharge_date }),
        });
    }
    findings
}

/// The writing half of intake for plans with their ids assigned: the claims, their
/// invoices, the cases with their first events and the findings, each as multi-row
/// statements. Fails only if the database does.
pub fn write_intakes(
    conn: &mut DbConn,
    defs: &Definitions,
    p: &Principal,
    plans: &[IntakePlan],
    now_ms: i64,
) -> AppResult<()> {
    let claims: Vec<NewClaimRecord<'_>> = plans
        .iter()
        .map(|plan| {
            debug_assert!(plan.claim_id > 0 && plan.case_id > 0, "ids not assigned");
            NewClaimRecord {
                id: plan.claim_id,
                resident_user_id: plan.owner_user_id,
                submitted_by: plan.submitted_by,
                person_id: Some(plan.person_id),
                region_code: &plan.region.code,
                created_at: now_ms,
                claim: &plan.claim,
                policy_name: plan.policy_name.as_deref(),
                payable_fen: plan.breakdown.as_ref().map(|b| b.payable_fen),
                breakdown: plan.breakdown.as_ref(),
            }
        })
        .collect();
    claim_store::insert_all(conn, &claims)?;
    let invoices: Vec<NewInvoice<'_>> = plans
        .iter()
        .flat_map(|plan| {
            plan.claim.invoice_numbers.iter().map(|number| NewInvoice {
                invoice_number: number,
                invoice_key: invoice_key(number),
                facility_code: &plan.claim.facility_code,
                claim_id: plan.claim_id,
                person_id: Some(plan.person_id),
            })
        })
        .collect();
    claim_store::insert_invoices(conn, &invoices)?;
    let case_facts: Vec<CaseFacts> = plans.iter().map(IntakePlan::facts).collect();
    let opens: Vec<(i64, OpenCase<'_>)> = plans
        .iter()
        .zip(&case_facts)
        .map(|(plan, facts)| {
            let open = OpenCase {
                calendar: defs.calendar_for(&plan.region.path),
                subject: Subject::Claim(plan.claim_id),
                workflow: &plan.workflow,
                region: &plan.region,
                org: &p.org,
                owner_user_id: plan.owner_user_id,
                facts,
                actor: p,
                actor_role: plan.role,
                now_ms,
                risk_score: plan.risk_score,
            };
            (plan.case_id, open)
        })
        .collect();
    cases::open_all(conn, &opens)?;
    findings_store::insert_all(
        conn,
        plans
            .iter()
            .flat_map(|plan| plan.findings.iter().map(|f| (plan.case_id, f))),
        now_ms,
    )?;
    for plan in plans.iter().filter(|plan| plan.refused) {
        let why = "同一发票已由另一参保人报销，系统受理时拒付 / the invoice was already claimed by another insured person: refused at intake";
        cases::refuse_at_intake(conn, defs, plan.case_id, why, now_ms)?;
        // A hospital-first workflow opened the facility's task with the case: it is over.
        crate::store::facility_side::close_tasks(
            conn,
            plan.case_id,
            cases::REFUSED_AT_INTAKE,
            None,
            now_ms,
        )?;
    }
    Ok(())
}
