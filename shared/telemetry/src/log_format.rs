//! How log lines (and so metric lines) are written.

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object a line (CloudWatch Logs Insights).
    Json,
    /// One readable line (local runs).
    Text,
}
