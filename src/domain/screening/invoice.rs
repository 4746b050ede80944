//! Invoices: one invoice is paid once. Numbers are compared on a normal form, so that a
//! copy retyped with other case, spaces, punctuation or leading zeros is the same invoice,
//! while a neighbouring number (the next invoice of the pad) is not.
use super::{Hit, RuleCode, ScreeningRules};
use serde_json::json;

/// Another claim carrying one of this claim's invoices (by its normal form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceUse<'a> {
    /// The invoice number as this claim carries it.
    pub invoice: &'a str,
    pub claim_id: i64,
    pub facility: &'a str,
    pub person_id: Option<i64>,
    /// Who filed it, as a reviewer may read it: name and masked ID number.
    pub holder: &'a str,
}

/// The normal form of an invoice number: letters upper-cased, everything but letters and
/// digits dropped, and each run of digits without its leading zeros (a run of zeros is
/// one zero). `py2019-000123`, `PY 2019 123` and `PY2019/123` are one invoice; `PY2019-124`
/// is another.
pub fn invoice_key(number: &str) -> String {
    let mut out = String::with_capacity(number.len());
    let mut in_digits = false;
    let mut leading_zero = false;
    for c in number.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                in_digits = true;
                leading_zero = c == '0';
                if !leading_zero {
                    out.push(c);
                }
                continue;
            }
            if leading_zero && c == '0' {
                continue;
            }
            leading_zero = false;
            out.push(c);
        } else if c.is_alphanumeric() {
            if in_digits && leading_zero {
                out.push('0');
            }
            in_digits = false;
            leading_zero = false;
            out.extend(c.to_uppercase());
        } else if in_digits && leading_zero {
            // A zero run ends here: it was the number 0.
            out.push('0');
            in_digits = false;
            leading_zero = false;
        } else {
            in_digits = false;
        }
    }
    if in_digits && leading_zero {
        out.push('0');
    }
    out
}

/// The invoice rules: the same invoice claimed again by the same person (investigated), or
/// by another person (refused at once, naming both).
pub fn check(rules: &ScreeningRules, with: &super::Against<'_>, out: &mut Vec<Hit>) {
    let uses = with.invoice_uses;
    let mut i = 0;
    while i < uses.len() {
        let invoice = uses[i].invoice;
        let end = uses[i..]
            .iter()
            .position(|u| u.invoice != invoice)
            .map_or(uses.len(), |n| i + n);
        let group = &uses[i..end];
        i = end;
        let claims = group
            .iter()
            .map(|u| json!({ "claim_id": u.claim_id, "facility": u.facility, "person_id": u.person_id }))
            .collect::<Vec<_>>();
        let others: Vec<&InvoiceUse<'_>> = group
            .iter()
            .filter(|u| u.person_id != with.person_id)
            .collect();
        if let (Some(first), true) = (others.first(), rules.enabled(RuleCode::InvoiceOtherPerson)) {
            out.push(Hit {
                code: RuleCode::InvoiceOtherPerson,
                zh: format!(
                    "发票 {invoice} 已由另一参保人 {}（参保人 #{}）在申请 #{} 中报销；本次申请人为 {}（参保人 #{}）",
                    first.holder,
                    first.person_id.unwrap_or(0),
                    first.claim_id,
                    with.claimant,
                    with.person_id.unwrap_or(0)
                ),
                en: format!(
                    "Invoice {invoice} was already claimed by another insured person, {} (person #{}, claim #{}); this claimant is {} (person #{})",
                    first.holder,
                    first.person_id.unwrap_or(0),
                    first.claim_id,
                    with.claimant,
                    with.person_id.unwrap_or(0)
                ),
                evidence: json!({ "invoice": invoice, "key": invoice_key(invoice), "claimant_person_id": with.person_id,
                    "other_person_ids": others.iter().map(|u| u.person_id).collect::<Vec<_>>(), "claims": claims }),
            });
            continue;
        }
        if rules.enabled(RuleCode::DuplicateInvoice) {
            out.push(Hit {
                code: RuleCode::DuplicateInvoice,
                zh: format!("发票 {invoice} 已在本人的申请 #{} 中报销", group[0].claim_id),
                en: format!(
                    "Invoice {invoice} is already claimed by the same person (claim #{})",
                    group[0].claim_id
                ),
                evidence: json!({ "invoice": invoice, "key": invoice_key(invoice), "other_person": false, "claims": claims }),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::screening::fixtures::*;

    #[test]
    fn an_invoice_is_the_same_however_it_is_typed_but_its_neighbour_is_not() {
        let key = invoice_key("PY2019-000123");
        for same in [
            "py2019-000123",
            "PY 2019 123",
            "PY2019/0123",
            " py2019.000123 ",
        ] {
            assert_eq!(invoice_key(same), key, "{same}");
        }
        for other in [
            "PY2019-000124",
            "PY2019-1230",
            "PY2018-000123",
            "PZ2019-000123",
        ] {
            assert_ne!(invoice_key(other), key, "{other}");
        }
        assert_eq!(invoice_key("A-000-B"), "A0B");
        assert_eq!(invoice_key("00012"), "12");
        assert_eq!(invoice_key("0"), "0");
    }

    #[test]
    fn the_same_person_is_investigated_another_is_refused() {
        let h = designated();
        let c = claim(stay(2, "F1", "2019-03-01", "2019-03-05"));
        let mine = [InvoiceUse {
            invoice: "INV1",
            claim_id: 1,
            facility: "F2",
            person_id: Some(1),
            holder: "张三（3303************11）",
        }];
        let with = Against {
            invoice_uses: &mine,
            ..against(&h, &[], person("M", "1970-05-05"))
        };
        assert_eq!(codes(&c, &with), vec![RuleCode::DuplicateInvoice]);
        let theirs = [InvoiceUse {
            person_id: Some(9),
            holder: "王五（3303************99）",
            ..mine[0].clone()
        }];
        let mut hits = Vec::new();
        screen(
            &rules(),
            &c,
            &Against {
                invoice_uses: &theirs,
                ..with
            },
            &mut hits,
        );
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].code, RuleCode::InvoiceOtherPerson);
        assert!(
            hits[0].zh.contains("王五") && hits[0].zh.contains("张三"),
            "both persons named: {}",
            hits[0].zh
        );
        assert!(
            hits[0].en.contains("王五") && hits[0].en.contains("张三"),
            "both persons named: {}",
            hits[0].en
        );
        // Near miss: no other use of the invoice (a neighbouring number is another key).
        assert!(codes(&c, &against(&h, &[], person("M", "1970-05-05"))).is_empty());
    }
}
