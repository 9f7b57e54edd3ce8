//! Failure patterns: a regular expression over an error's `code: message` text that sets its
//! category and severity, names the recovery actions and how often they may run. Built-in
//! defaults cover the AWS failures we know; operators add their own (stored in DynamoDB, see
//! `store::patterns`), which are matched first. Every error of every request is matched, so
//! operators' patterns are bounded: at most [`MAX_OPERATOR_PATTERNS`] of them, each at most
//! 512 characters compiling to at most [`MAX_COMPILED_BYTES`]. Some classes are never
//! matched at all (see `ErrorClass::is_fixed`).

use regex_lite::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::classification::{ErrorCategory, ErrorSeverity};

/// What to do when a pattern matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecoveryAction {
    /// Retry the request (with backoff, within the budget) even if its code alone says no.
    Retry,
    /// Never retry the request; the work goes to its dead-letter queue.
    DeadLetter,
    /// Raise an operator alert, at most once per cooldown.
    Alert,
}

/// One pattern, as stored and as accepted by `POST /recovery/patterns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailurePattern {
    /// Unique id (`[a-z0-9_-]`, 1–64 characters).
    pub id: String,
    /// Regular expression matched against `code: message` (`(?i)` for case-insensitive).
    pub pattern: String,
    pub category: ErrorCategory,
    pub severity: ErrorSeverity,
    #[serde(default)]
    pub actions: Vec<RecoveryAction>,
    /// Minimum time between two runs of the pattern's actions.
    #[serde(default)]
    pub cooldown_ms: u64,
}

/// Most operators' patterns in use: `POST /recovery/patterns` refuses more, and loading uses
/// the first ones by id if the store holds more.
pub const MAX_OPERATOR_PATTERNS: usize = 50;
/// Longest accepted regular expression.
const MAX_PATTERN_LEN: usize = 512;
/// Largest compiled pattern, in bytes (regex-lite's `size_limit`, its estimate of the
/// program's heap size). Matching time grows with it, and every error text is matched against
/// every pattern: the built-in patterns need under 5 KiB, a 512-character literal under
/// 25 KiB, while counted repetitions such as `(?:x{100}){100}` need hundreds of KiB.
pub const MAX_COMPILED_BYTES: usize = 32 * 1024;
/// Longest accepted cooldown (one day).
const MAX_COOLDOWN_MS: u64 = 86_400_000;

/// One problem with a pattern, by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatternFieldError {
    pub field: &'static str,
    pub message: String,
}

impl FailurePattern {
    /// Checks every field; returns all problems found.
    pub fn validate(&self) -> Result<(), Vec<PatternFieldError>> {
        let mut errors = Vec::new();
        let valid_id = !self.id.is_empty()
            && self.id.len() <= 64
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !valid_id {
            errors.push(PatternFieldError {
                field: "id",
                message: "must be 1-64 characters of a-z, 0-9, _ and -".into(),
            });
        }
        if self.pattern.is_empty() || self.pattern.len() > MAX_PATTERN_LEN {
            errors.push(PatternFieldError {
                field: "pattern",
                message: format!("must be 1-{MAX_PATTERN_LEN} characters"),
            });
        } else if let Err(error) = compile(&self.pattern) {
            errors.push(PatternFieldError {
                field: "pattern",
                message: format!(
                    "is not a valid regular expression of at most {MAX_COMPILED_BYTES} compiled bytes: {error}"
                ),
            });
        }
        if self.cooldown_ms > MAX_COOLDOWN_MS {
            errors.push(PatternFieldError {
                field: "cooldownMs",
                message: format!("must be at most {MAX_COOLDOWN_MS}"),
            });
        }
        if self.actions.contains(&RecoveryAction::Retry)
            && self.actions.contains(&RecoveryAction::DeadLetter)
        {
            errors.push(PatternFieldError {
                field: "actions",
                message: "RETRY and DEAD_LETTER contradict each other".into(),
            });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The built-in patterns, matched after the operators' own.
pub fn default_patterns() -> Vec<FailurePattern> {
    let pattern =
        |id: &str, regex: &str, category, severity, actions: &[RecoveryAction], cooldown_ms| {
            FailurePattern {
                id: id.into(),
                pattern: regex.into(),
                category,
                severity,
                actions: actions.to_vec(),
                cooldown_ms,
            }
        };
    use ErrorCategory as C;
    use ErrorSeverity as S;
    use RecoveryAction as A;
    vec![
        pattern(
            "aws-throttling",
            r"(?i)throttl|ProvisionedThroughputExceeded|TooManyRequests|RequestLimitExceeded|SlowDown",
            C::ResourceExhaustion,
            S::Medium,
            &[A::Retry],
            60_000,
        ),
        pattern(
            "network-timeout",
            r"(?i)timeout|timed out|ETIMEDOUT",
            C::Transient,
            S::Low,
            &[A::Retry],
            30_000,
        ),
        pattern(
            "connection-failure",
            r"(?i)DispatchFailure|connection (refused|reset|closed)|ECONNREFUSED|ECONNRESET|dns error",
            C::Transient,
            S::Medium,
            &[A::Retry],
            30_000,
        ),
        pattern(
            "access-denied",
            r"(?i)AccessDenied|not authorized|UnrecognizedClient|InvalidClientTokenId|ExpiredToken|InvalidSignature",
            C::Security,
            S::Critical,
            &[A::DeadLetter, A::Alert],
            300_000,
        ),
        pattern(
            "missing-resource",
            r"(?i)ResourceNotFound|NonExistentQueue|QueueDoesNotExist",
            C::Configuration,
            S::High,
            &[A::Alert],
            300_000,
        ),
    ]
}

/// Compiles `pattern` within [`MAX_COMPILED_BYTES`].
fn compile(pattern: &str) -> Result<Regex, regex_lite::Error> {
    RegexBuilder::new(pattern)
        .size_limit(MAX_COMPILED_BYTES)
        .build()
}

/// Compiled patterns in match order.
#[derive(Debug, Clone, Default)]
pub struct PatternSet {
    patterns: Vec<(FailurePattern, Regex)>,
}

impl PatternSet {
    /// Compiles `patterns` in the given order; invalid or oversized ones are logged and left
    /// out.
    pub fn new(patterns: impl IntoIterator<Item = FailurePattern>) -> Self {
        let patterns = patterns
            .into_iter()
            .filter_map(|pattern| match compile(&pattern.pattern) {
                Ok(regex) => Some((pattern, regex)),
                Err(error) => {
                    tracing::warn!(pattern = pattern.id, error = %error, "failure pattern left out: invalid regular expression");
                    None
                }
            })
            .collect();
        Self { patterns }
    }

    /// The operators' patterns first (the first [`MAX_OPERATOR_PATTERNS`] of them; the rest
    /// are logged and left out), then the defaults.
    pub fn with_defaults(admin: impl IntoIterator<Item = FailurePattern>) -> Self {
        let mut admin: Vec<FailurePattern> = admin.into_iter().collect();
        if admin.len() > MAX_OPERATOR_PATTERNS {
            let left_out: Vec<String> = admin
                .drain(MAX_OPERATOR_PATTERNS..)
                .map(|pattern| pattern.id)
                .collect();
            tracing::warn!(
                used = MAX_OPERATOR_PATTERNS,
                left_out = ?left_out,
                "more operator failure patterns than the limit; the first ones are used"
            );
        }
        Self::new(admin.into_iter().chain(default_patterns()))
    }

    /// The first pattern matching `code: message`.
    pub fn find(&self, code: &str, message: &str) -> Option<&FailurePattern> {
        let text = format!("{code}: {message}");
        self.patterns
            .iter()
            .find(|(_, regex)| regex.is_match(&text))
            .map(|(pattern, _)| pattern)
    }

    /// How many patterns are compiled.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.patterns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(id: &str, regex: &str) -> FailurePattern {
        FailurePattern {
            id: id.into(),
            pattern: regex.into(),
            category: ErrorCategory::ExternalDependency,
            severity: ErrorSeverity::High,
            actions: vec![RecoveryAction::Alert],
            cooldown_ms: 1000,
        }
    }

    #[test]
    fn defaults_match_the_aws_failures_they_name() {
        let set = PatternSet::with_defaults([]);
        let table = [
            ("ThrottlingException", "Rate exceeded", "aws-throttling"),
            (
                "ProvisionedThroughputExceededException",
                "",
                "aws-throttling",
            ),
            ("Timeout", "operation timed out", "network-timeout"),
            (
                "DispatchFailure",
                "io error: Connection refused",
                "connection-failure",
            ),
            (
                "AccessDeniedException",
                "User is not authorized",
                "access-denied",
            ),
            (
                "AWS.SimpleQueueService.NonExistentQueue",
                "",
                "missing-resource",
            ),
        ];
        for (code, message, id) in table {
            assert_eq!(
                set.find(code, message).map(|p| p.id.as_str()),
                Some(id),
                "{code}"
            );
        }
        assert!(
            set.find(
                "ConditionalCheckFailedException",
                "The conditional request failed"
            )
            .is_none()
        );
    }

    #[test]
    fn operator_patterns_are_matched_before_the_defaults() {
        let set = PatternSet::with_defaults([admin("partner-throttle", r"(?i)throttl.*partner")]);
        assert_eq!(
            set.find("ThrottlingException", "throttled by partner API")
                .unwrap()
                .id,
            "partner-throttle"
        );
        assert_eq!(
            set.find("ThrottlingException", "Rate exceeded").unwrap().id,
            "aws-throttling"
        );
    }

    #[test]
    fn invalid_patterns_are_rejected_field_by_field() {
        let mut bad = admin("Bad Id", "(unclosed");
        bad.cooldown_ms = MAX_COOLDOWN_MS + 1;
        bad.actions = vec![RecoveryAction::Retry, RecoveryAction::DeadLetter];
        let fields: Vec<&str> = bad
            .validate()
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["id", "pattern", "cooldownMs", "actions"]);
        assert!(admin("ok-1", "x+").validate().is_ok());
        assert_eq!(PatternSet::new([admin("broken", "(")]).len(), 0);
    }

    #[test]
    fn patterns_that_compile_too_large_are_refused_and_never_loaded() {
        for regex in [r"(?:x{100}){100}", r"x{2000}", r"(?i)\w{1000}"] {
            assert!(regex.len() <= MAX_PATTERN_LEN, "{regex}");
            let errors = admin("huge", regex).validate().unwrap_err();
            assert_eq!(errors[0].field, "pattern", "{regex}");
            assert!(errors[0].message.contains("compiled bytes"), "{errors:?}");
            assert_eq!(PatternSet::new([admin("huge", regex)]).len(), 0, "{regex}");
        }
        let long_literal = format!("(?i){}", "abcdefgh".repeat(63));
        assert!(admin("long", &long_literal).validate().is_ok());
        for pattern in default_patterns() {
            assert!(pattern.validate().is_ok(), "{}", pattern.id);
        }
    }

    #[test]
    fn only_the_first_operator_patterns_up_to_the_limit_are_loaded() {
        let many = (0..MAX_OPERATOR_PATTERNS + 20).map(|i| admin(&format!("p{i:03}"), "x"));
        let set = PatternSet::with_defaults(many);
        assert_eq!(set.len(), MAX_OPERATOR_PATTERNS + default_patterns().len());
        assert_eq!(set.find("X", "x").unwrap().id, "p000");
        assert!(
            set.patterns
                .iter()
                .all(|(p, _)| p.id != format!("p{MAX_OPERATOR_PATTERNS:03}"))
        );
    }
}
