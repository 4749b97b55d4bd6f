//! Valid CURPs made up from a seed: test and benchmark data without real people in it.

use chrono::NaiveDate;

use super::{CONSONANTS, Curp, Sex, compute_check_digit, is_inconvenient};
use crate::domain::entity::Entity;

/// A tiny xorshift64 generator: deterministic test data without a dependency.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        // A splitmix64 step spreads nearby seeds apart and never leaves the state at zero
        // (where xorshift would stay forever).
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift(if z == 0 { 0x9E37_79B9_7F4A_7C15 } else { z })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (the modulo bias is irrelevant for test data).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn pick_char(&mut self, alphabet: &str) -> char {
        let chars: Vec<char> = alphabet.chars().collect();
        chars[self.below(chars.len())]
    }
}

/// Builds a random but valid CURP from `seed`, the same one for the same seed: dates in both
/// centuries (the homonymy character matching), all three sex codes, every state code
/// including NE, no inconvenient word, a correct check digit.
///
/// Test support for unit tests, integration tests and benchmarks; not for production use.
#[doc(hidden)]
pub fn generate_valid(seed: u64) -> Curp {
    const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    let mut rng = XorShift::new(seed);

    let mut initials: Vec<char> = (0..4).map(|_| rng.pick_char(LETTERS)).collect();
    if is_inconvenient(&initials.iter().collect::<String>()) {
        // What RENAPO does; no listed word has X in second place, so this is never listed.
        initials[1] = 'X';
    }

    let in_2000s = rng.below(2) == 1;
    let year = if in_2000s { 2000 } else { 1900 } + rng.below(100) as i32;
    let month = rng.below(12) as u32 + 1;
    let days_in_month = (28..=31)
        .rev()
        .find(|day| NaiveDate::from_ymd_opt(year, month, *day).is_some())
        .unwrap_or(28);
    let day = rng.below(days_in_month as usize) as u32 + 1;

    let sex = [Sex::Male, Sex::Female, Sex::NonBinary][rng.below(3)];
    let entity = if rng.below(Entity::ALL.len() + 1) == Entity::ALL.len() {
        Entity::BornAbroad
    } else {
        Entity::ALL[rng.below(Entity::ALL.len())]
    };
    let consonants: String = (0..3).map(|_| rng.pick_char(CONSONANTS)).collect();
    let homonymy = rng.pick_char(if in_2000s { LETTERS } else { DIGITS });

    let initials: String = initials.into_iter().collect();
    let first_17 = format!(
        "{initials}{:02}{month:02}{day:02}{}{}{consonants}{homonymy}",
        year % 100,
        sex.code(),
        entity.code(),
    );
    let text = format!("{first_17}{}", compute_check_digit(&first_17));
    Curp::parse(&text).expect("the generator only builds valid CURPs")
}
