//! Tests of the date readers: the usual ways of writing a date, and what is wrong otherwise.

use super::*;

fn v() -> &'static Vocabulary {
    Vocabulary::es_mx()
}

// Accented test inputs are written with escapes, per the house rule on string literals:
// \u{e1} a-acute, \u{e9} e-acute, \u{ed} i-acute, \u{f3} o-acute, \u{c1} A-acute,
// \u{cd} I-acute, \u{b0} degree sign, \u{ba} ordinal indicator.

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid test date")
}

// Accented test inputs are written with escapes, per the house rule on string literals:
// \u{e1} a-acute, \u{e9} e-acute, \u{ed} i-acute, \u{f3} o-acute, \u{c1} A-acute,
// \u{cd} I-acute, \u{b0} degree sign, \u{ba} ordinal indicator.

#[test]
fn parse_date_accepts_the_usual_ways_of_writing_a_date() {
    let march_15 = ymd(2015, 3, 15);
    let march_1 = ymd(2015, 3, 1);
    let cases = [
        ("slashes, day first", "15/03/2015", march_15),
        ("dashes, day first", "15-03-2015", march_15),
        ("dots, day first", "15.03.2015", march_15),
        ("spaces between numbers", "15 03 2015", march_15),
        ("single-digit month", "15/3/2015", march_15),
        ("single-digit day and month", "1/3/2015", march_1),
        ("ISO, year first", "2015-03-15", march_15),
        ("year first with slashes", "2015/03/15", march_15),
        ("year first, single digits", "2015/3/5", ymd(2015, 3, 5)),
        ("written out", "15 de marzo de 2015", march_15),
        ("written out with del", "15 de marzo del 2015", march_15),
        ("without de", "15 marzo 2015", march_15),
        ("abbreviated month", "15 mar 2015", march_15),
        ("abbreviation with dot", "15 mar. 2015", march_15),
        ("dashes and abbreviation", "15-mar-2015", march_15),
        ("month first with comma", "marzo 15, 2015", march_15),
        ("year, month name, day", "2015 marzo 15", march_15),
        ("upper case", "15 DE MARZO DE 2015", march_15),
        ("mixed case", "15 De Marzo Del 2015", march_15),
        (
            "accent typed by mistake",
            "15 de M\u{c1}RZO de 2015",
            march_15,
        ),
        ("extra spaces", "   15  de   marzo   de  2015  ", march_15),
        ("trailing full stop", "15 de marzo de 2015.", march_15),
        ("leading article", "el 15 de marzo de 2015", march_15),
        (
            "el dia",
            "el d\u{ed}a 15 de marzo del a\u{f1}o 2015",
            march_15,
        ),
        ("first written 1o", "1o de marzo de 2015", march_1),
        ("first written 1ro", "1ro de marzo de 2015", march_1),
        ("first written 1er", "1er. de marzo de 2015", march_1),
        (
            "first with degree sign",
            "1\u{b0} de marzo de 2015",
            march_1,
        ),
        (
            "first with ordinal indicator",
            "1\u{ba} de marzo de 2015",
            march_1,
        ),
        ("first written primero", "primero de marzo de 2015", march_1),
        ("Primero capitalised", "Primero de Marzo del 2015", march_1),
        ("ene", "5 ene 2016", ymd(2016, 1, 5)),
        ("feb", "5 feb 2016", ymd(2016, 2, 5)),
        ("abr", "5 abr 2016", ymd(2016, 4, 5)),
        ("may", "5 may 2016", ymd(2016, 5, 5)),
        ("jun", "5 jun 2016", ymd(2016, 6, 5)),
        ("jul", "5 jul 2016", ymd(2016, 7, 5)),
        ("ago", "5 ago 2016", ymd(2016, 8, 5)),
        ("sep", "5 sep 2016", ymd(2016, 9, 5)),
        ("sept with dot", "5 sept. 2016", ymd(2016, 9, 5)),
        ("set", "5 set 2016", ymd(2016, 9, 5)),
        ("setiembre", "5 de setiembre de 2016", ymd(2016, 9, 5)),
        ("septiembre", "16 de septiembre de 2010", ymd(2010, 9, 16)),
        ("oct", "5 oct 2016", ymd(2016, 10, 5)),
        ("nov", "5 nov 2016", ymd(2016, 11, 5)),
        ("dic", "5 dic 2016", ymd(2016, 12, 5)),
        ("enero", "31 de enero de 1999", ymd(1999, 1, 31)),
        (
            "febrero in a leap year",
            "29 de febrero de 2016",
            ymd(2016, 2, 29),
        ),
        ("English month first", "March 15, 2015", march_15),
        ("English abbreviation", "15 Dec 2012", ymd(2012, 12, 15)),
        ("Roman numeral month", "15-III-2015", march_15),
        ("Roman numeral XII", "24/XII/2009", ymd(2009, 12, 24)),
        ("full-width digits", "\u{ff11}\u{ff15}/03/2015", march_15),
        ("zero-width space pasted in", "15/03\u{200b}/2015", march_15),
        ("mixed separators", "15/03-2015", march_15),
        ("letters glued to numbers", "15mar2015", march_15),
    ];
    for (description, input, expected) in cases {
        assert_eq!(
            parse_date(v(), input),
            Ok(expected),
            "{description}: {input:?}"
        );
    }
}

#[test]
fn parse_date_explains_what_is_wrong() {
    let cases = [
        ("empty", "", DateError::Empty),
        ("only spaces", "   ", DateError::Empty),
        (
            "only invisible characters",
            "\u{200b}\u{feff}",
            DateError::Empty,
        ),
        ("a word", "ayer", DateError::Unrecognised),
        ("punctuation only", "...", DateError::Unrecognised),
        ("a sentence", "no me acuerdo", DateError::Unrecognised),
        ("compact digits", "15032015", DateError::Unrecognised),
        ("four numbers", "15/03/2015/1", DateError::Unrecognised),
        ("with a time", "15/03/2015 10:30", DateError::Unrecognised),
        ("three-digit year", "15/03/201", DateError::Unrecognised),
        ("five-digit year", "15/03/20155", DateError::Unrecognised),
        ("three-digit day", "150/03/2015", DateError::Unrecognised),
        (
            "month and year only",
            "marzo de 2015",
            DateError::Unrecognised,
        ),
        (
            "numeric month and year only",
            "03/2015",
            DateError::Unrecognised,
        ),
        (
            "two-digit year",
            "15/03/15",
            DateError::TwoDigitYear { year: 15 },
        ),
        (
            "two-digit year, dashes",
            "15-03-99",
            DateError::TwoDigitYear { year: 99 },
        ),
        (
            "two-digit year, words",
            "15 de marzo de 15",
            DateError::TwoDigitYear { year: 15 },
        ),
        (
            "two-digit year, apostrophe",
            "15 mar '15",
            DateError::TwoDigitYear { year: 15 },
        ),
        (
            "one-digit year",
            "15/03/5",
            DateError::TwoDigitYear { year: 5 },
        ),
        ("no year, words", "15 de marzo", DateError::MissingYear),
        (
            "no year, ordinal",
            "1\u{b0} de marzo",
            DateError::MissingYear,
        ),
        ("no year, numbers", "15/03", DateError::MissingYear),
        (
            "31 February",
            "31/02/2015",
            DateError::NoSuchDay {
                day: 31,
                month: 2,
                year: 2015,
            },
        ),
        (
            "29 February, not a leap year",
            "29 de febrero de 2015",
            DateError::NoSuchDay {
                day: 29,
                month: 2,
                year: 2015,
            },
        ),
        (
            "31 April",
            "31 abr 2015",
            DateError::NoSuchDay {
                day: 31,
                month: 4,
                year: 2015,
            },
        ),
        (
            "day zero",
            "0/03/2015",
            DateError::NoSuchDay {
                day: 0,
                month: 3,
                year: 2015,
            },
        ),
        (
            "day 32",
            "32/01/2015",
            DateError::NoSuchDay {
                day: 32,
                month: 1,
                year: 2015,
            },
        ),
        (
            "31 February, year first",
            "2015-02-31",
            DateError::NoSuchDay {
                day: 31,
                month: 2,
                year: 2015,
            },
        ),
        (
            "month first, as in the US",
            "03/15/2015",
            DateError::MonthOutOfRange { month: 15 },
        ),
        (
            "month zero",
            "15/00/2015",
            DateError::MonthOutOfRange { month: 0 },
        ),
        (
            "month 13, year first",
            "2015-13-01",
            DateError::MonthOutOfRange { month: 13 },
        ),
        (
            "month out of range without year",
            "15/13",
            DateError::MonthOutOfRange { month: 13 },
        ),
        (
            "misspelt month",
            "15 de marzzo de 2015",
            DateError::UnknownMonth {
                word: "marzzo".into(),
            },
        ),
        (
            "misspelt month keeps accents and case",
            "15 de M\u{e1}rso de 2015",
            DateError::UnknownMonth {
                word: "M\u{e1}rso".into(),
            },
        ),
        (
            "two-letter abbreviation",
            "15 ma 2015",
            DateError::UnknownMonth { word: "ma".into() },
        ),
        (
            "weekday is not a month",
            "lunes 15 2015",
            DateError::UnknownMonth {
                word: "lunes".into(),
            },
        ),
        (
            "unknown month without year",
            "15 de hola",
            DateError::UnknownMonth {
                word: "hola".into(),
            },
        ),
    ];
    for (description, input, expected) in cases {
        assert_eq!(
            parse_date(v(), input),
            Err(expected),
            "{description}: {input:?}"
        );
    }
}

#[test]
fn date_errors_have_messages() {
    let error = DateError::NoSuchDay {
        day: 31,
        month: 2,
        year: 2015,
    };
    assert_eq!(
        error.to_string(),
        "day 31 does not exist in month 2 of 2015"
    );
}
