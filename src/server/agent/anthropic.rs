//! The Anthropic Messages API client: streaming with tool use.
//!
//! Every SSE event is handled (`message_start`, `content_block_start/delta/stop` with `text_delta` and
//! `input_json_delta`, `message_delta`, `message_stop`, `ping`, `error`); unknown events are ignored; tool inputs
//! are assembled from partial JSON split anywhere. 429/529/5xx, connection failures, silence and `error` events are
//! retried with exponential backoff and jitter (honouring `retry-after`) — but only before the first text has
//! streamed; after that the partial answer stands and the call ends with an error.
use std::time::Duration;

use eventsource_stream::Eventsource;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::llm::{
    Block, LlmClient, LlmError, Message, ModelRequest, ModelTurn, StopReason, TextBurst, TextSink, Usage,
};
use super::retry::{Attempt, RetryPolicy};
use crate::api::reasons::ModelFailure;

/// API version header value.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Client settings.
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    /// `ANTHROPIC_API_KEY`.
    pub api_key: SecretString,
    /// `ANTHROPIC_BASE_URL` (default `https://api.anthropic.com`).
    pub base_url: String,
    /// `MODEL_NAME`.
    pub model: String,
    /// Retries before the first token.
    pub max_retries: u32,
    /// First backoff; doubles per retry (with ±50 % jitter), capped at 8 s.
    pub retry_base: Duration,
    pub connect_timeout: Duration,
    /// Longest silence between two events of a stream.
    pub silence_timeout: Duration,
}

/// Streams turns from the Anthropic Messages API.
pub struct AnthropicClient {
    http: reqwest::Client,
    config: AnthropicConfig,
}

struct BlockState {
    block: Block,
    json: String,
}

impl AnthropicClient {
    /// A client with its own connection pool.
    pub fn new(config: AnthropicConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder().connect_timeout(config.connect_timeout).build()?;
        Ok(Self { http, config })
    }

    fn body(&self, request: &ModelRequest) -> Value {
        let messages: Vec<Value> = request.messages.iter().map(message_json).collect();
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| json!({ "name": t.name, "description": t.description, "input_schema": t.input_schema }))
            .collect();
        let mut body = json!({
            "model": self.config.model,
            "max_tokens": request.max_tokens,
            "stream": true,
            // The system prompt (with the schema) is the same every round: cache it.
            "system": [{ "type": "text", "text": request.system, "cache_control": { "type": "ephemeral" } }],
            "tools": tools,
            "messages": messages,
        });
        if !request.tool_use {
            body["tool_choice"] = json!({ "type": "none" });
        }
        body
    }

    async fn attempt(&self, body: &Value, on_text: TextSink<'_>) -> Result<ModelTurn, Attempt> {
        let url = format!("{}/v1/messages", self.config.base_url.trim_end_matches('/'));
        let request = self
            .http
            .post(url)
            .header("x-api-key", self.config.api_key.expose_secret())
            .header("anthropic-version", ANTHROPIC_VERSION)
            .header("content-type", "application/json")
            .header("accept", "text/event-stream")
            .json(body)
            .send();
        // A server that accepts the connection but never answers counts as silence too.
        let response = match tokio::time::timeout(self.config.silence_timeout, request).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => {
                return Err(Attempt::retry(ModelFailure::Unreachable { detail: e.to_string() }));
            }
            Err(_) => {
                return Err(Attempt::retry(ModelFailure::silent(self.config.silence_timeout)));
            }
        };
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map(Duration::from_secs_f64);
            let text = response.text().await.unwrap_or_default();
            let detail = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or(text);
            return Err(match status.as_u16() {
                429 | 529 | 500..=599 => Attempt::Retry { failure: failure(status.as_u16(), detail), retry_after },
                code => Attempt::Fail(LlmError {
                    failure: failure(code, detail),
                    after_output: false,
                    usage: Usage::default(),
                }),
            });
        }

        let mut events = response.bytes_stream().eventsource();
        let mut blocks: Vec<BlockState> = Vec::new();
        let mut usage = Usage::default();
        let mut stop_reason = None;
        let mut streamed = false;
        let fail = |streamed: bool, usage: Usage, failure: ModelFailure| {
            if streamed {
                Attempt::Fail(LlmError { failure, after_output: true, usage })
            } else {
                Attempt::retry(failure)
            }
        };
        let mut burst = TextBurst::new(on_text);
        loop {
            let Some(next) = burst.next_of(&mut events, self.config.silence_timeout).await else {
                return Err(fail(streamed, usage, ModelFailure::StoppedResponding));
            };
            let event = match next {
                None => return Err(fail(streamed, usage, ModelFailure::StreamEnded)),
                Some(Err(e)) => {
                    return Err(fail(streamed, usage, ModelFailure::StreamBroke { detail: e.to_string() }));
                }
                Some(Ok(event)) => event,
            };
            let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
            match event.event.as_str() {
                "message_start" => {
                    let u = &data["message"]["usage"];
                    usage.input_tokens = u["input_tokens"].as_u64().unwrap_or(0);
                    usage.output_tokens = u["output_tokens"].as_u64().unwrap_or(0);
                    usage.cache_creation_tokens = u["cache_creation_input_tokens"].as_u64().unwrap_or(0);
                    usage.cache_read_tokens = u["cache_read_input_tokens"].as_u64().unwrap_or(0);
                }
                "content_block_start" => {
                    let block = &data["content_block"];
                    let state = match block["type"].as_str() {
                        Some("tool_use") => BlockState {
                            block: Block::ToolUse {
                                id: block["id"].as_str().unwrap_or_default().to_owned(),
                                name: block["name"].as_str().unwrap_or_default().to_owned(),
                                input: Value::Null,
                            },
                            json: String::new(),
                        },
                        _ => {
                            let text = block["text"].as_str().unwrap_or_default().to_owned();
                            if !text.is_empty() {
                                burst.push(&text);
                                streamed = true;
                            }
                            BlockState { block: Block::Text { text }, json: String::new() }
                        }
                    };
                    blocks.push(state);
                }
                "content_block_delta" => {
                    let Some(state) = blocks.last_mut() else { continue };
                    match data["delta"]["type"].as_str() {
                        Some("text_delta") => {
                            let piece = data["delta"]["text"].as_str().unwrap_or_default();
                            if let Block::Text { text } = &mut state.block {
                                text.push_str(piece);
                            }
                            if !piece.is_empty() {
                                burst.push(piece);
                                streamed = true;
                            }
                        }
                        Some("input_json_delta") => {
                            state.json.push_str(data["delta"]["partial_json"].as_str().unwrap_or_default())
                        }
                        _ => {}
                    }
                }
                "content_block_stop" => {
                    if let Some(state) = blocks.last_mut()
                        && let Block::ToolUse { input, .. } = &mut state.block
                    {
                        *input = if state.json.trim().is_empty() {
                            json!({})
                        } else {
                            serde_json::from_str(&state.json).map_err(|e| {
                                fail(streamed, usage, ModelFailure::MalformedToolInput { detail: e.to_string() })
                            })?
                        };
                    }
                }
                "message_delta" => {
                    if let Some(reason) = data["delta"]["stop_reason"].as_str() {
                        stop_reason = Some(StopReason::parse(reason));
                    }
                    if let Some(out) = data["usage"]["output_tokens"].as_u64() {
                        usage.output_tokens = out;
                    }
                }
                "message_stop" => break,
                "error" => {
                    let kind = data["error"]["type"].as_str().unwrap_or("error");
                    let detail = data["error"]["message"].as_str().unwrap_or_default();
                    let failure = match kind {
                        "overloaded_error" => ModelFailure::Overloaded,
                        "api_error" => ModelFailure::Unavailable,
                        "rate_limit_error" => ModelFailure::RateLimited,
                        // Without a message, the error's type is all there is to say.
                        _ => ModelFailure::Reported {
                            detail: if detail.is_empty() { kind.to_owned() } else { detail.to_owned() },
                        },
                    };
                    return Err(fail(streamed, usage, failure));
                }
                // `ping`, and events added to the API after this client was written.
                _ => {}
            }
        }
        Ok(ModelTurn {
            content: blocks.into_iter().map(|b| b.block).collect(),
            stop_reason: stop_reason.unwrap_or(StopReason::EndTurn),
            usage,
        })
    }
}

#[async_trait::async_trait]
impl LlmClient for AnthropicClient {
    fn model(&self) -> &str {
        &self.config.model
    }

    fn provider(&self) -> &'static str {
        "anthropic"
    }

    async fn complete(&self, request: &ModelRequest, on_text: TextSink<'_>) -> Result<ModelTurn, LlmError> {
        let body = self.body(request);
        let policy = RetryPolicy { max_retries: self.config.max_retries, base: self.config.retry_base };
        policy.run(|| self.attempt(&body, on_text)).await
    }
}

fn message_json(m: &Message) -> Value {
    let content: Vec<Value> = m
        .content
        .iter()
        .map(|b| match b {
            Block::Text { text } => json!({ "type": "text", "text": text }),
            Block::ToolUse { id, name, input } => json!({ "type": "tool_use", "id": id, "name": name, "input": input }),
            Block::ToolResult { tool_use_id, content, is_error } => {
                json!({ "type": "tool_result", "tool_use_id": tool_use_id, "content": content, "is_error": is_error })
            }
        })
        .collect();
    json!({ "role": m.role, "content": content })
}

/// Why a request the API answered with `status` failed.
fn failure(status: u16, detail: String) -> ModelFailure {
    super::llm::failure_of_status(status, detail, "ANTHROPIC_API_KEY")
}
