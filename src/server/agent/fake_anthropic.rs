//! A local stand-in for the Anthropic Messages API, for tests and benchmarks (no test may reach the internet).
//! It speaks the real wire protocol — the same SSE events, field for field — and replays scripted responses in
//! order, recording every request it receives. The production client is what talks to it.
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes_chunks::chunked;
use serde_json::{Value, json};

/// One scripted reply.
#[derive(Debug, Clone)]
pub enum Reply {
    /// An HTTP error with a JSON error body (and optional `retry-after` seconds).
    Error {
        /// Status code.
        status: u16,
        /// Error type, e.g. `overloaded_error`.
        kind: String,
        /// `retry-after` header.
        retry_after: Option<u64>,
    },
    /// A 200 SSE stream of these raw SSE frames, written in chunks of `chunk` bytes (splitting lines anywhere),
    /// pausing `delay` between chunks.
    Stream {
        /// Frames (`event: …\ndata: …\n\n`).
        frames: Vec<String>,
        /// Bytes per write.
        chunk: usize,
        /// Pause between writes.
        delay: Duration,
    },
}

/// Builds SSE frames the way the Messages API sends them.
pub mod sse {
    use serde_json::{Value, json};

    /// One frame.
    pub fn frame(event: &str, data: &Value) -> String {
        format!("event: {event}\ndata: {data}\n\n")
    }

    /// `message_start` with input usage.
    pub fn message_start(input_tokens: u64, cache_creation: u64, cache_read: u64) -> String {
        frame(
            "message_start",
            &json!({"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001",
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1,
                      "cache_creation_input_tokens": cache_creation, "cache_read_input_tokens": cache_read}}}),
        )
    }

    /// A text block at `index` streamed in `pieces`.
    pub fn text_block(index: usize, pieces: &[&str]) -> Vec<String> {
        let mut frames = vec![frame(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index,
            "content_block": {"type": "text", "text": ""}}),
        )];
        for p in pieces {
            frames.push(frame(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "text_delta", "text": p}}),
            ));
        }
        frames.push(frame("content_block_stop", &json!({"type": "content_block_stop", "index": index})));
        frames
    }

    /// A tool_use block whose JSON input arrives in `json_pieces` (split anywhere, even mid-token).
    pub fn tool_block(index: usize, id: &str, name: &str, json_pieces: &[&str]) -> Vec<String> {
        let mut frames = vec![frame(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index,
            "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
        )];
        for p in json_pieces {
            frames.push(frame(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta", "partial_json": p}}),
            ));
        }
        frames.push(frame("content_block_stop", &json!({"type": "content_block_stop", "index": index})));
        frames
    }

    /// `message_delta` (stop reason, final output tokens) and `message_stop`.
    pub fn message_end(stop_reason: &str, output_tokens: u64) -> Vec<String> {
        vec![
            frame(
                "message_delta",
                &json!({"type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": null}, "usage": {"output_tokens": output_tokens}}),
            ),
            frame("message_stop", &json!({"type": "message_stop"})),
        ]
    }

    /// `ping`.
    pub fn ping() -> String {
        frame("ping", &json!({"type": "ping"}))
    }

    /// An in-stream `error` event.
    pub fn error(kind: &str) -> String {
        frame("error", &json!({"type": "error", "error": {"type": kind, "message": "Overloaded"}}))
    }

    /// A complete text-only answer.
    pub fn text_answer(text: &str, input_tokens: u64, output_tokens: u64) -> Vec<String> {
        let mut frames = vec![message_start(input_tokens, 0, 0), ping()];
        let words: Vec<&str> = text.split_inclusive(' ').collect();
        frames.extend(text_block(0, &words));
        frames.extend(message_end("end_turn", output_tokens));
        frames
    }

    /// A complete round that calls one tool: `message_start`, a tool_use block whose `input` arrives as one JSON
    /// piece, and the `tool_use` stop (no cache usage, no pings; build the frames by hand for those).
    pub fn tool_round(tool_id: &str, name: &str, input: &Value, input_tokens: u64, output_tokens: u64) -> Vec<String> {
        let mut frames = vec![message_start(input_tokens, 0, 0)];
        frames.extend(tool_block(0, tool_id, name, &[&input.to_string()]));
        frames.extend(message_end("tool_use", output_tokens));
        frames
    }
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    /// Served when the script is empty (e.g. for benchmarks: the same answer forever).
    default: Option<Reply>,
    requests: Vec<(HeaderMap, Value)>,
    /// Whether requests are kept (a long benchmark turns it off: it would measure the fake's memory).
    forget: bool,
}

/// A running fake Messages API.
#[derive(Clone)]
pub struct FakeAnthropic {
    /// Its base URL (for `ANTHROPIC_BASE_URL`).
    pub base_url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeAnthropic {
    /// Starts it on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new().route("/v1/messages", post(messages)).with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { base_url, inner })
    }

    /// Queues replies, served one per request in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).script.extend(replies);
    }

    /// The reply for requests beyond the script.
    pub fn set_default(&self, reply: Reply) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).default = Some(reply);
    }

    /// The request bodies received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).requests.iter().map(|(_, b)| b.clone()).collect()
    }

    /// The headers of the request `i`.
    pub fn headers(&self, i: usize) -> Option<HeaderMap> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).requests.get(i).map(|(h, _)| h.clone())
    }

    /// Forgets recorded requests, and (with `keep = false`) stops recording them (long benchmarks).
    pub fn record_requests(&self, keep: bool) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.requests.clear();
        inner.forget = !keep;
    }
}

/// A stream reply from frames, in chunks of 7 bytes (so lines and JSON split anywhere), without pauses.
pub fn stream(frames: Vec<String>) -> Reply {
    Reply::Stream { frames, chunk: 7, delay: Duration::ZERO }
}

async fn messages(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let problem = invalid_request(&body);
    let reply = {
        let mut inner = inner.lock().unwrap_or_else(|p| p.into_inner());
        if !inner.forget {
            inner.requests.push((headers.clone(), body));
        }
        inner.script.pop_front().or_else(|| inner.default.clone())
    };
    if headers.get("x-api-key").is_none() || headers.get("anthropic-version").is_none() {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"type": "error", "error": {"type": "authentication_error", "message": "x-api-key header is required"}}))).into_response();
    }
    if let Some(problem) = problem {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"type": "error", "error": {"type": "invalid_request_error", "message": problem}})),
        )
            .into_response();
    }
    match reply {
        None => (StatusCode::INTERNAL_SERVER_ERROR, "fake: no scripted reply left").into_response(),
        Some(Reply::Error { status, kind, retry_after }) => {
            let mut response = (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                axum::Json(json!({"type": "error", "error": {"type": kind, "message": "scripted error"}})),
            )
                .into_response();
            if let Some(secs) = retry_after {
                response.headers_mut().insert("retry-after", axum::http::HeaderValue::from(secs));
            }
            response
        }
        Some(Reply::Stream { frames, chunk, delay }) => Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(chunked(frames.concat(), chunk, delay)))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
    }
}

/// The request checks of the real API that a client could get wrong (it answers them with a 400).
fn invalid_request(body: &Value) -> Option<&'static str> {
    let messages = body["messages"].as_array()?;
    let has_tool_blocks = messages.iter().any(|m| {
        m["content"]
            .as_array()
            .is_some_and(|blocks| blocks.iter().any(|b| matches!(b["type"].as_str(), Some("tool_use" | "tool_result"))))
    });
    let has_tools = body["tools"].as_array().is_some_and(|t| !t.is_empty());
    if has_tool_blocks && !has_tools {
        return Some("Requests which include `tool_use` or `tool_result` blocks must define tools.");
    }
    if messages.first().is_some_and(|m| m["role"] != "user") {
        return Some("messages: first message must use the \"user\" role");
    }
    None
}

mod bytes_chunks {
    use std::time::Duration;

    use futures_util::Stream;

    /// `text` as a stream of `size`-byte chunks with `delay` between them.
    pub fn chunked(text: String, size: usize, delay: Duration) -> impl Stream<Item = Result<Vec<u8>, std::io::Error>> {
        let bytes = text.into_bytes();
        let chunks: Vec<Vec<u8>> = bytes.chunks(size.max(1)).map(<[u8]>::to_vec).collect();
        futures_util::stream::unfold((chunks.into_iter(), true), move |(mut it, first)| async move {
            let next = it.next()?;
            if !first && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Some((Ok(next), (it, false)))
        })
    }
}
