//! The alert fan-out's rules, decided without I/O: which channels an alert goes to by its
//! severity ([`routing`]), whether it is notified, counted or turned into a reminder or a
//! resolved notice given what was notified before for the same cause ([`noise`]), and what
//! each channel sends ([`notification`]).

pub mod noise;
pub mod notification;
pub mod routing;

pub use noise::{AlertState, Decision, NoiseSettings, Notice};
pub use notification::Notification;
pub use routing::{AlertChannel, Routing};
