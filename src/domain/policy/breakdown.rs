//! What the calculator answers: the year-to-date totals it reads and moves, the steps of a
//! breakdown with their keys and sentences, and the one bill the layers end in.
use crate::domain::money::Fen;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What this person has already been paid under this policy this year.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct YearToDate {
    /// Policy-scope cost already counted against the annual inpatient limit.
    pub scope_fen: i64,
    pub over_limit_paid_fen: i64,
    pub outpatient_paid_fen: i64,
    /// Everything paid, for an annual payout maximum.
    pub paid_fen: i64,
    /// Policy-scope out-of-pocket left after the basic layer, accumulated for the
    /// catastrophic threshold.
    pub catastrophic_base_fen: i64,
    pub catastrophic_paid_fen: i64,
    pub assistance_paid_fen: i64,
}

impl YearToDate {
    /// The totals once a decision granting `decided` of basic insurance on breakdown
    /// `after` (the calculator's totals) is recorded: layers above the basic one are
    /// attributed to what was decided, never more.
    pub fn after_decision(before: YearToDate, after: YearToDate, decided: i64) -> YearToDate {
        YearToDate {
            scope_fen: after.scope_fen,
            over_limit_paid_fen: after
                .over_limit_paid_fen
                .min(before.over_limit_paid_fen + decided),
            outpatient_paid_fen: after
                .outpatient_paid_fen
                .min(before.outpatient_paid_fen + decided),
            paid_fen: before.paid_fen + decided,
            ..after
        }
    }

    fn zip(self, other: YearToDate, f: impl Fn(i64, i64) -> i64) -> YearToDate {
        YearToDate {
            scope_fen: f(self.scope_fen, other.scope_fen),
            over_limit_paid_fen: f(self.over_limit_paid_fen, other.over_limit_paid_fen),
            outpatient_paid_fen: f(self.outpatient_paid_fen, other.outpatient_paid_fen),
            paid_fen: f(self.paid_fen, other.paid_fen),
            catastrophic_base_fen: f(self.catastrophic_base_fen, other.catastrophic_base_fen),
            catastrophic_paid_fen: f(self.catastrophic_paid_fen, other.catastrophic_paid_fen),
            assistance_paid_fen: f(self.assistance_paid_fen, other.assistance_paid_fen),
        }
    }

    /// Field by field `self - other`, never below zero.
    pub fn minus(self, other: YearToDate) -> YearToDate {
        self.zip(other, |a, b| (a - b).max(0))
    }
}

/// The one bill (一单结算): what each layer paid and what is left to the resident; the parts
/// add up to the total cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Bill {
    pub total_fen: i64,
    pub policy_scope_fen: i64,
    /// Basic insurance (the fund).
    pub fund_fen: i64,
    /// Catastrophic insurance (大病保险, paid by the insurer).
    pub catastrophic_fen: i64,
    /// Medical assistance (医疗救助).
    pub assistance_fen: i64,
    /// What the resident pays.
    pub self_pay_fen: i64,
    /// The group whose catastrophic rule was used (就高), if not the general one.
    pub catastrophic_group: Option<String>,
    pub assistance_group: Option<String>,
}

impl Bill {
    /// What the resident is reimbursed: all three layers.
    pub fn reimbursed_fen(&self) -> i64 {
        self.fund_fen + self.catastrophic_fen + self.assistance_fen
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Step {
    pub code: String,
    /// Where the number came from: a policy-file key or a request field.
    pub key: String,
    /// The running payout (or the amount the step is about) after this step, in fen.
    pub amount_fen: i64,
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Breakdown {
    pub policy: String,
    /// What basic insurance (the fund) pays.
    pub payable_fen: i64,
    pub steps: Vec<Step>,
    pub ytd_after: YearToDate,
    #[serde(default)]
    pub bill: Bill,
}

pub(super) fn pct(r: Decimal) -> String {
    format!("{}%", (r * Decimal::ONE_HUNDRED).normalize())
}

/// The steps of one calculation. With `explain` off their texts are left empty and never
/// formatted: a replay reads only codes, keys and amounts, and the texts were most of its time.
pub(super) struct Steps {
    pub(super) steps: Vec<Step>,
    pub(super) explain: bool,
}

impl Steps {
    pub(super) fn add(
        &mut self,
        code: &str,
        key: impl Into<String>,
        amount: Fen,
        text: impl FnOnce() -> (String, String),
    ) {
        let (zh, en) = match self.explain {
            true => text(),
            false => (String::new(), String::new()),
        };
        self.steps.push(Step {
            code: code.into(),
            key: key.into(),
            amount_fen: amount.0,
            zh,
            en,
        });
    }
}
