//! The model interface the agent loop talks to. Provider-neutral types (shaped after the Anthropic Messages API,
//! which they map onto one-to-one); implementations: [`super::anthropic`] and [`super::offline`].
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::reasons::ModelFailure;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user (and tool results).
    User,
    /// The model.
    Assistant,
}

/// A content block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// Text.
    Text { text: String },
    /// The model calls a tool.
    ToolUse {
        /// Call id.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments.
        input: Value,
    },
    /// A tool's answer, sent back as part of a user message.
    ToolResult {
        /// The call it answers.
        tool_use_id: String,
        /// The result as text.
        content: String,
        /// Whether the tool failed (the model may correct itself).
        is_error: bool,
    },
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Author.
    pub role: Role,
    pub content: Vec<Block>,
}

impl Message {
    /// A plain-text message.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self { role, content: vec![Block::Text { text: text.into() }] }
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of its input.
    pub input_schema: Value,
}

/// One request to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    /// System prompt (cached by providers that cache).
    pub system: String,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Tools on offer (shared: the same list every round).
    pub tools: Arc<[ToolSpec]>,
    /// Whether the model may call a tool in this turn. When not, the tools stay declared (Anthropic refuses a
    /// history with tool blocks but no tools) and the provider is told not to use them.
    pub tool_use: bool,
    /// Output token limit.
    pub max_tokens: u32,
}

/// Token counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens (uncached).
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Tokens written to the prompt cache.
    pub cache_creation_tokens: u64,
    /// Tokens read from the prompt cache.
    pub cache_read_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, o: Self) {
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cache_creation_tokens += o.cache_creation_tokens;
        self.cache_read_tokens += o.cache_read_tokens;
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// It finished its answer.
    EndTurn,
    /// It wants tool results.
    ToolUse,
    /// It hit `max_tokens`.
    MaxTokens,
    /// Anything else the provider reports.
    Other(String),
}

impl StopReason {
    /// From the provider's string.
    pub fn parse(s: &str) -> Self {
        match s {
            "end_turn" | "stop_sequence" => Self::EndTurn,
            "tool_use" => Self::ToolUse,
            "max_tokens" => Self::MaxTokens,
            other => Self::Other(other.to_owned()),
        }
    }

    /// As the provider says it (and the GenAI conventions' `gen_ai.response.finish_reasons`).
    pub fn as_str(&self) -> &str {
        match self {
            Self::EndTurn => "end_turn",
            Self::ToolUse => "tool_use",
            Self::MaxTokens => "max_tokens",
            Self::Other(other) => other,
        }
    }
}

/// One model turn.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelTurn {
    /// Text and tool calls, in order.
    pub content: Vec<Block>,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// Tokens of this turn.
    pub usage: Usage,
}

/// A failed model call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{failure}")]
pub struct LlmError {
    /// What went wrong (the user reads it in their language).
    pub failure: ModelFailure,
    /// Whether text had already streamed (the partial answer stands).
    pub after_output: bool,
    /// Tokens consumed before the failure, when known.
    pub usage: Usage,
}

/// Why a provider answered `status` (with its message `detail`); `key_setting` names where the API key is set.
pub fn failure_of_status(status: u16, detail: String, key_setting: &str) -> ModelFailure {
    match status {
        401 | 403 => ModelFailure::KeyRejected { setting: key_setting.to_owned() },
        429 => ModelFailure::RateLimited,
        529 => ModelFailure::Overloaded,
        500..=599 => ModelFailure::Unavailable,
        status => ModelFailure::Refused { status, detail },
    }
}

/// Receives text as it streams.
pub type TextSink<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// Text a provider's stream has delivered, handed to the sink once per burst: the pieces already received when
/// the stream would have to wait go on as one. A network read brings tens of deltas at once; passed on one by one
/// they became as many events and socket writes, while nothing is gained by splitting what arrived together.
/// Whatever is pending reaches the sink when the burst is dropped too, so no return path loses text.
pub struct TextBurst<'a> {
    sink: TextSink<'a>,
    pending: String,
}

impl<'a> TextBurst<'a> {
    /// A burst in front of `sink`.
    pub fn new(sink: TextSink<'a>) -> Self {
        Self { sink, pending: String::new() }
    }

    /// Adds a piece of text.
    pub fn push(&mut self, piece: &str) {
        self.pending.push_str(piece);
    }

    /// Hands what is pending to the sink.
    pub fn flush(&mut self) {
        if !self.pending.is_empty() {
            (self.sink)(&self.pending);
            self.pending.clear();
        }
    }

    /// The next item of `stream`: at once when it has arrived; otherwise the pending text goes to the sink first,
    /// then the item is awaited for at most `silence` (`None` when it passes).
    pub async fn next_of<S>(&mut self, stream: &mut S, silence: std::time::Duration) -> Option<Option<S::Item>>
    where
        S: futures_util::Stream + Unpin,
    {
        use futures_util::{FutureExt as _, StreamExt as _};
        if let Some(item) = stream.next().now_or_never() {
            return Some(item);
        }
        self.flush();
        tokio::time::timeout(silence, stream.next()).await.ok()
    }
}

impl Drop for TextBurst<'_> {
    fn drop(&mut self) {
        self.flush();
    }
}

/// A model provider.
#[async_trait::async_trait]
pub trait LlmClient: Send + Sync {
    /// The model name (logged and priced).
    fn model(&self) -> &str;

    /// Who serves it, as the GenAI conventions' `gen_ai.provider.name` says it (`anthropic`, `openai`, …).
    fn provider(&self) -> &'static str;

    /// Runs one turn, streaming text to `on_text` as it arrives.
    async fn complete(&self, request: &ModelRequest, on_text: TextSink<'_>) -> Result<ModelTurn, LlmError>;
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use futures_util::stream;

    use super::*;

    #[tokio::test]
    async fn text_that_arrived_together_reaches_the_sink_together_and_nothing_is_lost() {
        let received = Mutex::new(Vec::<String>::new());
        let sink = |piece: &str| received.lock().expect("lock").push(piece.to_owned());
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<&'static str>();
        let mut pieces = Box::pin(stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|p| (p, rx)) }));
        for piece in ["Hel", "lo", ", "] {
            tx.send(piece).expect("send");
        }
        let later = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            tx.send("world").expect("send");
            tokio::time::sleep(Duration::from_millis(50)).await;
            tx.send("!").expect("send");
        });
        {
            let mut burst = TextBurst::new(&sink);
            for _ in 0..5 {
                let piece = burst.next_of(&mut pieces, Duration::from_secs(5)).await.expect("in time").expect("item");
                burst.push(piece);
            }
            assert_eq!(*received.lock().expect("lock"), ["Hello, ", "world"]);
            // The last piece is still pending; dropping the burst hands it on.
        }
        later.await.expect("join");
        assert_eq!(*received.lock().expect("lock"), ["Hello, ", "world", "!"]);
        // Silence past the limit is reported.
        let mut silent = stream::pending::<&str>();
        let mut burst = TextBurst::new(&sink);
        assert!(burst.next_of(&mut silent, Duration::from_millis(20)).await.is_none());
    }
}
