//! Starting a run: the question parsed, the conversation checked and its context read (as the user), admission
//! (rate, concurrency, budget reservation), the log id reserved, then the agent spawned in a task of its own that
//! streams the run's events, logs it, and settles its reservation — whatever happens to the client's connection.
use crate::api::reasons::{Invalid, Missing, RunFailure};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use futures_util::FutureExt as _;
use tracing::Instrument as _;
use uuid::Uuid;

use super::llm;
use super::runs::Run;
use super::trading_agent::{RunOutput, TradingAgent};
use crate::api::{AppError, ChatRequest, RunEnd, RunEvent};
use crate::domain::{Question, RunStatus};
use crate::server::auth::Identity;
use crate::server::limits::admission::{self, AdmissionError};
use crate::server::limits::settler::Ended;
use crate::server::state::AppState;
use crate::server::store::chat_logs::ChatLogRecord;
use crate::server::store::conversations;
use crate::server::store::scoped::ScopedTx;

/// A conversation title from its first question.
pub(super) fn title_of(question: &str) -> String {
    let one_line = question.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= 80 {
        one_line
    } else {
        format!("{}…", one_line.chars().take(79).collect::<String>())
    }
}

/// Starts a run for `identity`: validates the question, checks the conversation is theirs and reads its context
/// (one query, as the user), reserves the log id, and spawns the agent. Returns at once; the run goes on even if
/// the client disconnects.
pub async fn start_run(state: &AppState, identity: &Identity, request: ChatRequest) -> Result<Arc<Run>, AppError> {
    if state.draining.is_cancelled() {
        return Err(AppError::Draining);
    }
    let question = Question::parse(&request.message)?;
    let service = &state.agent;
    let (conversation_id, history, is_new) = match request.conversation_id {
        Some(id) => {
            // A follow-up right after an answer: let the writer store that answer first, so it is in the context.
            let previous = service.runs.latest(identity.user_id, id);
            if let Some(log_id) = previous.as_ref().filter(|r| r.is_finished()).and_then(|r| r.chat_log_id()) {
                state.log_writer.wait_settled(log_id, std::time::Duration::from_secs(2)).await;
            }
            let mut tx = ScopedTx::as_user(&state.db, identity).await?;
            let visible = conversations::is_visible(&mut tx, id).await?
                || previous.is_some()
                || service.relay.knows(identity.user_id, id).await?;
            if !visible {
                return Err(AppError::NotFound(Missing::Conversation));
            }
            let history = conversations::context(&mut tx, id, service.context_exchanges).await?;
            tx.commit().await?;
            (id, history, false)
        }
        None => (Uuid::new_v4(), Vec::new(), true),
    };
    let elsewhere = async {
        match is_new {
            true => Ok::<_, sqlx::Error>(false),
            false => Ok(service.relay.active(identity.user_id, conversation_id).await?.is_some()),
        }
    };
    if service.runs.active(identity.user_id, conversation_id).is_some() || elsewhere.await? {
        return Err(AppError::Invalid(Invalid::ConversationBusy));
    }
    let schema = state.duck.schema().await?;
    let today = Utc::now().date_naive();
    let run_id = Uuid::new_v4();
    let live = admission::LiveRun { conversation_id, instance: service.relay.instance() };
    let worst_case = service.worst_case_cost(today);
    admission::admit_run(&state.db, identity.user_id, run_id, worst_case, &state.config.limits, Some(live))
        .await
        .map_err(|e| match e {
            AdmissionError::Refused(r) => {
                AppError::RateLimited { limit: r.limit, retry_after_secs: r.retry_after_secs }
            }
            AdmissionError::Database(e) => AppError::from(e),
        })?;
    let chat_log_id = state.log_writer.reserve_id();
    let run = service.runs.create(run_id, identity.user_id, conversation_id, Some(service.relay.sink()));
    run.push(RunEvent::RunStarted {
        run_id: run.id,
        conversation_id,
        chat_log_id,
        model: service.llm.model().to_owned(),
        question: question.as_str().to_owned(),
        context_ids: history.iter().map(|(id, _, _)| *id).collect(),
    });

    let mut agent = TradingAgent::new(Arc::clone(&service.llm), state.duck.clone(), schema, service.limits, today);
    let reserved = service.worst_case_cost(today);
    if reserved > rust_decimal::Decimal::ZERO {
        // Another round may cost at most one round's share of the reservation.
        let per_round = reserved / rust_decimal::Decimal::from(service.limits.max_tool_rounds as u64 + 1);
        let (prices, model) = (service.prices.clone(), service.llm.model().to_owned());
        agent = agent.with_cost_cap(Box::new(move |usage: &llm::Usage| {
            prices.cost(&model, today, usage).is_some_and(|spent| spent + per_round > reserved)
        }));
    }
    let span = tracing::info_span!(
        "invoke_agent",
        otel.name = "invoke_agent tradechat",
        gen_ai.operation.name = "invoke_agent",
        gen_ai.agent.name = "tradechat",
        gen_ai.provider.name = service.llm.provider(),
        gen_ai.request.model = %service.llm.model(),
        gen_ai.conversation.id = %conversation_id,
        tradechat.run.id = %run.id,
        tradechat.run.status = tracing::field::Empty,
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
        error.type = tracing::field::Empty,
    );
    let (state, user_id, task_run) = (state.clone(), identity.user_id, Arc::clone(&run));
    service.runs.spawn(async move {
        let run = task_run;
        let started = Instant::now();
        let created_at = Utc::now().naive_utc();
        let pairs: Vec<(String, String)> = history.into_iter().map(|(_, q, a)| (q, a)).collect();
        let first_token = std::sync::OnceLock::new();
        let emit = |event: RunEvent| {
            if matches!(event, RunEvent::TextDelta { .. }) {
                first_token.get_or_init(|| started.elapsed());
            }
            run.push(event)
        };
        // A bug in the loop must still end the run (clients waiting, the conversation unblocked) and log it.
        let running = AssertUnwindSafe(agent.run(question.as_str(), &pairs, &emit, &run.cancel)).catch_unwind();
        let output = match running.instrument(span.clone()).await {
            Ok(output) => output,
            Err(_) => {
                tracing::error!(run_id = %run.id, "the agent panicked; ending the run with an error");
                RunOutput {
                    response: run.text(),
                    tools_used: Vec::new(),
                    evidence: Vec::new(),
                    usage: llm::Usage::default(),
                    status: RunStatus::Error,
                    error: Some(RunFailure::Internal),
                }
            }
        };
        span.record("tradechat.run.status", output.status.as_str());
        span.record("gen_ai.usage.input_tokens", super::trading_agent::otel_int(output.usage.input_tokens));
        span.record("gen_ai.usage.output_tokens", super::trading_agent::otel_int(output.usage.output_tokens));
        if output.status == RunStatus::Error {
            span.record("error.type", "run_error");
        }
        let model = state.agent.llm.model().to_owned();
        let cost = state.agent.prices.cost(&model, today, &output.usage);
        crate::server::metrics::run_ended(&crate::server::metrics::RunRecord {
            status: output.status,
            model: &model,
            usage: output.usage,
            cost,
            duration: started.elapsed(),
            first_token: first_token.get().copied(),
            tools: &output.tools_used,
        });
        if let Some(failure) = &output.error {
            run.push(RunEvent::failed(failure));
        }
        // A complete answer's numbers are checked against what its steps returned (milliseconds, in memory).
        let checks = (output.status == RunStatus::Ok && !output.response.is_empty())
            .then(|| crate::server::checks::check(question.as_str(), &output.response, output.evidence));
        // An answer that states no number has nothing to mark (its rows are still kept, for re-runs).
        if let Some(checks) = checks.as_ref().filter(|c| !c.numbers.is_empty()) {
            run.push(RunEvent::Checked { checks: checks.cited_only() });
        }
        let tokens = |n: u64| i32::try_from(n).ok();
        state
            .log_writer
            .enqueue(ChatLogRecord {
                id: chat_log_id,
                user_id,
                conversation_id: Some(conversation_id),
                conversation_title: is_new.then(|| title_of(question.as_str())),
                question: question.as_str().to_owned(),
                response: output.response.clone(),
                tools_used: serde_json::Value::Array(output.tools_used.clone()),
                checks: checks.and_then(|c| serde_json::to_value(c).ok()),
                input_tokens: tokens(output.usage.input_tokens),
                output_tokens: tokens(output.usage.output_tokens),
                cache_creation_tokens: tokens(output.usage.cache_creation_tokens),
                cache_read_tokens: tokens(output.usage.cache_read_tokens),
                cost,
                model,
                status: output.status,
                error: output.error.as_ref().map(ToString::to_string),
                failure: output.error.clone(),
                duration_ms: i32::try_from(started.elapsed().as_millis()).ok(),
                created_at,
            })
            .await;
        run.push(RunEvent::Done {
            status: match output.status {
                RunStatus::Ok => RunEnd::Ok,
                RunStatus::Error => RunEnd::Error,
                RunStatus::Cancelled => RunEnd::Cancelled,
            },
            chat_log_id,
            input_tokens: output.usage.input_tokens,
            output_tokens: output.usage.output_tokens,
            cost: cost.map(|c| c.normalize().to_string()),
        });
        state.agent.settler.ended(Ended { run_id: run.id, user_id, cost });
    });
    Ok(run)
}

/// Waits (briefly) for the logs of the user's runs that ended in the last few seconds to reach Postgres: a page
/// asking right after an answer ended should see it.
pub async fn await_recent_logs(state: &AppState, user_id: Uuid) {
    for log_id in state.agent.runs.recently_finished(user_id, std::time::Duration::from_secs(5)) {
        state.log_writer.wait_settled(log_id, std::time::Duration::from_secs(2)).await;
    }
}

/// Whether the user has a run in `conversation_id`, on this instance or another (then the conversation exists
/// even before its first log is stored); when this instance's run has just ended, waits briefly for its log.
pub async fn await_run_log(state: &AppState, user_id: Uuid, conversation_id: Uuid) -> bool {
    let Some(run) = state.agent.runs.latest(user_id, conversation_id) else {
        // Perhaps another instance runs (or just ran) it.
        return state.agent.relay.knows(user_id, conversation_id).await.unwrap_or(false);
    };
    if let Some(log_id) = Some(&run).filter(|r| r.is_finished()).and_then(|r| r.chat_log_id()) {
        state.log_writer.wait_settled(log_id, std::time::Duration::from_secs(2)).await;
    }
    true
}

#[cfg(test)]
mod tests {
    #[test]
    fn titles_are_one_line_and_short() {
        assert_eq!(super::title_of("latest\n price   of NOVA"), "latest price of NOVA");
        let long = "x".repeat(200);
        assert_eq!(super::title_of(&long).chars().count(), 80);
    }
}
