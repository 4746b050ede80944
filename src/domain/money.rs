//! Money is integer fen. Arithmetic that needs ratios goes through `Decimal` and is rounded
//! half-up to the fen explicitly (handbook §6: 四舍五入).
use crate::domain::message::Msg;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

/// No single amount the service accepts exceeds this (90 million yuan), whatever
/// `max_claim_yuan` says: a billion such amounts still sum inside an i64.
pub const CEILING_FEN: i64 = 9_000_000_000;

/// Year-to-date and other running totals are accepted up to this: a million amounts at the
/// ceiling, so that adding one more amount to such a total cannot overflow.
pub const TOTAL_CEILING_FEN: i64 = CEILING_FEN * 1_000_000;

/// Sums fen widened to i128, so no count of amounts overflows, then saturated back to i64.
pub fn sum_fen(amounts: impl IntoIterator<Item = i64>) -> i64 {
    Fen::saturating(amounts.into_iter().map(i128::from).sum()).0
}

/// An amount a user typed: 0 to the ceiling, or a message saying which way it is wrong.
pub fn check_amount(fen: i64) -> Result<Fen, Msg> {
    if fen < 0 {
        Err(Msg::new("field-negative"))
    } else if fen > CEILING_FEN {
        Err(Msg::new("field-amount-at-most").fen("max", CEILING_FEN))
    } else {
        Ok(Fen(fen))
    }
}

impl Fen {
    pub const ZERO: Fen = Fen(0);

    /// A widened total brought back to fen, saturating at the ends of i64.
    pub fn saturating(total: i128) -> Fen {
        Fen(i64::try_from(total).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX }))
    }

    pub fn to_yuan(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// Rounds a yuan amount half-up (away from zero at .5) to the fen.
    pub fn from_yuan_half_up(yuan: Decimal) -> Option<Fen> {
        let fen = (yuan * Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        i64::try_from(fen).ok().map(Fen)
    }

    /// `self × ratio`, rounded half-up to the fen.
    pub fn times_ratio(self, ratio: Decimal) -> Fen {
        let product = (Decimal::from(self.0) * ratio)
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        Fen(i64::try_from(product).unwrap_or(i64::MAX))
    }
}

impl Fen {
    /// Yuan for people: thousands separated, two decimals (`12,345.60`).
    pub fn yuan_text(self) -> String {
        let cents = self.0.unsigned_abs();
        let whole = (cents / 100).to_string();
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, ch) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}{grouped}.{:02}", cents % 100)
    }
}

/// For people: as [`Fen::yuan_text`], so that every text built with `{}` groups the
/// thousands. Files for machines (the bank file, CSV cells) write [`Fen::to_yuan`] instead.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.yuan_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounds_half_up_to_the_fen() {
        assert_eq!(Fen::from_yuan_half_up(dec!(1.005)), Some(Fen(101)));
        assert_eq!(Fen::from_yuan_half_up(dec!(1.004)), Some(Fen(100)));
        assert_eq!(Fen(333).times_ratio(dec!(0.5)), Fen(167));
        assert_eq!(Fen(12345).to_string(), "123.45");
        assert_eq!(Fen(1_234_500).to_string(), "12,345.00");
        assert_eq!(Fen(1_234_500).to_yuan().to_string(), "12345.00");
        assert_eq!(Fen(123_456_789).yuan_text(), "1,234,567.89");
        assert_eq!(Fen(5).yuan_text(), "0.05");
        assert_eq!(Fen(-100_000).yuan_text(), "-1,000.00");
        assert_eq!(Fen(i64::MIN).yuan_text(), "-92,233,720,368,547,758.08");
    }
}
