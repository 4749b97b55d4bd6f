//! The fields of the draft, as the dialogue names them: what a correction clears, what an
//! explanation names ("field.curp" in `labels.toml`).

use super::reply::Choice;
use super::state::Draft;
use super::{Context, Effect};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Curp,
    Name,
    Level,
    PaymentKey,
    Institution,
    Program,
    Entity,
    TitleDate,
    Exam,
    StudyPeriod,
    Email,
}

impl Field {
    /// The fields in the order of the procedure (and of the corrections menu).
    pub const ALL: [Field; 11] = [
        Field::Curp,
        Field::Name,
        Field::Level,
        Field::PaymentKey,
        Field::Institution,
        Field::Program,
        Field::Entity,
        Field::TitleDate,
        Field::Exam,
        Field::StudyPeriod,
        Field::Email,
    ];

    /// The stable key: the choice id of the corrections menu, `field.{key}` its label.
    pub fn key(self) -> &'static str {
        match self {
            Field::Curp => "curp",
            Field::Name => "name",
            Field::Level => "level",
            Field::PaymentKey => "payment_key",
            Field::Institution => "institution",
            Field::Program => "program",
            Field::Entity => "entity",
            Field::TitleDate => "title_date",
            Field::Exam => "exam",
            Field::StudyPeriod => "study_period",
            Field::Email => "email",
        }
    }

    /// The template value naming the field (a label key).
    pub fn label_key(self) -> String {
        format!("field.{}", self.key())
    }

    /// The choice of the corrections menu.
    pub fn choice(self, ctx: &Context<'_>) -> Choice {
        Choice::new(self.key(), ctx.labels.get(&self.label_key()))
    }

    /// Whether the draft holds an answer for it.
    pub fn answered(self, draft: &Draft) -> bool {
        match self {
            Field::Curp => draft.curp.is_some(),
            Field::Name => draft.given_names.is_some(),
            Field::Level => draft.level.is_some(),
            Field::PaymentKey => draft.payment_key.is_some(),
            Field::Institution => draft.institution.is_some(),
            Field::Program => draft.program.is_some(),
            Field::Entity => draft.entity.is_some(),
            Field::TitleDate => draft.title_date.is_some(),
            Field::Exam => draft.exam.is_some(),
            Field::StudyPeriod => draft.study_start.is_some(),
            Field::Email => draft.email.is_some(),
        }
    }

    /// Clears the answer so that it is asked again; returns what must happen in the store.
    pub fn clear(self, draft: &mut Draft) -> Vec<Effect> {
        match self {
            Field::Curp => {
                draft.curp = None;
                draft.curp_confirmed = false;
                draft.initials_accepted = false;
            }
            Field::Name => {
                draft.given_names = None;
                draft.first_surname = None;
                draft.second_surname = None;
                draft.initials_accepted = false;
            }
            Field::Level => draft.level = None,
            Field::PaymentKey => {
                draft.paid_on = None;
                if let Some(key) = draft.payment_key.take() {
                    return vec![Effect::ReleasePaymentKey { key }];
                }
            }
            Field::Institution => draft.institution = None,
            Field::Program => draft.program = None,
            Field::Entity => draft.entity = None,
            Field::TitleDate => draft.title_date = None,
            Field::Exam => draft.exam = None,
            Field::StudyPeriod => {
                draft.study_start = None;
                draft.study_end = None;
            }
            Field::Email => draft.email = None,
        }
        Vec::new()
    }
}
