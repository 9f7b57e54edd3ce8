//! The domain: campaigns, their timers, the one state machine that moves them, validation of
//! new campaigns, and the lifecycle events. Pure logic, no AWS types.

pub mod campaign;
pub mod due_timer;
pub mod event;
pub mod state_machine;
pub mod timer;
pub mod timer_plan;
pub mod validation;

pub use campaign::{Campaign, CampaignId, CampaignStatus};
pub use due_timer::DueTimer;
pub use event::{EventType, LifecycleEvent};
pub use state_machine::{IllegalTransition, Transition};
pub use timer::{Timer, TimerEffect, TimerId, TimerKind, TimerStatus};
pub use validation::{FieldErrors, NewCampaign, ValidatedCampaign};
