//! The answers of a journey, typed as people type (for the tests and the load benchmark).
#![allow(dead_code)]

/// The answers of a journey up to the review.
pub fn answers_to_review(payment_key: &str) -> Vec<String> {
    [
        "hola",
        "si",
        "pegl 890909 mjcrms08",
        "sí",
        "Luz María",
        "Pérez",
        "Gómez",
        "licenciatura",
        payment_key,
        "Universidad de Guadalajara",
        "Licenciatura en Derecho",
        "jalisco",
        "15 de marzo de 2015",
        "exento",
        "01/08/2009",
        "30/06/2013",
        "luz@example.mx",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The answers of a whole journey, from the greeting to a booked appointment: to the review,
/// sent, the first office, the first day offered and the `slot`-th time of that day.
pub fn whole_journey(payment_key: &str, slot: usize) -> Vec<String> {
    let mut answers = answers_to_review(payment_key);
    answers.extend(["enviar", "1", "1"].map(String::from));
    answers.push(slot.to_string());
    answers
}
