//! The I/O-free core of campaign-lifecycle: campaigns, their timers, the one state machine
//! that moves them, validation of new campaigns, bulk deliveries (runs, batches, the
//! recipient ledger), the campaign schedule and misfire rules, recurring series (cron in a
//! time zone, DST, misfire and overlap policies), lifecycle events, alerts and the alert
//! fan-out's routing and noise control, timer messages, timestamps and the clock port. No AWS
//! types, no async runtime, no I/O: every function here is a pure function of its arguments
//! (and of an injected [`Clock`]), so it is unit-tested without an emulator.

#![warn(missing_docs)]

pub mod alert;
pub mod alerting;
pub mod audit;
pub mod campaign;
pub mod campaign_move;
pub mod campaign_recovery;
pub mod clock;
pub mod consumers;
pub mod delivery;
pub mod due_timer;
pub mod event;
pub mod event_type;
pub mod firing;
pub mod health;
pub mod jitter;
pub mod misfire;
pub mod recovery;
pub mod recovery_log;
pub mod recurrence;
pub mod schedule;
pub mod state_machine;
pub mod stored_event;
pub mod timer;
pub mod timer_messages;
pub mod timer_plan;
pub mod timestamp;
pub mod validation;

#[cfg(test)]
mod wire_names_tests;

pub use alert::{Alert, AlertContext, AlertKind, AlertStatus, Severity};
pub use audit::AuditRecord;
pub use campaign::{Campaign, CampaignId, CampaignStatus};
pub use clock::{Clock, ManualClock, SystemClock};
pub use due_timer::DueTimer;
pub use event::{BusEvent, EventType, LifecycleEvent};
pub use misfire::{MisfirePolicy, MissedTimer};
pub use state_machine::{IllegalTransition, Transition};
pub use stored_event::{Outboxed, StoredEvent};
pub use timer::{Timer, TimerEffect, TimerId, TimerKind, TimerStatus};
pub use timestamp::Timestamp;
pub use validation::{FieldErrors, NewCampaign, ValidatedCampaign};
