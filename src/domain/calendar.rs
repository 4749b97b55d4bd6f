//! The appointment calendar as data: offices with their opening days, hours, slot length and
//! daily capacity; which days are bookable (weekends, federal rest days and configured closures
//! are not; the first is a number of business days after payment; the window is bounded).
//! Seats themselves are counted in the database (see `store::appointments`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::domain::holidays::is_federal_rest_day;

/// One office that receives applicants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Office {
    /// Stable identifier, used as choice id and in the store (e.g. `dgp-cdmx`).
    pub id: String,
    pub name: String,
    /// Other names people give the office: its city, its neighbourhood ("CDMX", "Iztacalco").
    #[serde(default)]
    pub aliases: Vec<String>,
    pub address: String,
    /// IANA time zone the office's hours are expressed in.
    pub time_zone: Tz,
    /// Days of the week the office opens (before rest days and closures).
    #[serde(default = "default_opening_days")]
    pub opening_days: Vec<Weekday>,
    pub opens_at: NaiveTime,
    pub closes_at: NaiveTime,
    pub slot_minutes: u32,
    /// Seats per day (DOMAIN.md: about 50 a day in 2020).
    pub daily_capacity: u32,
    /// Whether clerks may approve and reject (issue) at this office, or only supervisors (rule
    /// we adopt: they may).
    #[serde(default = "clerks_issue_by_default")]
    pub clerks_issue: bool,
    /// Days the office closed or gave another capacity (from the store, not the settings).
    #[serde(skip)]
    pub exceptions: DayExceptions,
}

/// What the office decided for single days: closures (a reason each, kept by the store) and
/// capacity overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayExceptions {
    pub closed: BTreeSet<NaiveDate>,
    pub capacity: BTreeMap<NaiveDate, u32>,
}

/// The part of an office's calendar the office itself may change (console or command line):
/// opening days, hours, slot length and daily capacity. Its configured values hold until then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hours {
    pub opening_days: Vec<Weekday>,
    pub opens_at: NaiveTime,
    pub closes_at: NaiveTime,
    pub slot_minutes: u32,
    pub daily_capacity: u32,
}

/// Why new hours cannot be used as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum HoursError {
    #[error("the office must open at least one day of the week")]
    NoDays,
    #[error("the office must close after it opens, leaving room for one slot")]
    NoSlots,
    #[error("the slot length is out of range")]
    SlotLength,
    #[error("the capacity is out of range")]
    Capacity,
}

/// Bounds of what an office may set (rule we adopt: a slot of 5 minutes to 4 hours, at most
/// 2,000 seats a day).
pub const SLOT_MINUTES: std::ops::RangeInclusive<u32> = 5..=240;
pub const MAX_DAILY_CAPACITY: u32 = 2_000;

impl Hours {
    pub fn check(&self) -> Result<(), HoursError> {
        if self.opening_days.is_empty() {
            return Err(HoursError::NoDays);
        }
        if !SLOT_MINUTES.contains(&self.slot_minutes) {
            return Err(HoursError::SlotLength);
        }
        if self.daily_capacity == 0 || self.daily_capacity > MAX_DAILY_CAPACITY {
            return Err(HoursError::Capacity);
        }
        let step = Duration::minutes(i64::from(self.slot_minutes));
        if self.closes_at <= self.opens_at || self.opens_at + step > self.closes_at {
            return Err(HoursError::NoSlots);
        }
        Ok(())
    }
}

/// An active appointment, as a calendar change must keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub day: NaiveDate,
    pub slot: NaiveTime,
}

/// Why an appointment would not fit a changed calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Misfit {
    /// The office would not open that day.
    Closed,
    /// Its time would no longer be a slot of the day.
    NoSuchSlot,
    /// The day would hold more appointments than its capacity.
    DayOver,
    /// Its slot would hold more appointments than a slot's capacity.
    SlotOver,
}

fn clerks_issue_by_default() -> bool {
    true
}

fn default_opening_days() -> Vec<Weekday> {
    vec![
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ]
}

impl Office {
    /// The time zone the office's days and hours are in.
    pub fn zone(&self) -> Tz {
        self.time_zone
    }

    /// The office's date at `now`.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.time_zone).date_naive()
    }

    /// The start times of the day's slots.
    pub fn slots(&self) -> Vec<NaiveTime> {
        let step = Duration::minutes(i64::from(self.slot_minutes.max(1)));
        let mut slots = Vec::new();
        let mut at = self.opens_at;
        while at + step <= self.closes_at && at >= self.opens_at {
            slots.push(at);
            let (next, wrapped) = at.overflowing_add_signed(step);
            if wrapped != 0 {
                break;
            }
            at = next;
        }
        slots
    }

    /// Seats per slot: the day's capacity spread over its slots, rounded up, so the day's
    /// capacity (counted separately) is what binds when every slot is used.
    pub fn slot_capacity(&self) -> u32 {
        self.slot_capacity_on_capacity(self.daily_capacity)
    }

    /// The seats of `day`: its override, or the daily capacity.
    pub fn capacity_on(&self, day: NaiveDate) -> u32 {
        self.exceptions
            .capacity
            .get(&day)
            .copied()
            .unwrap_or(self.daily_capacity)
    }

    /// The seats of each slot of `day`.
    pub fn slot_capacity_on(&self, day: NaiveDate) -> u32 {
        self.slot_capacity_on_capacity(self.capacity_on(day))
    }

    fn slot_capacity_on_capacity(&self, capacity: u32) -> u32 {
        let slots = self.slots().len().max(1) as u32;
        capacity.div_ceil(slots)
    }

    /// The part of the calendar the office may change.
    pub fn hours(&self) -> Hours {
        Hours {
            opening_days: self.opening_days.clone(),
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            slot_minutes: self.slot_minutes,
            daily_capacity: self.daily_capacity,
        }
    }

    /// The office with other hours.
    pub fn with_hours(&self, hours: &Hours) -> Office {
        Office {
            opening_days: hours.opening_days.clone(),
            opens_at: hours.opens_at,
            closes_at: hours.closes_at,
            slot_minutes: hours.slot_minutes,
            daily_capacity: hours.daily_capacity,
            ..self.clone()
        }
    }

    /// The appointments (by position in `held`) that would not fit this calendar, each with
    /// why: a day it does not open, a time that is not one of its slots, a day or a slot over
    /// its capacity (every appointment of such a day or slot is listed: the office decides
    /// which to move).
    pub fn misfits(&self, rules: &BookingRules, held: &[Held]) -> Vec<(usize, Misfit)> {
        let slots: BTreeSet<NaiveTime> = self.slots().into_iter().collect();
        let mut per_day: HashMap<NaiveDate, u32> = HashMap::new();
        let mut per_slot: HashMap<(NaiveDate, NaiveTime), u32> = HashMap::new();
        for h in held {
            *per_day.entry(h.day).or_default() += 1;
            *per_slot.entry((h.day, h.slot)).or_default() += 1;
        }
        held.iter()
            .enumerate()
            .filter_map(|(i, h)| {
                let misfit = if !rules.is_open(self, h.day) {
                    Misfit::Closed
                } else if !slots.contains(&h.slot) {
                    Misfit::NoSuchSlot
                } else if per_day[&h.day] > self.capacity_on(h.day) {
                    Misfit::DayOver
                } else if per_slot[&(h.day, h.slot)] > self.slot_capacity_on(h.day) {
                    Misfit::SlotOver
                } else {
                    return None;
                };
                Some((i, misfit))
            })
            .collect()
    }
}

/// Rules that decide which days can be booked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingRules {
    /// Business days between giving the payment key and the first bookable day
    /// (press reports: pay at least 72 hours before the appointment).
    pub business_days_after_payment: u32,
    /// How far ahead appointments can be booked, in calendar days from today.
    pub window_days: u32,
    /// Extra closures (office events, local holidays), besides weekends and federal rest days.
    #[serde(default)]
    pub closures: Vec<NaiveDate>,
    /// How long a seat offered from the waitlist stays reserved for the applicant, in minutes
    /// (rule we adopt: 30).
    #[serde(default = "default_hold_minutes")]
    pub hold_minutes: u32,
    /// After this many appointments missed, a new booking needs the office's approval (rule we
    /// adopt: 2; 0 = never).
    #[serde(default = "default_no_show_limit")]
    pub no_show_limit: u32,
}

fn default_hold_minutes() -> u32 {
    30
}

fn default_no_show_limit() -> u32 {
    2
}

impl Default for BookingRules {
    fn default() -> Self {
        BookingRules {
            business_days_after_payment: 3,
            window_days: 60,
            closures: Vec::new(),
            hold_minutes: default_hold_minutes(),
            no_show_limit: default_no_show_limit(),
        }
    }
}

/// Why a day cannot be booked, for the calendar view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayStatus {
    Available,
    /// Open, but every seat is taken (a "saturated" day).
    Full,
    /// Closed: weekend, rest day or closure.
    Closed,
    /// Open, but before the first bookable day or after the window.
    OutOfWindow,
}

impl BookingRules {
    /// Whether the office opens that day at all.
    pub fn is_open(&self, office: &Office, date: NaiveDate) -> bool {
        office.opening_days.contains(&date.weekday())
            && !is_federal_rest_day(date)
            && !self.closures.contains(&date)
            && !office.exceptions.closed.contains(&date)
    }

    /// A business day for the payment delay: Monday to Friday, not a rest day or closure.
    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
            && !is_federal_rest_day(date)
            && !self.closures.contains(&date)
    }

    /// `n` business days after `from` (not counting `from`).
    pub fn add_business_days(&self, from: NaiveDate, n: u32) -> NaiveDate {
        let mut date = from;
        let mut left = n;
        while left > 0 {
            date = date.succ_opt().expect("date within range");
            if self.is_business_day(date) {
                left -= 1;
            }
        }
        date
    }

    /// The first and last days that may be booked, given when the payment key was given.
    pub fn window(&self, today: NaiveDate, paid_on: NaiveDate) -> (NaiveDate, NaiveDate) {
        let after_payment = self.add_business_days(paid_on, self.business_days_after_payment);
        let tomorrow = today.succ_opt().expect("date within range");
        let first = after_payment.max(tomorrow);
        let last = today + Duration::days(i64::from(self.window_days));
        (first, last)
    }

    /// The status of a day given the seats already taken that day.
    pub fn day_status(
        &self,
        office: &Office,
        date: NaiveDate,
        window: (NaiveDate, NaiveDate),
        taken: u32,
    ) -> DayStatus {
        if !self.is_open(office, date) {
            DayStatus::Closed
        } else if date < window.0 || date > window.1 {
            DayStatus::OutOfWindow
        } else if taken >= office.capacity_on(date) {
            DayStatus::Full
        } else {
            DayStatus::Available
        }
    }
}

/// A time of day as offices write it and slots are keyed: "09:30" (hours and minutes,
/// zero-padded).
pub fn clock_time(time: NaiveTime) -> String {
    time.format("%H:%M").to_string()
}

/// A slot as the store keys it (the same form as [`clock_time`]).
pub fn slot_key(slot: NaiveTime) -> String {
    clock_time(slot)
}

/// Seats taken per office and day, and per slot, within the booking window (counted by the
/// store, read by the dialogue).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Availability {
    pub days: HashMap<(String, NaiveDate), u32>,
    pub slots: HashMap<(String, NaiveDate, NaiveTime), u32>,
}

impl Availability {
    pub fn day_taken(&self, office: &str, day: NaiveDate) -> u32 {
        self.days
            .get(&(office.to_string(), day))
            .copied()
            .unwrap_or(0)
    }

    pub fn slot_taken(&self, office: &str, day: NaiveDate, slot: NaiveTime) -> u32 {
        self.slots
            .get(&(office.to_string(), day, slot))
            .copied()
            .unwrap_or(0)
    }
}

/// First day of the month of `date`.
pub fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("day 1 exists")
}

/// The days of the month starting at `start`.
pub fn month_days(start: NaiveDate) -> Vec<NaiveDate> {
    start
        .iter_days()
        .take_while(|d| d.month() == start.month())
        .collect()
}

/// First day of the next month.
pub fn next_month(start: NaiveDate) -> NaiveDate {
    month_start(start + Duration::days(32))
}

/// First day of the previous month.
pub fn previous_month(start: NaiveDate) -> NaiveDate {
    month_start(start - Duration::days(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_keys_are_zero_padded_hours_and_minutes() {
        let key = |h, m| slot_key(NaiveTime::from_hms_opt(h, m, 0).unwrap());
        assert_eq!(key(9, 30), "09:30");
        assert_eq!(key(14, 0), "14:00");
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn office() -> Office {
        Office {
            id: "dgp-cdmx".into(),
            name: "DGP".into(),
            aliases: Vec::new(),
            address: "Viaducto".into(),
            time_zone: chrono_tz::America::Mexico_City,
            opening_days: default_opening_days(),
            opens_at: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            closes_at: NaiveTime::from_hms_opt(15, 0, 0).unwrap(),
            slot_minutes: 30,
            daily_capacity: 50,
            clerks_issue: true,
            exceptions: DayExceptions::default(),
        }
    }

    #[test]
    fn slots_fill_the_opening_hours() {
        let office = office();
        let slots = office.slots();
        assert_eq!(slots.len(), 12);
        assert_eq!(slots[0], NaiveTime::from_hms_opt(9, 0, 0).unwrap());
        assert_eq!(slots[11], NaiveTime::from_hms_opt(14, 30, 0).unwrap());
        assert_eq!(office.slot_capacity(), 5);
    }

    #[test]
    fn closed_days() {
        let rules = BookingRules {
            closures: vec![d(2026, 12, 24)],
            ..BookingRules::default()
        };
        let office = office();
        let cases = [
            ("a Monday is open", d(2026, 11, 30), true),
            ("a Saturday is closed", d(2026, 11, 28), false),
            ("Christmas is a rest day", d(2026, 12, 25), false),
            ("third Monday of November 2026", d(2026, 11, 16), false),
            ("configured closure", d(2026, 12, 24), false),
        ];
        for (description, date, open) in cases {
            assert_eq!(rules.is_open(&office, date), open, "{description}");
        }
    }

    #[test]
    fn first_bookable_day_is_three_business_days_after_payment() {
        let rules = BookingRules::default();
        // Paid on Friday 2026-11-13: Monday 16 is a rest day, so Tue 17, Wed 18, Thu 19.
        let (first, last) = rules.window(d(2026, 11, 13), d(2026, 11, 13));
        assert_eq!(first, d(2026, 11, 19));
        assert_eq!(last, d(2027, 1, 12));
    }

    #[test]
    fn day_status_marks_full_closed_and_out_of_window() {
        let rules = BookingRules::default();
        let office = office();
        let window = (d(2026, 12, 2), d(2027, 1, 26));
        assert_eq!(
            rules.day_status(&office, d(2026, 12, 3), window, 0),
            DayStatus::Available
        );
        assert_eq!(
            rules.day_status(&office, d(2026, 12, 3), window, 50),
            DayStatus::Full
        );
        assert_eq!(
            rules.day_status(&office, d(2026, 12, 5), window, 0),
            DayStatus::Closed
        );
        assert_eq!(
            rules.day_status(&office, d(2026, 12, 1), window, 0),
            DayStatus::OutOfWindow
        );
    }

    #[test]
    fn day_exceptions_close_a_day_and_change_its_capacity() {
        let rules = BookingRules::default();
        let mut office = office();
        office.exceptions.closed.insert(d(2026, 12, 3));
        office.exceptions.capacity.insert(d(2026, 12, 4), 12);
        assert!(!rules.is_open(&office, d(2026, 12, 3)));
        assert_eq!(office.capacity_on(d(2026, 12, 4)), 12);
        assert_eq!(office.slot_capacity_on(d(2026, 12, 4)), 1);
        assert_eq!(office.capacity_on(d(2026, 12, 7)), 50);
        let window = (d(2026, 12, 2), d(2027, 1, 26));
        assert_eq!(
            rules.day_status(&office, d(2026, 12, 4), window, 12),
            DayStatus::Full
        );
    }

    #[test]
    fn misfits_name_each_appointment_a_change_would_leave_out() {
        let rules = BookingRules::default();
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let held = [
            Held {
                day: d(2026, 12, 7),
                slot: t(9, 0),
            },
            Held {
                day: d(2026, 12, 7),
                slot: t(9, 0),
            },
            Held {
                day: d(2026, 12, 8),
                slot: t(14, 30),
            },
            Held {
                day: d(2026, 12, 9),
                slot: t(10, 0),
            },
        ];
        assert!(office().misfits(&rules, &held).is_empty());
        // Closing at 14:00 leaves the 14:30 appointment out.
        let mut hours = office().hours();
        hours.closes_at = t(14, 0);
        assert_eq!(
            office().with_hours(&hours).misfits(&rules, &held),
            vec![(2, Misfit::NoSuchSlot)]
        );
        // One seat a slot: the two at 9:00 on the 7th do not fit.
        hours = office().hours();
        hours.daily_capacity = 12;
        assert_eq!(
            office().with_hours(&hours).misfits(&rules, &held),
            vec![(0, Misfit::SlotOver), (1, Misfit::SlotOver)]
        );
        // Closing on Wednesdays.
        hours = office().hours();
        hours.opening_days.retain(|day| *day != Weekday::Wed);
        assert_eq!(
            office().with_hours(&hours).misfits(&rules, &held),
            vec![(3, Misfit::Closed)]
        );
        // A day override of one seat on the 7th.
        let mut small = office();
        small.exceptions.capacity.insert(d(2026, 12, 7), 1);
        assert_eq!(
            small.misfits(&rules, &held),
            vec![(0, Misfit::DayOver), (1, Misfit::DayOver)]
        );
    }

    #[test]
    fn hours_are_checked() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let mut hours = office().hours();
        assert_eq!(hours.check(), Ok(()));
        hours.closes_at = t(9, 10);
        assert_eq!(hours.check(), Err(HoursError::NoSlots));
        hours = office().hours();
        hours.slot_minutes = 1;
        assert_eq!(hours.check(), Err(HoursError::SlotLength));
        hours = office().hours();
        hours.daily_capacity = 0;
        assert_eq!(hours.check(), Err(HoursError::Capacity));
        hours = office().hours();
        hours.opening_days.clear();
        assert_eq!(hours.check(), Err(HoursError::NoDays));
    }

    #[test]
    fn month_navigation() {
        assert_eq!(next_month(d(2026, 12, 1)), d(2027, 1, 1));
        assert_eq!(previous_month(d(2027, 1, 1)), d(2026, 12, 1));
        assert_eq!(month_days(d(2027, 2, 1)).len(), 28);
    }
}
