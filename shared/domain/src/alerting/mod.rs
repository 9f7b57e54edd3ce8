//! The alert fan-out's rules, decided without I/O: which channels an alert goes to by its
//! severity ([`routing`]; with the channels' destinations, the [`config`]), whether it is
//! notified, counted or turned into a reminder or a resolved notice given what was notified
//! before for the same cause ([`noise`]), what each channel sends ([`notification`]) and when a failed send is tried again ([`retry`]).

pub mod config;
pub mod noise;
pub mod notification;
pub mod retry;
pub mod routing;
pub mod run_alert;
pub mod test_alert;

pub use config::AlertConfig;
pub use noise::{AlertState, Decision, NoiseSettings, Notice};
pub use notification::Notification;
pub use routing::{AlertChannel, Routing};
pub use test_alert::{TEST_ALERT_DETAIL_TYPE, TestAlertRequest};
