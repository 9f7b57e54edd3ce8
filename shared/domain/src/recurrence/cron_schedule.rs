//! A cron expression in a time zone, and the instants it names, with daylight-saving time
//! handled as EventBridge Scheduler documents it: a local time that does not exist (the clock
//! springs forward over it) is skipped; a local time that exists twice (the clock falls back)
//! runs once, at its first instant.
//!
//! The expression is matched against the zone's wall clock (croner over naive local times),
//! and each local time it names is then placed on the time line by the zone's rules
//! (chrono-tz), in [`CronSchedule::place`]. So the DST policy is ours, in one function, not
//! the cron crate's: croner runs a skipped local time at the first valid time after it, and
//! the `cron` crate runs a repeated one twice.

use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::Timestamp;

/// How many local times in a row may fall in DST gaps before a search gives up: an expression
/// naming only such times (02:30 on the last Sunday of March, in Berlin) never runs.
const MAX_SKIPPED_IN_A_ROW: usize = 32;

/// A validated cron expression (5 fields, or 6 with seconds first) in an IANA time zone.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    expression: String,
    zone: Tz,
    cron: Cron,
}

/// What the zone's clock makes of a local time the expression names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTime {
    /// It exists once: it runs then.
    Unique,
    /// The clock springs forward over it: it does not exist and is skipped.
    Skipped,
    /// The clock falls back over it: it exists twice and runs once, at the first.
    Repeated,
}

/// One local time the expression names, and when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The wall-clock time in the schedule's zone.
    pub local: NaiveDateTime,
    /// When it runs; `None` for a skipped local time.
    pub at: Option<Timestamp>,
    /// Whether DST skipped or repeated it.
    pub dst: LocalTime,
}

impl CronSchedule {
    /// `expression` in `zone`, or what is wrong with each (`(expression error, zone error)`).
    pub fn new(expression: &str, zone: &str) -> Result<Self, (Option<String>, Option<String>)> {
        match (parse_expression(expression), parse_zone(zone)) {
            (Ok(cron), Ok(zone)) => Ok(Self {
                expression: expression.trim().to_owned(),
                zone,
                cron,
            }),
            (cron, zone) => Err((cron.err(), zone.err())),
        }
    }

    /// The expression as given (trimmed).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The IANA name of its zone.
    pub fn zone_name(&self) -> &'static str {
        self.zone.name()
    }

    /// The first instant strictly after `after` at which the schedule runs; `None` if it never
    /// runs again.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        self.slots_after(after).find_map(|slot| slot.at)
    }

    /// The local times the expression names after `after`, in order, skipped ones included
    /// (for a preview). Ends when the expression names no more, or after
    /// [`MAX_SKIPPED_IN_A_ROW`] skipped ones in a row.
    pub fn slots_after(&self, after: Timestamp) -> impl Iterator<Item = Slot> + '_ {
        let mut cursor = self.local(after).with_nanosecond(0).unwrap_or_default();
        let mut skipped_in_a_row = 0;
        std::iter::from_fn(move || {
            while skipped_in_a_row <= MAX_SKIPPED_IN_A_ROW {
                let local = self.cron.find_next_occurrence(&cursor, false).ok()?;
                cursor = local;
                let slot = self.place(local);
                match slot.at {
                    // A repeated local time whose first instant is already past ran then.
                    Some(at) if at <= after => continue,
                    Some(_) => skipped_in_a_row = 0,
                    None => skipped_in_a_row += 1,
                }
                return Some(slot);
            }
            None
        })
    }

    /// Places local time `local` on the time line: the DST policy.
    pub fn place(&self, local: NaiveDateTime) -> Slot {
        let (at, dst) = match self.zone.from_local_datetime(&local) {
            LocalResult::Single(at) => (Some(at), LocalTime::Unique),
            LocalResult::Ambiguous(first, _) => (Some(first), LocalTime::Repeated),
            LocalResult::None => (None, LocalTime::Skipped),
        };
        Slot {
            local,
            at: at.map(|at| Timestamp::from_millis(at.timestamp_millis())),
            dst,
        }
    }

    /// The wall-clock time in the schedule's zone at instant `at`.
    pub fn local(&self, at: Timestamp) -> NaiveDateTime {
        utc(at).with_timezone(&self.zone).naive_local()
    }

    /// Instant `at` as RFC 3339 text with the zone's offset, e.g. `2027-01-04T09:00:00+01:00`.
    pub fn local_rfc3339(&self, at: Timestamp) -> String {
        utc(at)
            .with_timezone(&self.zone)
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
    }
}

fn utc(at: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.millis()).unwrap_or_default()
}

/// Parses a cron expression: 5 fields (minute hour day-of-month month day-of-week), or 6 with
/// seconds first; `L`, `W`, `#` and `?` as in EventBridge, and EventBridge's and Quartz's
/// `start/step` (`0/15`: from 0 every 15, written `0-59/15` for croner). The error is a
/// sentence for the field's message.
pub fn parse_expression(expression: &str) -> Result<Cron, String> {
    let fields = expression.split_whitespace().count();
    if expression.contains('@') || !(5..=6).contains(&fields) {
        return Err(format!(
            "must have 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds \
             first; {fields} given"
        ));
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
        .parse(&expand_start_steps(expression, fields))
        .map_err(|error| format!("is not a valid cron expression: {error}"))
}

/// `start/step` in a field of `expression` (of `fields` fields) as `start-max/step`, the
/// field's largest value being `max`: croner accepts a step only after `*` or a range.
fn expand_start_steps(expression: &str, fields: usize) -> String {
    const MAX_WITH_SECONDS: [u32; 6] = [59, 59, 23, 31, 12, 6];
    let maxes = &MAX_WITH_SECONDS[6 - fields..];
    expression
        .split_whitespace()
        .zip(maxes)
        .map(|(field, max)| {
            field
                .split(',')
                .map(|part| match part.split_once('/') {
                    Some((start, step))
                        if !start.is_empty() && start.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        format!("{start}-{max}/{step}")
                    }
                    _ => part.to_owned(),
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses an IANA time zone name (`Europe/Berlin`, `UTC`).
pub fn parse_zone(name: &str) -> Result<Tz, String> {
    Tz::from_str(name).map_err(|_| {
        format!(
            "{name:?} is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, UTC)"
        )
    })
}
