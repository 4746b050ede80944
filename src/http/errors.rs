//! Use-case errors at the HTTP edge: each maps to a status and a JSON body
//! `{ "error": code, "message": …, "fields": [...] }`. Internal errors are logged with where
//! they happened and answered without detail.
use crate::domain::workflow::Refusal;
use crate::error::{AppError, Rule, RuleKind};
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
    /// The message in Chinese and in English: the controls' refusals word by word, other
    /// errors by what their kind means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_zh: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_en: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldBody>,
}

/// One field's problem: its stable code, and its message in the caller's language and in
/// both.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FieldBody {
    pub field: String,
    pub code: String,
    pub message: String,
    pub message_zh: String,
    pub message_en: String,
}

impl FieldBody {
    fn new(field: &str, code: &str, lang: &str, zh: String, en: String) -> FieldBody {
        FieldBody {
            field: field.into(),
            code: code.into(),
            message: if lang.starts_with("en") {
                en.clone()
            } else {
                zh.clone()
            },
            message_zh: zh,
            message_en: en,
        }
    }
}

/// What each kind of error means, in Chinese, for the kinds that carry no catalogue
/// message (every other kind is rendered from its own).
fn kind_zh(e: &AppError) -> &'static str {
    match e {
        AppError::NotFound(_) => "未找到该记录，或它不在您的查看范围内",
        AppError::Unavailable(_) => "服务暂时不可用，请稍后再试",
        AppError::Internal(_) => "系统内部错误，请稍后再试",
        _ => "请求未被受理",
    }
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
        self.response_in("en")
    }
}

impl AppError {
    /// The answer with `message` in `lang` (the edge calls this again with the caller's
    /// language); `message_zh` and `message_en` carry both whatever was asked.
    pub fn response_in(&self, lang: &str) -> HttpResponse {
        let fields = match self {
            AppError::Validation(f) => f
                .iter()
                .map(|f| {
                    let (zh, en) = crate::messages::render_both(&f.msg);
                    FieldBody::new(&f.field, f.msg.code, lang, zh, en)
                })
                .collect(),
            AppError::Refused(r @ Refusal::CommentRequired(_)) => {
                vec![FieldBody::new(
                    "comment",
                    "comment_required",
                    lang,
                    crate::messages::render(&r.msg(), "zh-CN"),
                    self.text("en"),
                )]
            }
            AppError::Rule(Rule {
                fields,
                code,
                zh,
                en,
                ..
            }) => fields
                .iter()
                .map(|field| FieldBody::new(field, code, lang, zh.clone(), en.clone()))
                .collect(),
            _ => Vec::new(),
        };
        let message_zh = match self {
            AppError::Rule(_) | AppError::Refused(_) => self.text("zh-CN"),
            carrier if carrier.msg().is_some() => self.text("zh-CN"),
            AppError::Throttled { retry_after_secs } => {
                format!("登录尝试过多，请 {retry_after_secs} 秒后再试")
            }
            AppError::Validation(fields) => {
                format!("填写有误：{}", crate::error::fields_text(fields, "zh-CN"))
            }
            other => kind_zh(other).into(),
        };
        let message_en = self.text("en");
        let message = if lang.starts_with("en") {
            message_en.clone()
        } else {
            message_zh.clone()
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
            message,
            message_zh: Some(message_zh),
            message_en: Some(message_en),
            fields,
        })
    }
}

/// The language an API caller reads: the first tag of `Accept-Language` (a browser sends
/// its user's), English when it says nothing, since API clients are mostly programs that
/// key on the codes.
pub fn caller_lang(req: &actix_web::HttpRequest) -> &'static str {
    let first = req
        .headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split([',', ';']).next())
        .unwrap_or("");
    if first.trim().to_ascii_lowercase().starts_with("zh") {
        "zh-CN"
    } else {
        "en"
    }
}

/// Rewrites an API error's `message` in the caller's language (errors are first built
/// without the request, in English).
pub fn localise<B: actix_web::body::MessageBody + 'static>(
    res: actix_web::dev::ServiceResponse<B>,
    lang: &str,
) -> actix_web::dev::ServiceResponse<actix_web::body::BoxBody> {
    let localised = (lang != "en")
        .then(|| res.response().error()?.as_error::<AppError>())
        .flatten()
        .map(|e| e.response_in(lang));
    match localised {
        Some(answer) => res.into_response(answer),
        None => res.map_into_boxed_body(),
    }
}
