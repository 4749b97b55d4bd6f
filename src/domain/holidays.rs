//! Mandatory federal rest days in Mexico (Ley Federal del Trabajo, art. 74), on which the offices
//! are closed and no appointment can be given.
//!
//! Only the rules of the law live here, computed for any year. Closures the law does not name
//! (local holidays, Holy Week, an office's own days off) are configuration, added by the calendar.
//!
//! The rules are the text in force since the 2006 reform (which moved three days to Mondays) and
//! the 2014 reform (which moved the transfer of the federal executive to 1 October from 2024 on).
//! They are applied to every year alike: dates before 2006 are a projection of today's rules, not
//! a record of history. That is enough for a calendar that only looks forward.

use chrono::{Datelike, NaiveDate, Weekday};

/// First year in which the federal executive changes hands on 1 October (2014 constitutional
/// reform); earlier transfers were on 1 December.
const FIRST_OCTOBER_TRANSFER: i32 = 2024;

/// Length of a presidential term, which spaces the transfer rest days.
const TERM_YEARS: i64 = 6;

/// The federal rest days of `year`, in calendar order.
///
/// 1 January; first Monday of February; third Monday of March; 1 May; 16 September; third Monday
/// of November; 25 December; and, in years of a transfer of the federal executive (every six
/// years: 2000, 2006, 2012, 2018 on 1 December; 2024, 2030, 2036, … on 1 October), that day too.
pub fn federal_rest_days(year: i32) -> Vec<NaiveDate> {
    let mut days: Vec<NaiveDate> = [
        fixed(year, 1, 1),
        nth_monday(year, 2, 1),
        nth_monday(year, 3, 3),
        fixed(year, 5, 1),
        fixed(year, 9, 16),
        nth_monday(year, 11, 3),
        fixed(year, 12, 25),
        executive_transfer(year),
    ]
    .into_iter()
    .flatten()
    .collect();
    // The transfer day falls between other rest days (October or December), so restore order
    // rather than rely on where it was listed.
    days.sort_unstable();
    days
}

/// Whether `date` is a federal rest day.
pub fn is_federal_rest_day(date: NaiveDate) -> bool {
    federal_rest_days(date.year()).contains(&date)
}

/// The transfer of the federal executive, if `year` is one: the cycle runs 2000, 2006, …, 2018,
/// 2024, … (years ≡ 2024 modulo 6), on 1 December before 2024 and on 1 October from 2024.
fn executive_transfer(year: i32) -> Option<NaiveDate> {
    // Widened so that extreme years cannot overflow the subtraction.
    if (i64::from(year) - i64::from(FIRST_OCTOBER_TRANSFER)).rem_euclid(TERM_YEARS) != 0 {
        return None;
    }
    if year >= FIRST_OCTOBER_TRANSFER {
        fixed(year, 10, 1)
    } else {
        fixed(year, 12, 1)
    }
}

/// A fixed day of the month. `None` only for years outside chrono's range, which callers treat as
/// "no rest day" rather than panic.
fn fixed(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The `n`-th Monday of `month` in `year`.
fn nth_monday(year: i32, month: u32, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("valid test date")
    }

    #[test]
    fn known_years_have_the_expected_rest_days() {
        let cases = [
            (
                "2025: Monday rules land on 3 Feb, 17 Mar, 17 Nov",
                2025,
                vec![
                    date(2025, 1, 1),
                    date(2025, 2, 3),
                    date(2025, 3, 17),
                    date(2025, 5, 1),
                    date(2025, 9, 16),
                    date(2025, 11, 17),
                    date(2025, 12, 25),
                ],
            ),
            (
                "2026: Monday rules land on 2 Feb, 16 Mar, 16 Nov",
                2026,
                vec![
                    date(2026, 1, 1),
                    date(2026, 2, 2),
                    date(2026, 3, 16),
                    date(2026, 5, 1),
                    date(2026, 9, 16),
                    date(2026, 11, 16),
                    date(2026, 12, 25),
                ],
            ),
            (
                "2024: first transfer of the executive on 1 October",
                2024,
                vec![
                    date(2024, 1, 1),
                    date(2024, 2, 5),
                    date(2024, 3, 18),
                    date(2024, 5, 1),
                    date(2024, 9, 16),
                    date(2024, 10, 1),
                    date(2024, 11, 18),
                    date(2024, 12, 25),
                ],
            ),
            (
                "2018: last transfer of the executive on 1 December",
                2018,
                vec![
                    date(2018, 1, 1),
                    date(2018, 2, 5),
                    date(2018, 3, 19),
                    date(2018, 5, 1),
                    date(2018, 9, 16),
                    date(2018, 11, 19),
                    date(2018, 12, 1),
                    date(2018, 12, 25),
                ],
            ),
        ];
        for (description, year, expected) in cases {
            assert_eq!(federal_rest_days(year), expected, "{description}");
        }
    }

    #[test]
    fn transfer_of_the_executive_follows_the_six_year_cycle() {
        let cases = [
            ("2000 transfer on 1 December", date(2000, 12, 1), true),
            ("2006 transfer on 1 December", date(2006, 12, 1), true),
            ("2012 transfer on 1 December", date(2012, 12, 1), true),
            ("2018 transfer on 1 December", date(2018, 12, 1), true),
            ("2018 had no October transfer", date(2018, 10, 1), false),
            ("2024 transfer on 1 October", date(2024, 10, 1), true),
            ("2024 has no December transfer", date(2024, 12, 1), false),
            ("2030 transfer on 1 October", date(2030, 10, 1), true),
            ("2036 transfer on 1 October", date(2036, 10, 1), true),
            ("2025 is not a transfer year", date(2025, 10, 1), false),
            ("2027 is not a transfer year", date(2027, 10, 1), false),
            ("2019 is not a transfer year", date(2019, 12, 1), false),
        ];
        for (description, day, expected) in cases {
            assert_eq!(is_federal_rest_day(day), expected, "{description}");
        }
    }

    #[test]
    fn is_federal_rest_day_matches_the_rules() {
        let cases = [
            ("New Year", date(2025, 1, 1), true),
            (
                "Constitution day, first Monday of February",
                date(2025, 2, 3),
                true,
            ),
            (
                "5 February itself when it is not that Monday",
                date(2025, 2, 5),
                false,
            ),
            ("Juarez, third Monday of March", date(2026, 3, 16), true),
            (
                "21 March itself when it is not that Monday",
                date(2026, 3, 21),
                false,
            ),
            ("Labour day", date(2026, 5, 1), true),
            ("Independence day", date(2026, 9, 16), true),
            (
                "Revolution, third Monday of November",
                date(2026, 11, 16),
                true,
            ),
            (
                "20 November itself when it is not that Monday",
                date(2026, 11, 20),
                false,
            ),
            ("Christmas", date(2026, 12, 25), true),
            ("an ordinary working day", date(2026, 6, 10), false),
            (
                "Christmas Eve is not a federal rest day",
                date(2026, 12, 24),
                false,
            ),
        ];
        for (description, day, expected) in cases {
            assert_eq!(is_federal_rest_day(day), expected, "{description}");
        }
    }

    #[test]
    fn any_year_gives_seven_or_eight_ordered_days() {
        let cases = [
            ("far future, transfer year", 2102, 8),
            ("far future, ordinary year", 2100, 7),
            ("leap year", 2028, 7),
            ("past ordinary year", 1999, 7),
        ];
        for (description, year, count) in cases {
            let days = federal_rest_days(year);
            assert_eq!(days.len(), count, "{description}");
            assert!(days.is_sorted(), "{description}: not in calendar order");
            assert!(
                days.iter().all(|d| d.year() == year),
                "{description}: wrong year"
            );
        }
        assert_eq!(
            federal_rest_days(2100)[1],
            date(2100, 2, 1),
            "2100 first Monday of Feb"
        );
        assert_eq!(
            federal_rest_days(2100)[2],
            date(2100, 3, 15),
            "2100 third Monday of Mar"
        );
        assert_eq!(
            federal_rest_days(2100)[5],
            date(2100, 11, 15),
            "2100 third Monday of Nov"
        );
    }

    #[test]
    fn monday_rules_always_fall_on_mondays_in_the_right_week() {
        for year in 1990..=2130 {
            let days = federal_rest_days(year);
            for (month, week) in [(2, 1), (3, 3), (11, 3)] {
                let day = days
                    .iter()
                    .find(|d| d.month() == month && d.weekday() == Weekday::Mon)
                    .unwrap_or_else(|| panic!("{year}-{month}: no Monday rest day"));
                assert_eq!((day.day() - 1) / 7 + 1, week, "{year}-{month}: wrong week");
            }
        }
    }

    #[test]
    fn years_outside_chrono_range_do_not_panic() {
        assert!(federal_rest_days(i32::MAX).is_empty());
        assert!(federal_rest_days(i32::MIN).is_empty());
    }
}
