//! Money is integer fen. Arithmetic that needs ratios goes through `Decimal` and is rounded
//! half-up to the fen explicitly (handbook §6: 四舍五入).
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

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

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_yuan())
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
    }
}
