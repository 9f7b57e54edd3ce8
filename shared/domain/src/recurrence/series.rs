//! A recurring campaign's series: its cron schedule, its bounds (`startAt`, `endAt`,
//! `maxRuns`), how long each run stays open, and its misfire and overlap policies; as
//! requested ([`NewSchedule`], every problem reported against its `schedule.*` field) and as
//! stored ([`Series`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Timestamp;
use crate::recurrence::catch_up::{DEFAULT_MAX_CATCH_UP, MAX_CATCH_UP, Misfire};
use crate::recurrence::cron_schedule::{CronSchedule, Slot};
use crate::recurrence::iso_duration::parse_duration_ms;
use crate::recurrence::overlap::Overlap;
use crate::validation::{FieldErrors, MAX_PAST_MILLIS, optional_time};

/// Most runs a series may be limited to.
pub const MAX_RUNS: u64 = 100_000;
/// Longest run window: a year.
pub const MAX_RUN_DURATION_MS: i64 = 366 * 24 * 60 * 60 * 1000;

/// A schedule as requested, before validation (times RFC 3339, `runDuration` ISO 8601).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSchedule {
    /// 5 fields, or 6 with seconds first (required).
    pub cron: Option<String>,
    /// IANA zone name; default `UTC`.
    pub timezone: Option<String>,
    /// No run before this; default: when the schedule is validated.
    pub start_at: Option<String>,
    /// No run after this.
    pub end_at: Option<String>,
    /// At most this many runs.
    pub max_runs: Option<Value>,
    /// How long each run's window stays open, e.g. `PT2H`.
    pub run_duration: Option<String>,
    /// `fireOnceNow` (default), `skip` or `fireAll`.
    pub misfire: Option<String>,
    /// With `fireAll`: at most this many catch-up runs (default 10).
    pub max_catch_up: Option<Value>,
    /// `skip` (default) or `bufferOne`.
    pub overlap: Option<String>,
}

/// A validated series, as stored with its campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    /// The cron expression.
    pub cron: String,
    /// The IANA zone it is read in.
    pub timezone: String,
    /// No run before this.
    pub start_at: Timestamp,
    /// No run after this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_at: Option<Timestamp>,
    /// At most this many runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_runs: Option<u64>,
    /// How long each run's window stays open, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_duration_ms: Option<i64>,
    /// What happens to occurrences missed by more than the grace period.
    pub misfire: Misfire,
    /// What happens to an occurrence while the previous run still delivers.
    pub overlap: Overlap,
}

impl NewSchedule {
    /// Checks every field against `now`, adding problems to `errors` under `schedule.*`;
    /// returns the series if this part is valid. The series lies inside its campaign's
    /// `window` (`startAt`, `endAt`) when that is known: its `startAt` and `endAt` default to
    /// the window's and may not reach outside it. A series must have at least one occurrence
    /// inside its bounds.
    pub fn validate(
        &self,
        now: Timestamp,
        window: Option<(Timestamp, Timestamp)>,
        errors: &mut FieldErrors,
    ) -> Option<Series> {
        let before = errors.0.len();
        let expression = self.cron.as_deref().map(str::trim).unwrap_or_default();
        let timezone = self.timezone.as_deref().map(str::trim).unwrap_or("UTC");
        if expression.is_empty() {
            errors.add("schedule.cron", "is required");
        }
        let cron = match CronSchedule::new(expression, timezone) {
            Ok(cron) => Some(cron),
            Err((cron, zone)) => {
                if let (Some(message), false) = (cron, expression.is_empty()) {
                    errors.add("schedule.cron", message);
                }
                if let Some(message) = zone {
                    errors.add("schedule.timezone", message);
                }
                None
            }
        };
        let (window_start, window_end) = window.map_or((now, None), |(s, e)| (s, Some(e)));
        let start_at = optional_time(errors, "schedule.startAt", self.start_at.as_deref(), now)
            .unwrap_or(window_start);
        // The campaign closes at its endAt: the series' last occurrence is before it.
        let end_at = optional_time(errors, "schedule.endAt", self.end_at.as_deref(), now)
            .or(window_end.map(|end| end.plus_millis(-1)));
        if window.is_some() && start_at < window_start {
            errors.add(
                "schedule.startAt",
                "must not be before the campaign's startAt",
            );
        }
        if let (Some(end), Some(window_end)) = (end_at, window_end)
            && end >= window_end
        {
            errors.add("schedule.endAt", "must be before the campaign's endAt");
        }
        if start_at.millis_since(now) < -MAX_PAST_MILLIS {
            errors.add(
                "schedule.startAt",
                "must not be more than one hour in the past",
            );
        }
        if let Some(end) = end_at
            && end <= start_at
        {
            errors.add("schedule.endAt", "must be after schedule.startAt");
        }
        let max_runs = bounded_count(errors, "schedule.maxRuns", &self.max_runs, MAX_RUNS);
        let run_duration_ms =
            self.run_duration
                .as_deref()
                .and_then(|text| match parse_duration_ms(text) {
                    Ok(ms) if (1..=MAX_RUN_DURATION_MS).contains(&ms) => Some(ms),
                    Ok(_) => {
                        errors.add(
                            "schedule.runDuration",
                            "must be longer than zero and at most 366 days",
                        );
                        None
                    }
                    Err(message) => {
                        errors.add("schedule.runDuration", message);
                        None
                    }
                });
        let misfire = self.misfire(errors);
        let overlap = match self.overlap.as_deref() {
            None => Some(Overlap::default()),
            Some(name) => Overlap::parse(name).or_else(|| {
                errors.add("schedule.overlap", "must be skip or bufferOne");
                None
            }),
        };
        if errors.0.len() > before {
            return None;
        }
        let (cron, misfire, overlap) = (cron?, misfire?, overlap?);
        let series = Series {
            cron: cron.expression().to_owned(),
            timezone: cron.zone_name().to_owned(),
            start_at,
            end_at,
            max_runs: max_runs.flatten(),
            run_duration_ms,
            misfire,
            overlap,
        };
        if series
            .next_occurrence(&cron, start_at.plus_millis(-1))
            .is_none()
        {
            errors.add(
                "schedule.cron",
                "has no occurrence between schedule.startAt and schedule.endAt",
            );
            return None;
        }
        Some(series)
    }

    fn misfire(&self, errors: &mut FieldErrors) -> Option<Misfire> {
        let max = bounded_count(
            errors,
            "schedule.maxCatchUp",
            &self.max_catch_up,
            MAX_CATCH_UP,
        )?;
        match (self.misfire.as_deref(), max) {
            (None | Some("fireOnceNow"), None) => Some(Misfire::FireOnceNow),
            (Some("skip"), None) => Some(Misfire::Skip),
            (Some("fireAll"), max) => Some(Misfire::FireAll {
                max: max.unwrap_or(DEFAULT_MAX_CATCH_UP),
            }),
            (None | Some("fireOnceNow" | "skip"), Some(_)) => {
                errors.add(
                    "schedule.maxCatchUp",
                    "is only allowed with misfire fireAll",
                );
                None
            }
            (Some(_), _) => {
                errors.add("schedule.misfire", "must be fireOnceNow, skip or fireAll");
                None
            }
        }
    }
}

impl Series {
    /// The local times `cron` (its [`Series::cron_schedule`]) names after `after` inside the
    /// series' bounds (`startAt` ≤ it ≤ `endAt`; `maxRuns` is counted by the caller), DST
    /// skipped ones included (a skipped one is listed until an occurrence past `endAt`).
    pub fn slots_after<'a>(
        &self,
        cron: &'a CronSchedule,
        after: Timestamp,
    ) -> impl Iterator<Item = Slot> + 'a {
        let end_at = self.end_at;
        cron.slots_after(after.max(self.start_at.plus_millis(-1)))
            .take_while(move |slot| slot.at.is_none_or(|at| end_at.is_none_or(|end| at <= end)))
    }

    /// Its first occurrence (`None` if its stored schedule no longer parses or names none).
    pub fn first_occurrence(&self) -> Option<Timestamp> {
        let cron = self.cron_schedule().ok()?;
        self.next_occurrence(&cron, self.start_at.plus_millis(-1))
    }

    /// The first occurrence of the series strictly after `after` and inside its bounds.
    pub fn next_occurrence(&self, cron: &CronSchedule, after: Timestamp) -> Option<Timestamp> {
        self.slots_after(cron, after).find_map(|slot| slot.at)
    }

    /// When the window of a run started at `started_at` closes, for a series with
    /// `runDuration`: that long after its start (a late or buffered run gets its whole
    /// window), but never after its campaign's end `campaign_end`.
    pub fn run_closes_at(
        &self,
        started_at: Timestamp,
        campaign_end: Timestamp,
    ) -> Option<Timestamp> {
        self.run_duration_ms
            .map(|duration| started_at.plus_millis(duration).min(campaign_end))
    }

    /// Its cron schedule; an error if the stored expression or zone no longer parses (a
    /// corrupt item).
    pub fn cron_schedule(&self) -> Result<CronSchedule, String> {
        CronSchedule::new(&self.cron, &self.timezone).map_err(|(cron, zone)| {
            format!(
                "stored schedule {:?} in {:?} does not parse: {}",
                self.cron,
                self.timezone,
                cron.or(zone).unwrap_or_default()
            )
        })
    }
}

/// An optional whole number from 1 to `max`: `Some(None)` when absent, `None` when bad.
fn bounded_count(
    errors: &mut FieldErrors,
    field: &str,
    value: &Option<Value>,
    max: u64,
) -> Option<Option<u64>> {
    match value {
        None => Some(None),
        Some(value) => match value.as_u64() {
            Some(n) if (1..=max).contains(&n) => Some(Some(n)),
            _ => {
                errors.add(field, format!("must be a whole number from 1 to {max}"));
                None
            }
        },
    }
}
