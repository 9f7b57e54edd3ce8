//! What the fan-out needs from the world, as a trait: the configuration, the alert states
//! in the store, the channels' breakers and the channels themselves. [`crate::services`]
//! implements it over AWS; the tests over fakes.

use std::future::Future;

use lifecycle_adapters::store::{PendingNotification, StoredAlertState};
use lifecycle_domain::Timestamp;
use lifecycle_domain::alerting::{
    AlertChannel, AlertConfig, Decision, NoiseSettings, Notification,
};
use lifecycle_domain::delivery::provider_response::SendOutcome;
use lifecycle_domain::recovery_log::{Counts, RecoveryEvent};
use lifecycle_resilience::Admission;

/// A failed store or configuration read (the message or the check is tried again).
pub type PortError = String;

/// The fan-out's ports.
pub trait AlertPorts: Sync {
    /// The configuration in force (the stored one, else the environment's; cached briefly).
    fn config(&self) -> impl Future<Output = Result<AlertConfig, PortError>> + Send;

    /// Files `entry` in the recovery log and adds `counts` to its hour, once (a repeat finds
    /// the entry filed and adds nothing).
    fn file_recovery(
        &self,
        entry: &RecoveryEvent,
        counts: &Counts,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// The state of `cause` (consistent read).
    fn state(
        &self,
        cause: &str,
    ) -> impl Future<Output = Result<Option<StoredAlertState>, PortError>> + Send;

    /// Stores `decision` made at `now` from `read`, its notification pending for `channels`;
    /// `None` if another instance stored a decision from the same read first.
    fn store_decision(
        &self,
        read: Option<&StoredAlertState>,
        decision: &Decision,
        channels: &[AlertChannel],
        settings: NoiseSettings,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<StoredAlertState>, PortError>> + Send;

    /// `sent` was delivered; `false` if it already was.
    fn settle(
        &self,
        cause: &str,
        sent: &PendingNotification,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Takes `entry` (as read) for one try until `until`; `false` if another try has it.
    fn claim(
        &self,
        cause: &str,
        entry: &PendingNotification,
        until: Timestamp,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Keeps `failed` (updated by the caller) for a retry at its `retry_at`.
    fn defer(
        &self,
        cause: &str,
        failed: &PendingNotification,
        stored_check_at: Option<Timestamp>,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// States whose check is due at `now` (at most `limit`).
    fn due_states(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredAlertState>, PortError>> + Send;

    /// Moves `read`'s next check to what it holds; `false` if it changed since it was read.
    fn reschedule(
        &self,
        read: &StoredAlertState,
        settings: NoiseSettings,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Whether `channel`'s breaker lets a send through now.
    fn admit(
        &self,
        channel: AlertChannel,
        now: Timestamp,
    ) -> impl Future<Output = Admission> + Send;

    /// Records the outcome of a send `admission` let through.
    fn record(
        &self,
        channel: AlertChannel,
        admission: &Admission,
        outcome: &SendOutcome,
        now: Timestamp,
    ) -> impl Future<Output = ()> + Send;

    /// Sends `notification` through `channel` (one attempt).
    fn send(
        &self,
        channel: AlertChannel,
        config: &AlertConfig,
        notification: &Notification,
        now: Timestamp,
    ) -> impl Future<Output = SendOutcome> + Send;
}
