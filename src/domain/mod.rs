//! Pure types and rules of the procedure. Nothing here performs I/O or reads a clock: callers
//! pass the date in. Every type that can only exist valid is built by a `parse` constructor.
//!
//! - `curp`, `person`, `entity`, `email`: who the applicant is.
//! - `academic`, `fees`, `payment`: what they studied and what they pay.
//! - `calendar`, `holidays`: offices, opening days, the booking window, seats taken.
//! - `procedure`: the configured procedure (rules, fees, offices) and each office's today.
//! - `application`: the lifecycle, the folio, the submitted request and its views.
//! - `cedula`: the cédula number and the signed *cadena original*.
//! - `staff`: roles of the office's staff and what each may do.
//! - `document`: names of the documents messages carry (rendered from records).
//! - `text`: folding free text for comparisons.

pub mod academic;
pub mod application;
pub mod calendar;
pub mod cedula;
pub mod curp;
pub mod document;
pub mod email;
pub mod entity;
pub mod fees;
pub mod holidays;
pub mod payment;
pub mod person;
pub mod procedure;
pub mod reminders;
pub mod staff;
pub mod text;
