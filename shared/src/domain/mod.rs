//! The domain: campaigns, their timers, the one state machine that moves them, validation of
//! new campaigns, the campaign clock and misfire rules, lifecycle events and alerts. Pure
//! logic, no AWS types.

pub mod alert;
pub mod audit;
pub mod campaign;
pub mod clock;
pub mod due_timer;
pub mod event;
pub mod health;
pub mod misfire;
pub mod recovery;
pub mod state_machine;
pub mod timer;
pub mod timer_plan;
pub mod validation;

pub use alert::{Alert, AlertKind, Severity};
pub use audit::AuditRecord;
pub use campaign::{Campaign, CampaignId, CampaignStatus};
pub use due_timer::DueTimer;
pub use event::{BusEvent, EventType, LifecycleEvent};
pub use misfire::{MisfirePolicy, MissedTimer};
pub use state_machine::{IllegalTransition, Transition};
pub use timer::{Timer, TimerEffect, TimerId, TimerKind, TimerStatus};
pub use validation::{FieldErrors, NewCampaign, ValidatedCampaign};
