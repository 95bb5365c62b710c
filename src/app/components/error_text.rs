//! An [`AppError`] in the reader's language. The server sends the typed reason; the words are here, in the
//! `errors` namespace of the translations, so a Russian page shows Russian errors.
use leptos::prelude::*;

use crate::api::AppError;
use crate::api::reasons::{
    Budget, DateField, Dependency, Invalid, Limit, Missing, ModelFailure, RunFailure, SignInRefusal,
};
use crate::app::locale::{day_month, t, tr, use_i18n};
use crate::domain::{TextError, TextField};

/// The error as a sentence (inline; see [`ErrorAlert`] for the usual paragraph).
#[component]
pub fn ErrorText(error: AppError) -> impl IntoView {
    let i18n = use_i18n();
    match error {
        AppError::Unauthorized => tr!(i18n, errors.unauthorized).into_any(),
        AppError::Forbidden => tr!(i18n, errors.forbidden).into_any(),
        AppError::Draining => tr!(i18n, errors.draining).into_any(),
        AppError::Internal => tr!(i18n, errors.internal).into_any(),
        AppError::Transport(detail) => t!(i18n, errors.transport, detail).into_any(),
        AppError::NotFound(what) => missing(what).into_any(),
        AppError::Unavailable(what) => match what {
            Dependency::Database => tr!(i18n, errors.unavailable_database).into_any(),
            Dependency::SignIn => tr!(i18n, errors.unavailable_sign_in).into_any(),
            Dependency::TradingDatabase => tr!(i18n, errors.unavailable_trading_database).into_any(),
        },
        AppError::RateLimited { limit, .. } => limit_text(limit).into_any(),
        AppError::Invalid(reason) => invalid(reason).into_any(),
    }
}

/// The error in a `role="alert"` paragraph (`small` for the compact ones under a control).
#[component]
pub fn ErrorAlert(error: AppError, #[prop(optional)] small: bool) -> impl IntoView {
    view! {
        <p class="error" class:small=small role="alert">
            <ErrorText error />
        </p>
    }
}

fn missing(what: Missing) -> AnyView {
    let i18n = use_i18n();
    match what {
        Missing::Conversation => tr!(i18n, errors.missing_conversation).into_any(),
        Missing::SavedAnswer => tr!(i18n, errors.missing_saved_answer).into_any(),
        Missing::QueryStep => tr!(i18n, errors.missing_query_step).into_any(),
        Missing::LiveStream => tr!(i18n, errors.missing_live_stream).into_any(),
        Missing::Run => tr!(i18n, errors.missing_run).into_any(),
        Missing::Alert => tr!(i18n, errors.missing_alert).into_any(),
        Missing::Exchange => tr!(i18n, errors.missing_exchange).into_any(),
        Missing::User => tr!(i18n, errors.missing_user).into_any(),
    }
}

fn limit_text(limit: Limit) -> AnyView {
    let i18n = use_i18n();
    match limit {
        Limit::PerMinute { limit, wait_secs } => t!(i18n, errors.limit_per_minute, limit, wait = wait_secs).into_any(),
        Limit::Concurrent { in_flight, limit } => t!(i18n, errors.limit_concurrent, in_flight, limit).into_any(),
        Limit::DailyBudget { usd } => t!(i18n, errors.limit_daily_budget, usd).into_any(),
        Limit::MonthlyBudget { usd, resets_on } => {
            let on = move || day_month(i18n.get_locale(), resets_on);
            t!(i18n, errors.limit_monthly_budget, usd, on).into_any()
        }
        Limit::OneAtATime => tr!(i18n, errors.limit_one_at_a_time).into_any(),
        Limit::SignInAttempts => tr!(i18n, errors.limit_sign_in_attempts).into_any(),
    }
}

fn invalid(reason: Invalid) -> AnyView {
    let i18n = use_i18n();
    match reason {
        Invalid::Request(detail) => t!(i18n, errors.invalid_request, detail).into_any(),
        Invalid::Text(error) => view! { <TextErrorText error /> }.into_any(),
        Invalid::ConversationBusy => tr!(i18n, errors.conversation_busy).into_any(),
        Invalid::ConversationBusyToDelete => tr!(i18n, errors.conversation_busy_to_delete).into_any(),
        Invalid::CodeDigits => tr!(i18n, errors.code_digits).into_any(),
        Invalid::SignInLink => tr!(i18n, errors.sign_in_link).into_any(),
        Invalid::SignIn(refusal) => sign_in(refusal),
        Invalid::BudgetAmount(Budget::Daily) => tr!(i18n, errors.budget_amount_daily).into_any(),
        Invalid::BudgetAmount(Budget::Monthly) => tr!(i18n, errors.budget_amount_monthly).into_any(),
        Invalid::LimitsPositive => tr!(i18n, errors.limits_positive).into_any(),
        Invalid::SearchTooLong { max } => t!(i18n, errors.search_too_long, max).into_any(),
        Invalid::EditedSqlEmpty => tr!(i18n, errors.edited_sql_empty).into_any(),
        Invalid::Date(DateField::Start) => tr!(i18n, errors.date_start).into_any(),
        Invalid::Date(DateField::End) => tr!(i18n, errors.date_end).into_any(),
        Invalid::DateOrder => tr!(i18n, errors.date_order).into_any(),
        Invalid::RangeTooLong => tr!(i18n, errors.range_too_long).into_any(),
        Invalid::NoRerunBasis => tr!(i18n, errors.no_rerun_basis).into_any(),
        Invalid::StepHasNoSql => tr!(i18n, errors.step_has_no_sql).into_any(),
        Invalid::StepNotRerunnable(name) => t!(i18n, errors.step_not_rerunnable, name).into_any(),
        Invalid::Query(detail) => t!(i18n, errors.query, detail).into_any(),
        Invalid::QueryTimeout { secs } => t!(i18n, errors.query_timeout, secs).into_any(),
        Invalid::CsvTooLarge { limit } => t!(i18n, errors.csv_too_large, limit).into_any(),
    }
}

/// Why an answer stopped before it was complete (the run's `run_error`, or the one stored with the exchange). A
/// provider's own words (`detail`) stay as the provider wrote them.
#[component]
pub fn RunFailureText(failure: RunFailure) -> impl IntoView {
    let i18n = use_i18n();
    match failure {
        RunFailure::CostCap => tr!(i18n, errors.run_cost_cap).into_any(),
        RunFailure::Internal => tr!(i18n, errors.run_internal).into_any(),
        RunFailure::ServerStopped => tr!(i18n, errors.run_server_stopped).into_any(),
        RunFailure::Model(failure) => match failure {
            ModelFailure::KeyRejected { setting } => t!(i18n, errors.model_key_rejected, setting).into_any(),
            ModelFailure::RateLimited => tr!(i18n, errors.model_rate_limited).into_any(),
            ModelFailure::Overloaded => tr!(i18n, errors.model_overloaded).into_any(),
            ModelFailure::Unavailable => tr!(i18n, errors.model_unavailable).into_any(),
            ModelFailure::Refused { status, detail } => t!(i18n, errors.model_refused, status, detail).into_any(),
            ModelFailure::Unreachable { detail } => t!(i18n, errors.model_unreachable, detail).into_any(),
            ModelFailure::Silent { secs } => t!(i18n, errors.model_silent, secs).into_any(),
            ModelFailure::StoppedResponding => tr!(i18n, errors.model_stopped_responding).into_any(),
            ModelFailure::StreamEnded => tr!(i18n, errors.model_stream_ended).into_any(),
            ModelFailure::StreamBroke { detail } => t!(i18n, errors.model_stream_broke, detail).into_any(),
            ModelFailure::MalformedToolInput { detail } => {
                t!(i18n, errors.model_malformed_tool_input, detail).into_any()
            }
            ModelFailure::Reported { detail } => t!(i18n, errors.model_reported, detail).into_any(),
        },
    }
}

/// Why a note, name, title or question was refused (also shown by the composer before it sends).
#[component]
pub fn TextErrorText(error: TextError) -> impl IntoView {
    let i18n = use_i18n();
    match error {
        TextError::TooLong { what, max, len } => match what {
            TextField::Note => t!(i18n, errors.too_long_note, max, len).into_any(),
            TextField::DisplayName => t!(i18n, errors.too_long_display_name, max, len).into_any(),
            TextField::Title => t!(i18n, errors.too_long_title, max, len).into_any(),
            TextField::Question => t!(i18n, errors.too_long_question, max, len).into_any(),
        },
        TextError::Empty(what) => match what {
            TextField::Note => tr!(i18n, errors.empty_note).into_any(),
            TextField::DisplayName => tr!(i18n, errors.empty_display_name).into_any(),
            TextField::Title => tr!(i18n, errors.empty_title).into_any(),
            TextField::Question => tr!(i18n, errors.empty_question).into_any(),
        },
    }
}

fn sign_in(refusal: SignInRefusal) -> AnyView {
    let i18n = use_i18n();
    match refusal {
        SignInRefusal::InvalidCredentials => tr!(i18n, errors.sign_in_invalid_credentials).into_any(),
        SignInRefusal::UserExists => tr!(i18n, errors.sign_in_user_exists).into_any(),
        SignInRefusal::LinkExpired => tr!(i18n, errors.sign_in_link_expired).into_any(),
        SignInRefusal::WeakPassword { min } => t!(i18n, errors.sign_in_weak_password, min).into_any(),
        SignInRefusal::EmailInvalid => tr!(i18n, errors.sign_in_email_invalid).into_any(),
        SignInRefusal::ConfirmationRequired => tr!(i18n, errors.sign_in_confirmation_required).into_any(),
        // A message tradechat does not know yet: the service's own words.
        SignInRefusal::Other(message) => message.into_any(),
    }
}
