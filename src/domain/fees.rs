//! Federal fees for the procedure: a table per year and level plus the "cotejo" concept, from
//! configuration (DOMAIN.md's figures are the defaults in `config/default.toml`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::academic::Level;

/// An amount in centavos, exact. Fees are configured with centavos (1,772.93) and paid rounded
/// to the whole peso.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Centavos(pub i64);

impl Centavos {
    /// Parses a configured amount in pesos such as `1772.93` or `1261`.
    pub fn from_pesos(pesos: f64) -> Centavos {
        Centavos((pesos * 100.0).round() as i64)
    }

    /// The amount paid at the bank: whole pesos, 1–50 centavos rounded down and 51–99 up
    /// (Código Fiscal de la Federación art. 17-A; several fees are summed before rounding).
    pub fn payable_pesos(self) -> i64 {
        let pesos = self.0.div_euclid(100);
        let cents = self.0.rem_euclid(100);
        if cents > 50 { pesos + 1 } else { pesos }
    }
}

/// The two payment concepts of this procedure: one help sheet each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Concept {
    /// Registration of the title and issuance of the cédula (priced per level).
    Registration,
    /// Certification ("cotejo") of the original document.
    Cotejo,
}

impl Concept {
    pub const ALL: [Concept; 2] = [Concept::Registration, Concept::Cotejo];

    pub fn key(self) -> &'static str {
        match self {
            Concept::Registration => "registration",
            Concept::Cotejo => "cotejo",
        }
    }

    /// One digit used inside payment references.
    pub fn digit(self) -> u8 {
        match self {
            Concept::Registration => 1,
            Concept::Cotejo => 2,
        }
    }
}

/// Fees set for one year. A level or concept missing from a year falls back to the latest
/// earlier year that sets it; one never set anywhere is unknown (`None`), never invented.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct YearFees {
    #[serde(default)]
    pub registration: BTreeMap<Level, f64>,
    #[serde(default)]
    pub cotejo: Option<f64>,
}

/// The fee table: year → fees of that year. In TOML the years are table keys
/// (`[fees.2025.registration]`), so they arrive as strings and are parsed here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<String, YearFees>")]
pub struct FeeTable {
    pub years: BTreeMap<i32, YearFees>,
}

impl TryFrom<BTreeMap<String, YearFees>> for FeeTable {
    type Error = String;

    fn try_from(raw: BTreeMap<String, YearFees>) -> Result<Self, Self::Error> {
        let years = raw
            .into_iter()
            .map(|(year, fees)| {
                year.trim()
                    .parse::<i32>()
                    .map(|year| (year, fees))
                    .map_err(|_| format!("fees: {year:?} is not a year"))
            })
            .collect::<Result<_, _>>()?;
        Ok(FeeTable { years })
    }
}

impl FeeTable {
    /// The fee of `concept` for `level` in `year` (latest configured year not after `year`).
    pub fn fee(&self, year: i32, level: Level, concept: Concept) -> Option<Centavos> {
        self.years
            .range(..=year)
            .rev()
            .find_map(|(_, fees)| match concept {
                Concept::Registration => fees.registration.get(&level).copied(),
                Concept::Cotejo => fees.cotejo,
            })
            .map(Centavos::from_pesos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_to_the_peso() {
        let cases = [
            ("no centavos", 126_100, 1261),
            ("1 centavo rounds down", 126_101, 1261),
            ("50 centavos round down", 126_150, 1261),
            ("51 centavos round up", 126_151, 1262),
            ("2025 licenciatura fee", 177_293, 1773),
            ("2019 licenciatura fee", 135_943, 1359),
        ];
        for (description, centavos, expected) in cases {
            assert_eq!(
                Centavos(centavos).payable_pesos(),
                expected,
                "{description}"
            );
        }
    }

    fn table() -> FeeTable {
        let mut years = BTreeMap::new();
        years.insert(
            2023,
            YearFees {
                registration: [(Level::Licenciatura, 1626.0), (Level::Tecnico, 488.0)].into(),
                cotejo: None,
            },
        );
        years.insert(
            2025,
            YearFees {
                registration: [(Level::Licenciatura, 1772.93)].into(),
                cotejo: Some(300.0),
            },
        );
        FeeTable { years }
    }

    #[test]
    fn fee_lookup_falls_back_to_the_latest_year_that_sets_it() {
        let fees = table();
        let cases = [
            (
                "current year uses 2025",
                2026,
                Level::Licenciatura,
                Concept::Registration,
                Some(177_293),
            ),
            (
                "2024 uses 2023",
                2024,
                Level::Licenciatura,
                Concept::Registration,
                Some(162_600),
            ),
            (
                "tecnico falls back to 2023",
                2026,
                Level::Tecnico,
                Concept::Registration,
                Some(48_800),
            ),
            (
                "unknown level stays unknown",
                2026,
                Level::Doctorado,
                Concept::Registration,
                None,
            ),
            (
                "before any year is unknown",
                2010,
                Level::Licenciatura,
                Concept::Registration,
                None,
            ),
            (
                "cotejo configured in 2025",
                2026,
                Level::Doctorado,
                Concept::Cotejo,
                Some(30_000),
            ),
            (
                "cotejo unknown before",
                2024,
                Level::Licenciatura,
                Concept::Cotejo,
                None,
            ),
        ];
        for (description, year, level, concept, expected) in cases {
            assert_eq!(
                fees.fee(year, level, concept).map(|c| c.0),
                expected,
                "{description}"
            );
        }
    }
}
