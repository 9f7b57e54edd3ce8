//! Re-sending what a batch request left unprocessed (`BatchGetItem`, `BatchWriteItem`): a
//! few rounds with a jittered, growing wait, then an error naming what was left.

use std::time::Duration;

use lifecycle_resilience::AwsError;

use super::StoreError;

/// Rounds of re-sending unprocessed keys or items.
pub(super) const UNPROCESSED_ROUNDS: u32 = 3;

/// Before round `round` (0 = the first request) with `left` keys or items still to send:
/// waits after the first round, fails after the last one.
pub(super) async fn before_round(
    round: u32,
    operation: &'static str,
    code: &'static str,
    left: usize,
) -> Result<(), StoreError> {
    if round == UNPROCESSED_ROUNDS {
        return Err(StoreError::Aws(AwsError {
            operation,
            code: code.into(),
            message: format!("{left} left unprocessed after {UNPROCESSED_ROUNDS} rounds"),
            status: None,
        }));
    }
    if round > 0 {
        tokio::time::sleep(Duration::from_millis(lifecycle_domain::jitter::millis(
            50 << round,
        )))
        .await;
    }
    Ok(())
}
