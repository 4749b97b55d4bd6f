//! What the scheduler does for an appointment, and when: its reminders the day before and the
//! morning of the day, at the office's local times (its time zone, whatever the server's), none
//! that would arrive after the appointment or before the booking, none for a booking made less
//! than `min_notice_hours` before (rule we adopt; all three are configuration); and, at the
//! office's closing time that day, the no-show of an applicant nobody checked in.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::Deserialize;

use crate::domain::calendar::Office;

/// `[reminders]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderRules {
    /// The day before the appointment, at this office time (asks to confirm, change or cancel).
    pub day_before_at: NaiveTime,
    /// The morning of the appointment, at this office time.
    pub same_day_at: NaiveTime,
    /// A booking made less than this many hours before the appointment gets no reminder.
    pub min_notice_hours: u32,
    /// A draft silent this many days gets one reminder (rule we adopt: 3).
    #[serde(default = "default_draft_reminder_days")]
    pub draft_reminder_days: u32,
    /// A draft silent this many days expires: its payment key is released (rule we adopt: 30).
    #[serde(default = "default_draft_expiry_days")]
    pub draft_expiry_days: u32,
    /// A submitted application without an appointment is reminded every this many days…
    #[serde(default = "default_unbooked_every_days")]
    pub unbooked_every_days: u32,
    /// …at most this many times (rule we adopt: weekly, 3 times; 0 = never).
    #[serde(default = "default_unbooked_reminders")]
    pub unbooked_reminders: u32,
}

fn default_draft_reminder_days() -> u32 {
    3
}

fn default_draft_expiry_days() -> u32 {
    30
}

fn default_unbooked_every_days() -> u32 {
    7
}

fn default_unbooked_reminders() -> u32 {
    3
}

/// A job of an appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppointmentJob {
    /// The reminder the day before (asks to confirm, change or cancel).
    DayBefore,
    /// The reminder the morning of the day.
    SameDay,
    /// At the office's closing time of the day: a no-show if nobody checked the applicant in.
    Closing,
}

impl AppointmentJob {
    pub const ALL: [AppointmentJob; 3] = [
        AppointmentJob::DayBefore,
        AppointmentJob::SameDay,
        AppointmentJob::Closing,
    ];

    /// The job's kind (for reminders, also the message's template).
    pub fn key(self) -> &'static str {
        match self {
            AppointmentJob::DayBefore => "reminder_day_before",
            AppointmentJob::SameDay => "reminder_same_day",
            AppointmentJob::Closing => "no_show_check",
        }
    }

    pub fn from_key(key: &str) -> Option<AppointmentJob> {
        AppointmentJob::ALL.into_iter().find(|r| r.key() == key)
    }
}

/// The instant of `day` at `time` in the office's zone (the earlier one when a clock change
/// makes it ambiguous, the next valid one when it skips it).
fn at(office: &Office, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let zone = office.zone();
    let local = day.and_time(time);
    match zone.from_local_datetime(&local).earliest() {
        Some(at) => at.with_timezone(&Utc),
        None => zone
            .from_local_datetime(&(local + Duration::hours(1)))
            .earliest()
            .map_or_else(|| local.and_utc(), |at| at.with_timezone(&Utc)),
    }
}

/// The jobs of an appointment at `day` `slot` booked at `booked_at`, with when each is due.
pub fn due(
    rules: &ReminderRules,
    office: &Office,
    day: NaiveDate,
    slot: NaiveTime,
    booked_at: DateTime<Utc>,
) -> Vec<(AppointmentJob, DateTime<Utc>)> {
    let appointment = at(office, day, slot);
    let closing = (AppointmentJob::Closing, at(office, day, office.closes_at));
    if appointment - booked_at < Duration::hours(i64::from(rules.min_notice_hours)) {
        return vec![closing];
    }
    let times = [
        (
            AppointmentJob::DayBefore,
            day.pred_opt().map(|d| at(office, d, rules.day_before_at)),
        ),
        (
            AppointmentJob::SameDay,
            Some(at(office, day, rules.same_day_at)),
        ),
    ];
    times
        .into_iter()
        .filter_map(|(reminder, when)| when.map(|when| (reminder, when)))
        .filter(|(_, when)| *when > booked_at && *when < appointment)
        .chain([closing])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office() -> Office {
        serde_json::from_value(serde_json::json!({
            "id": "dgp-cdmx", "name": "DGP", "address": "Viaducto",
            "time_zone": "America/Mexico_City", "opens_at": "07:00:00", "closes_at": "15:00:00",
            "slot_minutes": 30, "daily_capacity": 50,
        }))
        .unwrap()
    }

    fn rules() -> ReminderRules {
        ReminderRules {
            day_before_at: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            same_day_at: NaiveTime::from_hms_opt(7, 30, 0).unwrap(),
            min_notice_hours: 12,
            draft_reminder_days: 3,
            draft_expiry_days: 30,
            unbooked_every_days: 7,
            unbooked_reminders: 3,
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn reminders_are_at_the_offices_local_times() {
        let office = &office();
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let slot = NaiveTime::from_hms_opt(9, 30, 0).unwrap();
        let due = due(&rules(), office, day, slot, utc("2026-11-30T16:00:00Z"));
        // Mexico City is UTC-6 (no daylight saving since 2022).
        assert_eq!(
            due,
            [
                (AppointmentJob::DayBefore, utc("2026-12-02T16:00:00Z")),
                (AppointmentJob::SameDay, utc("2026-12-03T13:30:00Z")),
                (AppointmentJob::Closing, utc("2026-12-03T21:00:00Z")),
            ]
        );
    }

    #[test]
    fn a_late_booking_gets_only_what_is_still_ahead_or_nothing() {
        let office = &office();
        let day = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let slot = NaiveTime::from_hms_opt(9, 30, 0).unwrap();
        // Booked the day before at noon: the day-before reminder has passed.
        let late = due(&rules(), office, day, slot, utc("2026-12-02T18:00:00Z"));
        let closing = (AppointmentJob::Closing, utc("2026-12-03T21:00:00Z"));
        assert_eq!(
            late,
            [
                (AppointmentJob::SameDay, utc("2026-12-03T13:30:00Z")),
                closing
            ]
        );
        // Booked at 03:00 the same day: less than 12 hours' notice, no reminder.
        let short = due(&rules(), office, day, slot, utc("2026-12-03T09:00:00Z"));
        assert_eq!(short, [closing]);
        // A slot before the morning reminder's time: only the day before.
        let early = NaiveTime::from_hms_opt(7, 0, 0).unwrap();
        let due = due(&rules(), office, day, early, utc("2026-11-30T16:00:00Z"));
        assert_eq!(
            due,
            [
                (AppointmentJob::DayBefore, utc("2026-12-02T16:00:00Z")),
                closing
            ]
        );
    }
}
