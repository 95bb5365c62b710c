//! Why a request failed, as data. The server picks the reason; the UI words it in the reader's language
//! (`app::components::ErrorText`); the English `Display` here is for logs, the JSON API and its clients.
use crate::domain::TextError;
use serde::{Deserialize, Serialize};

/// What was not found (or is not the caller's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Missing {
    /// A conversation.
    #[error("That conversation")]
    Conversation,
    /// A saved answer.
    #[error("That saved answer")]
    SavedAnswer,
    /// A tool step of an answer.
    #[error("That answer's query step")]
    QueryStep,
    /// The live stream of an answer that has already finished.
    #[error("That answer's live stream (it has finished; reload the conversation)")]
    LiveStream,
    /// A run (an answer being written).
    #[error("That run")]
    Run,
    /// An alert.
    #[error("That alert")]
    Alert,
    /// One question and answer of the chat log.
    #[error("That exchange")]
    Exchange,
    /// A user account.
    #[error("That user")]
    User,
}

/// A service tradechat depends on that could not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Dependency {
    /// Postgres.
    #[error("The database")]
    Database,
    /// GoTrue (Supabase Auth or the built-in one).
    #[error("The sign-in service")]
    SignIn,
    /// The DuckDB file with the market data.
    #[error("The trading database")]
    TradingDatabase,
}

/// A limit that was reached, with what the reader needs to know to wait it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Limit {
    /// Questions per minute.
    #[error("Too many questions: at most {limit} a minute. Try again in {wait_secs} s.")]
    PerMinute {
        /// The limit.
        limit: u32,
        /// Seconds until the oldest question of the window leaves it.
        wait_secs: u64,
    },
    /// Answers being written at once.
    #[error(
        "You already have {in_flight} answer{} being written (the limit is {limit}); wait for one to finish.",
        if *in_flight == 1 { "" } else { "s" }
    )]
    Concurrent {
        /// Answers the user has being written now.
        in_flight: u32,
        /// The limit.
        limit: u32,
    },
    /// The day's spend reached the daily budget.
    #[error("Daily budget of {usd} reached; resets at 00:00 UTC.")]
    DailyBudget {
        /// The budget, formatted (`$2.00`).
        usd: String,
    },
    /// The month's spend reached the monthly budget.
    #[error("Monthly budget of {usd} reached; resets on {} at 00:00 UTC.", resets_on.format("%-d %b"))]
    MonthlyBudget {
        /// The budget, formatted (`$20.00`).
        usd: String,
        /// The first day of next month.
        resets_on: chrono::NaiveDate,
    },
    /// Another table, chart, download or re-run of the user's is still running (one at a time per user).
    #[error("Another table, chart, download or re-run of yours is still running; try again when it has finished.")]
    OneAtATime,
    /// The sign-in service refused more attempts for now.
    #[error("Too many attempts. Please wait a few minutes before trying again.")]
    SignInAttempts,
}

/// Which budget a [`Invalid::BudgetAmount`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Budget {
    /// Per UTC day.
    Daily,
    /// Per calendar month.
    Monthly,
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Daily => "daily",
            Self::Monthly => "monthly",
        })
    }
}

/// Which end of a date range a [`Invalid::Date`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DateField {
    /// The first day.
    Start,
    /// The last day.
    End,
}

impl std::fmt::Display for DateField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Start => "start",
            Self::End => "end",
        })
    }
}

/// Why the sign-in service refused a sign-in, sign-up or link (from GoTrue's own messages, which are stable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum SignInRefusal {
    /// Wrong email or password.
    #[error("Invalid login credentials")]
    InvalidCredentials,
    /// Signing up with an email that has an account.
    #[error("User already registered")]
    UserExists,
    /// A code or link that is wrong, used or expired.
    #[error("Token has expired or is invalid")]
    LinkExpired,
    /// A password shorter than the service allows.
    #[error("Password should be at least {min} characters.")]
    WeakPassword {
        /// The shortest allowed.
        min: u32,
    },
    /// Not an email address.
    #[error("Unable to validate email address: invalid format")]
    EmailInvalid,
    /// Sign-up needs the emailed confirmation first.
    #[error("Check your email to confirm your address, then sign in.")]
    ConfirmationRequired,
    /// Anything else, in the service's words.
    #[error("{0}")]
    Other(String),
}

impl SignInRefusal {
    /// Reads GoTrue's message into a refusal.
    pub fn from_message(message: String) -> Self {
        let known = [
            ("Invalid login credentials", Self::InvalidCredentials),
            ("User already registered", Self::UserExists),
            ("Token has expired or is invalid", Self::LinkExpired),
            ("Email link is invalid or has expired", Self::LinkExpired),
            ("Unable to validate email address", Self::EmailInvalid),
            ("Email not confirmed", Self::ConfirmationRequired),
        ];
        if let Some((_, refusal)) = known.into_iter().find(|(prefix, _)| message.starts_with(prefix)) {
            return refusal;
        }
        if let Some(rest) = message.strip_prefix("Password should be at least ")
            && let Some(min) = rest.split(' ').next().and_then(|n| n.parse().ok())
        {
            return Self::WeakPassword { min };
        }
        Self::Other(message)
    }
}

/// A request that cannot be carried out as sent; the message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Invalid {
    /// Malformed at the transport level (only crafted requests get this): the detail is for developers.
    #[error("Invalid request: {0}")]
    Request(String),
    /// A note, name, title or question that is empty or too long.
    #[error(transparent)]
    Text(#[from] TextError),
    /// A new question while the conversation's last answer is still being written.
    #[error("An answer is still being written in this conversation; wait for it or stop it.")]
    ConversationBusy,
    /// Deleting a conversation while an answer is being written in it.
    #[error("An answer is still being written in this conversation; stop it, then delete the conversation.")]
    ConversationBusyToDelete,
    /// A sign-in code that is not six digits.
    #[error("The code has 6 digits; check the email and try again.")]
    CodeDigits,
    /// A sign-in link that does not parse.
    #[error("That sign-in link is invalid or has expired; ask for a new one.")]
    SignInLink,
    /// The sign-in service said no.
    #[error(transparent)]
    SignIn(SignInRefusal),
    /// A budget that is not an amount.
    #[error("The {0} budget must be an amount in USD, e.g. 2.50.")]
    BudgetAmount(Budget),
    /// A rate or concurrency limit of zero or less.
    #[error("Limits must be positive numbers.")]
    LimitsPositive,
    /// A history search longer than allowed.
    #[error("Search text can be at most {max} characters.")]
    SearchTooLong {
        /// The limit.
        max: usize,
    },
    /// An edited step whose SQL is blank.
    #[error("The edited SQL is empty: write a query to run.")]
    EditedSqlEmpty,
    /// A date that does not parse.
    #[error("The {0} date must look like 2026-11-27 (a real date).")]
    Date(DateField),
    /// A range that ends before it starts.
    #[error("The start date is after the end date.")]
    DateOrder,
    /// A range longer than ten years.
    #[error("A range can be at most ten years long.")]
    RangeTooLong,
    /// A saved answer with no stored query results to re-run.
    #[error(
        "This answer has no query results to compare with: it was saved before answers were checked, or its \
         conversation was deleted. Ask the question again and save the new answer."
    )]
    NoRerunBasis,
    /// A query step without SQL.
    #[error("The step has no SQL to run.")]
    StepHasNoSql,
    /// A tool step that is not a query or chart.
    #[error("The step {0:?} cannot be run again.")]
    StepNotRerunnable(String),
    /// The SQL guard or DuckDB refused a query; the detail is the engine's (English) message.
    #[error("{0}")]
    Query(String),
    /// A query that ran past its deadline.
    #[error(
        "The query ran longer than {secs} s and was stopped. Narrow it down: filter by symbol or date range, \
         aggregate before joining, or add LIMIT."
    )]
    QueryTimeout {
        /// The deadline, in seconds.
        secs: u64,
    },
    /// A CSV download past its byte budget.
    #[error(
        "The result is too large for a CSV download (over {limit} bytes); aggregate, filter or select fewer columns."
    )]
    CsvTooLarge {
        /// The budget, in bytes.
        limit: usize,
    },
}

/// Why the model's turn could not be had: what the provider answered, or how its stream failed. The English text
/// is what the run's log and API clients read; the UI words it per locale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelFailure {
    /// 401/403: the key is wrong or revoked.
    #[error("The model provider rejected the API key; check {setting}.")]
    KeyRejected {
        /// The setting holding the key (`ANTHROPIC_API_KEY`).
        setting: String,
    },
    /// 429.
    #[error("The model provider is rate limiting requests; try again in a minute.")]
    RateLimited,
    /// 529, or an `overloaded_error` mid-stream.
    #[error("The model is overloaded right now; try again in a moment.")]
    Overloaded,
    /// 5xx.
    #[error("The model provider is unavailable right now; try again in a moment.")]
    Unavailable,
    /// Another refusal (400: the request itself), with the provider's words.
    #[error("The model provider refused the request ({status}): {detail}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The provider's message.
        detail: String,
    },
    /// The connection could not be made.
    #[error("Could not reach the model provider: {detail}")]
    Unreachable {
        /// The transport's error.
        detail: String,
    },
    /// No answer (or no next event) within the silence timeout.
    #[error("The model provider did not answer within {secs} s.")]
    Silent {
        /// The timeout.
        secs: u64,
    },
    /// The stream went quiet part-way.
    #[error("The model stopped responding.")]
    StoppedResponding,
    /// The stream closed before the turn was complete.
    #[error("The model's stream ended early.")]
    StreamEnded,
    /// The stream could not be read.
    #[error("The model's stream broke: {detail}")]
    StreamBroke {
        /// The transport's error.
        detail: String,
    },
    /// A tool call whose input is not JSON.
    #[error("The model sent a malformed tool input: {detail}")]
    MalformedToolInput {
        /// The parser's error.
        detail: String,
    },
    /// An error the provider reported inside its stream.
    #[error("The model provider reported an error: {detail}")]
    Reported {
        /// The provider's message.
        detail: String,
    },
}

impl ModelFailure {
    /// No answer within `timeout` (in whole seconds, rounded up: a sub-second timeout is not "0 s").
    pub fn silent(timeout: std::time::Duration) -> Self {
        Self::Silent { secs: timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0) }
    }
}

impl RunFailure {
    /// The free text it carries (a provider's words, the name of a setting), for cleaning before it is stored.
    pub fn text_mut(&mut self) -> Option<&mut String> {
        match self {
            Self::Model(ModelFailure::KeyRejected { setting }) => Some(setting),
            Self::Model(
                ModelFailure::Refused { detail, .. }
                | ModelFailure::Unreachable { detail }
                | ModelFailure::StreamBroke { detail }
                | ModelFailure::MalformedToolInput { detail }
                | ModelFailure::Reported { detail },
            ) => Some(detail),
            _ => None,
        }
    }
}

/// Why an answer stopped before it was complete (the stream's `run_error`, kept with the exchange).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum RunFailure {
    /// The model could not be had (after the retries).
    #[error(transparent)]
    Model(ModelFailure),
    /// The answer reached the per-answer cost cap between tool rounds.
    #[error(
        "This answer reached the most one answer may cost, so it stopped looking things up; ask a narrower question."
    )]
    CostCap,
    /// A bug in the agent loop (logged).
    #[error("Something went wrong while writing this answer; please ask again.")]
    Internal,
    /// The instance writing it stopped (the relay closed the run for it).
    #[error("The server writing this answer stopped before it finished; please ask again.")]
    ServerStopped,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gotrue_messages_become_refusals() {
        assert_eq!(SignInRefusal::from_message("Invalid login credentials".into()), SignInRefusal::InvalidCredentials);
        assert_eq!(
            SignInRefusal::from_message("Password should be at least 8 characters.".into()),
            SignInRefusal::WeakPassword { min: 8 }
        );
        assert_eq!(SignInRefusal::from_message("Something new".into()), SignInRefusal::Other("Something new".into()));
    }

    #[test]
    fn english_text_reads_as_before() {
        let plural = Limit::Concurrent { in_flight: 2, limit: 2 };
        assert_eq!(
            plural.to_string(),
            "You already have 2 answers being written (the limit is 2); wait for one to finish."
        );
        let month = Limit::MonthlyBudget {
            usd: "$20.00".into(),
            resets_on: chrono::NaiveDate::from_ymd_opt(2027, 1, 1).expect("date"),
        };
        assert_eq!(month.to_string(), "Monthly budget of $20.00 reached; resets on 1 Jan at 00:00 UTC.");
        assert_eq!(
            Invalid::Date(DateField::Start).to_string(),
            "The start date must look like 2026-11-27 (a real date)."
        );
    }

    #[test]
    fn run_failures_travel_as_data() {
        let failure = RunFailure::Model(ModelFailure::Silent { secs: 60 });
        let json = serde_json::to_value(&failure).expect("serialises");
        assert_eq!(json, serde_json::json!({ "model": { "kind": "silent", "secs": 60 } }));
        assert_eq!(serde_json::from_value::<RunFailure>(json).expect("reads back"), failure);
        assert_eq!(failure.to_string(), "The model provider did not answer within 60 s.");
        assert_eq!(serde_json::to_value(RunFailure::CostCap).expect("serialises"), "cost_cap");
    }
}
