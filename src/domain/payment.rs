//! Payment data: the bank's llave de pago (validated against a configurable pattern, and usable
//! by one application only — the store enforces that part) and the references printed on the
//! payment help sheets.

use regex::Regex;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::domain::academic::Level;
use crate::domain::fees::Concept;

/// The pattern a llave de pago must match, from configuration (DOMAIN.md: not documented
/// publicly; 10 alphanumerics by default).
#[derive(Debug, Clone)]
pub struct PaymentKeyRule {
    pattern: Regex,
}

impl PaymentKeyRule {
    /// Builds the rule; the pattern is anchored so it must match the whole key.
    pub fn new(pattern: &str) -> Result<PaymentKeyRule, regex::Error> {
        let anchored = format!("^(?:{pattern})$");
        Ok(PaymentKeyRule {
            pattern: Regex::new(&anchored)?,
        })
    }
}

impl Default for PaymentKeyRule {
    fn default() -> Self {
        PaymentKeyRule::new("[A-Z0-9]{10}").expect("default pattern is valid")
    }
}

/// A llave de pago, normalised (upper case, no spaces or dashes) and matching the rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PaymentKey(String);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaymentKeyError {
    #[error("the payment key is empty")]
    Empty,
    #[error("the payment key has {length} characters and does not match the expected form")]
    Pattern { length: usize },
}

impl PaymentKey {
    pub fn parse(input: &str, rule: &PaymentKeyRule) -> Result<PaymentKey, PaymentKeyError> {
        let normalised: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.' | '_'))
            .flat_map(char::to_uppercase)
            .collect();
        if normalised.is_empty() {
            return Err(PaymentKeyError::Empty);
        }
        if !rule.pattern.is_match(&normalised) {
            return Err(PaymentKeyError::Pattern {
                length: normalised.chars().count(),
            });
        }
        Ok(PaymentKey(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for PaymentKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The unique reference of one payment help sheet: the configured clave de referencia, the
/// conversation that asked for it, the concept and the level, and a check digit. Deterministic,
/// so a sheet can be rendered again from stored records and shows the same reference.
pub fn sheet_reference(
    clave_referencia: &str,
    conversation_id: i64,
    concept: Concept,
    level: Level,
) -> String {
    let level_digit = Level::ALL.iter().position(|l| *l == level).unwrap_or(0) + 1;
    let body = format!("{:010}{}{}", conversation_id, concept.digit(), level_digit);
    format!("{clave_referencia}{body}{}", luhn_digit(&body))
}

/// Luhn check digit over the numeric body, so a mistyped reference is caught at the bank.
fn luhn_digit(digits: &str) -> u32 {
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_keys_are_normalised_and_checked() {
        let rule = PaymentKeyRule::default();
        let cases = [
            ("plain key", "AB12CD34EF", Ok("AB12CD34EF")),
            ("lower case with spaces", "ab12 cd34 ef", Ok("AB12CD34EF")),
            ("dashes", "AB12-CD34-EF", Ok("AB12CD34EF")),
            ("empty", "  ", Err(PaymentKeyError::Empty)),
            (
                "too short",
                "AB12",
                Err(PaymentKeyError::Pattern { length: 4 }),
            ),
            (
                "symbols",
                "AB12CD34E$",
                Err(PaymentKeyError::Pattern { length: 10 }),
            ),
            (
                "too long",
                "AB12CD34EF1",
                Err(PaymentKeyError::Pattern { length: 11 }),
            ),
        ];
        for (description, input, expected) in cases {
            let got = PaymentKey::parse(input, &rule);
            assert_eq!(
                got.as_ref().map(|k| k.as_str()),
                expected.as_ref().map(|s| *s),
                "{description}"
            );
        }
    }

    #[test]
    fn the_pattern_is_configurable_and_anchored() {
        let rule = PaymentKeyRule::new("[0-9]{20}").unwrap();
        assert!(PaymentKey::parse("12345678901234567890", &rule).is_ok());
        assert!(PaymentKey::parse("x12345678901234567890", &rule).is_err());
    }

    #[test]
    fn sheet_references_are_distinct_per_concept_level_and_conversation() {
        let mut seen = std::collections::HashSet::new();
        for conversation in 1..50 {
            for concept in Concept::ALL {
                for level in Level::ALL {
                    assert!(seen.insert(sheet_reference("0141", conversation, concept, level)));
                }
            }
        }
        assert_eq!(
            sheet_reference("0141", 7, Concept::Registration, Level::Licenciatura),
            sheet_reference("0141", 7, Concept::Registration, Level::Licenciatura)
        );
    }
}
