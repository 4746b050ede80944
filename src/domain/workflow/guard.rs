//! Guards: a small, typed, non-Turing-complete condition language, checked when a workflow
//! loads. Grammar:
//!
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | "(" expr ")" | fact [op literal]
//! op      := == | != | < | <= | > | >=
//! literal := integer | "string" | true | false
//! ```
//! A bare fact must be boolean. Comparisons must match the fact's type. There are no loops,
//! no functions and no variables, so every guard terminates in time linear in its size.
use serde::{Deserialize, Serialize};

/// The facts a guard may read. The shell fills them from the case's subject.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CaseFacts {
    /// Total cost claimed, in fen.
    pub claimed_fen: i64,
    /// Policy-scope cost, in fen.
    pub policy_scope_fen: i64,
    /// The benefit the calculator proposes, in fen.
    pub payable_fen: i64,
    /// The amount a decision would grant, in fen.
    pub decided_fen: i64,
    pub documents_complete: bool,
    pub family: String,
    pub encounter_kind: String,
    /// The case was judged or declared an emergency (restores ratios, excuses filing).
    pub emergency: bool,
    /// Out-of-region filing (备案) or transfer filing was made before treatment.
    pub filed: bool,
    pub referral: bool,
    pub third_party_liable: bool,
    pub screening_hits: i64,
    pub findings_open: i64,
    /// Findings of severity `error` not overridden at sign-off: while any stands, no action
    /// may pay or clear the claim.
    pub blocking_findings: i64,
    /// Violations: repayments and fines still owed (not paid, not written off), in fen.
    pub outstanding_fen: i64,
    pub violation_fen: i64,
    pub article: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactType {
    Int,
    Bool,
    Str,
}

impl FactType {
    fn name(self) -> &'static str {
        match self {
            FactType::Int => "an integer",
            FactType::Bool => "a boolean",
            FactType::Str => "a string",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Int(i64),
    Bool(bool),
    Str(&'a str),
}

type Getter = for<'a> fn(&'a CaseFacts) -> Value<'a>;

/// Every fact with its type and accessor: the only names a guard may use.
pub const FACTS: &[(&str, FactType, Getter)] = &[
    ("claimed_fen", FactType::Int, |f| Value::Int(f.claimed_fen)),
    ("policy_scope_fen", FactType::Int, |f| {
        Value::Int(f.policy_scope_fen)
    }),
    ("payable_fen", FactType::Int, |f| Value::Int(f.payable_fen)),
    ("decided_fen", FactType::Int, |f| Value::Int(f.decided_fen)),
    ("documents_complete", FactType::Bool, |f| {
        Value::Bool(f.documents_complete)
    }),
    ("family", FactType::Str, |f| Value::Str(&f.family)),
    ("encounter_kind", FactType::Str, |f| {
        Value::Str(&f.encounter_kind)
    }),
    ("emergency", FactType::Bool, |f| Value::Bool(f.emergency)),
    ("filed", FactType::Bool, |f| Value::Bool(f.filed)),
    ("referral", FactType::Bool, |f| Value::Bool(f.referral)),
    ("third_party_liable", FactType::Bool, |f| {
        Value::Bool(f.third_party_liable)
    }),
    ("screening_hits", FactType::Int, |f| {
        Value::Int(f.screening_hits)
    }),
    ("findings_open", FactType::Int, |f| {
        Value::Int(f.findings_open)
    }),
    ("blocking_findings", FactType::Int, |f| {
        Value::Int(f.blocking_findings)
    }),
    ("outstanding_fen", FactType::Int, |f| {
        Value::Int(f.outstanding_fen)
    }),
    ("violation_fen", FactType::Int, |f| {
        Value::Int(f.violation_fen)
    }),
    ("article", FactType::Str, |f| Value::Str(&f.article)),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Int(i64),
    Bool(bool),
    Str(String),
}

/// A parsed, type-checked guard. Facts are referred to by index into [`FACTS`].
#[derive(Debug, Clone, PartialEq)]
pub enum Guard {
    Fact(usize),
    Cmp(usize, CmpOp, Literal),
    Not(Box<Guard>),
    And(Vec<Guard>),
    Or(Vec<Guard>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardError {
    /// Byte offset inside the guard text.
    pub offset: usize,
    pub message: String,
}

impl Guard {
    fn is_fact(i: usize, fact: &str) -> bool {
        FACTS.get(i).is_some_and(|f| f.0 == fact)
    }

    /// Whether the guard can hold only while this integer fact is 0: as a conjunction, one
    /// of its parts says so (`blocking_findings == 0`, `< 1`, `<= 0`, `not … > 0`).
    pub fn requires_zero(&self, fact: &str) -> bool {
        match self {
            Guard::Cmp(i, op, Literal::Int(n)) if Guard::is_fact(*i, fact) => {
                matches!((op, n), (CmpOp::Eq, 0) | (CmpOp::Lt, 1) | (CmpOp::Le, 0))
            }
            Guard::And(parts) => parts.iter().any(|g| g.requires_zero(fact)),
            Guard::Or(parts) => parts.iter().all(|g| g.requires_zero(fact)),
            Guard::Not(inner) => inner.holds_when_positive(fact),
            _ => false,
        }
    }

    /// Whether the guard holds whenever this integer fact is above 0 (`blocking_findings >
    /// 0`, `>= 1`, `!= 0`, or a disjunction with one of them).
    pub fn holds_when_positive(&self, fact: &str) -> bool {
        match self {
            Guard::Cmp(i, op, Literal::Int(n)) if Guard::is_fact(*i, fact) => {
                matches!((op, n), (CmpOp::Gt, 0) | (CmpOp::Ge, 1) | (CmpOp::Ne, 0))
            }
            Guard::Or(parts) => parts.iter().any(|g| g.holds_when_positive(fact)),
            Guard::And(parts) => parts.iter().all(|g| g.holds_when_positive(fact)),
            Guard::Not(inner) => inner.requires_zero(fact),
            _ => false,
        }
    }

    pub fn parse(text: &str) -> Result<Guard, GuardError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens: &tokens,
            pos: 0,
            len: text.len(),
        };
        let guard = parser.or()?;
        match parser.tokens.get(parser.pos) {
            None => Ok(guard),
            Some(t) => Err(GuardError {
                offset: t.offset,
                message: format!("unexpected `{}` after a complete condition", t.kind.show()),
            }),
        }
    }

    pub fn eval(&self, facts: &CaseFacts) -> bool {
        match self {
            Guard::Fact(i) => matches!((FACTS[*i].2)(facts), Value::Bool(true)),
            Guard::Cmp(i, op, lit) => compare((FACTS[*i].2)(facts), *op, lit),
            Guard::Not(g) => !g.eval(facts),
            Guard::And(gs) => gs.iter().all(|g| g.eval(facts)),
            Guard::Or(gs) => gs.iter().any(|g| g.eval(facts)),
        }
    }
}

fn compare(value: Value<'_>, op: CmpOp, lit: &Literal) -> bool {
    let ord = match (value, lit) {
        (Value::Int(a), Literal::Int(b)) => a.cmp(b),
        (Value::Bool(a), Literal::Bool(b)) => a.cmp(b),
        (Value::Str(a), Literal::Str(b)) => a.cmp(b.as_str()),
        // Unreachable for checked guards: types were matched at load time.
        _ => return false,
    };
    match op {
        CmpOp::Eq => ord.is_eq(),
        CmpOp::Ne => ord.is_ne(),
        CmpOp::Lt => ord.is_lt(),
        CmpOp::Le => ord.is_le(),
        CmpOp::Gt => ord.is_gt(),
        CmpOp::Ge => ord.is_ge(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum TokKind {
    Ident(String),
    Int(i64),
    Str(String),
    Op(CmpOp),
    LParen,
    RParen,
}

impl TokKind {
    fn show(&self) -> String {
        match self {
            TokKind::Ident(s) => s.clone(),
            TokKind::Int(i) => i.to_string(),
            TokKind::Str(s) => format!("\"{s}\""),
            TokKind::Op(op) => format!("{op:?}"),
            TokKind::LParen => "(".into(),
            TokKind::RParen => ")".into(),
        }
    }
}

struct Token {
    kind: TokKind,
    offset: usize,
}

fn tokenize(text: &str) -> Result<Vec<Token>, GuardError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let kind = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => {
                i += 1;
                TokKind::LParen
            }
            b')' => {
                i += 1;
                TokKind::RParen
            }
            b'=' | b'!' | b'<' | b'>' => {
                let two = bytes.get(i + 1) == Some(&b'=');
                let op = match (c, two) {
                    (b'=', true) => CmpOp::Eq,
                    (b'!', true) => CmpOp::Ne,
                    (b'<', true) => CmpOp::Le,
                    (b'>', true) => CmpOp::Ge,
                    (b'<', false) => CmpOp::Lt,
                    (b'>', false) => CmpOp::Gt,
                    _ => {
                        return Err(GuardError {
                            offset: i,
                            message: "expected `==` or `!=` (use `not` for negation)".into(),
                        })
                    }
                };
                i += if two { 2 } else { 1 };
                TokKind::Op(op)
            }
            b'"' => {
                let end = text[i + 1..].find('"').ok_or(GuardError {
                    offset: i,
                    message: "unterminated string literal".into(),
                })?;
                let s = text[i + 1..i + 1 + end].to_string();
                i += end + 2;
                TokKind::Str(s)
            }
            b'-' | b'0'..=b'9' => {
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
                    i += 1;
                }
                let digits: String = text[start..i].chars().filter(|c| *c != '_').collect();
                TokKind::Int(digits.parse().map_err(|_| GuardError {
                    offset: start,
                    message: format!("`{}` is not a whole number", &text[start..i]),
                })?)
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                TokKind::Ident(text[start..i].to_string())
            }
            _ => {
                return Err(GuardError {
                    offset: i,
                    message: format!(
                        "unexpected character `{}`",
                        &text[i..].chars().next().unwrap_or('?')
                    ),
                })
            }
        };
        tokens.push(Token {
            kind,
            offset: start,
        });
    }
    Ok(tokens)
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    len: usize,
}

impl Parser<'_> {
    fn peek_ident(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token { kind: TokKind::Ident(w), .. }) if w == word)
    }

    fn offset(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.len, |t| t.offset)
    }

    fn or(&mut self) -> Result<Guard, GuardError> {
        let mut parts = vec![self.and()?];
        while self.peek_ident("or") {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Guard::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Guard, GuardError> {
        let mut parts = vec![self.unary()?];
        while self.peek_ident("and") {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Guard::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Guard, GuardError> {
        let offset = self.offset();
        let Some(token) = self.tokens.get(self.pos) else {
            return Err(GuardError {
                offset,
                message: "expected a condition, found the end".into(),
            });
        };
        self.pos += 1;
        match &token.kind {
            TokKind::Ident(w) if w == "not" => Ok(Guard::Not(Box::new(self.unary()?))),
            TokKind::LParen => {
                let inner = self.or()?;
                match self.tokens.get(self.pos) {
                    Some(Token {
                        kind: TokKind::RParen,
                        ..
                    }) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err(GuardError {
                        offset: self.offset(),
                        message: "expected `)`".into(),
                    }),
                }
            }
            TokKind::Ident(name) => self.fact(name, offset),
            other => Err(GuardError {
                offset,
                message: format!("expected a fact name, found `{}`", other.show()),
            }),
        }
    }

    fn fact(&mut self, name: &str, offset: usize) -> Result<Guard, GuardError> {
        let Some(index) = FACTS.iter().position(|(n, _, _)| *n == name) else {
            let known: Vec<&str> = FACTS.iter().map(|f| f.0).collect();
            return Err(GuardError {
                offset,
                message: format!("unknown fact `{name}`; known facts: {}", known.join(", ")),
            });
        };
        let ty = FACTS[index].1;
        let Some(Token {
            kind: TokKind::Op(op),
            ..
        }) = self.tokens.get(self.pos)
        else {
            return if ty == FactType::Bool {
                Ok(Guard::Fact(index))
            } else {
                Err(GuardError {
                    offset,
                    message: format!("`{name}` is {}; compare it, e.g. `{name} > 0`", ty.name()),
                })
            };
        };
        let op = *op;
        self.pos += 1;
        let lit_offset = self.offset();
        let literal = match self.tokens.get(self.pos).map(|t| &t.kind) {
            Some(TokKind::Int(i)) => Literal::Int(*i),
            Some(TokKind::Str(s)) => Literal::Str(s.clone()),
            Some(TokKind::Ident(w)) if w == "true" || w == "false" => Literal::Bool(w == "true"),
            _ => {
                return Err(GuardError {
                    offset: lit_offset,
                    message: "expected a literal value".into(),
                })
            }
        };
        self.pos += 1;
        let lit_ty = match literal {
            Literal::Int(_) => FactType::Int,
            Literal::Bool(_) => FactType::Bool,
            Literal::Str(_) => FactType::Str,
        };
        if lit_ty != ty {
            return Err(GuardError {
                offset: lit_offset,
                message: format!(
                    "`{name}` is {} but is compared with {}",
                    ty.name(),
                    lit_ty.name()
                ),
            });
        }
        if ty != FactType::Int && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
            return Err(GuardError {
                offset: lit_offset,
                message: format!("`{name}` is {}; only `==` and `!=` apply", ty.name()),
            });
        }
        Ok(Guard::Cmp(index, op, literal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> CaseFacts {
        CaseFacts {
            claimed_fen: 300_000,
            documents_complete: true,
            family: "trauma".into(),
            ..Default::default()
        }
    }

    #[test]
    fn evaluates_comparisons_and_connectives() {
        let f = facts();
        for (text, want) in [
            ("claimed_fen > 200_000", true),
            ("claimed_fen <= 200000", false),
            ("documents_complete and family == \"trauma\"", true),
            ("not documents_complete or emergency", false),
            ("(emergency or filed) and documents_complete", false),
            ("not (emergency or filed)", true),
        ] {
            assert_eq!(Guard::parse(text).unwrap().eval(&f), want, "{text}");
        }
    }

    #[test]
    fn rejects_bad_guards_with_offsets() {
        let e = Guard::parse("claimed_fen > ").unwrap_err();
        assert!(e.message.contains("literal"), "{e:?}");
        let e = Guard::parse("amount > 5").unwrap_err();
        assert!(e.message.contains("unknown fact `amount`"));
        assert_eq!(e.offset, 0);
        let e = Guard::parse("family > \"x\"").unwrap_err();
        assert!(e.message.contains("only `==`"));
        let e = Guard::parse("claimed_fen").unwrap_err();
        assert!(e.message.contains("compare it"));
        let e = Guard::parse("documents_complete == 1").unwrap_err();
        assert!(e.message.contains("compared with an integer"));
        let e = Guard::parse("emergency filed").unwrap_err();
        assert_eq!(e.offset, 10);
    }
}
