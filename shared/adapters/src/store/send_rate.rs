//! The shared send rate's token buckets: one item per channel (and one per alert webhook), taken from with a conditional
//! write on the state last seen, so every sender of every instance draws from the same rate.
//! The state is cached per process: with a warm cache a grant costs one request; a stale
//! cache costs one more (the refused write hands back the current state).

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::send_rate::{Bucket, Grant, SendRate};
use lifecycle_resilience::CallError;

use super::client::{Store, key, n};
use super::items::Item;
use super::{StoreError, keys};
use crate::aws::SendWith;

/// Conditional writes lost to other senders before giving up on a grant (each loss means
/// another sender took tokens: the rate holds either way).
const CONTENDED_ROUNDS: u32 = 5;

impl Store {
    /// Takes up to `wanted` tokens of `bucket` (its sort key in the `SEND_RATE` partition:
    /// [`keys::send_rate_sk`] of a delivery channel, [`keys::ALERT_SLACK_RATE_SK`]) at
    /// `rate`, starting from `seen` (the state this process last saw, `None` if unknown). Returns the grant and the state now
    /// stored (to pass as `seen` next time).
    pub async fn take_send_tokens(
        &self,
        bucket: &str,
        rate: SendRate,
        wanted: u32,
        seen: Option<Bucket>,
        now: Timestamp,
    ) -> Result<(Grant, Option<Bucket>), StoreError> {
        let mut seen = seen;
        for _ in 0..CONTENDED_ROUNDS {
            let grant = rate.take(seen, wanted, now);
            let Grant::Take { bucket: next, .. } = grant else {
                return Ok((grant, seen));
            };
            match self.replace_bucket(bucket, seen, next).await? {
                None => return Ok((grant, Some(next))),
                Some(current) => seen = current,
            }
        }
        Ok((
            Grant::Wait {
                wait_ms: (1000.0 / rate.per_second.max(1.0)).ceil() as u64,
            },
            seen,
        ))
    }

    /// Stores `next` if the bucket is still `seen`; else returns the stored state.
    async fn replace_bucket(
        &self,
        bucket: &str,
        seen: Option<Bucket>,
        next: Bucket,
    ) -> Result<Option<Option<Bucket>>, StoreError> {
        let mut item = key(keys::SEND_RATE_PK, bucket);
        item.insert("tokens".to_owned(), n(next.tokens));
        item.insert("updatedAt".to_owned(), n(next.updated_at.millis()));
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let request = match seen {
            None => request
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK),
            Some(seen) => request
                .condition_expression("#tokens = :tokens AND #updatedAt = :updatedAt")
                .expression_attribute_names("#tokens", "tokens")
                .expression_attribute_names("#updatedAt", "updatedAt")
                .expression_attribute_values(":tokens", n(seen.tokens))
                .expression_attribute_values(":updatedAt", n(seen.updated_at.millis())),
        };
        let error = match request.send_with(&self.resilience).await {
            Ok(_) => return Ok(None),
            Err(error) => error,
        };
        if let CallError::Failed(SdkError::ServiceError(service)) = &error
            && let PutItemError::ConditionalCheckFailedException(failed) = service.err()
        {
            return Ok(Some(failed.item().and_then(bucket_of)));
        }
        Err(StoreError::aws("PutItem", error))
    }
}

fn bucket_of(item: &Item) -> Option<Bucket> {
    let number = |name: &str| match item.get(name) {
        Some(AttributeValue::N(text)) => text.parse::<f64>().ok(),
        _ => None,
    };
    Some(Bucket {
        tokens: number("tokens")?,
        updated_at: Timestamp::from_millis(number("updatedAt")? as i64),
    })
}
