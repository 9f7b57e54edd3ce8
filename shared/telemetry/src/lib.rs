//! Telemetry of every function: log setup (JSON lines on Lambda, readable lines locally) and
//! CloudWatch metrics as Embedded Metric Format lines, each an entry of the metric catalogue.

pub mod catalogue;
mod log_format;
pub mod logging;
pub mod metrics;

pub use log_format::LogFormat;
