//! A made-up crowd of applicants written straight to the store, for the tests and benchmarks
//! that need many applications (the journey itself is tested elsewhere).
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, Utc};
use ventanilla::conversation::reply::Reply;
use ventanilla::conversation::state::State;
use ventanilla::domain::academic::{AcademicRecord, Level, ProfessionalExam};
use ventanilla::domain::application::{ApplicationData, Folio};
use ventanilla::domain::curp::generate_valid;
use ventanilla::domain::email::EmailAddress;
use ventanilla::domain::entity::Entity;
use ventanilla::domain::payment::PaymentKey;
use ventanilla::domain::person::PersonName;
use ventanilla::domain::procedure::Procedure;
use ventanilla::service::{Notice, Priority, Service};
use ventanilla::store::{self, Conn};

/// The data of the `i`-th applicant: a valid CURP and a payment key of their own (`K` and nine
/// digits).
pub fn application_data(i: usize, procedure: &Procedure) -> ApplicationData {
    ApplicationData {
        curp: generate_valid(i as u64),
        name: PersonName::new("Persona", "Apellido", Some("Segundo")).unwrap(),
        payment_key: PaymentKey::parse(&format!("K{i:09}"), &procedure.payment_key).unwrap(),
        paid_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        academic: AcademicRecord {
            level: Level::ALL[i % Level::ALL.len()],
            institution: "Universidad".into(),
            program: "Carrera".into(),
            entity: Entity::ALL[i % Entity::ALL.len()],
            title_issued_on: NaiveDate::from_ymd_opt(2015, 3, 15).unwrap(),
            exam: ProfessionalExam::Exempt,
            studies_started_on: NaiveDate::from_ymd_opt(2009, 8, 1).unwrap(),
            studies_ended_on: NaiveDate::from_ymd_opt(2013, 6, 30).unwrap(),
        },
        email: EmailAddress::parse(&format!("persona{i}@example.mx")).unwrap(),
    }
}

/// A submitted application of the crowd.
pub struct Submitted {
    /// Its terminal conversation, `persona-{i}`.
    pub user: String,
    pub conversation_id: i64,
    pub application_id: i64,
    pub folio: Folio,
}

/// Creates the terminal conversation `persona-{i}` and submits the `i`-th application.
pub async fn submitted(
    conn: &mut Conn<'_>,
    procedure: &Procedure,
    i: usize,
    now: DateTime<Utc>,
) -> Submitted {
    let user = format!("persona-{i}");
    let conversation_id =
        store::conversations::create(conn, "terminal", &user, &State::New.to_json(), now)
            .await
            .unwrap()
            .unwrap();
    let data = application_data(i, procedure);
    let store::applications::Submission::Submitted {
        application_id,
        folio,
    } = store::applications::submit(conn, conversation_id, &data, now, 2026)
        .await
        .unwrap()
    else {
        panic!("application {i} was not submitted");
    };
    Submitted {
        user,
        conversation_id,
        application_id,
        folio,
    }
}

/// Queues `count` reminders in the scheduled lane, one per Telegram chat (`5000000 + i`), as a
/// day's reminders are, before anyone writes.
pub async fn reminders(service: &Service, count: usize) {
    let message = service.render(&Reply::new("help")).unwrap();
    let now = service.clock.now();
    let state = State::New.to_json();
    for chunk in (0..count).collect::<Vec<_>>().chunks(1_000) {
        let mut tx = service.db.begin().await.unwrap();
        for i in chunk {
            let address = (5_000_000 + *i as i64).to_string();
            let id =
                store::conversations::create(&mut tx.conn(), "telegram", &address, &state, now)
                    .await
                    .unwrap()
                    .unwrap();
            let notice = Notice {
                channel: "telegram",
                address: &address,
                message: &message,
            };
            service
                .queue(&mut tx.conn(), id, &[notice], Priority::Scheduled)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
}
