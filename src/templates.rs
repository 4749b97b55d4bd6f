//! Every sentence the applicant reads comes from `templates/`: the conversation's messages
//! (minijinja, compiled into the binary, strict about undefined values) and the short labels
//! of `templates/es-MX/labels.toml` (choices, field, month and day names).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Deserialize;

use crate::conversation::reply::Reply;
use crate::conversation::vocabulary::Vocabulary;

const LABELS: &str = include_str!("../templates/es-MX/labels.toml");

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

/// "09:30".
pub fn clock_time(time: NaiveTime) -> String {
    format!("{:02}:{:02}", time.hour(), time.minute())
}

/// "1,773": pesos with thousands separators, as Mexican receipts print them.
pub fn pesos(amount: i64) -> String {
    let digits = amount.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if amount < 0 { format!("-{out}") } else { out }
}

/// The template engine with the catalogue's filters.
#[derive(Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
    labels: Arc<Labels>,
}

impl Templates {
    pub fn new() -> Templates {
        let labels = Arc::new(Labels::es_mx());
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .build()
                .expect("default delimiters are valid"),
        );
        minijinja_embed::load_templates!(&mut env);
        let l = labels.clone();
        env.add_filter(
            "long_date",
            move |value: String| -> Result<String, minijinja::Error> {
                let date = parse_date_value(&value)?;
                Ok(l.long_date(date))
            },
        );
        let l = labels.clone();
        env.add_filter(
            "weekday_date",
            move |value: String| -> Result<String, minijinja::Error> {
                let date = parse_date_value(&value)?;
                Ok(l.weekday_date(date))
            },
        );
        let l = labels.clone();
        env.add_filter(
            "month_year",
            move |value: String| -> Result<String, minijinja::Error> {
                let date = parse_date_value(&value)?;
                Ok(l.month_year(date))
            },
        );
        let l = labels.clone();
        env.add_filter(
            "label",
            move |key: String| -> Result<String, minijinja::Error> {
                if l.has(&key) {
                    Ok(l.get(&key).to_string())
                } else {
                    Err(minijinja::Error::new(
                        minijinja::ErrorKind::UndefinedError,
                        format!("no label {key}"),
                    ))
                }
            },
        );
        env.add_filter("pesos", |amount: i64| pesos(amount));
        env.add_filter("hhmm", |value: String| {
            value.chars().take(5).collect::<String>()
        });
        Templates {
            env: Arc::new(env),
            labels,
        }
    }

    pub fn labels(&self) -> &Arc<Labels> {
        &self.labels
    }

    /// Renders a reply's text: the progress line, then the message body.
    pub fn render_reply(&self, reply: &Reply) -> anyhow::Result<String> {
        let body = self.render(&format!("conversation/{}.txt", reply.template), &reply.vars)?;
        match reply.progress {
            Some(progress) => {
                let line = self.render("conversation/_progress.txt", progress)?;
                Ok(format!("{}\n{}", line.trim_end(), body.trim_end()))
            }
            None => Ok(body.trim_end().to_string()),
        }
    }

    /// Renders any template with a serializable context.
    pub fn render(&self, name: &str, context: impl serde::Serialize) -> anyhow::Result<String> {
        let template = self
            .env
            .get_template(name)
            .with_context(|| format!("no template {name}"))?;
        template
            .render(Value::from(minijinja::value::Serde(&context)))
            .with_context(|| format!("failed to render template {name}"))
    }

    /// Names of every template, for the test that renders them all.
    pub fn names(&self) -> Vec<String> {
        self.env
            .templates()
            .map(|(name, _)| name.to_string())
            .collect()
    }
}

impl Default for Templates {
    fn default() -> Self {
        Templates::new()
    }
}

fn parse_date_value(value: &str) -> Result<NaiveDate, minijinja::Error> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("not a date: {value}"),
        )
    })
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

    #[test]
    fn pesos_have_thousands_separators() {
        assert_eq!(pesos(1773), "1,773");
        assert_eq!(pesos(488), "488");
        assert_eq!(pesos(1_234_567), "1,234,567");
        assert_eq!(pesos(0), "0");
    }
}
