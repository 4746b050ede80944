//! The error of a use case: what went wrong in terms a caller can act on (not found,
//! forbidden, a field that is wrong, a conflict), or an internal failure that carries where
//! it happened. The HTTP edge maps it to a status and a JSON body (`http::errors`); code
//! outside requests (jobs, the CLI) works with `anyhow` and turns these into its messages.
use crate::domain::workflow::Refusal;
use std::panic::Location;

pub use crate::domain::field_error::FieldError;
pub use crate::domain::message::Msg;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Unauthorized(Msg),
    #[error("{0}")]
    Forbidden(Msg),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(Msg),
    #[error("{}", fields_text(.0, "en"))]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(Msg),
    #[error("{0}")]
    PayloadTooLarge(Msg),
    #[error("{0}")]
    UnsupportedMedia(Msg),
    #[error("{0}")]
    TooManyRequests(Msg),
    /// Sign-in attempts throttled: the client may try again after this many seconds.
    #[error("too many sign-in attempts: try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: i64 },
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("the database is unavailable")]
    Unavailable(String),
    /// A control refused the request: a stable code and what it means, in both languages.
    #[error("{}", .0.en)]
    Rule(Rule),
    #[error("internal error")]
    Internal(Internal),
}

/// How a control's refusal is answered: the request conflicts with the case as it stands,
/// breaks a rule the caller can correct, or comes from someone who may not do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Conflict,
    Invalid,
    Forbidden,
}

/// A refusal people read: a stable code, the field it concerns if any, and its text in
/// Chinese and English (amounts in yuan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub kind: RuleKind,
    pub code: &'static str,
    /// The fields of the request it concerns, if any.
    pub fields: Vec<&'static str>,
    pub zh: String,
    pub en: String,
}

impl AppError {
    pub fn rule(
        kind: RuleKind,
        code: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> AppError {
        AppError::Rule(Rule {
            kind,
            code,
            fields: Vec::new(),
            zh: zh.into(),
            en: en.into(),
        })
    }

    /// A rule about one field of the request.
    pub fn rule_on(
        field: &'static str,
        code: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> AppError {
        AppError::Rule(Rule {
            kind: RuleKind::Invalid,
            code,
            fields: vec![field],
            zh: zh.into(),
            en: en.into(),
        })
    }

    /// A control's refusal whose words are the catalogue's message `msg`; `code` is what the
    /// API answers (several messages may share one code).
    pub fn rule_msg(kind: RuleKind, code: &'static str, msg: Msg) -> AppError {
        let (zh, en) = crate::messages::render_both(&msg);
        AppError::rule(kind, code, zh, en)
    }

    /// [`AppError::rule_msg`] about one field of the request.
    pub fn rule_on_msg(field: &'static str, code: &'static str, msg: Msg) -> AppError {
        let (zh, en) = crate::messages::render_both(&msg);
        AppError::rule_on(field, code, zh, en)
    }

    /// The text for a reader of `lang`: the rule's own translation, else the message.
    pub fn text(&self, lang: &str) -> String {
        if let Some(m) = self.msg() {
            return crate::messages::render(m, lang);
        }
        match self {
            AppError::Rule(r) if !lang.starts_with("en") => r.zh.clone(),
            AppError::Validation(fields) => fields_text(fields, lang),
            AppError::Refused(r) => crate::messages::render(&r.msg(), lang),
            other => other.to_string(),
        }
    }

    /// The catalogue message of the kinds that carry one.
    pub fn msg(&self) -> Option<&Msg> {
        match self {
            AppError::Unauthorized(m)
            | AppError::Forbidden(m)
            | AppError::Conflict(m)
            | AppError::BadRequest(m)
            | AppError::PayloadTooLarge(m)
            | AppError::UnsupportedMedia(m)
            | AppError::TooManyRequests(m) => Some(m),
            _ => None,
        }
    }
}

/// Field problems as one line in `lang`: `field: message; …`.
pub fn fields_text(fields: &[FieldError], lang: &str) -> String {
    let sep = if lang.starts_with("en") { "; " } else { "；" };
    fields
        .iter()
        .map(|f| format!("{}: {}", f.field, crate::messages::render(&f.msg, lang)))
        .collect::<Vec<_>>()
        .join(sep)
}

/// An internal failure and the place in our code it was turned into an [`AppError`].
#[derive(Debug)]
pub struct Internal {
    pub error: anyhow::Error,
    pub at: &'static Location<'static>,
}

impl std::fmt::Display for Internal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:#} (at {}:{})",
            self.error,
            self.at.file(),
            self.at.line()
        )
    }
}

impl From<anyhow::Error> for AppError {
    #[track_caller]
    fn from(error: anyhow::Error) -> Self {
        AppError::internal(error)
    }
}

impl AppError {
    /// An internal failure, located at the caller.
    #[track_caller]
    pub fn internal(error: impl Into<anyhow::Error>) -> AppError {
        AppError::Internal(Internal {
            error: error.into(),
            at: Location::caller(),
        })
    }

    pub fn field(field: &str, msg: Msg) -> AppError {
        AppError::Validation(vec![FieldError::new(field, msg)])
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::Validation(_) => "validation_failed",
            AppError::BadRequest(_) => "bad_request",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::UnsupportedMedia(_) => "unsupported_media_type",
            AppError::TooManyRequests(_) | AppError::Throttled { .. } => "too_many_requests",
            AppError::Refused(r) => match r {
                Refusal::FourEyes { .. } => "four_eyes",
                Refusal::RoleNotAllowed { .. } => "forbidden",
                Refusal::Closed => "case_closed",
                Refusal::GuardFailed { .. } => "guard_failed",
                Refusal::BlockedByFindings { .. } => "blocked_by_findings",
                Refusal::MoneyOutstanding { .. } => "money_outstanding",
                Refusal::CommentRequired(_) => "comment_required",
                _ => "action_refused",
            },
            AppError::Unavailable(_) => "unavailable",
            AppError::Rule(r) => r.code,
            AppError::Internal(_) => "internal",
        }
    }
}

impl From<diesel::result::Error> for AppError {
    #[track_caller]
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound("record".into()),
            // Two writers met on one case (PostgreSQL's serialization check, or the audit
            // chain's head moved): the loser reloads and tries again.
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                AppError::Conflict(Msg::new("conflict-concurrent").text("detail", info.message()))
            }
            other => AppError::internal(other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails at its second line, and says which line that is.
    fn fails() -> (u32, AppResult<()>) {
        let line = line!() + 1;
        let result = (|| -> AppResult<()> { Err(anyhow::anyhow!("disk full"))? })();
        (line, result)
    }

    #[test]
    fn an_internal_error_names_where_it_was_raised() {
        let (line, result) = fails();
        let Err(AppError::Internal(e)) = result else {
            panic!("expected an internal error");
        };
        assert_eq!(e.at.file(), file!());
        assert_eq!(e.at.line(), line, "the line of the `?`");
        assert!(
            e.to_string().starts_with("disk full (at src/error.rs:"),
            "{e}"
        );
        let db: AppError = diesel::result::Error::BrokenTransactionManager.into();
        assert!(matches!(db, AppError::Internal(_)));
    }
}
