//! The chat stream over HTTP (documented in `crate::api::stream`):
//! - `POST /chat/stream {message, conversation_id?}` — starts a run. Answers with the run's events as Server-Sent
//!   Events, or with `{run_id, conversation_id}` at once when the client sends `Accept: application/json` (the UI
//!   then follows the run with `EventSource`, which reconnects by itself);
//! - `GET /chat/runs/{id}/events?after=N` — the run's events from index `N` (or after `Last-Event-ID`);
//! - `POST /chat/runs/{id}/stop` — cancels the run (its partial answer is kept and logged);
//! - `GET /chat/runs/active?conversation_id=…` — the unfinished run of a conversation, for a reloaded page.
//!
//! The user always comes from the verified session, never from the body. Streams end at server shutdown.
use crate::api::reasons::Missing;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};

use futures_util::{Stream, StreamExt, stream};
use serde::Deserialize;
use uuid::Uuid;

use super::runs::Run;
use crate::api::{AppError, ChatRequest, RunEvent, RunHandle};
use crate::server::edge::{AppJson, CurrentUser};
use crate::server::state::AppState;

/// `POST /chat/stream`.
pub async fn chat_stream(
    State(state): State<AppState>,
    CurrentUser(identity): CurrentUser,
    headers: HeaderMap,
    AppJson(request): AppJson<ChatRequest>,
) -> Result<Response, AppError> {
    let run = super::start_run(&state, &identity, request).await?;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("text/event-stream"));
    Ok(if wants_json {
        (StatusCode::CREATED, AppJson(RunHandle { run_id: run.id, conversation_id: run.conversation_id }))
            .into_response()
    } else {
        events(&state, run, 0).into_response()
    })
}

/// The composer's plain form (before the WASM has loaded).
#[derive(Debug, Deserialize)]
pub struct AskForm {
    message: String,
    #[serde(default)]
    conversation_id: Option<String>,
}

/// `POST /chat/ask`: the composer as a plain HTML form. Starts the run and opens its conversation, where the page
/// shows the answer once it is logged (and follows it live once the WASM has loaded). A refusal goes back to the
/// conversation with the reason in `?ask_error=`.
pub async fn ask(
    State(state): State<AppState>,
    CurrentUser(identity): CurrentUser,
    axum::Form(form): axum::Form<AskForm>,
) -> Response {
    let conversation_id = form.conversation_id.as_deref().filter(|s| !s.is_empty()).and_then(|s| s.parse().ok());
    let back = |id: Option<Uuid>| id.map_or_else(|| "/".to_owned(), |id| format!("/c/{id}"));
    match super::start_run(&state, &identity, ChatRequest { message: form.message, conversation_id }).await {
        Ok(run) => Redirect::to(&back(Some(run.conversation_id))).into_response(),
        Err(e) => {
            let reason = leptos_router::location::Url::escape(&e.to_string());
            Redirect::to(&format!("{}?ask_error={reason}", back(conversation_id))).into_response()
        }
    }
}

/// `?after=N`.
#[derive(Debug, Deserialize)]
pub struct AfterQuery {
    after: Option<usize>,
}

/// `GET /chat/runs/{id}/events`.
pub async fn run_events(
    State(state): State<AppState>,
    CurrentUser(identity): CurrentUser,
    Path(id): Path<Uuid>,
    Query(query): Query<AfterQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let gone = || AppError::NotFound(Missing::LiveStream);
    // EventSource reconnects to the same URL (still `?after=` of the first connection) with the id of the last
    // event it saw: resume after whichever is further, so nothing is delivered twice.
    let from_header = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .map(|last| last.saturating_add(1));
    let after = query.after.unwrap_or(0).max(from_header.unwrap_or(0));
    if let Some(run) = state.agent.runs.get(id, identity.user_id) {
        return Ok(events(&state, run, after));
    }
    // Running (or just ended) on another instance: stream it from the relay.
    state.agent.relay.lookup(id, identity.user_id).await?.ok_or_else(gone)?;
    Ok(relayed_events(&state, id, after))
}

/// `POST /chat/runs/{id}/stop`.
pub async fn stop_run(
    State(state): State<AppState>,
    CurrentUser(identity): CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    if let Some(run) = state.agent.runs.get(id, identity.user_id) {
        run.cancel.cancel();
        return Ok(StatusCode::ACCEPTED);
    }
    // Another instance runs it: it is told, and stops at its next step.
    if state.agent.relay.request_stop(id, identity.user_id).await? {
        return Ok(StatusCode::ACCEPTED);
    }
    Err(AppError::NotFound(Missing::Run))
}

/// `?conversation_id=…`.
#[derive(Debug, Deserialize)]
pub struct ActiveQuery {
    conversation_id: Uuid,
}

/// `GET /chat/runs/active`: the conversation's unfinished run, on this instance or another.
pub async fn active_run(
    State(state): State<AppState>,
    CurrentUser(identity): CurrentUser,
    Query(query): Query<ActiveQuery>,
) -> Result<AppJson<Option<RunHandle>>, AppError> {
    if let Some(run) = state.agent.runs.active(identity.user_id, query.conversation_id) {
        return Ok(AppJson(Some(RunHandle { run_id: run.id, conversation_id: run.conversation_id })));
    }
    let remote = state.agent.relay.active(identity.user_id, query.conversation_id).await?;
    Ok(AppJson(remote.map(|run| RunHandle { run_id: run.run_id, conversation_id: run.conversation_id })))
}

/// The run's events from `after` on, then the live ones, until `Done` or server shutdown, as Server-Sent Events:
/// whatever is ready when the connection can take more leaves in one write.
fn events(state: &AppState, run: Arc<Run>, after: usize) -> Response {
    sse_response(event_batches(state, run, after))
}

/// Batches of events as a Server-Sent Events response with keep-alives, whatever is ready leaving in one write.
fn sse_response(batches: impl Stream<Item = Vec<Event>> + Send + 'static) -> Response {
    let sse = Sse::new(batches.flat_map(|batch| stream::iter(batch.into_iter().map(Ok::<_, Infallible>))))
        .keep_alive(KeepAlive::default());
    let (parts, body) = sse.into_response().into_parts();
    Response::from_parts(parts, super::coalesce::coalesced(body))
}

/// A run of another instance, from the relay's table: the stored events from `after` on, then each batch as the
/// running instance appends it (woken by its notification, or at the latest a second later), until `done`.
fn relayed_events(state: &AppState, run_id: Uuid, after: usize) -> Response {
    let relay = state.agent.relay.clone();
    let shutdown = state.shutdown.clone();
    let watch = relay.watch(run_id);
    let batches = stream::unfold((after, false, watch), move |(next, done, mut watch)| {
        let (relay, shutdown) = (relay.clone(), shutdown.clone());
        async move {
            if done {
                return None;
            }
            loop {
                // A database error ends the stream; EventSource reconnects with the last id it saw.
                let rows = relay.events_after(run_id, next).await.ok()?;
                // Only what follows on without a gap (the table fills in order; this is a guard).
                let rows: Vec<_> = rows
                    .into_iter()
                    .enumerate()
                    .take_while(|(i, r)| r.0 as usize == next + i)
                    .map(|(_, r)| r)
                    .collect();
                if !rows.is_empty() {
                    let finished = rows.iter().any(|(_, kind, _)| kind == "done");
                    let count = rows.len();
                    let events: Vec<Event> = rows
                        .into_iter()
                        .map(|(seq, kind, data)| Event::default().event(kind).id(seq.to_string()).data(data))
                        .collect();
                    return Some((events, (next + count, finished, watch)));
                }
                if relay.has_ended(run_id).await.ok()? {
                    // Ended and every event read, or its events are gone: nothing more will come.
                    let rows = relay.events_after(run_id, next).await.ok()?;
                    if rows.is_empty() {
                        return None;
                    }
                    continue;
                }
                tokio::select! {
                    () = watch.wait() => {}
                    () = shutdown.cancelled() => return None,
                }
            }
        }
    });
    sse_response(batches)
}

/// Run events from index `first` on, as SSE events whose ids are their indexes.
fn sse_events(events: Vec<Arc<super::runs::RecordedEvent>>, first: usize) -> Vec<Event> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, e)| Event::default().event(e.event.kind()).id((first + i).to_string()).data(&*e.json))
        .collect()
}

/// The run's events in batches: those recorded from `after` on, then each as it is recorded, until `Done`.
fn event_batches(state: &AppState, run: Arc<Run>, after: usize) -> impl Stream<Item = Vec<Event>> + use<> {
    let shutdown = state.shutdown.clone();
    stream::unfold((run, after, false), move |(run, next, done)| {
        let shutdown = shutdown.clone();
        async move {
            if done {
                return None;
            }
            loop {
                let (fresh, finished) = run.since(next);
                // A reader already past the end of a finished run (a reconnect after `done`) gets an empty stream.
                if fresh.is_empty() && finished {
                    return None;
                }
                if !fresh.is_empty() {
                    let finished = fresh.iter().any(|e| matches!(e.event, RunEvent::Done { .. }));
                    let count = fresh.len();
                    return Some((sse_events(fresh, next), (run, next + count, finished)));
                }
                tokio::select! {
                    () = run.changed(next) => {}
                    () = shutdown.cancelled() => {
                        // The server is stopping (every run has ended by now): send what the run said last, its
                        // `done` included, before the stream ends.
                        let (fresh, _) = run.since(next);
                        return (!fresh.is_empty()).then(|| (sse_events(fresh, next), (run, next, true)));
                    }
                }
            }
        }
    })
}
