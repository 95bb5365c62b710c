//! Bounded, trimmed user text: notes, display names and questions.
use serde::{Deserialize, Serialize};

/// Which kind of user text a [`TextError`] is about (the UI names it in the reader's language).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextField {
    /// A note on a saved answer.
    Note,
    /// A user's display name.
    DisplayName,
    /// A conversation's title.
    Title,
    /// A question to the agent.
    Question,
}

impl std::fmt::Display for TextField {
    /// The English name, capitalised to start a sentence ("A note").
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Note => "A note",
            Self::DisplayName => "A display name",
            Self::Title => "A title",
            Self::Question => "A question",
        })
    }
}

/// Why a text was refused. The English message is for logs and API clients; the UI words it per locale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum TextError {
    /// Longer than allowed (counted in characters, as Postgres `VARCHAR(n)` does).
    #[error("{what} can be at most {max} characters (this one has {len}).")]
    TooLong {
        /// What the text is.
        what: TextField,
        /// The limit.
        max: usize,
        /// Its length.
        len: usize,
    },
    /// Empty after trimming where a value is required.
    #[error("{0} cannot be empty.")]
    Empty(TextField),
}

fn bounded(raw: &str, what: TextField, max: usize) -> Result<String, TextError> {
    // U+0000 cannot be stored in Postgres text; it never carries meaning in a note, name or question.
    let cleaned;
    let raw = if raw.contains('\0') {
        cleaned = raw.replace('\0', "");
        cleaned.as_str()
    } else {
        raw
    };
    let trimmed = raw.trim();
    let len = trimmed.chars().count();
    if len > max {
        return Err(TextError::TooLong { what, max, len });
    }
    Ok(trimmed.to_owned())
}

/// A note on a saved answer: at most 500 characters (`saved_chats.note VARCHAR(500)`); blank means no note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Note(String);

impl Note {
    /// Longest note, in characters.
    pub const MAX_CHARS: usize = 500;

    /// Parses a note; `Ok(None)` for blank input.
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, TextError> {
        let text = bounded(raw, TextField::Note, Self::MAX_CHARS)?;
        Ok((!text.is_empty()).then_some(Self(text)))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Note {
    type Error = TextError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse_optional(&raw)?.ok_or(TextError::Empty(TextField::Note))
    }
}

impl From<Note> for String {
    fn from(n: Note) -> Self {
        n.0
    }
}

/// A display name: 1–100 characters (`profiles.display_name VARCHAR(100)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    /// Longest name, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Parses a display name.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let text = bounded(raw, TextField::DisplayName, Self::MAX_CHARS)?;
        if text.is_empty() {
            return Err(TextError::Empty(TextField::DisplayName));
        }
        Ok(Self(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = TextError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<DisplayName> for String {
    fn from(n: DisplayName) -> Self {
        n.0
    }
}

/// A conversation's title: 1–200 characters (`conversations.title VARCHAR(200)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConversationTitle(String);

impl ConversationTitle {
    /// Longest title, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Parses a title (inner line breaks and runs of spaces become single spaces: titles are one line).
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let one_line = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let text = bounded(&one_line, TextField::Title, Self::MAX_CHARS)?;
        if text.is_empty() {
            return Err(TextError::Empty(TextField::Title));
        }
        Ok(Self(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ConversationTitle {
    type Error = TextError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<ConversationTitle> for String {
    fn from(t: ConversationTitle) -> Self {
        t.0
    }
}

/// A question to the agent: 1–8000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Question(String);

impl Question {
    /// Longest question, in characters.
    pub const MAX_CHARS: usize = 8_000;

    /// Parses a question.
    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let text = bounded(raw, TextField::Question, Self::MAX_CHARS)?;
        if text.is_empty() {
            return Err(TextError::Empty(TextField::Question));
        }
        Ok(Self(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Question {
    type Error = TextError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Question> for String {
    fn from(q: Question) -> Self {
        q.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_trimmed_bounded_in_characters_and_blank_means_none() {
        assert_eq!(Note::parse_optional("  buy the dip  ").expect("ok").map(String::from), Some("buy the dip".into()));
        assert_eq!(Note::parse_optional("   ").expect("ok"), None);
        let five_hundred_stars = "⭐".repeat(500);
        assert!(Note::parse_optional(&five_hundred_stars).expect("500 chars is fine").is_some());
        let err = Note::parse_optional(&"x".repeat(501)).expect_err("too long");
        assert_eq!(err.to_string(), "A note can be at most 500 characters (this one has 501).");
        assert!(serde_json::from_str::<Note>(&format!("\"{}\"", "y".repeat(501))).is_err());
    }

    #[test]
    fn display_names_and_questions_must_not_be_blank() {
        assert_eq!(DisplayName::parse(" ").expect_err("blank").to_string(), "A display name cannot be empty.");
        assert!(DisplayName::parse(&"n".repeat(101)).is_err());
        assert_eq!(DisplayName::parse(" Ada ").expect("ok").as_str(), "Ada");
        assert!(Question::parse("").is_err());
        assert!(Question::parse(&"q".repeat(8_001)).is_err());
    }

    #[test]
    fn titles_are_one_line_and_bounded() {
        assert_eq!(ConversationTitle::parse("  NOVA\n  vs   QBIT ").expect("ok").as_str(), "NOVA vs QBIT");
        assert!(ConversationTitle::parse(" \n ").is_err());
        assert!(ConversationTitle::parse(&"t".repeat(201)).is_err());
        assert!(ConversationTitle::parse(&"t".repeat(200)).is_ok());
    }

    #[test]
    fn nul_characters_are_dropped_because_postgres_text_cannot_hold_them() {
        assert_eq!(Question::parse("last\0 close of AAPL").expect("ok").as_str(), "last close of AAPL");
        assert_eq!(Note::parse_optional("\0").expect("ok"), None);
        assert_eq!(DisplayName::parse("A\0da").expect("ok").as_str(), "Ada");
    }
}
