//! The dialogue as a pure function, driven without a database: the store's answers to its
//! requests are simulated here. These tests also render every reply, and the last one checks
//! that every template in `templates/` was rendered by some path.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, NaiveDate, Utc};
use ventanilla::config::Settings;
use ventanilla::conversation::reply::Reply;
use ventanilla::conversation::state::{AppRef, Closed, Collecting, Question, State};
use ventanilla::conversation::{
    ChannelKind, Context, Effect, Input, Request, RequestOutcome, booking_approved, draft_expired,
    draft_reminded, hold_expired, offered, step, unbooked_reminded,
};
use ventanilla::domain::application::{ApplicationView, AppointmentView, Folio, Status, Waiting};
use ventanilla::domain::calendar::Availability;
use ventanilla::domain::email::EmailAddress;
use ventanilla::templates::Templates;

/// Every template rendered by any test of this file.
fn rendered() -> &'static Mutex<BTreeSet<String>> {
    static RENDERED: OnceLock<Mutex<BTreeSet<String>>> = OnceLock::new();
    RENDERED.get_or_init(Mutex::default)
}

struct Pure {
    settings: Settings,
    templates: Templates,
    state: State,
    channel: ChannelKind,
    now: DateTime<Utc>,
    application: Option<ApplicationView>,
    availability: Availability,
    taken_keys: HashSet<String>,
    /// The next booking (or taking of a held seat) is refused.
    full_slots: bool,
    /// Every effect the steps asked for, in order.
    effects: Vec<Effect>,
    /// The seat the simulated store holds for the applicant.
    held: Option<AppointmentView>,
}

impl Pure {
    fn new() -> Pure {
        Pure {
            settings: Settings::from_env(&[("VENTANILLA_DATA_DIR", "/tmp/unused")]).unwrap(),
            templates: Templates::new(),
            state: State::New,
            channel: ChannelKind::Terminal,
            now: DateTime::parse_from_rfc3339("2026-11-30T10:00:00-06:00")
                .unwrap()
                .with_timezone(&Utc),
            application: None,
            availability: Availability::default(),
            taken_keys: HashSet::new(),
            full_slots: false,
            effects: Vec::new(),
            held: None,
        }
    }

    /// A notice from outside the conversation (the scheduler's offer, an expiry): `decide` gets
    /// the state and the context as `Service::tell` gives them; the notice is rendered and the
    /// state kept. Returns the notice's template and text.
    fn notice(
        &mut self,
        decide: impl FnOnce(&State, &Context<'_>) -> Option<(State, Reply)>,
    ) -> Option<(String, String)> {
        let (settings, templates) = (self.settings.clone(), self.templates.clone());
        let ctx = Context {
            // A notice outside a turn loads no seats.
            availability: Availability::default(),
            ..self.context(&settings, &templates)
        };
        let (state, reply) = decide(&self.state, &ctx)?;
        self.state = state;
        let text = self.templates.render_reply(&reply).unwrap();
        let mut seen = rendered().lock().unwrap();
        seen.insert(format!("conversation/{}.txt", reply.template));
        Some((reply.template, text))
    }

    /// The context a turn would load now.
    fn context<'a>(&self, settings: &'a Settings, templates: &'a Templates) -> Context<'a> {
        Context {
            now: self.now,
            procedure: &settings.procedure,
            labels: templates.labels(),
            public_url: "http://localhost",
            channel: self.channel.clone(),
            conversation_id: 7,
            application: self.application.clone(),
            availability: self.availability.clone(),
        }
    }

    fn input(&mut self, input: Input) -> Vec<Reply> {
        let (settings, templates) = (self.settings.clone(), self.templates.clone());
        let ctx = self.context(&settings, &templates);
        let mut outcome = step(&self.state, &input, &ctx);
        let mut replies = std::mem::take(&mut outcome.replies);
        self.effects.append(&mut outcome.effects);
        while let Some(request) = outcome.request.take() {
            let answer = self.answer(&request);
            let ctx = Context {
                application: self.application.clone(),
                ..ctx.clone()
            };
            outcome = step(&outcome.state, &Input::Outcome(answer), &ctx);
            replies.append(&mut outcome.replies);
            self.effects.append(&mut outcome.effects);
        }
        self.state = outcome.state;
        for reply in &replies {
            let text = self
                .templates
                .render_reply(reply)
                .unwrap_or_else(|e| panic!("{}: {e:#}", reply.template));
            assert!(!text.trim().is_empty(), "{} rendered empty", reply.template);
            assert!(
                !text.contains("choice."),
                "{}: a label key leaked: {text}",
                reply.template
            );
            let mut seen = rendered().lock().unwrap();
            seen.insert(format!("conversation/{}.txt", reply.template));
            if reply.progress.is_some() {
                seen.insert("conversation/_progress.txt".into());
            }
        }
        replies
    }

    /// The store's answer, simulated.
    fn answer(&mut self, request: &Request) -> RequestOutcome {
        match request {
            Request::ClaimPaymentKey { key } if self.taken_keys.contains(key.as_str()) => {
                RequestOutcome::PaymentKeyTaken { key: key.clone() }
            }
            Request::ClaimPaymentKey { key } => {
                RequestOutcome::PaymentKeyClaimed { key: key.clone() }
            }
            Request::Submit { data } => {
                let folio = Folio::new(2026, 1);
                self.application = Some(ApplicationView {
                    id: 1,
                    folio: folio.clone(),
                    status: Status::Submitted,
                    paid_on: data.paid_on,
                    appointment: None,
                    cedula: None,
                    waiting: None,
                    no_shows: 0,
                    no_shows_approved: 0,
                });
                RequestOutcome::Submitted {
                    application_id: 1,
                    folio,
                }
            }
            Request::Book {
                day,
                slot,
                office_id,
                ..
            } => {
                if self.full_slots {
                    self.full_slots = false;
                    return RequestOutcome::SlotFull {
                        day: *day,
                        slot: *slot,
                    };
                }
                let appointment = AppointmentView {
                    id: 9,
                    office_id: office_id.clone(),
                    day: *day,
                    slot: *slot,
                };
                if let Some(app) = self.application.as_mut() {
                    app.appointment = Some(appointment.clone());
                    app.status = Status::Scheduled;
                }
                RequestOutcome::Booked { appointment }
            }
            Request::TakeHeldSeat { hold_id, .. } => {
                let held = self.held.take().filter(|h| h.id == *hold_id);
                let Some(appointment) = held.filter(|_| !std::mem::take(&mut self.full_slots))
                else {
                    return RequestOutcome::HoldGone;
                };
                if let Some(app) = self.application.as_mut() {
                    app.appointment = Some(appointment.clone());
                    app.status = Status::Scheduled;
                }
                RequestOutcome::Booked { appointment }
            }
        }
    }

    fn say(&mut self, text: &str) -> Vec<String> {
        self.input(Input::Text(text.to_string()))
            .into_iter()
            .map(|r| r.template)
            .collect()
    }

    fn question(&self) -> Option<Question> {
        match &self.state {
            State::Collecting(Collecting { question, .. }) => Some(*question),
            _ => None,
        }
    }
}

const TO_LEVEL: [&str; 7] = [
    "hola",
    "acepto",
    "PEGL890909MJCRMS08",
    "sí",
    "Luz María",
    "Pérez",
    "Gómez",
];
const AFTER_LEVEL: [&str; 9] = [
    "AB12CD34EF",
    "Universidad de Guadalajara",
    "Licenciatura en Derecho",
    "Jalisco",
    "15/03/2015",
    "exento",
    "2009-08-01",
    "30 jun 2013",
    "luz@example.mx",
];

fn at_review() -> Pure {
    let mut pure = Pure::new();
    for answer in TO_LEVEL
        .iter()
        .chain(["licenciatura"].iter())
        .chain(AFTER_LEVEL.iter())
    {
        pure.say(answer);
    }
    assert!(matches!(pure.state, State::Reviewing(_)));
    pure
}

fn scheduled() -> Pure {
    let mut pure = at_review();
    for answer in ["enviar", "1", "1", "1"] {
        pure.say(answer);
    }
    assert!(matches!(pure.state, State::Tracking(_)));
    pure
}

#[test]
fn consent_is_asked_before_any_data_and_refusal_keeps_nothing() {
    let mut pure = Pure::new();
    assert_eq!(pure.say("buenas tardes"), ["welcome", "privacy_notice"]);
    assert_eq!(pure.say("quizás"), ["yes_no_expected", "privacy_notice"]);
    assert_eq!(pure.say("no"), ["consent_declined", "closed"]);
    assert!(matches!(pure.state, State::Closed(Closed { app: None })));
    assert_eq!(pure.say("hola otra vez"), ["welcome", "privacy_notice"]);
}

#[test]
fn every_curp_error_is_explained_and_the_question_repeated() {
    let cases = [
        ("check digit", "PEGL890909MJCRMS09"),
        ("inconvenient word", "BACA890909MJCRMS05"),
        ("impossible date", "PEGL891313MJCRMS06"),
        ("sex", "PEGL890909QJCRMS08"),
        ("state", "PEGL890909MQQRMS02"),
        ("too short", "PEGL8909"),
        ("a digit where a letter goes", "P3GL890909MJCRMS08"),
    ];
    for (description, curp) in cases {
        let mut pure = Pure::new();
        pure.say("hola");
        pure.say("sí");
        assert_eq!(
            pure.say(curp),
            ["curp_invalid", "ask_curp"],
            "{description}"
        );
        assert_eq!(pure.question(), Some(Question::Curp), "{description}");
    }
}

/// A CURP for the given birth digits (AAMMDD) and character 17, with its check digit computed
/// here independently of the code under test (weights 18 to 2 over RENAPO's alphabet).
fn curp_born(date: &str, homonymy: char) -> String {
    const ALPHABET: &str = "0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ";
    let first = format!("PEGL{date}MJCRMS{homonymy}");
    let sum: usize = first
        .chars()
        .zip((2..=18).rev())
        .map(|(c, weight)| ALPHABET.find(c).unwrap() * weight)
        .sum();
    format!("{first}{}", (10 - sum % 10) % 10)
}

#[test]
fn a_curp_birth_date_in_the_future_or_too_young_for_a_title_is_refused() {
    assert_eq!(curp_born("890909", '0'), "PEGL890909MJCRMS08", "the oracle");
    // Today is 30 November 2026 and the youngest titled professional is 15 (the default).
    let future = [
        ("300101", 'C'), // the issue's case: 30 with a letter is 2030
        ("270101", 'A'),
        ("261201", 'A'), // tomorrow
        ("261231", 'B'),
        ("991231", 'Z'),
        ("500615", 'B'),
        ("350229", 'D'), // no 29 February in 2035: a date error, checked first
        ("280229", 'E'), // 2028 is a leap year
        ("310515", 'F'),
    ];
    let too_young = [
        ("261130", 'A'), // born today
        ("261129", 'A'),
        ("200505", 'B'),
        ("150101", 'C'),
        ("120101", 'A'),
        ("111201", 'A'), // 15 tomorrow
        ("130101", 'A'),
        ("140101", 'Z'),
    ];
    let accepted = [
        ("111130", 'A'), // 15 today
        ("111129", 'A'),
        ("890909", '0'),
        ("000101", 'A'), // 2000 takes a letter
        ("991231", '9'), // 1999 takes a digit
        ("300101", '5'), // 1930: 96 years old, a retired professional may still ask
        ("050505", 'A'),
        ("080229", 'B'),
    ];
    let run = |curp: &str| {
        let mut pure = Pure::new();
        pure.say("hola");
        pure.say("sí");
        let replies = pure.input(Input::Text(curp.to_string()));
        let texts: Vec<String> = replies
            .iter()
            .map(|r| pure.templates.render_reply(r).unwrap())
            .collect();
        let kinds: Vec<String> = replies
            .iter()
            .filter_map(|r| {
                r.vars
                    .get("kind")
                    .and_then(|k| k.as_str())
                    .map(String::from)
            })
            .collect();
        (pure.question(), texts.join("\n"), kinds)
    };
    for (date, homonymy) in future {
        let curp = curp_born(date, homonymy);
        let (question, text, kinds) = run(&curp);
        assert_eq!(question, Some(Question::Curp), "{curp}: asked again");
        if date == "350229" {
            assert_eq!(kinds, ["curp.invalid_date"], "{curp}");
            continue;
        }
        assert_eq!(kinds, ["curp.future_birth"], "{curp}");
        assert!(text.contains("todavía no llega"), "{curp}: {text}");
        assert!(
            text.contains(&format!("«{date}»")),
            "{curp}: names characters 5-10: {text}"
        );
        assert!(
            text.contains(&format!("«{homonymy}»")),
            "{curp}: names character 17: {text}"
        );
    }
    for (date, homonymy) in too_young {
        let curp = curp_born(date, homonymy);
        let (question, text, kinds) = run(&curp);
        assert_eq!(question, Some(Question::Curp), "{curp}: asked again");
        assert_eq!(kinds, ["curp.too_young"], "{curp}");
        assert!(text.contains("al menos 15"), "{curp}: {text}");
    }
    for (date, homonymy) in accepted {
        let curp = curp_born(date, homonymy);
        let (question, text, kinds) = run(&curp);
        assert!(kinds.is_empty(), "{curp}: {text}");
        assert_ne!(question, Some(Question::Curp), "{curp}: accepted");
    }
    // The age is a setting.
    let mut pure = Pure::new();
    pure.settings.procedure.min_age_years = 10;
    pure.say("hola");
    pure.say("sí");
    let young = pure.say(&curp_born("150101", 'C'));
    assert_ne!(pure.question(), Some(Question::Curp), "{young:?}");
}

#[test]
fn a_curp_whose_initials_differ_from_the_name_is_a_warning_not_a_block() {
    let mut pure = Pure::new();
    for answer in ["hola", "si", "PEGL890909MJCRMS08", "si", "Juan", "Ramírez"] {
        pure.say(answer);
    }
    assert_eq!(pure.say("Soto"), ["initials_mismatch"]);
    assert_eq!(pure.say("mi nombre está bien"), ["ask_level"]);
}

#[test]
fn names_keep_accents_and_refuse_digits_and_symbols() {
    let mut pure = Pure::new();
    for answer in &TO_LEVEL[..4] {
        pure.say(answer);
    }
    let long = "a".repeat(61);
    for (description, name) in [
        ("digits", "Luz 2"),
        ("symbols", "Luz@"),
        ("too long", long.as_str()),
        ("no letters", "-.-"),
    ] {
        assert_eq!(
            pure.say(name),
            ["name_invalid", "ask_given_names"],
            "{description}"
        );
    }
    assert_eq!(pure.say("María de los Ángeles"), ["ask_first_surname"]);
    assert_eq!(pure.say("Núñez"), ["ask_second_surname"]);
    assert_eq!(pure.say("no tengo"), ["initials_mismatch"]);
}

#[test]
fn people_type_dates_many_ways() {
    for date in [
        "15/03/2015",
        "15-03-2015",
        "2015-03-15",
        "15 de marzo de 2015",
        "15 mar 2015",
        "marzo 15, 2015",
    ] {
        let mut pure = Pure::new();
        for answer in TO_LEVEL
            .iter()
            .chain(["3"].iter())
            .chain(AFTER_LEVEL[..4].iter())
        {
            pure.say(answer);
        }
        assert_eq!(pure.question(), Some(Question::TitleDate));
        assert_eq!(pure.say(date), ["ask_exam_date"], "{date}");
    }
}

#[test]
fn academic_dates_are_checked_against_each_other() {
    let mut pure = Pure::new();
    for answer in TO_LEVEL
        .iter()
        .chain(["licenciatura"].iter())
        .chain(AFTER_LEVEL[..4].iter())
    {
        pure.say(answer);
    }
    // A two-digit year that fits no century (1940 is too early, 2040 is the future).
    assert_eq!(pure.say("15/03/40"), ["date_invalid", "ask_title_date"]);
    assert_eq!(pure.say("31/02/2015"), ["date_invalid", "ask_title_date"]);
    assert_eq!(pure.say("15 de marzo"), ["date_invalid", "ask_title_date"]);
    assert_eq!(pure.say("ayer"), ["date_invalid", "ask_title_date"]);
    assert_eq!(pure.say("01/01/2030"), ["date_rule", "ask_title_date"]);
    assert_eq!(
        pure.say("5 de mayo de 2019"),
        ["electronic_route", "ask_title_date"]
    );
    assert_eq!(pure.say("15/03/2015"), ["ask_exam_date"]);
    assert_eq!(pure.say("01/04/2015"), ["date_rule", "ask_exam_date"]);
    assert_eq!(
        pure.say("el 20/02/2015 o el 21/02/2015"),
        ["value_ambiguous", "ask_exam_date"]
    );
    // A two-digit year in the only century that fits, said back in full.
    assert_eq!(
        pure.say("presenté el examen el 20/02/15"),
        ["understood", "ask_study_start"]
    );
    assert_eq!(pure.say("01/08/2009"), ["ask_study_end"]);
    assert_eq!(pure.say("01/08/2008"), ["date_rule", "ask_study_end"]);
}

#[test]
fn free_text_choices_and_addresses_are_validated() {
    let mut pure = Pure::new();
    for answer in TO_LEVEL {
        pure.say(answer);
    }
    assert_eq!(
        pure.say("bachillerato"),
        ["choice_not_understood", "ask_level"]
    );
    assert_eq!(pure.say("tec"), ["choice_ambiguous", "ask_level"]);
    assert_eq!(
        pure.say("la licenciatura"),
        ["payment_sheets", "ask_payment_key"]
    );
    assert_eq!(pure.say("12"), ["payment_key_invalid", "ask_payment_key"]);
    pure.taken_keys.insert("TAKEN00001".into());
    assert_eq!(
        pure.say("taken-00001"),
        ["payment_key_taken", "ask_payment_key"]
    );
    assert_eq!(pure.say("AB12CD34EF"), ["ask_institution"]);
    assert_eq!(pure.say("?"), ["text_invalid", "ask_institution"]);
    pure.say("UNAM");
    pure.say("Medicina");
    assert_eq!(pure.say("baja"), ["choice_ambiguous", "ask_entity"]);
    assert_eq!(pure.say("cdmx"), ["ask_title_date"]);
    for answer in &AFTER_LEVEL[4..8] {
        pure.say(answer);
    }
    assert_eq!(pure.say("luz arroba gmail"), ["email_invalid", "ask_email"]);
    assert_eq!(pure.say("luz@gmail.com"), ["review"]);
}

#[test]
fn on_email_the_sender_address_is_confirmed_instead_of_asked() {
    let mut pure = Pure::new();
    pure.channel = ChannelKind::Email(EmailAddress::parse("luz@example.mx").unwrap());
    for answer in TO_LEVEL
        .iter()
        .chain(["licenciatura"].iter())
        .chain(AFTER_LEVEL[..8].iter())
    {
        pure.say(answer);
    }
    assert_eq!(pure.question(), Some(Question::EmailConfirm));
    assert_eq!(pure.say("sí"), ["review"]);
}

#[test]
fn corrections_go_back_to_the_review() {
    let mut pure = at_review();
    assert_eq!(pure.say("corregir"), ["choose_correction"]);
    assert_eq!(pure.say("institución"), ["ask_institution"]);
    assert_eq!(pure.say("Universidad de Colima"), ["review"]);
    // "no" at the review means correct.
    assert_eq!(pure.say("no"), ["choose_correction"]);
    assert_eq!(pure.say("cancelar"), ["nothing_changed", "review"]);
}

#[test]
fn commands_work_in_any_state() {
    let mut pure = Pure::new();
    assert_eq!(pure.say("cancelar"), ["welcome", "privacy_notice"]);
    assert_eq!(
        pure.say("cancelar"),
        ["nothing_to_cancel", "privacy_notice"]
    );
    let mut pure = Pure::new();
    assert_eq!(pure.say("AYUDA"), ["help", "welcome", "privacy_notice"]);
    pure.say("si");
    assert_eq!(pure.say("corregir"), ["nothing_to_correct", "ask_curp"]);
    assert_eq!(pure.say("Estado"), ["status_draft", "ask_curp"]);
    assert_eq!(pure.say("/start"), ["welcome_back", "ask_curp"]);
    assert_eq!(pure.say("reenviar"), ["nothing_to_resend", "ask_curp"]);
    pure.say("PEGL890909MJCRMS08");
    assert_eq!(pure.say("reiniciar"), ["confirm"]);
    assert_eq!(pure.say("no"), ["nothing_changed", "confirm_curp"]);
    assert_eq!(pure.say("reiniciar"), ["confirm"]);
    assert_eq!(pure.say("sí"), ["restarted", "ask_curp"]);
    pure.say("PEGL890909MJCRMS08");
    assert_eq!(pure.say("cancelar"), ["confirm"]);
    assert_eq!(pure.say("sí"), ["abandoned", "closed"]);
}

#[test]
fn after_submission_the_data_is_fixed_and_the_appointment_managed() {
    let mut pure = scheduled();
    assert_eq!(pure.say("Reenvíame"), ["documents_resent", "status"]);
    assert_eq!(pure.say("corregir"), ["cannot_correct_submitted", "status"]);
    assert_eq!(
        pure.say("reiniciar"),
        ["cannot_restart_submitted", "status"]
    );
    assert_eq!(pure.say("estado"), ["status", "status"]);
    assert_eq!(pure.say("cancelar mi cita"), ["confirm"]);
    assert_eq!(pure.say("si"), ["appointment_cancelled", "status"]);
    // The simulated store reflects the cancellation.
    if let Some(app) = pure.application.as_mut() {
        app.appointment = None;
        app.status = Status::Submitted;
    }
    assert_eq!(pure.say("retirar mi solicitud"), ["confirm"]);
    assert_eq!(pure.say("sí"), ["withdrawn", "closed"]);
}

#[test]
fn the_calendar_marks_full_and_closed_days_and_moves_between_months() {
    let mut pure = at_review();
    pure.say("enviar");
    let first = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
    pure.availability
        .days
        .insert(("dgp-cdmx".into(), first), 50);
    let replies = pure.input(Input::Text("1".into()));
    let calendar = replies[0].calendar.as_ref().unwrap();
    let status_of = |day: u32| {
        let date = NaiveDate::from_ymd_opt(2026, 12, day).unwrap();
        calendar
            .days
            .iter()
            .find(|d| d.date == date)
            .map(|d| d.status)
    };
    use ventanilla::conversation::reply::DayStatusView;
    assert_eq!(status_of(3), Some(DayStatusView::Full));
    assert_eq!(status_of(5), Some(DayStatusView::Closed), "a Saturday");
    assert_eq!(status_of(25), Some(DayStatusView::Closed), "Christmas");
    assert_eq!(
        status_of(2),
        Some(DayStatusView::OutOfWindow),
        "before 3 business days"
    );
    assert_eq!(status_of(4), Some(DayStatusView::Available));
    assert!(
        !replies[0].choices.iter().any(|c| c.id == "2026-12-03"),
        "a full day is not offered"
    );
    assert_eq!(pure.say("3/12/2026"), ["day_not_bookable", "choose_day"]);
    assert_eq!(
        pure.say("sábado 5"),
        ["choice_not_understood", "choose_day"]
    );
    assert_eq!(pure.say("mes siguiente"), ["choose_day"]);
    assert_eq!(pure.say("mes anterior"), ["choose_day"]);
    assert_eq!(pure.say("vie 4 dic"), ["choose_slot"]);
    pure.full_slots = true;
    assert_eq!(pure.say("9"), ["slot_just_filled", "choose_slot"]);
    assert_eq!(pure.say("elegir otro día"), ["choose_day"]);
}

#[test]
fn no_free_day_in_the_window_is_said_plainly() {
    let mut pure = at_review();
    pure.say("enviar");
    let start = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    for offset in 0..120 {
        pure.availability.days.insert(
            ("dgp-cdmx".into(), start + chrono::Duration::days(offset)),
            50,
        );
    }
    // The applicant is offered to wait for a seat instead.
    assert_eq!(pure.say("1"), ["no_days_available", "waitlist_ask"]);
    assert_eq!(pure.say("cancelar"), ["nothing_changed", "status"]);
    assert!(pure.effects.is_empty(), "{:?}", pure.effects);
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn app_ref() -> AppRef {
    AppRef {
        id: 1,
        folio: Folio::new(2026, 1),
    }
}

/// A seat held for the applicant, offered as the scheduler offers it.
fn offer(pure: &mut Pure, id: i64, on: NaiveDate) -> String {
    let hold = AppointmentView {
        id,
        office_id: "dgp-cdmx".into(),
        day: on,
        slot: chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
    };
    pure.held = Some(hold.clone());
    let until = pure.now + chrono::Duration::minutes(30);
    let (template, text) = pure
        .notice(|state, ctx| offered(state, &app_ref(), &hold, until, ctx))
        .expect("a conversation following the application is offered the seat");
    assert_eq!(template, "waitlist_offer");
    assert!(matches!(pure.state, State::Offered(_)), "{:?}", pure.state);
    text
}

#[test]
fn the_waitlist_is_joined_from_the_calendar_and_a_freed_seat_taken_or_let_go() {
    let mut pure = at_review();
    pure.say("enviar");
    let replies = pure.input(Input::Text("1".into()));
    assert_eq!(replies[0].template, "choose_day");
    assert!(
        replies[0].choices.iter().any(|c| c.id == "join_waitlist"),
        "{:?}",
        replies[0].choices
    );
    assert_eq!(pure.say("join_waitlist"), ["waitlist_ask"]);
    // A date it cannot read, and one that is not ahead: the question again, nothing joined.
    assert_eq!(
        pure.say("pronto"),
        ["waitlist_date_not_understood", "waitlist_ask"]
    );
    assert_eq!(
        pure.say("30/11/2026"),
        ["waitlist_date_too_early", "waitlist_ask"]
    );
    assert!(pure.effects.is_empty(), "{:?}", pure.effects);
    // Without a year: the next 15 January.
    let replies = pure.input(Input::Text("15 de enero".into()));
    let templates: Vec<&str> = replies.iter().map(|r| r.template.as_str()).collect();
    assert_eq!(templates, ["waitlist_joined", "status"]);
    assert_eq!(
        pure.effects,
        [Effect::JoinWaitlist {
            application_id: 1,
            office_id: "dgp-cdmx".into(),
            latest_day: day(2027, 1, 15),
        }]
    );
    let status_text = pure.templates.render_reply(&replies[1]).unwrap();
    assert!(status_text.contains("15 de enero"), "{status_text}");
    assert!(replies[1].choices.iter().any(|c| c.id == "leave_waitlist"));
    // The simulated store has the place.
    pure.application.as_mut().unwrap().waiting = Some(Waiting {
        office_id: "dgp-cdmx".into(),
        latest_day: day(2027, 1, 15),
    });

    // A seat freed: held until 10:30 office time (now is 10:00 there).
    let text = offer(&mut pure, 20, day(2026, 12, 7));
    assert!(text.contains("10:30"), "{text}");
    assert_eq!(
        pure.say("tal vez"),
        ["choice_not_understood", "waitlist_offer"]
    );
    assert_eq!(pure.say("quiero ese lugar"), ["booked", "status"]);
    let booked = pure
        .application
        .as_ref()
        .unwrap()
        .appointment
        .clone()
        .unwrap();
    assert_eq!((booked.id, booked.day), (20, day(2026, 12, 7)));
    assert!(matches!(pure.state, State::Tracking(_)));

    // Another seat, earlier still: the offer says the current appointment is replaced, and
    // `cancelar` lets it go to the next in line.
    pure.effects.clear();
    let text = offer(&mut pure, 21, day(2026, 12, 4));
    assert!(text.contains("7 de diciembre"), "{text}");
    assert_eq!(pure.say("cancelar"), ["offer_declined", "status"]);
    assert_eq!(
        pure.effects,
        [Effect::ReleaseHold {
            application_id: 1,
            hold_id: 21
        }]
    );
    // Taken too late: the store no longer holds it.
    offer(&mut pure, 22, day(2026, 12, 4));
    pure.full_slots = true;
    assert_eq!(pure.say("take_seat"), ["offer_gone", "status"]);
    // Not answered: the expiry tells the applicant and the conversation follows the
    // application again.
    offer(&mut pure, 23, day(2026, 12, 4));
    let view = pure.application.clone().unwrap();
    let (template, _) = pure
        .notice(|state, ctx| hold_expired(state, &app_ref(), 23, &view, ctx))
        .unwrap();
    assert_eq!(template, "offer_expired");
    assert!(matches!(pure.state, State::Tracking(_)), "{:?}", pure.state);
    // An expiry of an offer the conversation is no longer on only informs.
    let before = pure.state.clone();
    pure.notice(|state, ctx| hold_expired(state, &app_ref(), 99, &view, ctx));
    assert_eq!(pure.state, before);
}

#[test]
fn after_too_many_no_shows_booking_waits_for_the_office_until_it_approves() {
    let mut pure = scheduled();
    // Two appointments missed: the application is back to waiting for one.
    let view = pure.application.as_mut().unwrap();
    view.appointment = None;
    view.status = Status::Submitted;
    view.no_shows = 2;
    assert_eq!(
        pure.say("Agendar mi cita"),
        ["booking_needs_approval", "status"]
    );
    assert!(matches!(pure.state, State::Tracking(_)));
    // The office approves: the applicant is told and may book.
    pure.application.as_mut().unwrap().no_shows_approved = 2;
    let view = pure.application.clone().unwrap();
    let (template, _) = pure
        .notice(|state, ctx| booking_approved(state, &app_ref(), &view, ctx))
        .unwrap();
    assert_eq!(template, "booking_approved");
    assert_eq!(pure.say("Agendar mi cita"), ["choose_office"]);
}

#[test]
fn a_stalled_draft_is_reminded_where_it_stopped_and_expires_closed() {
    let mut pure = Pure::new();
    for answer in TO_LEVEL {
        pure.say(answer);
    }
    let before = pure.state.clone();
    let expires = day(2026, 12, 30);
    let (template, text) = pure
        .notice(|state, ctx| draft_reminded(state, expires, ctx))
        .unwrap();
    assert_eq!(template, "draft_reminder");
    assert!(text.contains("paso 6 de 19"), "{text}");
    assert_eq!(pure.state, before, "the answer goes on where it stopped");
    let (template, _) = pure
        .notice(|state, ctx| draft_expired(state, 30, ctx))
        .unwrap();
    assert_eq!(template, "draft_expired");
    assert!(matches!(pure.state, State::Closed(Closed { app: None })));
    // Nothing to remind or expire once closed.
    assert!(
        pure.notice(|state, ctx| draft_reminded(state, expires, ctx))
            .is_none()
    );
    // A submitted application without an appointment: reminded with the choice to book.
    let mut pure = at_review();
    pure.say("enviar");
    pure.say("cancelar");
    assert!(matches!(pure.state, State::Tracking(_)), "{:?}", pure.state);
    let view = pure.application.clone().unwrap();
    let (template, _) = pure
        .notice(|state, ctx| unbooked_reminded(state, &app_ref(), &view, ctx))
        .unwrap();
    assert_eq!(template, "unbooked_reminder");
}

#[test]
fn a_booked_applicant_waits_for_an_earlier_seat_from_the_status_and_leaves_the_line() {
    let mut pure = scheduled();
    let booked = pure
        .application
        .as_ref()
        .unwrap()
        .appointment
        .clone()
        .unwrap();
    let replies = pure.input(Input::Text("estado".into()));
    assert!(
        replies[0].choices.is_empty() && replies[1].choices.iter().any(|c| c.id == "join_waitlist"),
        "{replies:?}"
    );
    assert_eq!(pure.say("join_waitlist"), ["waitlist_ask"]);
    // Waiting for a day after the appointment makes no sense: said so.
    let after = booked.day + chrono::Duration::days(1);
    assert_eq!(
        pure.say(&after.format("%d/%m/%Y").to_string()),
        ["waitlist_date_after_appointment", "waitlist_ask"]
    );
    let before = booked.day - chrono::Duration::days(1);
    assert_eq!(
        pure.say(&before.format("%d/%m/%Y").to_string()),
        ["waitlist_joined", "status"]
    );
    pure.application.as_mut().unwrap().waiting = Some(Waiting {
        office_id: booked.office_id.clone(),
        latest_day: before,
    });
    pure.effects.clear();
    assert_eq!(pure.say("leave_waitlist"), ["waitlist_left", "status"]);
    assert_eq!(pure.effects, [Effect::LeaveWaitlist { application_id: 1 }]);
    // A conversation on another application is not offered this one's seat.
    pure.state = State::Closed(Closed { app: None });
    let hold = booked.clone();
    let until = pure.now;
    assert!(
        pure.notice(|state, ctx| offered(state, &app_ref(), &hold, until, ctx))
            .is_none()
    );
}

#[test]
fn unsupported_messages_get_an_explanation_and_keep_the_state() {
    for kind in ["sticker", "photo", "voice", "location", "edited", "poll"] {
        let mut pure = Pure::new();
        pure.say("hola");
        pure.say("si");
        let before = pure.state.clone();
        let replies = pure.input(Input::Unsupported(kind.into()));
        assert_eq!(replies[0].template, "unsupported_input", "{kind}");
        assert_eq!(pure.state, before, "{kind}");
    }
}

#[test]
fn a_group_chat_is_told_the_bot_is_private_and_nothing_starts() {
    let mut pure = Pure::new();
    let replies = pure.input(Input::Unsupported("group_chat".into()));
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].template, "group_chat");
    assert_eq!(pure.state, State::New);
}

#[test]
fn zz_every_template_was_rendered() {
    // Runs the other paths first so this test sees them all, whatever the test order.
    consent_is_asked_before_any_data_and_refusal_keeps_nothing();
    every_curp_error_is_explained_and_the_question_repeated();
    a_curp_whose_initials_differ_from_the_name_is_a_warning_not_a_block();
    names_keep_accents_and_refuse_digits_and_symbols();
    academic_dates_are_checked_against_each_other();
    free_text_choices_and_addresses_are_validated();
    on_email_the_sender_address_is_confirmed_instead_of_asked();
    corrections_go_back_to_the_review();
    commands_work_in_any_state();
    after_submission_the_data_is_fixed_and_the_appointment_managed();
    the_calendar_marks_full_and_closed_days_and_moves_between_months();
    no_free_day_in_the_window_is_said_plainly();
    the_waitlist_is_joined_from_the_calendar_and_a_freed_seat_taken_or_let_go();
    a_booked_applicant_waits_for_an_earlier_seat_from_the_status_and_leaves_the_line();
    unsupported_messages_get_an_explanation_and_keep_the_state();
    a_group_chat_is_told_the_bot_is_private_and_nothing_starts();
    let mut pure = Pure::new();
    pure.say("hola");
    pure.say("si");
    pure.say("PEGL890909MJCRMS08");
    assert_eq!(pure.say("no"), ["curp_retype", "ask_curp"]);

    let templates = Templates::new();
    for code in ["database", "contended", "unexpected"] {
        let text = templates
            .render("terminal/error.txt", serde_json::json!({ "code": code }))
            .unwrap();
        assert!(!text.trim().is_empty());
    }
    let banner = templates
        .render("terminal/banner.txt", serde_json::json!({ "user": "luz" }))
        .unwrap();
    assert!(banner.contains("luz"));
    for name in ["telegram/button_stale.txt", "telegram/day_unavailable.txt"] {
        assert!(
            !templates.render(name, ()).unwrap().trim().is_empty(),
            "{name}"
        );
    }
    // E-mail: choices as a numbered list; the HTML alternative escapes the text.
    let body = serde_json::json!({
        "text": "¿Qué nivel? <b>",
        "paragraphs": [["¿Qué nivel? <b>"]],
        "choices": [{"id": "licenciatura", "label": "Licenciatura"}, {"id": "tsu", "label": "TSU"}],
        "subject": "x",
    });
    let text = templates.render("email/message.txt", &body).unwrap();
    assert!(text.contains("1. Licenciatura\n2. TSU"), "{text}");
    let html = templates.render("email/message.html", &body).unwrap();
    assert!(
        html.contains("¿Qué nivel? &lt;b&gt;") && html.contains("<li>TSU</li>"),
        "{html}"
    );
    // A notice that could not reach the chat says why it came by e-mail.
    let rerouted = serde_json::json!({
        "text": "Aviso", "paragraphs": [["Aviso"]], "choices": [], "subject": "x",
        "rerouted_from": "terminal",
    });
    let text = templates.render("email/message.txt", &rerouted).unwrap();
    assert!(text.contains("te lo enviamos al correo"), "{text}");
    rendered()
        .lock()
        .unwrap()
        .insert("email/rerouted.txt".into());
    let subject = templates.render("email/subject.txt", ()).unwrap();
    assert!(!subject.trim().is_empty() && !subject.trim().contains('\n'));

    // The office's outputs and the applicant's notices of a decision (the staff tests render
    // them through the real commands; here each variant once).
    for kind in [
        "unknown_folio",
        "already_issued",
        "rejected",
        "withdrawn",
        "not_attended",
        "not_scheduled",
        "already_attended",
        "reason_required",
        "not_allowed",
        "other_office",
        "not_bookable",
        "not_yet",
        "full",
        "unknown_item",
        "checklist_incomplete",
        "no_documents",
        "not_rejected",
        "superseded",
    ] {
        let text = templates
            .render(
                "staff/refused.txt",
                serde_json::json!({ "kind": kind, "folio": "SOL-2026-000001" }),
            )
            .unwrap();
        // Each refusal has its own explanation, not the catch-all.
        assert!(
            !text.trim().is_empty() && !text.contains("No se pudo hacer lo que pediste"),
            "{kind}"
        );
    }
    for action in [
        "checkin",
        "approve",
        "reject",
        "keygen",
        "no_show",
        "reschedule",
        "resend",
        "reopen",
    ] {
        let context = serde_json::json!({
            "action": action, "folio": "SOL-2026-000001", "number": "00000001",
            "path": "/k", "public_key": "AAAA", "count": 3, "day": "2026-12-04",
            "slot": "09:30",
        });
        assert!(
            !templates
                .render("staff/done.txt", context)
                .unwrap()
                .trim()
                .is_empty()
        );
    }
    let agenda = templates
        .render(
            "staff/agenda.txt",
            serde_json::json!({ "day": "2026-12-03", "office": null, "rows": [
                { "slot": "09:30", "office": "dgp-cdmx", "folio": "SOL-2026-000001",
                  "status": "scheduled", "name": "Luz María Pérez Gómez", "no_shows": 2 }] }),
        )
        .unwrap();
    assert!(
        agenda.contains("3 de diciembre")
            && agenda.contains("Con cita agendada")
            && agenda.contains("citas perdidas: 2"),
        "{agenda}"
    );
    let holder = serde_json::json!({
        "number": "00000001", "name": "Luz María Pérez Gómez", "level": "level.licenciatura",
        "program": "Licenciatura en Derecho", "institution": "Universidad de Guadalajara",
    });
    for (valid, reason, holder) in [
        (true, "", holder.clone()),
        (false, "signature_mismatch", serde_json::Value::Null),
        (false, "not_in_registry", holder.clone()),
        (false, "page_differs", holder.clone()),
        (false, "too_large", serde_json::Value::Null),
    ] {
        let text = templates
            .render(
                "staff/verify.txt",
                serde_json::json!({ "valid": valid, "reason": reason, "holder": holder }),
            )
            .unwrap();
        assert!(
            text.starts_with(if valid { "VALID" } else { "INVALID" }),
            "{text}"
        );
        // The signed payload's holder, when there is one, is printed beside the verdict.
        assert_eq!(
            text.contains("Luz María Pérez Gómez") && text.contains("Licenciatura"),
            !holder.is_null(),
            "{text}"
        );
    }
    for (name, context) in [
        (
            "cedula_issued",
            serde_json::json!({ "number": "00000001", "url": "u", "email": "e" }),
        ),
        (
            "application_rejected",
            serde_json::json!({ "folio": "SOL-2026-000001", "reason": "r" }),
        ),
        (
            "email_paused",
            serde_json::json!({ "address": "luz@correo.test", "status": "5.1.1" }),
        ),
    ] {
        let text = templates
            .render(&format!("conversation/{name}.txt"), context)
            .unwrap();
        assert!(!text.trim().is_empty());
    }

    let summary = templates
        .render(
            "documents/invite_summary.txt",
            serde_json::json!({ "folio": "SOL-2026-000001" }),
        )
        .unwrap();
    assert!(summary.contains("SOL-2026-000001"));
    // The account commands' messages (exercised through the binary in tests/console.rs).
    for context in [
        serde_json::json!({ "refused": "bad_name", "name": "Ana" }),
        serde_json::json!({ "refused": "name_taken", "name": "ana" }),
        serde_json::json!({ "refused": "no_such_user", "name": "ana" }),
        serde_json::json!({ "refused": "unknown_office", "name": "ana", "office": "x" }),
        serde_json::json!({ "refused": "short_password", "name": "ana" }),
        serde_json::json!({ "refused": "long_password", "name": "ana" }),
        serde_json::json!({ "refused": "bad_role", "name": "ana" }),
        serde_json::json!({ "action": "added", "name": "ana", "role": "clerk", "office": null, "password": "p" }),
        serde_json::json!({ "action": "disabled", "name": "ana" }),
        serde_json::json!({ "action": "password", "name": "ana", "password": null }),
        serde_json::json!({ "action": "list", "users": [] }),
    ] {
        let text = templates.render("staff/account.txt", &context).unwrap();
        assert!(!text.trim().is_empty(), "{context}");
    }
    // What the office says when a closure leaves no free day, and the question of a moved
    // appointment asked again (the closure flow of tests/calendar.rs does not reach them).
    let closed = templates
        .render(
            "conversation/appointment_closed.txt",
            serde_json::json!({ "folio": "SOL-2026-000001", "reason": "obras" }),
        )
        .unwrap();
    assert!(
        closed.contains("SOL-2026-000001") && closed.contains("(obras)"),
        "{closed}"
    );
    let question = templates
        .render(
            "conversation/move_question.txt",
            serde_json::json!({
                "folio": "SOL-2026-000001", "day": "2026-12-04", "slot": "09:30",
                "office": "DGP", "address": "Viaducto", "reason": null, "asks": true,
            }),
        )
        .unwrap();
    assert!(
        question.contains("viernes 4 de diciembre a las 09:30"),
        "{question}"
    );
    let mut seen = rendered().lock().unwrap().clone();
    for name in [
        "conversation/appointment_closed.txt",
        "conversation/move_question.txt",
        // Rendered by tests/calendar.rs and tests/console.rs (the office's notices, the
        // calendar commands' and pages' texts).
        "conversation/appointment_moved.txt",
        "conversation/move_accepted.txt",
        "conversation/no_show.txt",
        "conversation/application_reopened.txt",
        "conversation/office_resent.txt",
        // Rendered by tests/scheduler.rs (the reminders).
        "conversation/reminder_day_before.txt",
        "conversation/reminder_same_day.txt",
        "conversation/appointment_confirmed.txt",
        "conversation/reminder_question.txt",
        "staff/calendar.txt",
        "staff/calendar_refused.txt",
        "staff/account.txt",
        "staff/refused.txt",
        "staff/done.txt",
        "staff/agenda.txt",
        "staff/verify.txt",
        "staff/paused.txt",
        "conversation/cedula_issued.txt",
        "conversation/application_rejected.txt",
        "conversation/email_paused.txt",
        "documents/invite_summary.txt",
    ] {
        seen.insert(name.into());
    }
    seen.insert("email/message.txt".into());
    seen.insert("email/subject.txt".into());
    seen.insert("telegram/button_stale.txt".into());
    seen.insert("telegram/day_unavailable.txt".into());
    seen.insert("terminal/error.txt".into());
    seen.insert("terminal/banner.txt".into());

    let all: BTreeSet<String> = templates
        .names()
        .into_iter()
        .filter(|n| n.ends_with(".txt"))
        .collect();
    let missing: Vec<&String> = all.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "templates never rendered by a test: {missing:?}"
    );
}
