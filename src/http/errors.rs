//! Use-case errors at the HTTP edge: each maps to a status and a JSON body
//! `{ "error": code, "message": …, "fields": [...] }`. Internal errors are logged with where
//! they happened and answered without detail.
use crate::domain::workflow::Refusal;
use crate::error::{AppError, FieldError, Rule, RuleKind};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

impl From<actix_web::error::BlockingError> for AppError {
    #[track_caller]
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    /// The message in Chinese and in English, for the refusals of the controls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_zh: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_en: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMedia(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests(_) | AppError::Throttled { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::Refused(r) => match r {
                Refusal::FourEyes { .. } | Refusal::RoleNotAllowed { .. } => StatusCode::FORBIDDEN,
                Refusal::Closed => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Rule(r) => match r.kind {
                RuleKind::Conflict => StatusCode::CONFLICT,
                RuleKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
                RuleKind::Forbidden => StatusCode::FORBIDDEN,
            },
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(e) = self {
            tracing::error!(error = %e, "internal error");
        }
        let fields = match self {
            AppError::Validation(f) => f.clone(),
            AppError::Refused(Refusal::CommentRequired(_)) => {
                vec![FieldError {
                    field: "comment".into(),
                    message: "a comment is required for this action".into(),
                }]
            }
            AppError::Rule(Rule { fields, en, .. }) => fields
                .iter()
                .map(|field| FieldError {
                    field: (*field).into(),
                    message: en.clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        let (message_zh, message_en) = match self {
            AppError::Rule(r) => (Some(r.zh.clone()), Some(r.en.clone())),
            AppError::Refused(r) => (Some(r.zh()), Some(r.to_string())),
            AppError::Throttled { retry_after_secs } => (
                Some(format!("登录尝试过多，请 {retry_after_secs} 秒后再试")),
                Some(self.to_string()),
            ),
            _ => (None, None),
        };
        let mut res = HttpResponse::build(self.status_code());
        if let AppError::Throttled { retry_after_secs } = self {
            res.insert_header((
                actix_web::http::header::RETRY_AFTER,
                retry_after_secs.to_string(),
            ));
        }
        res.json(ErrorBody {
            error: self.code().into(),
            message: self.to_string(),
            message_zh,
            message_en,
            fields,
        })
    }
}
