//! Insured persons: the resident identity number (GB 11643-1999) validated on construction.
use crate::domain::message::Msg;
use chrono::NaiveDate;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumber(String);

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

impl IdNumber {
    /// 18 characters: 6-digit region, 8-digit birth date, 3-digit sequence, check digit.
    pub fn parse(raw: &str) -> Result<IdNumber, Msg> {
        let s = raw.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18 {
            return Err(Msg::new("id-length").count("got", b.len() as i64));
        }
        if !b[..17].iter().all(u8::is_ascii_digit) {
            return Err(Msg::new("id-digits"));
        }
        let sum: u32 = b[..17]
            .iter()
            .zip(WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        let expected = CHECK[(sum % 11) as usize];
        if b[17] != expected {
            return Err(Msg::new("id-check-digit")
                .text("got", (b[17] as char).to_string())
                .text("expected", (expected as char).to_string()));
        }
        NaiveDate::parse_from_str(&s[6..14], "%Y%m%d")
            .map_err(|_| Msg::new("id-birth-date").text("value", &s[6..14]))?;
        Ok(IdNumber(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").expect("checked in parse")
    }

    /// 'M' or 'F', from the parity of the 17th digit.
    pub fn sex(&self) -> char {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            'M'
        } else {
            'F'
        }
    }

    /// For lists: keep the region and the last two characters.
    pub fn masked(&self) -> String {
        format!("{}************{}", &self.0[..4], &self.0[16..])
    }

    /// A person as a reviewer's finding names them: the name and the masked number.
    pub fn label(name: &str, id_number: &str) -> String {
        match IdNumber::parse(id_number) {
            Ok(id) => format!("{name}（{}）", id.masked()),
            Err(_) => name.to_string(),
        }
    }

    /// Appends the right check digit to 17 digits (for generators and tests).
    pub fn with_check_digit(first17: &str) -> String {
        let sum: u32 = first17
            .bytes()
            .zip(WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        format!("{first17}{}", CHECK[(sum % 11) as usize] as char)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_the_check_digit_and_birth_date() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap()
        );
        assert_eq!(id.sex(), 'F');
        assert!(IdNumber::parse("110105194912310021").is_err_and(|e| e.code == "id-check-digit"));
        assert!(IdNumber::parse("11010519491331002X").is_err(), "month 13");
        assert!(IdNumber::parse("1101051949").is_err());
        let made = IdNumber::with_check_digit("33032619850612001");
        assert!(IdNumber::parse(&made).is_ok(), "{made}");
        assert_eq!(
            IdNumber::parse(&made).unwrap().masked(),
            format!("3303************{}", &made[16..])
        );
    }
}
