//! A problem with one field of what someone sent: which field, and what was expected, as a
//! message code with its arguments (the words are in `locales/messages.*.ftl`).
use crate::domain::message::Msg;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub msg: Msg,
}

impl FieldError {
    pub fn new(field: impl Into<String>, msg: Msg) -> FieldError {
        FieldError {
            field: field.into(),
            msg,
        }
    }
}
