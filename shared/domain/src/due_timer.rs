//! The part of a timer the executor needs to fire it without reading it first: what the
//! dispatcher (and the API, for short-notice timers) puts on the timers queue.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::campaign::CampaignId;
use crate::timer::{Timer, TimerEffect, TimerId, TimerKind};

/// A timer handed to the executor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DueTimer {
    /// The timer's id.
    pub timer_id: TimerId,
    /// The campaign it acts on.
    pub campaign_id: CampaignId,
    /// Which step of the lifecycle it is.
    pub kind: TimerKind,
    /// When it is due.
    pub due_at: Timestamp,
    /// What firing it does.
    #[serde(flatten)]
    pub effect: TimerEffect,
    /// See [`Timer::run_id`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<crate::delivery::RunId>,
    /// See [`Timer::next_deadline`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_deadline: Option<Timestamp>,
}

impl From<&Timer> for DueTimer {
    fn from(timer: &Timer) -> Self {
        Self {
            timer_id: timer.timer_id.clone(),
            campaign_id: timer.campaign_id.clone(),
            kind: timer.kind,
            due_at: timer.due_at,
            effect: timer.effect,
            run_id: timer.run_id.clone(),
            next_deadline: timer.next_deadline,
        }
    }
}
