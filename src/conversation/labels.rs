//! The short labels of `templates/es-MX/labels.toml` (choices, fields, month and day names):
//! words, not sentences. The dialogue shows them as choice labels and reads them back when a
//! person types a label instead of a number; the templates use them to render values.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use super::vocabulary::Vocabulary;

const LABELS: &str = include_str!("../../templates/es-MX/labels.toml");

/// The labels catalogue: words, not sentences.
#[derive(Debug, Clone)]
pub struct Labels {
    months: Vec<String>,
    months_short: Vec<String>,
    weekdays: Vec<String>,
    weekdays_short: Vec<String>,
    weekdays_initial: Vec<String>,
    words: HashMap<String, String>,
    vocabulary: &'static Vocabulary,
}

#[derive(Deserialize)]
struct LabelsFile {
    months: Vec<String>,
    months_short: Vec<String>,
    weekdays: Vec<String>,
    weekdays_short: Vec<String>,
    weekdays_initial: Vec<String>,
    #[serde(flatten)]
    groups: HashMap<String, HashMap<String, String>>,
}

impl Labels {
    /// The compiled-in es-MX catalogue.
    pub fn es_mx() -> Labels {
        let file: LabelsFile = toml::from_str(LABELS).expect("labels.toml is valid (tested)");
        let words = file
            .groups
            .into_iter()
            .flat_map(|(group, entries)| {
                entries
                    .into_iter()
                    .map(move |(key, label)| (format!("{group}.{key}"), label))
            })
            .collect();
        Labels {
            months: file.months,
            months_short: file.months_short,
            weekdays: file.weekdays,
            weekdays_short: file.weekdays_short,
            weekdays_initial: file.weekdays_initial,
            words,
            vocabulary: Vocabulary::es_mx(),
        }
    }

    /// The label `group.key`; a missing label shows its key (and a test catches it).
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.words.get(key).map(String::as_str).unwrap_or(key)
    }

    /// The words the dialogue reads (`vocabulary.toml`, beside the labels).
    pub fn vocabulary(&self) -> &Vocabulary {
        self.vocabulary
    }

    pub fn has(&self, key: &str) -> bool {
        self.words.contains_key(key)
    }

    /// "15 de marzo de 2015".
    pub fn long_date(&self, date: NaiveDate) -> String {
        format!(
            "{} de {} de {}",
            date.day(),
            self.months[date.month0() as usize],
            date.year()
        )
    }

    /// "lunes 7 de diciembre".
    pub fn weekday_date(&self, date: NaiveDate) -> String {
        format!(
            "{} {} de {}",
            self.weekdays[date.weekday().num_days_from_monday() as usize],
            date.day(),
            self.months[date.month0() as usize]
        )
    }

    /// "lun 7 dic": a day as a choice label.
    pub fn short_date(&self, date: NaiveDate) -> String {
        format!(
            "{} {} {}",
            self.weekdays_short[date.weekday().num_days_from_monday() as usize],
            date.day(),
            self.months_short[date.month0() as usize]
        )
    }

    /// "L", "M", … "D": the header of a month grid, Monday first.
    pub fn weekday_initials(&self) -> &[String] {
        &self.weekdays_initial
    }

    /// "diciembre de 2026".
    pub fn month_year(&self, date: NaiveDate) -> String {
        format!("{} de {}", self.months[date.month0() as usize], date.year())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_format_dates_in_spanish_words() {
        let labels = Labels::es_mx();
        let date = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(labels.short_date(date), "lun 7 dic");
        assert_eq!(labels.long_date(date), "7 de diciembre de 2026");
        assert_eq!(labels.month_year(date), "diciembre de 2026");
        assert_eq!(labels.months.len(), 12);
        assert_eq!(labels.weekdays.len(), 7);
    }
}
