//! Sending sign-in emails: through SMTP when `SMTP_URL` is set, else to the server log and the local outbox
//! (`/dev/outbox`, built-in mode, loopback only) that development and end-to-end tests read.
use std::collections::VecDeque;
use std::sync::Mutex;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// Emails the outbox keeps.
const OUTBOX_SIZE: usize = 100;

/// An email as the outbox shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OutboxEmail {
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// The sign-in link in it.
    pub link: String,
    /// The 6-digit code in it.
    pub code: String,
    /// When it was "sent" (RFC 3339).
    pub sent_at: String,
}

/// Where emails go.
pub enum Mailer {
    /// A real SMTP server.
    Smtp {
        /// The transport.
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// Sender.
        from: Mailbox,
    },
    /// The log and the in-memory outbox.
    Outbox(Mutex<VecDeque<OutboxEmail>>),
}

impl Mailer {
    /// SMTP from `SMTP_URL`, else the outbox.
    pub fn new(smtp_url: Option<&SecretString>, from: &str) -> Result<Self, String> {
        match smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| format!("SMTP_URL: {e}"))?
                    .build();
                let from = from.parse().map_err(|e| format!("SMTP_FROM: {e}"))?;
                Ok(Self::Smtp { transport, from })
            }
            None => Ok(Self::Outbox(Mutex::new(VecDeque::new()))),
        }
    }

    /// Sends the sign-in email with `link` and `code` to `to`.
    pub async fn send_sign_in(&self, to: &str, link: &str, code: &str) -> Result<(), String> {
        let subject = "Your tradechat sign-in link".to_owned();
        let body = format!(
            "Sign in to tradechat:\n\n{link}\n\nOr enter this code: {code}\n\nThe link works once within an hour; the \
             code within 10 minutes. If you did not ask to sign in, ignore this email."
        );
        match self {
            Self::Smtp { transport, from } => {
                let message = Message::builder()
                    .from(from.clone())
                    .to(to.parse().map_err(|e| format!("recipient: {e}"))?)
                    .subject(subject)
                    .body(body)
                    .map_err(|e| e.to_string())?;
                transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
            }
            Self::Outbox(outbox) => {
                tracing::info!(to, link, "sign-in email (no SMTP_URL: kept in /dev/outbox)");
                let mut outbox = outbox.lock().unwrap_or_else(|p| p.into_inner());
                if outbox.len() == OUTBOX_SIZE {
                    outbox.pop_back();
                }
                outbox.push_front(OutboxEmail {
                    to: to.to_owned(),
                    subject,
                    body,
                    link: link.to_owned(),
                    code: code.to_owned(),
                    sent_at: chrono::Utc::now().to_rfc3339(),
                });
                Ok(())
            }
        }
    }

    /// The outbox, newest first (empty with SMTP).
    pub fn outbox(&self) -> Vec<OutboxEmail> {
        match self {
            Self::Outbox(outbox) => outbox.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect(),
            Self::Smtp { .. } => Vec::new(),
        }
    }
}
