//! The conversation's state: what the dialogue is waiting for and everything collected so far,
//! already parsed. Stored as JSON in the `conversations` table inside a versioned envelope, so a
//! future change of shape can migrate old rows instead of losing them.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::academic::{AcademicRecord, Level, ProfessionalExam};
use crate::domain::application::{ApplicationData, AppointmentView, Folio};
use crate::domain::curp::Curp;
use crate::domain::email::EmailAddress;
use crate::domain::entity::Entity;
use crate::domain::payment::PaymentKey;
use crate::domain::person::PersonName;

/// Version of the stored shape. Raise it with a migration in [`State::from_json`].
pub const STATE_VERSION: u32 = 1;

/// Where the conversation is. Each waiting state is a struct of its own fields; its behaviour
/// (prompt, answers, request outcomes) is in `conversation::steps`, one file per state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// Nothing said yet.
    New,
    /// The privacy notice was shown; waiting for consent.
    AwaitingConsent,
    /// Collecting the request, one question at a time.
    Collecting(Collecting),
    /// Everything collected; the applicant reviews it and submits or corrects.
    Reviewing(Reviewing),
    /// Which field to correct.
    ChoosingCorrection(ChoosingCorrection),
    /// Submitted; choosing the office for the appointment.
    ChoosingOffice(ChoosingOffice),
    /// Choosing a day of the month shown.
    ChoosingDay(ChoosingDay),
    /// Choosing a time on the chosen day.
    ChoosingSlot(ChoosingSlot),
    /// Following a submitted application (with or without an appointment; the store knows).
    Tracking(Tracking),
    /// The office moved the appointment; keeping it or choosing another day.
    Moved(Moved),
    /// Reminded of tomorrow's appointment; confirming, changing or cancelling it.
    Reminded(Reminded),
    /// Asking the latest day the applicant would accept, to join an office's waitlist.
    JoiningWaitlist(JoiningWaitlist),
    /// A freed seat offered from the waitlist and held for the applicant until they answer.
    Offered(Offered),
    /// A yes/no confirmation before something that cannot be undone.
    Confirming(Confirming),
    /// The conversation ended (consent declined, draft abandoned, application withdrawn).
    Closed(Closed),
}

/// Collecting the request: the draft so far and the question asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collecting {
    pub draft: Box<Draft>,
    pub question: Question,
}

/// Reviewing the complete draft before submitting it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reviewing {
    pub draft: Box<Draft>,
}

/// Choosing which answer of the draft to give again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoosingCorrection {
    pub draft: Box<Draft>,
}

/// Choosing the office; `replacing` is the appointment a reschedule frees once booked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoosingOffice {
    pub app: AppRef,
    pub replacing: Option<i64>,
}

/// Choosing a day of `month` at `office`, among the days `offered` when it was shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoosingDay {
    pub app: AppRef,
    pub office: String,
    pub month: NaiveDate,
    pub offered: Vec<NaiveDate>,
    pub replacing: Option<i64>,
}

/// Choosing a time of `day` at `office`, among the times `offered` when it was shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoosingSlot {
    pub app: AppRef,
    pub office: String,
    pub day: NaiveDate,
    pub offered: Vec<NaiveTime>,
    pub replacing: Option<i64>,
}

/// Following a submitted application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tracking {
    pub app: AppRef,
}

/// The office moved the appointment (it closed that day, or rescheduled for the applicant):
/// the applicant keeps the new one or chooses another day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moved {
    pub app: AppRef,
}

/// The day-before reminder asked: the applicant confirms, changes or cancels the appointment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reminded {
    pub app: AppRef,
}

/// Joining the waitlist of `office`: the latest day the applicant would accept is asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoiningWaitlist {
    pub app: AppRef,
    pub office: String,
}

/// The seat `hold` was freed and is held for the applicant until `until`: they take it (their
/// appointment moves there) or let it go (to the next in line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offered {
    pub app: AppRef,
    pub hold: AppointmentView,
    pub until: DateTime<Utc>,
}

/// Asking yes or no before `action`; `resume` is where the conversation goes back to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confirming {
    pub action: Confirmable,
    pub resume: Box<State>,
}

/// The conversation ended, with or without a submitted application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Closed {
    pub app: Option<AppRef>,
}

macro_rules! into_state {
    ($($variant:ident),*) => {$(
        impl From<$variant> for State {
            fn from(state: $variant) -> State {
                State::$variant(state)
            }
        }
    )*};
}

into_state!(
    Collecting,
    Reviewing,
    ChoosingCorrection,
    ChoosingOffice,
    ChoosingDay,
    ChoosingSlot,
    Tracking,
    Moved,
    Reminded,
    JoiningWaitlist,
    Offered,
    Confirming,
    Closed
);

/// A submitted application, as the conversation refers to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRef {
    pub id: i64,
    pub folio: Folio,
}

impl AppRef {
    /// The reference to the application the store shows.
    pub fn of(view: &crate::domain::application::ApplicationView) -> AppRef {
        AppRef {
            id: view.id,
            folio: view.folio.clone(),
        }
    }
}

/// What a confirmation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirmable {
    /// Discard the draft.
    Abandon,
    /// Discard the draft and start again.
    Restart,
    /// Cancel the appointment, freeing the seat.
    CancelAppointment,
    /// Withdraw the submitted application.
    Withdraw,
}

/// The questions of the request, in the order of the real procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Question {
    Curp,
    CurpConfirm,
    GivenNames,
    FirstSurname,
    SecondSurname,
    InitialsMismatch,
    Level,
    PaymentKey,
    Institution,
    Program,
    Entity,
    TitleDate,
    ExamDate,
    StudyStart,
    StudyEnd,
    Email,
    EmailConfirm,
}

impl Question {
    /// "Paso N" of this question.
    pub fn step(self) -> u8 {
        match self {
            Question::Curp | Question::CurpConfirm => 2,
            Question::GivenNames => 3,
            Question::FirstSurname => 4,
            Question::SecondSurname | Question::InitialsMismatch => 5,
            Question::Level => 6,
            Question::PaymentKey => 7,
            Question::Institution => 8,
            Question::Program => 9,
            Question::Entity => 10,
            Question::TitleDate => 11,
            Question::ExamDate => 12,
            Question::StudyStart => 13,
            Question::StudyEnd => 14,
            Question::Email | Question::EmailConfirm => 15,
        }
    }
}

/// Steps after the questions.
pub const STEP_CONSENT: u8 = 1;
pub const STEP_REVIEW: u8 = 16;
pub const STEP_OFFICE: u8 = 17;
pub const STEP_DAY: u8 = 18;
pub const STEP_SLOT: u8 = 19;

/// What has been collected so far. Each field is already parsed; `None` means not yet asked
/// (or cleared to be asked again after a correction).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub curp: Option<Curp>,
    #[serde(default)]
    pub curp_confirmed: bool,
    pub given_names: Option<String>,
    pub first_surname: Option<String>,
    /// `Some(None)`: the applicant has no second surname.
    pub second_surname: Option<Option<String>>,
    /// The applicant confirmed their name although the CURP's initials differ.
    #[serde(default)]
    pub initials_accepted: bool,
    pub level: Option<Level>,
    pub payment_key: Option<PaymentKey>,
    /// When the payment key was given (the first bookable day counts from it).
    pub paid_on: Option<NaiveDate>,
    pub institution: Option<String>,
    pub program: Option<String>,
    pub entity: Option<Entity>,
    pub title_date: Option<NaiveDate>,
    pub exam: Option<ProfessionalExam>,
    pub study_start: Option<NaiveDate>,
    pub study_end: Option<NaiveDate>,
    pub email: Option<EmailAddress>,
}

impl Draft {
    /// The name, once all its parts were given.
    pub fn name(&self) -> Option<PersonName> {
        let second = self.second_surname.as_ref()?;
        PersonName::new(
            self.given_names.as_ref()?,
            self.first_surname.as_ref()?,
            second.as_deref(),
        )
        .ok()
    }

    /// The complete request, when nothing is missing.
    pub fn complete(&self) -> Option<ApplicationData> {
        Some(ApplicationData {
            curp: self.curp.clone()?,
            name: self.name()?,
            payment_key: self.payment_key.clone()?,
            paid_on: self.paid_on?,
            academic: AcademicRecord {
                level: self.level?,
                institution: self.institution.clone()?,
                program: self.program.clone()?,
                entity: self.entity?,
                title_issued_on: self.title_date?,
                exam: self.exam?,
                studies_started_on: self.study_start?,
                studies_ended_on: self.study_end?,
            },
            email: self.email.clone()?,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    v: u32,
    #[serde(flatten)]
    state: serde_json::Value,
}

/// A stored state that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("stored conversation state has version {0}, this build reads {STATE_VERSION}")]
    UnknownVersion(u32),
    #[error("stored conversation state is malformed")]
    Malformed(#[from] serde_json::Error),
}

impl State {
    pub fn to_json(&self) -> String {
        let state = serde_json::to_value(self).expect("state serializes");
        serde_json::to_string(&Envelope {
            v: STATE_VERSION,
            state,
        })
        .expect("state serializes")
    }

    pub fn from_json(json: &str) -> Result<State, StateError> {
        let envelope: Envelope = serde_json::from_str(json)?;
        match envelope.v {
            STATE_VERSION => Ok(serde_json::from_value(envelope.state)?),
            other => Err(StateError::UnknownVersion(other)),
        }
    }

    /// The submitted application this state refers to, if any.
    pub fn app(&self) -> Option<&AppRef> {
        match self {
            State::ChoosingOffice(ChoosingOffice { app, .. })
            | State::ChoosingDay(ChoosingDay { app, .. })
            | State::ChoosingSlot(ChoosingSlot { app, .. })
            | State::Tracking(Tracking { app })
            | State::Moved(Moved { app })
            | State::Reminded(Reminded { app })
            | State::JoiningWaitlist(JoiningWaitlist { app, .. })
            | State::Offered(Offered { app, .. }) => Some(app),
            State::Closed(Closed { app }) => app.as_ref(),
            State::Confirming(Confirming { resume, .. }) => resume.app(),
            _ => None,
        }
    }

    /// The draft of a state that collects, reviews or corrects one.
    pub fn draft(&self) -> Option<&Draft> {
        match self {
            State::Collecting(Collecting { draft, .. })
            | State::Reviewing(Reviewing { draft })
            | State::ChoosingCorrection(ChoosingCorrection { draft }) => Some(draft),
            _ => None,
        }
    }

    /// The state beneath any confirmation being asked.
    pub fn beneath(&self) -> &State {
        let mut current = self;
        while let State::Confirming(Confirming { resume, .. }) = current {
            current = resume;
        }
        current
    }

    /// The stage of a state, for the audit trail.
    pub fn stage(&self) -> &'static str {
        match self {
            State::New => "new",
            State::AwaitingConsent => "awaiting_consent",
            State::Collecting(_) => "collecting",
            State::Reviewing(_) => "reviewing",
            State::ChoosingCorrection(_) => "correcting",
            State::ChoosingOffice(_) => "choosing_office",
            State::ChoosingDay(_) => "choosing_day",
            State::ChoosingSlot(_) => "choosing_slot",
            State::Tracking(_) => "tracking",
            State::Moved(_) => "moved",
            State::Reminded(_) => "reminded",
            State::JoiningWaitlist(_) => "joining_waitlist",
            State::Offered(_) => "offered",
            State::Confirming(_) => "confirming",
            State::Closed(_) => "closed",
        }
    }

    /// Whether the turn must load seat availability for this state.
    pub fn needs_availability(&self) -> bool {
        match self {
            State::ChoosingOffice(_)
            | State::ChoosingDay(_)
            | State::ChoosingSlot(_)
            | State::Tracking(_)
            | State::Moved(_)
            | State::Reminded(_)
            | State::JoiningWaitlist(_)
            | State::Offered(_) => true,
            State::Confirming(Confirming { resume, .. }) => resume.needs_availability(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_the_versioned_envelope() {
        let state = State::Collecting(Collecting {
            draft: Box::default(),
            question: Question::Curp,
        });
        let json = state.to_json();
        assert!(json.contains("\"v\":1"), "{json}");
        assert_eq!(State::from_json(&json).unwrap(), state);
    }

    /// Rows stored before the states became structs read the same (the shape is the stored
    /// contract: a state's fields sit beside its `state` tag).
    #[test]
    fn stored_rows_keep_their_shape() {
        let day = r#"{"v":1,"state":"choosing_day","app":{"id":7,"folio":"SOL-2026-000007"},"office":"dgp-cdmx","month":"2026-12-01","offered":["2026-12-07"],"replacing":null}"#;
        let state = State::from_json(day).unwrap();
        let State::ChoosingDay(choosing) = &state else {
            panic!("{state:?}");
        };
        assert_eq!(choosing.office, "dgp-cdmx");
        assert_eq!(choosing.app.id, 7);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&state.to_json()).unwrap(),
            serde_json::from_str::<serde_json::Value>(day).unwrap()
        );
        let closed = r#"{"v":1,"state":"closed","app":null}"#;
        assert_eq!(
            State::from_json(closed).unwrap(),
            State::Closed(Closed { app: None })
        );
        assert_eq!(
            State::from_json(r#"{"v":1,"state":"new"}"#).unwrap(),
            State::New
        );
    }

    #[test]
    fn unknown_versions_and_garbage_are_errors_not_panics() {
        assert!(matches!(
            State::from_json(r#"{"v":99,"state":"new"}"#),
            Err(StateError::UnknownVersion(99))
        ));
        assert!(matches!(
            State::from_json("not json"),
            Err(StateError::Malformed(_))
        ));
    }
}
