//! E-mail addresses as applicants type them: trimmed, the domain lower-cased, checked for the
//! shape an address must have to be deliverable.

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EmailError {
    #[error("the address is empty")]
    Empty,
    #[error("the address has no @")]
    MissingAt,
    #[error("the address has spaces")]
    Spaces,
    #[error("the part after @ is not a domain")]
    BadDomain,
    #[error("the part before @ is empty or invalid")]
    BadLocal,
    #[error("the address is too long")]
    TooLong,
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<EmailAddress, EmailError> {
        let trimmed = input
            .trim()
            .trim_start_matches("mailto:")
            .trim_matches(['<', '>']);
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(EmailError::Spaces);
        }
        if trimmed.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or(EmailError::MissingAt)?;
        if local.is_empty()
            || local.len() > 64
            || local.contains('@')
            || local.starts_with('.')
            || local.ends_with('.')
            || local.contains("..")
            || local
                .chars()
                .any(|c| c.is_control() || "(),:;<>[]\\\"".contains(c))
        {
            return Err(EmailError::BadLocal);
        }
        let domain = domain.to_lowercase();
        let labels: Vec<&str> = domain.split('.').collect();
        let valid_label = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(valid_label) {
            return Err(EmailError::BadDomain);
        }
        Ok(EmailAddress(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs: the first letter of the local part and the domain.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or(("", &self.0));
        let first: String = local.chars().take(1).collect();
        format!("{first}…@{domain}")
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        EmailAddress::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(address: EmailAddress) -> String {
        address.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let cases = [
            ("plain", "luz.perez@example.mx", Ok("luz.perez@example.mx")),
            (
                "domain lower-cased, spaces trimmed",
                "  Luz@Example.MX ",
                Ok("Luz@example.mx"),
            ),
            (
                "plus tag",
                "luz+cedula@gmail.com",
                Ok("luz+cedula@gmail.com"),
            ),
            ("angle brackets", "<luz@example.mx>", Ok("luz@example.mx")),
            ("empty", "", Err(EmailError::Empty)),
            ("no at", "luz.example.mx", Err(EmailError::MissingAt)),
            (
                "space inside",
                "luz perez@example.mx",
                Err(EmailError::Spaces),
            ),
            (
                "no dot in domain",
                "luz@localhost",
                Err(EmailError::BadDomain),
            ),
            ("empty local", "@example.mx", Err(EmailError::BadLocal)),
            ("double dot", "luz..p@example.mx", Err(EmailError::BadLocal)),
            (
                "domain with underscore",
                "luz@exa_mple.mx",
                Err(EmailError::BadDomain),
            ),
        ];
        for (description, input, expected) in cases {
            let got = EmailAddress::parse(input);
            assert_eq!(
                got.as_ref().map(|e| e.as_str()),
                expected.as_ref().map(|s| *s),
                "{description}"
            );
        }
    }
}
