//! The error type of the crate.

/// Why a policy or an input could not be turned into something this evaluator can decide on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A construct the evaluator cannot model; it is refused rather than ignored.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Malformed input (a missing or mistyped field, an unknown name, a bad URL).
    #[error("invalid: {0}")]
    Invalid(String),
}
