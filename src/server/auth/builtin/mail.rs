//! Sending sign-in emails: through SMTP when `SMTP_URL` is set; into the local outbox (`/dev/outbox`, loopback
//! only) when `DEV_OUTBOX` turns it on for development; otherwise not at all — a server with neither refuses to
//! send links and codes rather than leaving them anywhere (the log included).
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// Emails the outbox keeps (the oldest go first).
const OUTBOX_SIZE: usize = 100;

/// An email as the outbox shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OutboxEmail {
    /// Position in the outbox since start-up (the page anchors each email on it: `#mail-<id>`).
    pub id: u64,
    /// Recipient.
    pub to: String,
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

/// Why a sign-in email was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Neither SMTP nor the development outbox is configured.
    #[error("email sign-in is not set up on this server (no SMTP_URL)")]
    NotConfigured,
    /// The recipient or message could not be built.
    #[error("building the email: {0}")]
    Message(String),
    /// The SMTP server refused or could not be reached.
    #[error("SMTP: {0}")]
    Smtp(String),
}

/// The local outbox: the newest emails, newest first.
#[derive(Default)]
pub struct Outbox {
    emails: Mutex<VecDeque<OutboxEmail>>,
    next_id: AtomicU64,
}

/// A real SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// Sends the sign-in email with `link` and `code` to `to`, waiting for the SMTP server's answer.
    pub async fn send(&self, to: &str, link: &str, code: &str) -> Result<(), MailError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(to.parse().map_err(|e| MailError::Message(format!("recipient: {e}")))?)
            .subject(SUBJECT)
            .body(body(link, code))
            .map_err(|e| MailError::Message(e.to_string()))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| MailError::Smtp(e.to_string()))
    }
}

/// Where emails go.
pub enum Mailer {
    /// SMTP (`SMTP_URL`).
    Smtp(Arc<SmtpMailer>),
    /// The in-memory outbox of local development (`DEV_OUTBOX`).
    Outbox(Outbox),
    /// Nowhere: sign-in by link or code is refused.
    Disabled,
}

impl Mailer {
    /// SMTP from `SMTP_URL`; else the outbox when `dev_outbox`; else disabled.
    pub fn new(smtp_url: Option<&SecretString>, from: &str, dev_outbox: bool) -> Result<Self, String> {
        match smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| format!("SMTP_URL: {e}"))?
                    .build();
                let from = from.parse().map_err(|e| format!("SMTP_FROM: {e}"))?;
                Ok(Self::Smtp(Arc::new(SmtpMailer { transport, from })))
            }
            None if dev_outbox => Ok(Self::Outbox(Outbox::default())),
            None => Ok(Self::Disabled),
        }
    }

    /// Whether links and codes can be sent at all.
    pub fn can_send(&self) -> bool {
        !matches!(self, Self::Disabled)
    }

    /// The local outbox, when emails go there.
    pub fn outbox(&self) -> Option<&Outbox> {
        match self {
            Self::Outbox(outbox) => Some(outbox),
            _ => None,
        }
    }

    /// Hands the sign-in email on without waiting for SMTP: a slow or failing mail server must neither hold up the
    /// answer nor make it slower for known addresses than for unknown ones (failures are logged). The outbox takes
    /// it at once; a disabled mailer refuses.
    pub fn dispatch_sign_in(&self, to: &str, link: &str, code: &str) -> Result<(), MailError> {
        match self {
            Self::Smtp(smtp) => {
                let (smtp, to, link, code) = (Arc::clone(smtp), to.to_owned(), link.to_owned(), code.to_owned());
                tokio::spawn(async move {
                    if let Err(e) = smtp.send(&to, &link, &code).await {
                        tracing::error!(error = %e, "sending the sign-in email failed");
                    }
                });
                Ok(())
            }
            // The link itself is a credential: it stays in the outbox, never in the log.
            Self::Outbox(outbox) => {
                tracing::info!(to, "sign-in email kept in the local outbox (DEV_OUTBOX; no SMTP_URL)");
                outbox.push(to, body(link, code), link, code);
                Ok(())
            }
            Self::Disabled => Err(MailError::NotConfigured),
        }
    }
}

const SUBJECT: &str = "Your tradechat sign-in link";

fn body(link: &str, code: &str) -> String {
    format!(
        "Sign in to tradechat:\n\n{link}\n\nOr enter this code: {code}\n\nThe link works once within an hour; the \
         code within 10 minutes. If you did not ask to sign in, ignore this email."
    )
}

impl Outbox {
    fn push(&self, to: &str, body: String, link: &str, code: &str) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let mut emails = self.emails.lock().unwrap_or_else(|p| p.into_inner());
        if emails.len() == OUTBOX_SIZE {
            emails.pop_back();
        }
        emails.push_front(OutboxEmail {
            id,
            to: to.to_owned(),
            subject: SUBJECT.to_owned(),
            body,
            link: link.to_owned(),
            code: code.to_owned(),
            sent_at: chrono::Utc::now().to_rfc3339(),
        });
    }

    /// The emails, newest first.
    pub fn emails(&self) -> Vec<OutboxEmail> {
        self.emails.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_keeps_the_newest_first_and_a_disabled_mailer_refuses() {
        let mailer = Mailer::new(None, "x <x@localhost>", true).expect("outbox");
        for n in 0..(OUTBOX_SIZE + 2) {
            mailer.dispatch_sign_in(&format!("u{n}@example.com"), "http://l", "123456").expect("kept");
        }
        let emails = mailer.outbox().expect("an outbox").emails();
        assert_eq!(emails.len(), OUTBOX_SIZE);
        assert_eq!(emails[0].to, format!("u{}@example.com", OUTBOX_SIZE + 1));
        assert!(emails[0].id > emails[1].id);

        let disabled = Mailer::new(None, "x <x@localhost>", false).expect("disabled");
        assert!(!disabled.can_send() && disabled.outbox().is_none());
        let refused = disabled.dispatch_sign_in("a@example.com", "http://l", "123456");
        assert!(matches!(refused, Err(MailError::NotConfigured)));
    }
}

#[cfg(test)]
mod log_tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// Collects everything the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_sign_in_link_never_reaches_the_log() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        let link = "http://127.0.0.1:3000/auth/confirm?token_hash=SECRET-LINK-TOKEN&type=email";
        tracing::subscriber::with_default(subscriber, || {
            let mailer = super::Mailer::new(None, "x <x@localhost>", true).expect("outbox");
            mailer.dispatch_sign_in("a@example.com", link, "424242").expect("kept");
        });
        let log = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
        assert!(log.contains("kept in the local outbox"), "the event is logged: {log}");
        assert!(!log.contains("SECRET-LINK-TOKEN") && !log.contains("424242"), "{log}");
    }
}
