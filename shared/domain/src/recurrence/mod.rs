//! Recurring campaigns: a cron schedule in the user's time zone with EventBridge's DST
//! policy ([`cron_schedule`]), the series' bounds and policies as requested and stored
//! ([`series`]), what becomes of missed occurrences ([`catch_up`]) and of overlapping ones
//! ([`overlap`]), the preview of the next occurrences ([`preview`]), and what firing the
//! series' OCCURRENCE timer does ([`occurrence_step`]) to its stored [`progress`]. The semantics are
//! written up in `docs/recurring.md`.

pub mod catch_up;
pub mod cron_schedule;
pub mod iso_duration;
pub mod occurrence_step;
pub mod overlap;
pub mod preview;
pub mod progress;
pub mod series;

#[cfg(test)]
mod cron_schedule_tests;
#[cfg(test)]
mod occurrence_step_tests;
#[cfg(test)]
mod series_tests;

pub use catch_up::{CatchUp, Misfire};
pub use cron_schedule::{CronSchedule, LocalTime, Slot};
pub use occurrence_step::{HandledSlot, OccurrenceStep, SlotOutcome};
pub use overlap::{Overlap, OverlapDecision};
pub use preview::{PreviewEntry, preview};
pub use progress::SeriesProgress;
pub use series::{NewSchedule, Series};
