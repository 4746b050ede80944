//! The mail backends behind one type: SMTP, a directory of `.eml` files, or memory.
use crate::config::{Config, MailConfig};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::Tls;
use lettre::{FileTransport, Message, SmtpTransport, Transport};
use std::time::Duration;

#[derive(Clone)]
pub enum MailTransport {
    Smtp(SmtpTransport),
    File(FileTransport),
    /// Keeps what was sent; tests read it back with [`MailTransport::sent`].
    Memory(lettre::transport::stub::StubTransport),
}

/// Why a send failed, and whether trying again can help.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

impl MailTransport {
    pub fn from_config(config: &Config) -> anyhow::Result<MailTransport> {
        let m: &MailConfig = &config.mail;
        Ok(match m.backend.as_str() {
            "smtp" => {
                let builder = match m.smtp_security.as_str() {
                    "tls" => SmtpTransport::relay(&m.smtp_host)?,
                    "starttls" => SmtpTransport::starttls_relay(&m.smtp_host)?,
                    _ => SmtpTransport::builder_dangerous(&m.smtp_host).tls(Tls::None),
                };
                let mut builder = builder
                    .port(m.smtp_port)
                    .timeout(Some(Duration::from_secs(m.smtp_timeout_secs)));
                if let (Some(user), Some(pass)) = (&m.smtp_username, &m.smtp_password) {
                    builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
                }
                MailTransport::Smtp(builder.build())
            }
            "memory" => MailTransport::Memory(lettre::transport::stub::StubTransport::new_ok()),
            _ => {
                let dir = config.data_dir.join("outbox");
                std::fs::create_dir_all(&dir)
                    .map_err(|e| anyhow::anyhow!("mail outbox directory {}: {e}", dir.display()))?;
                MailTransport::File(FileTransport::new(dir))
            }
        })
    }

    pub fn send(&self, message: &Message) -> Result<(), SendError> {
        match self {
            MailTransport::Smtp(t) => t.send(message).map(|_| ()).map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
            MailTransport::File(t) => t.send(message).map(|_| ()).map_err(|e| SendError {
                permanent: false,
                message: e.to_string(),
            }),
            MailTransport::Memory(t) => t.send(message).map_err(|e| SendError {
                permanent: false,
                message: e.to_string(),
            }),
        }
    }

    /// The messages an in-memory backend has taken, as (recipients, raw message).
    pub fn sent(&self) -> Vec<(Vec<String>, String)> {
        match self {
            MailTransport::Memory(t) => t
                .messages()
                .into_iter()
                .map(|(env, raw)| (env.to().iter().map(|a| a.to_string()).collect(), raw))
                .collect(),
            _ => Vec::new(),
        }
    }
}
