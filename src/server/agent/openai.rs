//! An OpenAI-compatible Chat Completions client (streaming, tool calls), for local or self-hosted models (vLLM,
//! Ollama, LM Studio, …) or any compatible provider: `LLM_PROVIDER=openai`, `OPENAI_BASE_URL`, optional
//! `OPENAI_API_KEY`, `MODEL_NAME`. Same contract as the Anthropic client: text streams as it arrives, tool calls are
//! assembled from argument fragments, failures are retried only before the first text.
use std::collections::BTreeMap;
use std::time::Duration;

use eventsource_stream::Eventsource;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::llm::{
    Block, LlmClient, LlmError, Message, ModelRequest, ModelTurn, Role, StopReason, TextBurst, TextSink, Usage,
};
use super::retry::{Attempt, RetryPolicy};
use crate::api::reasons::ModelFailure;

/// Client settings.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// `OPENAI_BASE_URL`, e.g. `http://127.0.0.1:11434/v1` (the `/chat/completions` path is appended).
    pub base_url: String,
    /// `OPENAI_API_KEY` (local servers often need none).
    pub api_key: Option<SecretString>,
    /// `MODEL_NAME`.
    pub model: String,
    /// Retries before the first token.
    pub max_retries: u32,
    /// First backoff; doubles per retry with jitter, capped at 8 s.
    pub retry_base: Duration,
    /// Longest silence between two stream events.
    pub silence_timeout: Duration,
}

/// Streams turns from an OpenAI-compatible endpoint.
pub struct OpenAiClient {
    http: reqwest::Client,
    config: OpenAiConfig,
}

#[derive(Default)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

impl OpenAiClient {
    /// A client with its own connection pool.
    pub fn new(config: OpenAiConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).build()?;
        Ok(Self { http, config })
    }

    fn body(&self, request: &ModelRequest) -> Value {
        let mut messages = vec![json!({ "role": "system", "content": request.system })];
        for m in &request.messages {
            messages.extend(message_json(m));
        }
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.input_schema}}))
            .collect();
        let mut body = json!({
            "model": self.config.model,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": request.max_tokens,
            "messages": messages,
        });
        if !tools.is_empty() {
            body["tools"] = Value::Array(tools);
            if !request.tool_use {
                body["tool_choice"] = json!("none");
            }
        }
        body
    }

    async fn attempt(&self, body: &Value, on_text: TextSink<'_>) -> Result<ModelTurn, Attempt> {
        let url = format!("{}/chat/completions", self.config.base_url.trim_end_matches('/'));
        let mut builder = self.http.post(url).json(body);
        if let Some(key) = &self.config.api_key {
            builder = builder.bearer_auth(key.expose_secret());
        }
        let response = match tokio::time::timeout(self.config.silence_timeout, builder.send()).await {
            Ok(sent) => sent.map_err(|e| Attempt::retry(ModelFailure::Unreachable { detail: e.to_string() }))?,
            Err(_) => {
                return Err(Attempt::retry(ModelFailure::silent(self.config.silence_timeout)));
            }
        };
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            let detail = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or(text);
            let failure = super::llm::failure_of_status(status.as_u16(), detail, "OPENAI_API_KEY");
            return Err(match status.as_u16() {
                429 | 500..=599 => {
                    tracing::debug!(%status, %failure, "the model server failed; retrying");
                    Attempt::retry(failure)
                }
                _ => Attempt::Fail(LlmError { failure, after_output: false, usage: Usage::default() }),
            });
        }
        let mut events = response.bytes_stream().eventsource();
        let (mut text, mut calls, mut usage, mut finish) =
            (String::new(), BTreeMap::<u64, PartialCall>::new(), Usage::default(), None);
        let mut burst = TextBurst::new(on_text);
        loop {
            let next = burst.next_of(&mut events, self.config.silence_timeout).await.ok_or(());
            let fail = |failure: ModelFailure, streamed: bool, usage: Usage| {
                if streamed {
                    Attempt::Fail(LlmError { failure, after_output: true, usage })
                } else {
                    Attempt::retry(failure)
                }
            };
            let event = match next {
                Err(_) => return Err(fail(ModelFailure::StoppedResponding, !text.is_empty(), usage)),
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    let failure = ModelFailure::StreamBroke { detail: e.to_string() };
                    return Err(fail(failure, !text.is_empty(), usage));
                }
                Ok(Some(Ok(event))) => event,
            };
            if event.data.trim() == "[DONE]" {
                break;
            }
            let Ok(chunk) = serde_json::from_str::<Value>(&event.data) else { continue };
            if let Some(message) = chunk["error"]["message"].as_str() {
                return Err(fail(ModelFailure::Reported { detail: message.to_owned() }, !text.is_empty(), usage));
            }
            if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
                let cached = u["prompt_tokens_details"]["cached_tokens"].as_u64().unwrap_or(0);
                usage.input_tokens = u["prompt_tokens"].as_u64().unwrap_or(0).saturating_sub(cached);
                usage.cache_read_tokens = cached;
                usage.output_tokens = u["completion_tokens"].as_u64().unwrap_or(0);
            }
            let Some(choice) = chunk["choices"].get(0) else { continue };
            if let Some(piece) = choice["delta"]["content"].as_str().filter(|p| !p.is_empty()) {
                text.push_str(piece);
                burst.push(piece);
            }
            for call in choice["delta"]["tool_calls"].as_array().into_iter().flatten() {
                let entry = calls.entry(call["index"].as_u64().unwrap_or(0)).or_default();
                if let Some(id) = call["id"].as_str() {
                    entry.id = id.to_owned();
                }
                if let Some(name) = call["function"]["name"].as_str() {
                    entry.name.push_str(name);
                }
                if let Some(args) = call["function"]["arguments"].as_str() {
                    entry.arguments.push_str(args);
                }
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                finish = Some(reason.to_owned());
            }
        }
        let mut content = Vec::new();
        if !text.is_empty() {
            content.push(Block::Text { text });
        }
        for (i, call) in calls {
            let input = if call.arguments.trim().is_empty() {
                json!({})
            } else {
                serde_json::from_str(&call.arguments).map_err(|e| {
                    Attempt::Fail(LlmError {
                        failure: ModelFailure::MalformedToolInput { detail: e.to_string() },
                        after_output: true,
                        usage,
                    })
                })?
            };
            let id = if call.id.is_empty() { format!("call_{i}") } else { call.id };
            content.push(Block::ToolUse { id, name: call.name, input });
        }
        let stop_reason = match finish.as_deref() {
            Some("tool_calls") => StopReason::ToolUse,
            Some("length") => StopReason::MaxTokens,
            _ if content.iter().any(|b| matches!(b, Block::ToolUse { .. })) => StopReason::ToolUse,
            _ => StopReason::EndTurn,
        };
        Ok(ModelTurn { content, stop_reason, usage })
    }
}

#[async_trait::async_trait]
impl LlmClient for OpenAiClient {
    fn model(&self) -> &str {
        &self.config.model
    }

    fn provider(&self) -> &'static str {
        "openai"
    }

    async fn complete(&self, request: &ModelRequest, on_text: TextSink<'_>) -> Result<ModelTurn, LlmError> {
        let body = self.body(request);
        let policy = RetryPolicy { max_retries: self.config.max_retries, base: self.config.retry_base };
        policy.run(|| self.attempt(&body, on_text)).await
    }
}

/// Our message as Chat Completions messages (tool results become one `tool` message each).
fn message_json(m: &Message) -> Vec<Value> {
    match m.role {
        Role::Assistant => {
            let text: String = m
                .content
                .iter()
                .filter_map(|b| if let Block::Text { text } = b { Some(text.as_str()) } else { None })
                .collect();
            let calls: Vec<Value> = m
                .content
                .iter()
                .filter_map(|b| match b {
                    Block::ToolUse { id, name, input } => Some(json!({"id": id, "type": "function",
                        "function": {"name": name, "arguments": input.to_string()}})),
                    _ => None,
                })
                .collect();
            let mut msg = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { Value::String(text) }});
            if !calls.is_empty() {
                msg["tool_calls"] = Value::Array(calls);
            }
            vec![msg]
        }
        Role::User => {
            let mut out = Vec::new();
            let mut text = String::new();
            for b in &m.content {
                match b {
                    Block::Text { text: t } => text.push_str(t),
                    Block::ToolResult { tool_use_id, content, is_error } => out.push(json!({
                        "role": "tool", "tool_call_id": tool_use_id,
                        "content": if *is_error { format!("ERROR: {content}") } else { content.clone() },
                    })),
                    Block::ToolUse { .. } => {}
                }
            }
            if !text.is_empty() {
                out.push(json!({"role": "user", "content": text}));
            }
            out
        }
    }
}
