//! The Mexican federative entities (entidades federativas) as they appear in a CURP.
//!
//! A CURP carries the place of birth as a two-letter code (positions 12-13); the same list is
//! asked for in the academic data (the state where the studies were done). This module only
//! knows codes and stable ASCII keys: the names shown to people live in the templates, looked up
//! by [`Entity::key`].

use serde::{Deserialize, Serialize};

/// One of the 32 federative entities, or [`Entity::BornAbroad`] (code `NE`), which only makes
/// sense as a place of birth.
///
/// Serialised as its CURP code (`"DF"`, `"NE"`, ...), so stored data reads like a CURP does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Entity {
    /// Code AS.
    #[serde(rename = "AS")]
    Aguascalientes,
    /// Code BC.
    #[serde(rename = "BC")]
    BajaCalifornia,
    /// Code BS.
    #[serde(rename = "BS")]
    BajaCaliforniaSur,
    /// Code CC.
    #[serde(rename = "CC")]
    Campeche,
    /// Code CS.
    #[serde(rename = "CS")]
    Chiapas,
    /// Code CH.
    #[serde(rename = "CH")]
    Chihuahua,
    /// Mexico City. Code DF: RENAPO kept the code of the former Distrito Federal.
    #[serde(rename = "DF")]
    CiudadDeMexico,
    /// Code CL.
    #[serde(rename = "CL")]
    Coahuila,
    /// Code CM.
    #[serde(rename = "CM")]
    Colima,
    /// Code DG.
    #[serde(rename = "DG")]
    Durango,
    /// Code GT.
    #[serde(rename = "GT")]
    Guanajuato,
    /// Code GR.
    #[serde(rename = "GR")]
    Guerrero,
    /// Code HG.
    #[serde(rename = "HG")]
    Hidalgo,
    /// Code JC.
    #[serde(rename = "JC")]
    Jalisco,
    /// The State of Mexico (officially just "Mexico"). Code MC.
    #[serde(rename = "MC")]
    Mexico,
    /// Code MN.
    #[serde(rename = "MN")]
    Michoacan,
    /// Code MS.
    #[serde(rename = "MS")]
    Morelos,
    /// Code NT.
    #[serde(rename = "NT")]
    Nayarit,
    /// Code NL.
    #[serde(rename = "NL")]
    NuevoLeon,
    /// Code OC.
    #[serde(rename = "OC")]
    Oaxaca,
    /// Code PL.
    #[serde(rename = "PL")]
    Puebla,
    /// Code QT.
    #[serde(rename = "QT")]
    Queretaro,
    /// Code QR.
    #[serde(rename = "QR")]
    QuintanaRoo,
    /// Code SP.
    #[serde(rename = "SP")]
    SanLuisPotosi,
    /// Code SL.
    #[serde(rename = "SL")]
    Sinaloa,
    /// Code SR.
    #[serde(rename = "SR")]
    Sonora,
    /// Code TC.
    #[serde(rename = "TC")]
    Tabasco,
    /// Code TS.
    #[serde(rename = "TS")]
    Tamaulipas,
    /// Code TL.
    #[serde(rename = "TL")]
    Tlaxcala,
    /// Code VZ.
    #[serde(rename = "VZ")]
    Veracruz,
    /// Code YN.
    #[serde(rename = "YN")]
    Yucatan,
    /// Code ZS.
    #[serde(rename = "ZS")]
    Zacatecas,
    /// Born outside Mexico (nacido en el extranjero). Code NE.
    #[serde(rename = "NE")]
    BornAbroad,
}

impl Entity {
    /// The 32 federative entities, without [`Entity::BornAbroad`], in alphabetical order of
    /// their Spanish names (the order people expect in a list to pick from; "Mexico" sorts
    /// under M, as its official name has no "Estado de").
    pub const ALL: [Entity; 32] = [
        Entity::Aguascalientes,
        Entity::BajaCalifornia,
        Entity::BajaCaliforniaSur,
        Entity::Campeche,
        Entity::Chiapas,
        Entity::Chihuahua,
        Entity::CiudadDeMexico,
        Entity::Coahuila,
        Entity::Colima,
        Entity::Durango,
        Entity::Guanajuato,
        Entity::Guerrero,
        Entity::Hidalgo,
        Entity::Jalisco,
        Entity::Mexico,
        Entity::Michoacan,
        Entity::Morelos,
        Entity::Nayarit,
        Entity::NuevoLeon,
        Entity::Oaxaca,
        Entity::Puebla,
        Entity::Queretaro,
        Entity::QuintanaRoo,
        Entity::SanLuisPotosi,
        Entity::Sinaloa,
        Entity::Sonora,
        Entity::Tabasco,
        Entity::Tamaulipas,
        Entity::Tlaxcala,
        Entity::Veracruz,
        Entity::Yucatan,
        Entity::Zacatecas,
    ];

    /// The two-letter code used in CURP positions 12-13 (`"DF"` for Mexico City, `"NE"` for
    /// born abroad).
    pub fn code(&self) -> &'static str {
        match self {
            Entity::Aguascalientes => "AS",
            Entity::BajaCalifornia => "BC",
            Entity::BajaCaliforniaSur => "BS",
            Entity::Campeche => "CC",
            Entity::Chiapas => "CS",
            Entity::Chihuahua => "CH",
            Entity::CiudadDeMexico => "DF",
            Entity::Coahuila => "CL",
            Entity::Colima => "CM",
            Entity::Durango => "DG",
            Entity::Guanajuato => "GT",
            Entity::Guerrero => "GR",
            Entity::Hidalgo => "HG",
            Entity::Jalisco => "JC",
            Entity::Mexico => "MC",
            Entity::Michoacan => "MN",
            Entity::Morelos => "MS",
            Entity::Nayarit => "NT",
            Entity::NuevoLeon => "NL",
            Entity::Oaxaca => "OC",
            Entity::Puebla => "PL",
            Entity::Queretaro => "QT",
            Entity::QuintanaRoo => "QR",
            Entity::SanLuisPotosi => "SP",
            Entity::Sinaloa => "SL",
            Entity::Sonora => "SR",
            Entity::Tabasco => "TC",
            Entity::Tamaulipas => "TS",
            Entity::Tlaxcala => "TL",
            Entity::Veracruz => "VZ",
            Entity::Yucatan => "YN",
            Entity::Zacatecas => "ZS",
            Entity::BornAbroad => "NE",
        }
    }

    /// The entity with this CURP code, if any. Exact match on the upper-case code: callers
    /// normalise what a person typed before asking.
    pub fn from_code(code: &str) -> Option<Entity> {
        if code == Entity::BornAbroad.code() {
            return Some(Entity::BornAbroad);
        }
        Entity::ALL.into_iter().find(|entity| entity.code() == code)
    }

    /// A stable snake_case ASCII identifier, used as the key of the display name in templates
    /// and label files (for example `"ciudad_de_mexico"`, `"nuevo_leon"`, `"born_abroad"`).
    /// Never changes once published: stored labels depend on it.
    pub fn key(&self) -> &'static str {
        match self {
            Entity::Aguascalientes => "aguascalientes",
            Entity::BajaCalifornia => "baja_california",
            Entity::BajaCaliforniaSur => "baja_california_sur",
            Entity::Campeche => "campeche",
            Entity::Chiapas => "chiapas",
            Entity::Chihuahua => "chihuahua",
            Entity::CiudadDeMexico => "ciudad_de_mexico",
            Entity::Coahuila => "coahuila",
            Entity::Colima => "colima",
            Entity::Durango => "durango",
            Entity::Guanajuato => "guanajuato",
            Entity::Guerrero => "guerrero",
            Entity::Hidalgo => "hidalgo",
            Entity::Jalisco => "jalisco",
            Entity::Mexico => "mexico",
            Entity::Michoacan => "michoacan",
            Entity::Morelos => "morelos",
            Entity::Nayarit => "nayarit",
            Entity::NuevoLeon => "nuevo_leon",
            Entity::Oaxaca => "oaxaca",
            Entity::Puebla => "puebla",
            Entity::Queretaro => "queretaro",
            Entity::QuintanaRoo => "quintana_roo",
            Entity::SanLuisPotosi => "san_luis_potosi",
            Entity::Sinaloa => "sinaloa",
            Entity::Sonora => "sonora",
            Entity::Tabasco => "tabasco",
            Entity::Tamaulipas => "tamaulipas",
            Entity::Tlaxcala => "tlaxcala",
            Entity::Veracruz => "veracruz",
            Entity::Yucatan => "yucatan",
            Entity::Zacatecas => "zacatecas",
            Entity::BornAbroad => "born_abroad",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Every entity, including the born-abroad code.
    fn every() -> Vec<Entity> {
        let mut all = Entity::ALL.to_vec();
        all.push(Entity::BornAbroad);
        all
    }

    #[test]
    fn codes_are_exactly_the_renapo_list() {
        let expected: HashSet<&str> = "AS BC BS CC CL CM CS CH DF DG GT GR HG JC MC MN MS NT NL \
                                       OC PL QT QR SP SL SR TC TS TL VZ YN ZS NE"
            .split_whitespace()
            .collect();
        let found: HashSet<&str> = every().iter().map(Entity::code).collect();
        assert_eq!(found, expected);
        assert_eq!(expected.len(), 33, "32 entities plus NE, no duplicates");
    }

    #[test]
    fn from_code_round_trips_every_code() {
        for entity in every() {
            assert_eq!(Entity::from_code(entity.code()), Some(entity), "{entity:?}");
        }
    }

    #[test]
    fn from_code_rejects_unknown_codes() {
        let cases = [
            ("unknown pair of letters", "QQ"),
            ("lower-case is not normalised here", "df"),
            ("empty", ""),
            ("CDMX is written DF in a CURP", "CX"),
            ("too long", "DFX"),
        ];
        for (description, code) in cases {
            assert_eq!(Entity::from_code(code), None, "{description}: {code:?}");
        }
    }

    #[test]
    fn all_holds_32_distinct_entities_without_born_abroad() {
        let distinct: HashSet<Entity> = Entity::ALL.into_iter().collect();
        assert_eq!(distinct.len(), 32);
        assert!(!distinct.contains(&Entity::BornAbroad));
    }

    #[test]
    fn all_is_in_alphabetical_order() {
        // The keys are the Spanish names folded to ASCII, so their order is the names' order.
        let keys: Vec<&str> = Entity::ALL.iter().map(Entity::key).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn keys_are_distinct_snake_case_ascii() {
        let keys: HashSet<&str> = every().iter().map(Entity::key).collect();
        assert_eq!(keys.len(), 33);
        for key in keys {
            assert!(
                key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{key:?}"
            );
            assert!(!key.starts_with('_') && !key.ends_with('_'), "{key:?}");
        }
    }

    #[test]
    fn known_codes_and_keys() {
        let cases = [
            (
                "Mexico City keeps DF",
                Entity::CiudadDeMexico,
                "DF",
                "ciudad_de_mexico",
            ),
            ("Nuevo Leon", Entity::NuevoLeon, "NL", "nuevo_leon"),
            ("born abroad", Entity::BornAbroad, "NE", "born_abroad"),
            ("Chiapas is CS, not CH", Entity::Chiapas, "CS", "chiapas"),
            ("Chihuahua is CH", Entity::Chihuahua, "CH", "chihuahua"),
            ("State of Mexico", Entity::Mexico, "MC", "mexico"),
        ];
        for (description, entity, code, key) in cases {
            assert_eq!(entity.code(), code, "{description}");
            assert_eq!(entity.key(), key, "{description}");
        }
    }

    #[test]
    fn serialises_as_the_code() {
        for entity in every() {
            let json = serde_json::to_string(&entity).unwrap();
            assert_eq!(json, format!("\"{}\"", entity.code()));
            let back: Entity = serde_json::from_str(&json).unwrap();
            assert_eq!(back, entity);
        }
        assert!(serde_json::from_str::<Entity>("\"QQ\"").is_err());
    }
}
