//! The alert fan-out's rules, decided without I/O: which channels an alert goes to by its
//! severity ([`routing`]), and whether it is notified, counted or turned into a reminder or
//! a resolved notice given what was notified before for the same cause ([`noise`]).

pub mod noise;
pub mod routing;

pub use noise::{AlertState, Decision, NoiseSettings, Notice};
pub use routing::{AlertChannel, Routing};
