//! The calendar: a month of the office's days, the bookable ones offered, with the previous
//! and the next month within the booking window. Dates are the office's own (its time zone).

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::slot::enter_day;
use super::waitlist::join;
use super::{go, stay};
use crate::conversation::input;
use crate::conversation::offer::{Action, Options, Picked};
use crate::conversation::reply::{CalendarDay, CalendarView, Choice, Reply};
use crate::conversation::state::{AppRef, ChoosingDay, ChoosingOffice, STEP_DAY};
use crate::conversation::{Context, Outcome};
use crate::domain::calendar::{self, DayStatus, Office};

/// An option of the calendar step.
#[derive(Debug, Clone, Copy, PartialEq)]
enum DayOption {
    Day(NaiveDate),
    PreviousMonth,
    NextMonth,
    /// None of the days suits: wait for an earlier seat.
    Waitlist,
}

/// The values of `choose_day.txt`.
#[derive(Serialize)]
struct MonthShown {
    month: NaiveDate,
    /// Days of the month (numbers) that are open but full.
    full_days: Vec<u32>,
    available: usize,
    first_day: NaiveDate,
}

/// The bookable window for this application at this office.
pub(super) fn window(office_id: &str, ctx: &Context<'_>) -> (NaiveDate, NaiveDate) {
    let today = ctx.procedure.today_at(office_id, ctx.now);
    let paid_on = ctx.application.as_ref().map(|a| a.paid_on).unwrap_or(today);
    ctx.procedure.booking.window(today, paid_on)
}

fn day_statuses(
    office: &Office,
    month: NaiveDate,
    ctx: &Context<'_>,
) -> Vec<(NaiveDate, DayStatus)> {
    let window = window(&office.id, ctx);
    calendar::month_days(month)
        .into_iter()
        .map(|day| {
            let taken = ctx.availability.day_taken(&office.id, day);
            (
                day,
                ctx.procedure.booking.day_status(office, day, window, taken),
            )
        })
        .collect()
}

/// Shows the calendar of `month` (or of the first month with a free day) at `office_id`.
pub(super) fn enter_month(
    app: &AppRef,
    office_id: &str,
    month: Option<NaiveDate>,
    replacing: Option<i64>,
    before: Vec<Reply>,
    ctx: &Context<'_>,
) -> Outcome {
    let Some(office) = ctx.procedure.office(office_id) else {
        let state = ChoosingOffice {
            app: app.clone(),
            replacing,
        };
        return go(state, before, ctx);
    };
    let (first, last) = window(office_id, ctx);
    let has_free_day = |month: NaiveDate| {
        day_statuses(office, month, ctx)
            .iter()
            .any(|(_, s)| *s == DayStatus::Available)
    };
    let month = match month {
        Some(month) => month,
        None => {
            // The first month of the window that has a free day.
            let mut candidate = calendar::month_start(first);
            let mut found = None;
            while candidate <= last {
                if has_free_day(candidate) {
                    found = Some(candidate);
                    break;
                }
                candidate = calendar::next_month(candidate);
            }
            match found {
                Some(month) => month,
                None => {
                    // Nothing free in the whole window: offer to wait for a seat.
                    let mut replies = before;
                    replies.push(Reply::new("no_days_available"));
                    return join(app, office_id, replies, ctx);
                }
            }
        }
    };
    let offered = day_statuses(office, month, ctx)
        .into_iter()
        .filter(|(_, s)| *s == DayStatus::Available)
        .map(|(d, _)| d)
        .collect();
    let state = ChoosingDay {
        app: app.clone(),
        office: office.id.clone(),
        month,
        offered,
        replacing,
    };
    go(state, before, ctx)
}

impl ChoosingDay {
    fn options(&self, ctx: &Context<'_>) -> Options<DayOption> {
        let (first, last) = window(&self.office, ctx);
        let mut options = Options::new(self.offered.iter().map(|day| {
            let choice = Choice::new(day.to_string(), ctx.labels.short_date(*day));
            (DayOption::Day(*day), choice)
        }));
        if calendar::month_start(first) < self.month {
            let choice = Action::PreviousMonth.choice(ctx);
            options.push(DayOption::PreviousMonth, choice);
        }
        if calendar::next_month(self.month) <= last {
            options.push(DayOption::NextMonth, Action::NextMonth.choice(ctx));
        }
        let waiting = ctx.application.as_ref().and_then(|v| v.waiting.as_ref());
        if waiting.is_none_or(|w| w.office_id != self.office) {
            options.push(DayOption::Waitlist, Action::JoinWaitlist.choice(ctx));
        }
        options
    }

    /// A day typed rather than picked (one that is not offered: full, closed, out of the
    /// window), with or without its year: without one, the first such day from the month shown.
    fn typed_day(&self, text: &str, ctx: &Context<'_>) -> Option<NaiveDate> {
        let vocabulary = ctx.vocabulary();
        if let Ok(day) = input::parse_date(vocabulary, text) {
            return Some(day);
        }
        let year = self.month.year();
        (year..=year + 1)
            .filter_map(|year| input::parse_date(vocabulary, &format!("{text} {year}")).ok())
            .find(|day| *day >= self.month)
    }

    pub(super) fn prompt(&self, ctx: &Context<'_>) -> Reply {
        let (first, last) = window(&self.office, ctx);
        let statuses = ctx
            .procedure
            .office(&self.office)
            .map(|o| day_statuses(o, self.month, ctx))
            .unwrap_or_default();
        let full_days = statuses
            .iter()
            .filter(|(_, s)| *s == DayStatus::Full)
            .map(|(d, _)| chrono::Datelike::day(d))
            .collect();
        let view = CalendarView {
            month: self.month,
            days: statuses
                .iter()
                .map(|(date, status)| CalendarDay {
                    date: *date,
                    status: (*status).into(),
                })
                .collect(),
            has_previous: calendar::month_start(first) < self.month,
            has_next: calendar::next_month(self.month) <= last,
        };
        Reply::new("choose_day")
            .progress(STEP_DAY)
            .vars(MonthShown {
                month: self.month,
                full_days,
                available: self.offered.len(),
                first_day: first,
            })
            .choices(self.options(ctx).into_choices())
            .calendar(view)
    }

    pub(in crate::conversation) fn on_text(&self, text: &str, ctx: &Context<'_>) -> Outcome {
        let options = self.options(ctx);
        let month = |month| {
            enter_month(
                &self.app,
                &self.office,
                Some(month),
                self.replacing,
                Vec::new(),
                ctx,
            )
        };
        let chosen = match options.pick(text, ctx) {
            Picked::One(DayOption::PreviousMonth) => {
                return month(calendar::previous_month(self.month));
            }
            Picked::One(DayOption::NextMonth) => return month(calendar::next_month(self.month)),
            Picked::One(DayOption::Waitlist) => {
                return join(&self.app, &self.office, Vec::new(), ctx);
            }
            Picked::One(DayOption::Day(day)) => Some(day),
            Picked::Ambiguous(_) => None,
            Picked::None => self.typed_day(text, ctx),
        };
        let Some(day) = chosen else {
            return stay(
                &self.clone().into(),
                vec![options.not_understood(text, ctx)],
                ctx,
            );
        };
        let Some(office) = ctx.procedure.office(&self.office) else {
            let state = ChoosingOffice {
                app: self.app.clone(),
                replacing: self.replacing,
            };
            return go(state, Vec::new(), ctx);
        };
        let taken = ctx.availability.day_taken(&self.office, day);
        let window = window(&self.office, ctx);
        match ctx.procedure.booking.day_status(office, day, window, taken) {
            DayStatus::Available => {
                enter_day(&self.app, office, day, self.replacing, Vec::new(), ctx)
            }
            status => {
                let explanation = Reply::new("day_not_bookable")
                    .with("day", day)
                    .with("status", day_status_key(status));
                // Show the month of the day they asked for when it is within the window.
                let month_of_day = calendar::month_start(day);
                let (first, last) = window;
                if month_of_day != self.month && day >= calendar::month_start(first) && day <= last
                {
                    let before = vec![explanation];
                    enter_month(
                        &self.app,
                        &self.office,
                        Some(month_of_day),
                        self.replacing,
                        before,
                        ctx,
                    )
                } else {
                    stay(&self.clone().into(), vec![explanation], ctx)
                }
            }
        }
    }
}

fn day_status_key(status: DayStatus) -> &'static str {
    match status {
        DayStatus::Available => "available",
        DayStatus::Full => "full",
        DayStatus::Closed => "closed",
        DayStatus::OutOfWindow => "out_of_window",
    }
}
