//! The model interface the agent loop talks to. Provider-neutral types (shaped after the Anthropic Messages API,
//! which they map onto one-to-one); implementations: [`super::anthropic`] and [`super::offline`].
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// Tools on offer.
    pub tools: Vec<ToolSpec>,
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
#[error("{message}")]
pub struct LlmError {
    /// What the user reads.
    pub message: String,
    /// Whether text had already streamed (the partial answer stands).
    pub after_output: bool,
    /// Tokens consumed before the failure, when known.
    pub usage: Usage,
}

/// Receives text as it streams.
pub type TextSink<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// A model provider.
#[async_trait::async_trait]
pub trait LlmClient: Send + Sync {
    /// The model name (logged and priced).
    fn model(&self) -> &str;

    /// Runs one turn, streaming text to `on_text` as it arrives.
    async fn complete(&self, request: &ModelRequest, on_text: TextSink<'_>) -> Result<ModelTurn, LlmError>;
}
