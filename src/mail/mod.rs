//! Email. A notice is rendered and written to the outbox table inside the transaction that
//! caused it, so it exists exactly when the change does. The `mail_delivery` job sends due
//! messages through the configured backend and retries failures with exponential backoff;
//! a message is marked sent as soon as the backend accepts it, so a restart does not send it
//! again (the one window left, a crash between the server's "250 OK" and that mark, is the
//! usual at-least-once gap; the stable Message-ID lets a mailbox drop such a repeat).
pub mod templates;
pub mod transport;

use crate::config::MailConfig;
use crate::error::{AppError, AppResult};
use crate::store::outbox::{self, MailRow, NewMail};
use crate::store::DbConn;
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
pub use templates::{lang_for, MailTemplates};
pub use transport::MailTransport;

/// Who a notice goes to.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub email: String,
    pub name: String,
    /// The recipient's language setting (`zh-CN`, `en`, …).
    pub lang: String,
}

pub struct Notice<'a> {
    pub template: &'static str,
    pub to: &'a Recipient,
    /// The same key is queued once: `escalated:<case>:<time>:<user>` and the like.
    pub dedupe_key: String,
    pub case_id: Option<i64>,
    /// The template's fields; `recipient_name` and `base_url` are added.
    pub data: serde_json::Value,
}

/// Templates plus what every letter needs.
pub struct Notifier {
    pub templates: MailTemplates,
    pub base_url: String,
}

impl Notifier {
    /// Renders a notice and queues it. Returns false when the recipient has no address or
    /// the same notice is already queued.
    pub fn enqueue(&self, conn: &mut DbConn, notice: Notice<'_>, now_ms: i64) -> AppResult<bool> {
        if notice.to.email.trim().is_empty() {
            return Ok(false);
        }
        let mut data = notice.data;
        if let Some(map) = data.as_object_mut() {
            map.insert("recipient_name".into(), notice.to.name.clone().into());
            map.insert("base_url".into(), self.base_url.clone().into());
        }
        let lang = lang_for(&notice.to.lang);
        let rendered = self
            .templates
            .render(notice.template, lang, &data)
            .map_err(|e| {
                AppError::internal(anyhow::anyhow!(
                    "email template {}/{lang}: {e}",
                    notice.template
                ))
            })?;
        Ok(outbox::insert(
            conn,
            &NewMail {
                dedupe_key: &notice.dedupe_key,
                template: notice.template,
                lang,
                to_addr: notice.to.email.trim(),
                subject: &rendered.subject,
                body_text: &rendered.text,
                body_html: &rendered.html,
                case_id: notice.case_id,
                next_attempt_at: now_ms,
                created_at: now_ms,
            },
        )?)
    }
}

#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// How long a claimed batch is reserved for the instance sending it.
const CLAIM_MS: i64 = 5 * 60_000;
const BATCH: i64 = 100;

/// The delay before attempt `attempts + 1`: base × 2^attempts, at most an hour.
pub fn backoff_ms(base_secs: i64, attempts: i32) -> i64 {
    let factor = 1_i64 << attempts.clamp(0, 20);
    (base_secs.saturating_mul(factor)).min(3600) * 1000
}

fn build(row: &MailRow, from: &Mailbox) -> Result<Message, String> {
    let to: Mailbox = row
        .to_addr
        .parse()
        .map_err(|e| format!("recipient `{}`: {e}", row.to_addr))?;
    let domain = from.email.domain().to_string();
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(format!(
            "<claimflow.{}.{}@{domain}>",
            row.id, row.created_at
        )))
        .multipart(MultiPart::alternative_plain_html(
            row.body_text.clone(),
            row.body_html.clone(),
        ))
        .map_err(|e| e.to_string())
}

/// Sends every due message, in batches, until none is left or a batch fails entirely (the
/// server is down: leave the rest for the next tick).
pub fn deliver_due(
    conn: &mut DbConn,
    transport: &MailTransport,
    config: &MailConfig,
    now_ms: i64,
) -> AppResult<DeliveryReport> {
    let from: Mailbox = config
        .from
        .parse()
        .map_err(|e| AppError::internal(anyhow::anyhow!("mail.from: {e}")))?;
    let mut report = DeliveryReport::default();
    loop {
        let batch = conn.write_tx(|c| outbox::claim_due(c, now_ms, now_ms + CLAIM_MS, BATCH))?;
        if batch.is_empty() {
            return Ok(report);
        }
        let mut any_sent = false;
        for row in &batch {
            let result = build(row, &from)
                .map_err(|message| transport::SendError {
                    message,
                    permanent: true,
                })
                .and_then(|m| transport.send(&m));
            match result {
                Ok(()) => {
                    outbox::mark_sent(conn, row.id, now_ms)?;
                    report.sent += 1;
                    any_sent = true;
                }
                Err(e) => {
                    let give_up = e.permanent || row.attempts + 1 >= config.max_attempts;
                    let retry_at = (!give_up)
                        .then(|| now_ms + backoff_ms(config.retry_base_secs, row.attempts));
                    tracing::warn!(id = row.id, to = %row.to_addr, error = %e.message, give_up, "mail not delivered");
                    outbox::mark_failed(conn, row.id, &e.message, retry_at)?;
                    if give_up {
                        report.failed += 1;
                    } else {
                        report.retrying += 1;
                    }
                }
            }
        }
        if !any_sent || (batch.len() as i64) < BATCH {
            return Ok(report);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped_at_an_hour() {
        assert_eq!(backoff_ms(30, 0), 30_000);
        assert_eq!(backoff_ms(30, 1), 60_000);
        assert_eq!(backoff_ms(30, 3), 240_000);
        assert_eq!(backoff_ms(30, 10), 3_600_000);
        assert_eq!(backoff_ms(30, 1000), 3_600_000);
    }

    #[test]
    fn english_only_when_asked_for() {
        assert_eq!(lang_for("en"), "en");
        assert_eq!(lang_for("en-GB"), "en");
        assert_eq!(lang_for("zh-CN"), "zh-CN");
        assert_eq!(lang_for(""), "zh-CN");
    }
}
