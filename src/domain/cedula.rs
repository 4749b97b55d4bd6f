//! The cédula profesional electrónica: its number, and the *cadena original* — the canonical
//! string of its fields that is signed. The payload is stored as issued, so the cadena, the
//! signature and the PDF can be produced again byte for byte.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// A cédula number: sequential, shown with 8 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CedulaNumber(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a cédula number has 8 digits")]
pub struct CedulaNumberError;

impl CedulaNumber {
    pub const MAX: u32 = 99_999_999;

    pub fn new(value: u32) -> Result<CedulaNumber, CedulaNumberError> {
        (1..=Self::MAX)
            .contains(&value)
            .then_some(CedulaNumber(value))
            .ok_or(CedulaNumberError)
    }

    pub fn value(self) -> u32 {
        self.0
    }
}

impl fmt::Display for CedulaNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08}", self.0)
    }
}

impl FromStr for CedulaNumber {
    type Err = CedulaNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CedulaNumberError);
        }
        CedulaNumber::new(s.parse().map_err(|_| CedulaNumberError)?)
    }
}

impl TryFrom<String> for CedulaNumber {
    type Error = CedulaNumberError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<CedulaNumber> for String {
    fn from(value: CedulaNumber) -> String {
        value.to_string()
    }
}

/// What a cédula certifies, as issued and signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CedulaPayload {
    /// Version of the cadena's layout.
    pub version: u32,
    pub number: CedulaNumber,
    pub folio: String,
    pub curp: String,
    pub given_names: String,
    pub first_surname: String,
    pub second_surname: Option<String>,
    pub institution: String,
    pub program: String,
    /// The level's key (`licenciatura`, `maestria`…).
    pub level: String,
    pub issued_at: DateTime<Utc>,
    /// The verification address printed on the cédula and held by its QR code (version 2 on):
    /// signed, so that the page can be rendered again from the payload alone wherever
    /// `PUBLIC_URL` now points, and a QR code leading elsewhere does not verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_url: Option<String>,
}

/// The cadena's layout version written by this build: 2 adds the verification address.
pub const CADENA_VERSION: u32 = 2;

impl CedulaPayload {
    /// Given names and surnames, as printed.
    pub fn full_name(&self) -> String {
        let mut name = format!("{} {}", self.given_names, self.first_surname);
        if let Some(second) = &self.second_surname {
            name.push(' ');
            name.push_str(second);
        }
        name
    }

    /// `||2|00000001|SOL-2026-000001|CURP|NAMES|FIRST|SECOND|INSTITUTION|PROGRAM|level|ISSUED|URL||`:
    /// fields in a fixed order, each with inner whitespace collapsed and `|` replaced, the time in
    /// UTC to the second; version 1 has no URL. Any change to any field changes the cadena.
    pub fn cadena_original(&self) -> String {
        let mut fields = vec![
            self.version.to_string(),
            self.number.to_string(),
            self.folio.clone(),
            self.curp.clone(),
            self.given_names.clone(),
            self.first_surname.clone(),
            self.second_surname.clone().unwrap_or_default(),
            self.institution.clone(),
            self.program.clone(),
            self.level.clone(),
            self.issued_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        ];
        if self.version >= 2 {
            fields.push(self.verification_url.clone().unwrap_or_default());
        }
        let cleaned: Vec<String> = fields.iter().map(|f| clean(f)).collect();
        format!("||{}||", cleaned.join("|"))
    }
}

fn clean(field: &str) -> String {
    field
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> CedulaPayload {
        CedulaPayload {
            version: CADENA_VERSION,
            number: CedulaNumber::new(1234).unwrap(),
            folio: "SOL-2026-000001".into(),
            curp: "PEGL890909MJCRMS08".into(),
            given_names: "Luz  María".into(),
            first_surname: "Pérez".into(),
            second_surname: Some("Gómez".into()),
            institution: "Universidad de Guadalajara".into(),
            program: "Licenciatura en Derecho | plan 2009".into(),
            level: "licenciatura".into(),
            issued_at: "2026-12-03T16:10:05.123Z".parse().unwrap(),
            verification_url: Some("https://cedulas.example.mx/verificar/00001234".into()),
        }
    }

    #[test]
    fn the_cadena_lists_the_fields_in_order_cleaned() {
        assert_eq!(
            payload().cadena_original(),
            "||2|00001234|SOL-2026-000001|PEGL890909MJCRMS08|Luz María|Pérez|Gómez|\
             Universidad de Guadalajara|Licenciatura en Derecho / plan 2009|licenciatura|\
             2026-12-03T16:10:05Z|https://cedulas.example.mx/verificar/00001234||"
        );
    }

    #[test]
    fn a_version_1_payload_reads_and_signs_as_before() {
        let stored = r#"{"version":1,"number":"00001234","folio":"SOL-2026-000001",
            "curp":"PEGL890909MJCRMS08","given_names":"Luz María","first_surname":"Pérez",
            "second_surname":"Gómez","institution":"UdG","program":"Derecho",
            "level":"licenciatura","issued_at":"2026-12-03T16:10:05Z"}"#;
        let payload: CedulaPayload = serde_json::from_str(stored).unwrap();
        assert_eq!(payload.verification_url, None);
        assert_eq!(
            payload.cadena_original(),
            "||1|00001234|SOL-2026-000001|PEGL890909MJCRMS08|Luz María|Pérez|Gómez|UdG|\
             Derecho|licenciatura|2026-12-03T16:10:05Z||"
        );
        // Written back, it is the same payload (the attachment of an old cédula is unchanged).
        let again = serde_json::to_string(&payload).unwrap();
        assert!(!again.contains("verification_url"), "{again}");
    }

    #[test]
    fn any_changed_field_changes_the_cadena() {
        let original = payload().cadena_original();
        let mut changed = payload();
        changed.second_surname = None;
        assert_ne!(changed.cadena_original(), original);
        let mut changed = payload();
        changed.number = CedulaNumber::new(1235).unwrap();
        assert_ne!(changed.cadena_original(), original);
        let mut changed = payload();
        changed.verification_url = Some("https://falsa.example/verificar/00001234".into());
        assert_ne!(changed.cadena_original(), original);
    }

    #[test]
    fn numbers_have_eight_digits() {
        assert_eq!(CedulaNumber::new(7).unwrap().to_string(), "00000007");
        assert_eq!("00000007".parse::<CedulaNumber>(), CedulaNumber::new(7));
        assert!("7".parse::<CedulaNumber>().is_err());
        assert!("0000000a".parse::<CedulaNumber>().is_err());
        assert!(CedulaNumber::new(0).is_err());
        assert!(CedulaNumber::new(100_000_000).is_err());
    }
}
