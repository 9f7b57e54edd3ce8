//! The recovery log: what failed and what was recovered, for operators. Each entry
//! ([`RecoveryEvent`]) is derived from an alert ([`from_alert`]) or a sweep's report
//! ([`from_sweep`]) and adds to hourly [`counters`]; statistics over a window
//! ([`statistics`]) and the health report with its recommendations ([`report`]) are computed
//! from those counters, never by reading every entry.

pub mod counters;
pub mod entry;
pub mod from_alert;
pub mod from_sweep;
pub mod query;
pub mod report;
pub mod sanitize;
pub mod statistics;

pub use counters::{Counter, Counts, HourCounts};
pub use entry::{EventCategory, RecoveryEvent, Resolution};
pub use query::EventQuery;
