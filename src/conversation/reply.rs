//! What the dialogue says, before any channel or template touches it: a template name, the
//! values it needs, and the choices offered. Channels decide presentation (Telegram buttons,
//! numbered lists in e-mail and the terminal).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::calendar::DayStatus;
use crate::domain::document::DocumentRef;

/// One message to the applicant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// Template under `templates/conversation/`, without extension.
    pub template: String,
    /// Values for the template.
    pub vars: Map<String, Value>,
    /// Choices offered with this message, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    /// "Paso N de M" of a question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// The month grid, when the message asks for a day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<CalendarView>,
    /// Documents that go with the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<DocumentRef>,
}

impl Reply {
    pub fn new(template: &str) -> Reply {
        Reply {
            template: template.to_string(),
            vars: Map::new(),
            choices: Vec::new(),
            progress: None,
            calendar: None,
            attachments: Vec::new(),
        }
    }

    /// Adds a document to send with the message.
    pub fn attach(mut self, document: DocumentRef) -> Reply {
        self.attachments.push(document);
        self
    }

    /// Adds a template value. Values are plain data (strings, numbers, dates as ISO strings).
    pub fn with(mut self, key: &str, value: impl Serialize) -> Reply {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.vars.insert(key.to_string(), value);
        self
    }

    /// Adds the fields of `vars`, a `#[derive(Serialize)]` struct of the template's values, as
    /// template values (the typed form of [`Reply::with`]).
    pub fn vars(mut self, vars: impl Serialize) -> Reply {
        if let Ok(Value::Object(fields)) = serde_json::to_value(vars) {
            self.vars.extend(fields);
        }
        self
    }

    pub fn choices(mut self, choices: Vec<Choice>) -> Reply {
        self.choices = choices;
        self
    }

    pub fn progress(mut self, step: u8) -> Reply {
        self.progress = Some(Progress {
            step,
            of: TOTAL_STEPS,
        });
        self
    }

    pub fn calendar(mut self, calendar: CalendarView) -> Reply {
        self.calendar = Some(calendar);
        self
    }
}

/// Number of questions in the journey, for "Paso N de M".
pub const TOTAL_STEPS: u8 = 19;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub step: u8,
    pub of: u8,
}

/// One option the applicant can pick: a short stable id (what a button carries) and the label
/// shown (what a person may type back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub label: String,
}

impl Choice {
    pub fn new(id: impl Into<String>, label: impl Into<String>) -> Choice {
        Choice {
            id: id.into(),
            label: label.into(),
        }
    }
}

/// A month of the appointment calendar, for channels that draw a grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarView {
    pub month: NaiveDate,
    pub days: Vec<CalendarDay>,
    pub has_previous: bool,
    pub has_next: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub status: DayStatusView,
}

/// Serializable mirror of [`DayStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayStatusView {
    Available,
    Full,
    Closed,
    OutOfWindow,
}

impl From<DayStatus> for DayStatusView {
    fn from(status: DayStatus) -> Self {
        match status {
            DayStatus::Available => DayStatusView::Available,
            DayStatus::Full => DayStatusView::Full,
            DayStatus::Closed => DayStatusView::Closed,
            DayStatus::OutOfWindow => DayStatusView::OutOfWindow,
        }
    }
}
