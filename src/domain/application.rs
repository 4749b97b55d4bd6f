//! The application's lifecycle and its folio; the submitted request and the views of an
//! application and its appointment as the store reads them.
//!
//! draft (in the conversation) → submitted (folio) → scheduled → attended → issued | rejected;
//! withdrawn (by the applicant) from submitted or scheduled.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domain::academic::AcademicRecord;
use crate::domain::curp::Curp;
use crate::domain::email::EmailAddress;
use crate::domain::payment::PaymentKey;
use crate::domain::person::PersonName;

/// Where an application stands. Drafts live in the conversation until submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Submitted,
    Scheduled,
    Attended,
    Issued,
    Rejected,
    Withdrawn,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Scheduled => "scheduled",
            Status::Attended => "attended",
            Status::Issued => "issued",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(value: &str) -> Option<Status> {
        [
            Status::Submitted,
            Status::Scheduled,
            Status::Attended,
            Status::Issued,
            Status::Rejected,
            Status::Withdrawn,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }

    /// Whether the lifecycle allows moving from `self` to `next`.
    pub fn can_become(self, next: Status) -> bool {
        use Status::*;
        matches!(
            (self, next),
            (Submitted, Scheduled)
                | (Scheduled, Submitted)
                | (Scheduled, Scheduled)
                | (Scheduled, Attended)
                | (Attended, Issued)
                | (Attended, Rejected)
                | (Submitted, Rejected)
                | (Scheduled, Rejected)
                | (Submitted, Withdrawn)
                | (Scheduled, Withdrawn)
                | (Rejected, Submitted)
        )
    }

    /// Whether the applicant may still book, move or cancel an appointment.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Submitted | Status::Scheduled)
    }
}

impl TryFrom<String> for Status {
    type Error = String;

    /// A stored status; an unknown one is an error, never a guess.
    fn try_from(value: String) -> Result<Status, String> {
        Status::parse(&value).ok_or_else(|| format!("unknown application status {value:?}"))
    }
}

/// An application's public identifier, `SOL-2026-000123`: year of submission and a sequence
/// number within that year.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Folio {
    year: i32,
    number: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("not a folio of the form SOL-YYYY-NNNNNN")]
pub struct FolioError;

impl Folio {
    pub fn new(year: i32, number: u32) -> Folio {
        Folio { year, number }
    }
}

impl fmt::Display for Folio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SOL-{}-{:06}", self.year, self.number)
    }
}

impl FromStr for Folio {
    type Err = FolioError;

    fn from_str(input: &str) -> Result<Folio, FolioError> {
        let upper = input.trim().to_ascii_uppercase();
        let mut parts = upper.split('-');
        let (Some("SOL"), Some(year), Some(number), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(FolioError);
        };
        if year.len() != 4 || number.len() != 6 {
            return Err(FolioError);
        }
        Ok(Folio {
            year: year.parse().map_err(|_| FolioError)?,
            number: number.parse().map_err(|_| FolioError)?,
        })
    }
}

impl TryFrom<String> for Folio {
    type Error = FolioError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Folio> for String {
    fn from(folio: Folio) -> String {
        folio.to_string()
    }
}

/// A complete request, as submitted and stored with the application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationData {
    pub curp: Curp,
    pub name: PersonName,
    pub payment_key: PaymentKey,
    pub paid_on: NaiveDate,
    pub academic: AcademicRecord,
    pub email: EmailAddress,
}

/// A submitted application as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationView {
    pub id: i64,
    pub folio: Folio,
    pub status: Status,
    /// When the payment key was given: the first bookable day counts from it.
    pub paid_on: NaiveDate,
    pub appointment: Option<AppointmentView>,
    /// The cédula's number, once issued.
    #[serde(default)]
    pub cedula: Option<i64>,
    /// The applicant's place on an office's waitlist, while waiting for an earlier seat.
    #[serde(default)]
    pub waiting: Option<Waiting>,
    /// Appointments that passed without the applicant, and how many of them the office has
    /// already let them book past.
    #[serde(default)]
    pub no_shows: u32,
    #[serde(default)]
    pub no_shows_approved: u32,
}

impl ApplicationView {
    /// Whether a new booking waits for the office: `limit` no-shows or more (0: never), not all
    /// of them approved yet.
    pub fn needs_approval(&self, limit: u32) -> bool {
        limit > 0 && self.no_shows >= limit && self.no_shows_approved < self.no_shows
    }
}

/// A place on the waitlist: told when a seat frees up at `office_id` up to `latest_day`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    pub office_id: String,
    pub latest_day: NaiveDate,
}

/// An active appointment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentView {
    pub id: i64,
    pub office_id: String,
    pub day: NaiveDate,
    pub slot: NaiveTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folios_format_and_parse() {
        let folio = Folio::new(2026, 123);
        assert_eq!(folio.to_string(), "SOL-2026-000123");
        assert_eq!("sol-2026-000123".parse::<Folio>(), Ok(folio));
        for bad in [
            "SOL-26-000123",
            "SOL-2026-123",
            "ABC-2026-000123",
            "SOL-2026-000123-1",
            "",
        ] {
            assert_eq!(bad.parse::<Folio>(), Err(FolioError), "{bad}");
        }
    }

    #[test]
    fn lifecycle_transitions() {
        use Status::*;
        let allowed = [
            (Submitted, Scheduled),
            (Scheduled, Attended),
            (Attended, Issued),
            (Rejected, Submitted),
        ];
        let refused = [
            (Rejected, Issued),
            (Issued, Rejected),
            (Withdrawn, Scheduled),
            (Submitted, Issued),
            (Rejected, Scheduled),
            (Issued, Submitted),
        ];
        for (from, to) in allowed {
            assert!(from.can_become(to), "{from:?} → {to:?}");
        }
        for (from, to) in refused {
            assert!(!from.can_become(to), "{from:?} → {to:?}");
        }
        for status in [Submitted, Scheduled, Attended, Issued, Rejected, Withdrawn] {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
    }
}
