//! The choices a step offers, typed: each option is a value of the step's own kind (an
//! [`Action`], a [`Field`](super::field::Field), a day, a time, a level…) shown as a
//! [`Choice`], whose id is what a button sends back and whose label is what a person reads
//! and may type. Steps match answers against their [`Options`] and get their own values back,
//! never a position or an id to compare with a string.

use super::Context;
use super::input::{self, ChoiceMatch, ChoiceRef};
use super::reply::{Choice, Reply};

/// The fixed actions offered as buttons or numbered choices. The id of each is stable (it is
/// what buttons carry and scripts send); its label comes from `labels.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Accept,
    Decline,
    Yes,
    No,
    Start,
    CorrectData,
    WrongData,
    NoSecondSurname,
    KeepName,
    FixName,
    FixCurp,
    Exempt,
    UseAddress,
    OtherAddress,
    Submit,
    Correct,
    PreviousMonth,
    NextMonth,
    OtherDay,
    Book,
    Reschedule,
    KeepAppointment,
    ConfirmAppointment,
    CancelAppointment,
    Withdraw,
    JoinWaitlist,
    LeaveWaitlist,
    TakeSeat,
    LetSeatGo,
}

impl Action {
    /// The choice id.
    pub fn id(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Decline => "decline",
            Action::Yes => "yes",
            Action::No => "no",
            Action::Start => "start",
            Action::CorrectData => "correct_data",
            Action::WrongData => "wrong_data",
            Action::NoSecondSurname => "no_second_surname",
            Action::KeepName => "keep_name",
            Action::FixName => "fix_name",
            Action::FixCurp => "fix_curp",
            Action::Exempt => "exempt",
            Action::UseAddress => "use_address",
            Action::OtherAddress => "other_address",
            Action::Submit => "submit",
            Action::Correct => "correct",
            Action::PreviousMonth => "prev",
            Action::NextMonth => "next",
            Action::OtherDay => "other_day",
            Action::Book => "book",
            Action::Reschedule => "reschedule",
            Action::KeepAppointment => "keep_appointment",
            Action::ConfirmAppointment => "confirm_appointment",
            Action::CancelAppointment => "cancel_appointment",
            Action::Withdraw => "withdraw",
            Action::JoinWaitlist => "join_waitlist",
            Action::LeaveWaitlist => "leave_waitlist",
            Action::TakeSeat => "take_seat",
            Action::LetSeatGo => "let_seat_go",
        }
    }

    /// The key of its label in `labels.toml`.
    fn label_key(self) -> &'static str {
        match self {
            Action::PreviousMonth => "choice.previous_month",
            Action::NextMonth => "choice.next_month",
            Action::Accept => "choice.accept",
            Action::Decline => "choice.decline",
            Action::Yes => "choice.yes",
            Action::No => "choice.no",
            Action::Start => "choice.start",
            Action::CorrectData => "choice.correct_data",
            Action::WrongData => "choice.wrong_data",
            Action::NoSecondSurname => "choice.no_second_surname",
            Action::KeepName => "choice.keep_name",
            Action::FixName => "choice.fix_name",
            Action::FixCurp => "choice.fix_curp",
            Action::Exempt => "choice.exempt",
            Action::UseAddress => "choice.use_address",
            Action::OtherAddress => "choice.other_address",
            Action::Submit => "choice.submit",
            Action::Correct => "choice.correct",
            Action::OtherDay => "choice.other_day",
            Action::Book => "choice.book",
            Action::Reschedule => "choice.reschedule",
            Action::KeepAppointment => "choice.keep_appointment",
            Action::ConfirmAppointment => "choice.confirm_appointment",
            Action::CancelAppointment => "choice.cancel_appointment",
            Action::Withdraw => "choice.withdraw",
            Action::JoinWaitlist => "choice.join_waitlist",
            Action::LeaveWaitlist => "choice.leave_waitlist",
            Action::TakeSeat => "choice.take_seat",
            Action::LetSeatGo => "choice.let_seat_go",
        }
    }

    /// The choice shown for it.
    pub fn choice(self, ctx: &Context<'_>) -> Choice {
        Choice::new(self.id(), ctx.labels.get(self.label_key()))
    }
}

/// What an answer picked among [`Options`].
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Picked<T> {
    One(T),
    /// Several options fit equally well: their positions, ascending.
    Ambiguous(Vec<usize>),
    None,
}

/// Where the other names of a question's options come from.
pub(super) enum Names<'n> {
    /// The vocabulary's aliases of this group (`level`, `entity`).
    Group(&'n str),
    /// Given with the options, in their order (squashed).
    Given(&'n [Vec<String>]),
}

/// The options of a step: values of `T`, each with the choice shown for it, in order.
#[derive(Debug, Clone)]
pub(super) struct Options<T> {
    values: Vec<T>,
    choices: Vec<Choice>,
}

impl Options<Action> {
    /// Fixed actions, labelled.
    pub fn actions(actions: &[Action], ctx: &Context<'_>) -> Options<Action> {
        Options::new(actions.iter().map(|action| (*action, action.choice(ctx))))
    }
}

impl<T: Clone> Options<T> {
    /// Options whose labels are the group's in `labels.toml` (`{group}.{id}`).
    pub fn labelled(
        values: impl IntoIterator<Item = T>,
        id: impl Fn(&T) -> &'static str,
        group: &str,
        ctx: &Context<'_>,
    ) -> Options<T> {
        Options::new(values.into_iter().map(|value| {
            let key = id(&value);
            let label = ctx.labels.get(&format!("{group}.{key}")).to_string();
            (value, Choice::new(key, label))
        }))
    }

    pub fn new(items: impl IntoIterator<Item = (T, Choice)>) -> Options<T> {
        let (values, choices) = items.into_iter().unzip();
        Options { values, choices }
    }

    pub fn push(&mut self, value: T, choice: Choice) {
        self.values.push(value);
        self.choices.push(choice);
    }

    /// The choices as shown.
    pub fn choices(&self) -> &[Choice] {
        &self.choices
    }

    pub fn into_choices(self) -> Vec<Choice> {
        self.choices
    }

    /// The option the whole answer names (a number, an id, a label).
    pub fn pick(&self, text: &str, ctx: &Context<'_>) -> Picked<T> {
        self.picked(input::match_choice(ctx.vocabulary(), text, &self.refs(&[])))
    }

    /// The option the answer names, by any of its names, also inside a sentence (a city and
    /// an abbreviated state); for questions whose options are names.
    pub fn pick_named(&self, text: &str, names: Names<'_>, ctx: &Context<'_>) -> Picked<T> {
        let vocabulary = ctx.vocabulary();
        let aliases: Vec<&[String]> = self
            .choices
            .iter()
            .enumerate()
            .map(|(index, choice)| match &names {
                Names::Group(group) => vocabulary.aliases(group, &choice.id),
                Names::Given(given) => given.get(index).map_or(&[][..], Vec::as_slice),
            })
            .collect();
        self.picked(input::find_choice(vocabulary, text, &self.refs(&aliases)))
    }

    /// The explanation for what an answer picked: the candidates when several fit, else how
    /// to answer.
    pub fn refusal(&self, picked: &Picked<T>) -> Reply {
        match picked {
            Picked::Ambiguous(indices) => Reply::new("choice_ambiguous").with(
                "candidates",
                indices
                    .iter()
                    .map(|i| self.choices[*i].label.clone())
                    .collect::<Vec<_>>(),
            ),
            _ => Reply::new("choice_not_understood").with("count", self.choices.len()),
        }
    }

    /// The explanation when the answer picks none of the options.
    pub fn not_understood(&self, text: &str, ctx: &Context<'_>) -> Reply {
        self.refusal(&self.pick(text, ctx))
    }

    fn refs<'c>(&'c self, aliases: &[&'c [String]]) -> Vec<ChoiceRef<'c>> {
        self.choices
            .iter()
            .enumerate()
            .map(|(index, c)| ChoiceRef {
                id: &c.id,
                label: &c.label,
                aliases: aliases.get(index).copied().unwrap_or(&[]),
            })
            .collect()
    }

    fn picked(&self, found: ChoiceMatch) -> Picked<T> {
        match found {
            ChoiceMatch::One(index) => Picked::One(self.values[index].clone()),
            ChoiceMatch::Ambiguous(indices) => Picked::Ambiguous(indices),
            ChoiceMatch::NoMatch => Picked::None,
        }
    }
}

/// Reads a yes/no answer: the words people use, or one of the two offered choices (`yes` for
/// true).
pub(super) fn yes_no(text: &str, yes: Action, no: Action, ctx: &Context<'_>) -> Option<bool> {
    if let Some(answer) = input::parse_yes_no(ctx.vocabulary(), text) {
        return Some(answer);
    }
    match Options::actions(&[yes, no], ctx).pick(text, ctx) {
        Picked::One(action) => Some(action == yes),
        _ => None,
    }
}

/// Whether the whole answer picks the one action offered beside a free answer ("no tengo
/// segundo apellido", "exento").
pub(super) fn chose(text: &str, action: Action, ctx: &Context<'_>) -> bool {
    matches!(
        Options::actions(&[action], ctx).pick(text, ctx),
        Picked::One(_)
    )
}
