//! The view model of one exchange (question + answer), built from stored history or from a live run's events.
use serde_json::Value;

use crate::api::reasons::RunFailure;
use crate::api::{AnswerChecks, AppError, ChartSpec, Exchange, RunEnd, RunEvent, SavedRef, TablePreview};
use crate::domain::RunStatus;

/// A tool step as shown inline.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolStep {
    /// Tool-use id.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Its input (the SQL, for queries).
    pub input: Value,
    /// Filled in when it finished.
    pub result: Option<StepResult>,
    /// The user's own SQL for it, when they edited it and ran it (stored answers).
    pub edited_sql: Option<String>,
}

/// A finished tool step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    /// Whether it worked.
    pub ok: bool,
    /// Wall time.
    pub duration_ms: u64,
    /// Rows returned.
    pub rows: Option<u64>,
    /// Rows to show (live runs; loaded on demand for history).
    pub preview: Option<TablePreview>,
    /// Chart to draw.
    pub chart: Option<ChartSpec>,
    pub error: Option<String>,
    /// Look-ahead warnings about its SQL.
    pub warnings: Vec<String>,
}

/// Why an answer failed.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerError {
    /// The server refused to start it (a limit, a busy conversation …), in words the UI chooses.
    Refused(AppError),
    /// The run failed part-way: why (worded per locale), or only the English message of a run stored or relayed
    /// before failures were kept as data.
    Failed(Result<RunFailure, String>),
}

/// A piece of an answer, in the order it happened: text the model wrote, or a tool step.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Markdown text.
    Text(String),
    /// The step at this index of `steps`.
    Step(usize),
}

/// Where an exchange stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The answer is being written.
    Streaming,
    /// Finished (ok, error or cancelled).
    Ended(RunEnd),
}

/// One question and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeView {
    /// Where it is logged (for the ⭐).
    pub chat_log_id: Option<i64>,
    pub question: String,
    /// The answer's Markdown.
    pub text: String,
    /// Tool steps in order.
    pub steps: Vec<ToolStep>,
    /// Text and steps interleaved as they happened (stored answers: the steps, then the text).
    pub parts: Vec<Part>,
    /// Model name.
    pub model: Option<String>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// USD as text; `None` when unknown.
    pub cost: Option<String>,
    /// Streaming or ended.
    pub phase: Phase,
    /// Why it failed, if it did.
    pub error: Option<AnswerError>,
    /// ⭐ state.
    pub saved: Option<SavedRef>,
    /// Its numbers checked against its steps' rows, once the answer is complete.
    pub checks: Option<AnswerChecks>,
}

impl ExchangeView {
    /// A live exchange for `question`, before any event.
    pub fn pending(question: String) -> Self {
        Self {
            chat_log_id: None,
            question,
            text: String::new(),
            steps: Vec::new(),
            parts: Vec::new(),
            model: None,
            input_tokens: 0,
            output_tokens: 0,
            cost: None,
            phase: Phase::Streaming,
            error: None,
            saved: None,
            checks: None,
        }
    }

    /// A stored exchange.
    pub fn from_stored(e: &Exchange) -> Self {
        let steps: Vec<ToolStep> = e
            .tools_used
            .as_array()
            .map(|tools| {
                tools
                    .iter()
                    .enumerate()
                    .map(|(i, t)| ToolStep {
                        id: format!("stored-{i}"),
                        name: t["name"].as_str().unwrap_or("tool").to_owned(),
                        input: t["input"].clone(),
                        edited_sql: e.edits.iter().find(|edit| edit.step as usize == i).map(|edit| edit.sql.clone()),
                        result: Some(StepResult {
                            ok: t["ok"].as_bool().unwrap_or(true),
                            duration_ms: t["duration_ms"].as_u64().unwrap_or(0),
                            rows: t["rows"].as_u64(),
                            preview: None,
                            chart: None,
                            error: None,
                            warnings: t["warnings"]
                                .as_array()
                                .map(|w| w.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                                .unwrap_or_default(),
                        }),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut parts: Vec<Part> = (0..steps.len()).map(Part::Step).collect();
        if !e.response.is_empty() {
            parts.push(Part::Text(e.response.clone()));
        }
        Self {
            chat_log_id: Some(e.chat_log_id),
            question: e.question.clone(),
            text: e.response.clone(),
            steps,
            parts,
            model: e.model.clone(),
            input_tokens: e.input_tokens.map_or(0, |n| n.max(0) as u64),
            output_tokens: e.output_tokens.map_or(0, |n| n.max(0) as u64),
            cost: e.cost.clone(),
            phase: Phase::Ended(match e.status {
                RunStatus::Ok => RunEnd::Ok,
                RunStatus::Error => RunEnd::Error,
                RunStatus::Cancelled => RunEnd::Cancelled,
            }),
            error: match (&e.failure, &e.error) {
                (Some(failure), _) => Some(AnswerError::Failed(Ok(failure.clone()))),
                (None, Some(message)) => Some(AnswerError::Failed(Err(message.clone()))),
                (None, None) => None,
            },
            saved: e.saved.clone(),
            checks: e.checks.clone(),
        }
    }

    /// Applies one event of a live run.
    pub fn apply(&mut self, event: RunEvent) {
        match event {
            RunEvent::RunStarted { chat_log_id, model, question, .. } => {
                self.chat_log_id = chat_log_id;
                self.model = Some(model);
                self.question = question;
            }
            RunEvent::TextDelta { text } => {
                self.text.push_str(&text);
                match self.parts.last_mut() {
                    Some(Part::Text(current)) => current.push_str(&text),
                    _ => self.parts.push(Part::Text(text)),
                }
            }
            RunEvent::ToolCall { id, name, input } => {
                self.steps.push(ToolStep { id, name, input, result: None, edited_sql: None });
                self.parts.push(Part::Step(self.steps.len() - 1));
            }
            RunEvent::ToolResult { id, ok, duration_ms, rows, preview, chart, error, warnings, .. } => {
                if let Some(step) = self.steps.iter_mut().find(|s| s.id == id) {
                    step.result = Some(StepResult { ok, duration_ms, rows, preview, chart, error, warnings });
                }
            }
            RunEvent::Usage { input_tokens, output_tokens, .. } => {
                self.input_tokens = input_tokens;
                self.output_tokens = output_tokens;
            }
            RunEvent::Checked { checks } => self.checks = Some(checks),
            RunEvent::Error { message, reason } => self.error = Some(AnswerError::Failed(reason.ok_or(message))),
            RunEvent::Done { status, chat_log_id, input_tokens, output_tokens, cost } => {
                self.phase = Phase::Ended(status);
                self.chat_log_id = chat_log_id.or(self.chat_log_id);
                self.input_tokens = input_tokens;
                self.output_tokens = output_tokens;
                self.cost = cost;
            }
        }
    }

    /// A key for part `i` that changes when the part must be drawn anew (a step that finished).
    pub fn part_key(&self, i: usize) -> String {
        match self.parts.get(i) {
            Some(Part::Step(s)) => format!("s{i}-{}", self.steps.get(*s).is_some_and(|s| s.result.is_some())),
            _ => format!("t{i}"),
        }
    }

    /// Where text part `i` starts in [`Self::text`] (the text parts, in order, make up the whole answer).
    pub fn text_offset(&self, i: usize) -> usize {
        self.parts[..i.min(self.parts.len())]
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.len(),
                Part::Step(_) => 0,
            })
            .sum()
    }

    /// Whether the answer is still being written.
    pub fn is_streaming(&self) -> bool {
        self.phase == Phase::Streaming
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_build_the_exchange() {
        let mut view = ExchangeView::pending("q".into());
        view.apply(RunEvent::TextDelta { text: "Hel".into() });
        view.apply(RunEvent::ToolCall {
            id: "t1".into(),
            name: "run_sql".into(),
            input: serde_json::json!({"sql": "SELECT 1"}),
        });
        view.apply(RunEvent::ToolResult {
            id: "t1".into(),
            name: "run_sql".into(),
            ok: true,
            duration_ms: 4,
            rows: Some(1),
            preview: None,
            chart: None,
            error: None,
            warnings: vec!["a window frame reads FOLLOWING rows".into()],
        });
        view.apply(RunEvent::TextDelta { text: "lo".into() });
        assert!(view.is_streaming());
        view.apply(RunEvent::Done {
            status: RunEnd::Ok,
            chat_log_id: Some(7),
            input_tokens: 10,
            output_tokens: 2,
            cost: Some("0.1".into()),
        });
        assert_eq!(view.text, "Hello");
        assert_eq!(view.parts, vec![Part::Text("Hel".into()), Part::Step(0), Part::Text("lo".into())]);
        assert_eq!(view.steps[0].result.as_ref().map(|r| r.rows), Some(Some(1)));
        assert_eq!(view.steps[0].result.as_ref().map(|r| r.warnings.len()), Some(1));
        assert_eq!((view.chat_log_id, view.phase), (Some(7), Phase::Ended(RunEnd::Ok)));
    }
}
