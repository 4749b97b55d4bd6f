//! Academic data of an application: the six levels, the institution and program as the applicant
//! writes them, where they studied, and the dates that decide eligibility for this route.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domain::entity::Entity;

/// Level of studies, as the DGP registers titles (and prices the cédula).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Tecnico,
    TecnicoSuperiorUniversitario,
    Licenciatura,
    Especialidad,
    Maestria,
    Doctorado,
}

impl Level {
    /// Every level, in the order they are offered.
    pub const ALL: [Level; 6] = [
        Level::Tecnico,
        Level::TecnicoSuperiorUniversitario,
        Level::Licenciatura,
        Level::Especialidad,
        Level::Maestria,
        Level::Doctorado,
    ];

    /// Stable ASCII key: choice id, label key and configuration key.
    pub fn key(self) -> &'static str {
        match self {
            Level::Tecnico => "tecnico",
            Level::TecnicoSuperiorUniversitario => "tecnico_superior_universitario",
            Level::Licenciatura => "licenciatura",
            Level::Especialidad => "especialidad",
            Level::Maestria => "maestria",
            Level::Doctorado => "doctorado",
        }
    }

    pub fn from_key(key: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|level| level.key() == key)
    }
}

/// The professional exam, or the exemption from it (titulación por promedio, tesis…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "date")]
pub enum ProfessionalExam {
    Taken(NaiveDate),
    Exempt,
}

/// Everything the academic part of the request collects, complete and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcademicRecord {
    pub level: Level,
    pub institution: String,
    pub program: String,
    pub entity: Entity,
    pub title_issued_on: NaiveDate,
    pub exam: ProfessionalExam,
    pub studies_started_on: NaiveDate,
    pub studies_ended_on: NaiveDate,
}

/// Why a date given for the academic record cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AcademicDateError {
    #[error("the date {date} is in the future")]
    InFuture { date: NaiveDate },
    #[error("the title was issued on or after the cut-off {cutoff}: electronic route")]
    ElectronicRoute { cutoff: NaiveDate },
    #[error("the end of studies {end} is not after their start {start}")]
    EndBeforeStart { start: NaiveDate, end: NaiveDate },
    #[error("the date {date} is after the title's issue date {title}")]
    AfterTitle { date: NaiveDate, title: NaiveDate },
    #[error("the date {date} is implausibly old")]
    TooOld { date: NaiveDate },
}

/// The earliest date any academic event can plausibly have.
fn earliest_plausible() -> NaiveDate {
    NaiveDate::from_ymd_opt(1930, 1, 1).expect("valid constant date")
}

fn check_past(date: NaiveDate, today: NaiveDate) -> Result<(), AcademicDateError> {
    if date > today {
        return Err(AcademicDateError::InFuture { date });
    }
    if date < earliest_plausible() {
        return Err(AcademicDateError::TooOld { date });
    }
    Ok(())
}

/// The title's issue date decides the route: before the cut-off this procedure applies; on or
/// after it, titles are electronic and the applicant is sent to the electronic route.
pub fn check_title_date(
    date: NaiveDate,
    today: NaiveDate,
    cutoff: NaiveDate,
) -> Result<(), AcademicDateError> {
    check_past(date, today)?;
    if date >= cutoff {
        return Err(AcademicDateError::ElectronicRoute { cutoff });
    }
    Ok(())
}

/// The exam happens before (or on) the day the title is issued.
pub fn check_exam_date(
    date: NaiveDate,
    title: NaiveDate,
    today: NaiveDate,
) -> Result<(), AcademicDateError> {
    check_past(date, today)?;
    if date > title {
        return Err(AcademicDateError::AfterTitle { date, title });
    }
    Ok(())
}

/// Studies start before the title.
pub fn check_study_start(
    date: NaiveDate,
    title: NaiveDate,
    today: NaiveDate,
) -> Result<(), AcademicDateError> {
    check_past(date, today)?;
    if date > title {
        return Err(AcademicDateError::AfterTitle { date, title });
    }
    Ok(())
}

/// Studies end after they started and no later than the title.
pub fn check_study_end(
    end: NaiveDate,
    start: NaiveDate,
    title: NaiveDate,
    today: NaiveDate,
) -> Result<(), AcademicDateError> {
    check_past(end, today)?;
    if end <= start {
        return Err(AcademicDateError::EndBeforeStart { start, end });
    }
    if end > title {
        return Err(AcademicDateError::AfterTitle { date: end, title });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn title_date_rules() {
        let today = d(2026, 11, 28);
        let cutoff = d(2018, 10, 1);
        let cases = [
            (
                "a title before the cut-off is eligible",
                d(2015, 3, 15),
                Ok(()),
            ),
            (
                "the cut-off day itself is electronic",
                d(2018, 10, 1),
                Err(AcademicDateError::ElectronicRoute { cutoff }),
            ),
            (
                "a future date is refused",
                d(2027, 1, 1),
                Err(AcademicDateError::InFuture {
                    date: d(2027, 1, 1),
                }),
            ),
            (
                "a date before 1930 is refused",
                d(1900, 1, 1),
                Err(AcademicDateError::TooOld {
                    date: d(1900, 1, 1),
                }),
            ),
        ];
        for (description, date, expected) in cases {
            assert_eq!(
                check_title_date(date, today, cutoff),
                expected,
                "{description}"
            );
        }
    }

    #[test]
    fn study_period_must_be_ordered_and_before_the_title() {
        let today = d(2026, 11, 28);
        let title = d(2015, 3, 15);
        assert_eq!(
            check_study_end(d(2014, 6, 1), d(2010, 8, 1), title, today),
            Ok(())
        );
        assert_eq!(
            check_study_end(d(2010, 8, 1), d(2010, 8, 1), title, today),
            Err(AcademicDateError::EndBeforeStart {
                start: d(2010, 8, 1),
                end: d(2010, 8, 1)
            })
        );
        assert_eq!(
            check_study_end(d(2016, 1, 1), d(2010, 8, 1), title, today),
            Err(AcademicDateError::AfterTitle {
                date: d(2016, 1, 1),
                title
            })
        );
        assert_eq!(
            check_exam_date(d(2015, 4, 1), title, today),
            Err(AcademicDateError::AfterTitle {
                date: d(2015, 4, 1),
                title
            })
        );
    }

    #[test]
    fn level_keys_round_trip() {
        for level in Level::ALL {
            assert_eq!(Level::from_key(level.key()), Some(level));
        }
        assert_eq!(Level::from_key("bachillerato"), None);
    }
}
