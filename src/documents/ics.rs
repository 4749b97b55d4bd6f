//! The appointment's calendar invitation (iCalendar, RFC 5545): METHOD:REQUEST while the
//! appointment stands, METHOD:CANCEL once cancelled; one UID per application, so a reschedule
//! updates the same event, and SEQUENCE rising with every change. Times are written in UTC
//! (unambiguous); the office's zone only decides which UTC instant the slot is.

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use icalendar::{Calendar, Component, Event, EventLike, EventStatus, Property};

use crate::domain::calendar::Office;

pub struct Invite<'a> {
    /// Stable per application (`cita-FOLIO@host`).
    pub uid: String,
    /// Which of the application's appointments this is (0 for the first).
    pub index: usize,
    pub cancelled: bool,
    pub office: &'a Office,
    pub day: NaiveDate,
    /// `HH:MM` in the office's zone.
    pub slot: &'a str,
    /// When the appointment was made or cancelled (DTSTAMP: reproducible).
    pub stamp: DateTime<Utc>,
    pub summary: &'a str,
}

pub fn invite(invite: &Invite<'_>) -> anyhow::Result<Vec<u8>> {
    let time = NaiveTime::parse_from_str(invite.slot, "%H:%M").context("slot is not HH:MM")?;
    let start = invite
        .office
        .zone()
        .from_local_datetime(&invite.day.and_time(time))
        .single()
        .context("the slot does not exist in the office's zone")?
        .with_timezone(&Utc);
    let end = start + chrono::Duration::minutes(i64::from(invite.office.slot_minutes));
    // Each appointment takes two sequence numbers: its request, then its cancellation.
    let sequence = u32::try_from(invite.index * 2 + usize::from(invite.cancelled))?;
    let mut event = Event::new();
    event
        .uid(&invite.uid)
        .sequence(sequence)
        .timestamp(invite.stamp)
        .starts(start)
        .ends(end)
        .summary(invite.summary)
        .location(&format!(
            "{}, {}",
            invite.office.name, invite.office.address
        ))
        .status(if invite.cancelled {
            EventStatus::Cancelled
        } else {
            EventStatus::Confirmed
        });
    let mut calendar = Calendar::new();
    calendar.append_property(Property::new(
        "METHOD",
        if invite.cancelled {
            "CANCEL"
        } else {
            "REQUEST"
        },
    ));
    calendar.push(event.done());
    Ok(calendar.done().to_string().into_bytes())
}
