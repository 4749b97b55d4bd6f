//! The procedure as configured: its rules that are data (DOMAIN.md "rule we adopt"), its fees
//! and its offices, and the dates each office lives by.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::domain::calendar::{BookingRules, Office};
use crate::domain::fees::FeeTable;
use crate::domain::payment::PaymentKeyRule;

/// The rules of the procedure that are data, not code (DOMAIN.md "rule we adopt").
#[derive(Debug, Clone)]
pub struct Procedure {
    pub eligibility_cutoff: NaiveDate,
    /// The youngest age at which anyone can hold a professional title (rule we adopt): a CURP
    /// whose birth date makes the applicant younger is refused as mistyped.
    pub min_age_years: u32,
    /// The earliest year an academic date (title, exam, studies) can be in (rule we adopt): a
    /// two-digit year is read in the century that puts it between this year and today.
    pub earliest_year: i32,
    pub payment_key: PaymentKeyRule,
    pub agency: String,
    pub clave_referencia: String,
    pub cadena_dependencia: String,
    pub booking: BookingRules,
    pub fees: FeeTable,
    pub offices: Vec<Office>,
}

impl Procedure {
    pub fn office(&self, id: &str) -> Option<&Office> {
        self.offices.iter().find(|o| o.id == id)
    }

    /// The zone of the procedure itself (the agency's: its first office's; UTC without
    /// offices), for what belongs to no office yet: a draft's dates, a folio's year. What
    /// belongs to an office (its calendar, an appointment) uses [`Office::zone`].
    pub fn zone(&self) -> Tz {
        self.offices.first().map_or(chrono_tz::UTC, Office::zone)
    }

    /// The procedure's date at `now` (see [`Procedure::zone`]).
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.zone()).date_naive()
    }

    /// The date at `now` of the office `id`, or the procedure's when there is no such office.
    pub fn today_at(&self, office_id: &str, now: DateTime<Utc>) -> NaiveDate {
        match self.office(office_id) {
            Some(office) => office.today(now),
            None => self.today(now),
        }
    }
}
