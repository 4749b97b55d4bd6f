//! Every sentence the applicant reads comes from `templates/`: the conversation's messages
//! (minijinja, compiled into the binary, strict about undefined values) and the short labels
//! of `templates/es-MX/labels.toml` (choices, field, month and day names).

use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use minijinja::{Environment, UndefinedBehavior, Value};

use crate::conversation::labels::Labels;
use crate::conversation::reply::Reply;

pub use crate::domain::calendar::clock_time;

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
    fn pesos_have_thousands_separators() {
        assert_eq!(pesos(1773), "1,773");
        assert_eq!(pesos(488), "488");
        assert_eq!(pesos(1_234_567), "1,234,567");
        assert_eq!(pesos(0), "0");
    }
}
