//! What went wrong, and the exit code each outcome gives scripts (README "Exit codes").

/// `campaignctl` ran into something it could not do.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The API answered an error (`{"error":{"code","message","fields"}}`, or API Gateway's
    /// `{"message"}`).
    #[error("{status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        /// Field → message, for 400 `VALIDATION_FAILED`.
        fields: Vec<(String, String)>,
    },
    /// The endpoint could not be reached, or answered something that is not the API.
    #[error("cannot reach the API: {0}")]
    Unreachable(String),
    /// The invoked function failed (Lambda's `FunctionError`).
    #[error("the function failed: {0}")]
    FunctionFailed(String),
    /// A local problem: a file, an argument the API was never asked about, configuration.
    #[error("{0}")]
    Input(String),
    /// `health` found the service unhealthy.
    #[error("the service is unhealthy")]
    Unhealthy,
}

/// Exit codes scripts can rely on.
pub mod code {
    /// Done.
    pub const OK: u8 = 0;
    /// A local problem (file, configuration, credentials).
    pub const INPUT: u8 = 1;
    /// Bad command line (clap's own code).
    pub const USAGE: u8 = 2;
    /// The thing asked for does not exist (404).
    pub const NOT_FOUND: u8 = 3;
    /// The API refused the request as it stands (400, 409, 422).
    pub const REFUSED: u8 = 4;
    /// Not allowed: unsigned, badly signed, or the credentials' access level lacks the
    /// route (401, 403).
    pub const DENIED: u8 = 5;
    /// The service failed or is throttling (5xx, 429), or an invoked function failed.
    pub const SERVICE: u8 = 6;
    /// The endpoint could not be reached.
    pub const UNREACHABLE: u8 = 7;
    /// `health`: the service answered unhealthy (503).
    pub const UNHEALTHY: u8 = 8;
}

impl CliError {
    /// The process exit code of this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Api { status, .. } => match status {
                404 => code::NOT_FOUND,
                401 | 403 => code::DENIED,
                400..=499 if *status != 429 => code::REFUSED,
                _ => code::SERVICE,
            },
            Self::Unreachable(_) => code::UNREACHABLE,
            Self::FunctionFailed(_) => code::SERVICE,
            Self::Input(_) => code::INPUT,
            Self::Unhealthy => code::UNHEALTHY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> CliError {
        CliError::Api {
            status,
            code: "X".into(),
            message: "m".into(),
            fields: vec![],
        }
    }

    #[test]
    fn statuses_map_to_the_documented_codes() {
        assert_eq!(api(404).exit_code(), code::NOT_FOUND);
        assert_eq!(api(403).exit_code(), code::DENIED);
        assert_eq!(api(401).exit_code(), code::DENIED);
        assert_eq!(api(400).exit_code(), code::REFUSED);
        assert_eq!(api(409).exit_code(), code::REFUSED);
        assert_eq!(api(422).exit_code(), code::REFUSED);
        assert_eq!(api(499).exit_code(), code::REFUSED);
        assert_eq!(api(429).exit_code(), code::SERVICE);
        assert_eq!(api(500).exit_code(), code::SERVICE);
        assert_eq!(api(503).exit_code(), code::SERVICE);
        assert_eq!(
            CliError::Unreachable("x".into()).exit_code(),
            code::UNREACHABLE
        );
        assert_eq!(
            CliError::FunctionFailed("x".into()).exit_code(),
            code::SERVICE
        );
        assert_eq!(CliError::Input("x".into()).exit_code(), code::INPUT);
        assert_eq!(CliError::Unhealthy.exit_code(), code::UNHEALTHY);
    }
}
