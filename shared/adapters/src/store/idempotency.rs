//! `Idempotency-Key` records of the API (`IDEMPOTENCY#<caller>#<key>` / `IDEMPOTENCY`, a
//! [`CallerKey`]: each caller has keys of its own, so one caller's key never replays another
//! caller's answer nor refuses another's request): a request claims its key with a conditional Put (the key is new, expired, or an IN_PROGRESS claim
//! of the same request whose lease ran out), its response is stored on the claim's token,
//! and a 5xx releases the claim (a Delete on the token). Items expire after
//! [`IDEMPOTENCY_TTL_MS`] (TTL `expiresAt`). Keys and costs: `docs/data-model.md`.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use lifecycle_domain::Timestamp;
use lifecycle_resilience::CallError;
use sha2::{Digest, Sha256};

use super::StoreError;
use super::client::{Store, key, n, s};
use super::error::condition_met;
use super::items::Item;
use crate::aws::SendWith;

/// How long a key is remembered.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 3_600_000;

const SK: &str = "IDEMPOTENCY";
const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETED: &str = "COMPLETED";

/// A response stored under a key, replayed to a retry of the same request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The request is this caller's to run; its response is stored with `token`.
    Claimed { token: String },
    /// The same request ran before: its response.
    Replay(StoredResponse),
    /// The key belongs to another request (another method, path or body).
    Mismatch,
    /// The same request holds the key and its lease has not run out.
    InProgress,
}

/// The fingerprint of a request: SHA-256 (hex) of its method, path with query, and body,
/// each length-prefixed so no two requests share one by moving bytes between the parts.
pub fn request_fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [method.as_bytes(), path_and_query.as_bytes(), body] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// An `Idempotency-Key` as one caller sent it: the caller's identity (the signing
/// principal's ARN on AWS) is digested (SHA-256, 32 hex digits) so keys of different callers
/// never meet and the item key stays short whatever the ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerKey(String);

impl CallerKey {
    /// `key` as sent by `caller`.
    pub fn new(caller: &str, key: &str) -> Self {
        let digest: String = Sha256::digest(caller.as_bytes())[..16]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Self(format!("IDEMPOTENCY#{digest}#{key}"))
    }

    /// The record's partition key, `IDEMPOTENCY#<caller digest>#<key>`.
    pub fn item_key(&self) -> &str {
        &self.0
    }

    fn pk(&self) -> String {
        self.0.clone()
    }
}

impl Store {
    /// Claims `idempotency_key` for the request with `fingerprint` at `now`, held for
    /// `lease_ms`: free (never used, or expired but not yet removed by TTL), or an
    /// IN_PROGRESS claim of the same fingerprint whose lease ran out (its holder crashed).
    pub async fn claim_idempotency_key(
        &self,
        idempotency_key: &CallerKey,
        fingerprint: &str,
        now: Timestamp,
        lease_ms: i64,
    ) -> Result<IdempotencyClaim, StoreError> {
        let token = uuid::Uuid::new_v4().to_string();
        let mut item = key(idempotency_key.pk(), SK);
        item.insert("entity".into(), s("Idempotency"));
        item.insert("status".into(), s(IN_PROGRESS));
        item.insert("fingerprint".into(), s(fingerprint));
        item.insert("claimToken".into(), s(&token));
        item.insert("leaseUntil".into(), n(now.plus_millis(lease_ms).millis()));
        item.insert("createdAt".into(), s(now.to_rfc3339()));
        item.insert(
            "expiresAt".into(),
            n(now.plus_millis(IDEMPOTENCY_TTL_MS).epoch_seconds()),
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(#pk) OR #expires <= :nowSeconds \
                 OR (#status = :inProgress AND #until <= :now AND #fingerprint = :fingerprint)",
            )
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#expires", "expiresAt")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#until", "leaseUntil")
            .expression_attribute_names("#fingerprint", "fingerprint")
            .expression_attribute_values(":nowSeconds", n(now.epoch_seconds()))
            .expression_attribute_values(":inProgress", s(IN_PROGRESS))
            .expression_attribute_values(":now", n(now.millis()))
            .expression_attribute_values(":fingerprint", s(fingerprint))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send_with(&self.resilience)
            .await;
        let error = match result {
            Ok(_) => return Ok(IdempotencyClaim::Claimed { token }),
            Err(error) => error,
        };
        if let CallError::Failed(SdkError::ServiceError(service)) = &error
            && let PutItemError::ConditionalCheckFailedException(failed) = service.err()
        {
            return held_claim(failed.item().cloned().unwrap_or_default(), fingerprint);
        }
        Err(StoreError::aws("PutItem", error))
    }

    /// Stores `response` under the key `token` claimed; `false` if the claim is no longer
    /// `token`'s (its lease ran out and a retry took it over).
    pub async fn complete_idempotency_key(
        &self,
        idempotency_key: &CallerKey,
        token: &str,
        response: &StoredResponse,
    ) -> Result<bool, StoreError> {
        let mut names = vec![("#status", "status"), ("#token", "claimToken")];
        let mut update = "SET #status = :completed, #code = :code, #body = :body".to_owned();
        names.extend([("#code", "responseStatus"), ("#body", "responseBody")]);
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(idempotency_key.pk(), SK)))
            .condition_expression("#status = :inProgress AND #token = :token")
            .expression_attribute_values(":completed", s(COMPLETED))
            .expression_attribute_values(":inProgress", s(IN_PROGRESS))
            .expression_attribute_values(":token", s(token))
            .expression_attribute_values(":code", n(response.status))
            .expression_attribute_values(
                ":body",
                AttributeValue::B(Blob::new(response.body.clone())),
            );
        if let Some(content_type) = &response.content_type {
            update.push_str(", #type = :type");
            names.push(("#type", "contentType"));
            request = request.expression_attribute_values(":type", s(content_type));
        }
        update.push_str(" REMOVE #until");
        names.push(("#until", "leaseUntil"));
        for (name, attribute) in names {
            request = request.expression_attribute_names(name, attribute);
        }
        let result = request
            .update_expression(update)
            .send_with(&self.resilience)
            .await;
        condition_met("UpdateItem", result)
    }

    /// Gives up the claim `token` holds (the request failed with a 5xx: a retry runs it
    /// again); `false` if it is no longer `token`'s.
    pub async fn release_idempotency_key(
        &self,
        idempotency_key: &CallerKey,
        token: &str,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(idempotency_key.pk(), SK)))
            .condition_expression("#status = :inProgress AND #token = :token")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#token", "claimToken")
            .expression_attribute_values(":inProgress", s(IN_PROGRESS))
            .expression_attribute_values(":token", s(token))
            .send_with(&self.resilience)
            .await;
        condition_met("DeleteItem", result)
    }
}

/// What a refused claim found stored.
fn held_claim(held: Item, fingerprint: &str) -> Result<IdempotencyClaim, StoreError> {
    let text = |name: &str| held.get(name).and_then(|v| v.as_s().ok()).cloned();
    if text("fingerprint").as_deref() != Some(fingerprint) {
        return Ok(IdempotencyClaim::Mismatch);
    }
    if text("status").as_deref() != Some(COMPLETED) {
        return Ok(IdempotencyClaim::InProgress);
    }
    let status = held
        .get("responseStatus")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse::<u16>().ok())
        .ok_or_else(|| StoreError::Corrupt("an idempotency record has no status".into()))?;
    let body = held
        .get("responseBody")
        .and_then(|v| v.as_b().ok())
        .map(|blob| blob.as_ref().to_vec())
        .unwrap_or_default();
    Ok(IdempotencyClaim::Replay(StoredResponse {
        status,
        content_type: text("contentType"),
        body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_differ_by_method_path_and_body() {
        let base = request_fingerprint("POST", "/campaigns", b"{}");
        assert_eq!(base.len(), 64);
        assert_eq!(base, request_fingerprint("POST", "/campaigns", b"{}"));
        for other in [
            request_fingerprint("PUT", "/campaigns", b"{}"),
            request_fingerprint("POST", "/campaigns?x=1", b"{}"),
            request_fingerprint("POST", "/campaigns", b"{ }"),
            request_fingerprint("POST", "/campaigns{", b"}"),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn a_refused_claim_tells_replay_mismatch_and_in_progress_apart() {
        let mut held = Item::new();
        held.insert("fingerprint".into(), s("f1"));
        held.insert("status".into(), s(IN_PROGRESS));
        assert_eq!(
            held_claim(held.clone(), "f2").unwrap(),
            IdempotencyClaim::Mismatch
        );
        assert_eq!(
            held_claim(held.clone(), "f1").unwrap(),
            IdempotencyClaim::InProgress
        );
        held.insert("status".into(), s(COMPLETED));
        held.insert("responseStatus".into(), n(201));
        held.insert("contentType".into(), s("application/json"));
        held.insert(
            "responseBody".into(),
            AttributeValue::B(Blob::new(b"{}".to_vec())),
        );
        assert_eq!(
            held_claim(held, "f1").unwrap(),
            IdempotencyClaim::Replay(StoredResponse {
                status: 201,
                content_type: Some("application/json".into()),
                body: b"{}".to_vec(),
            })
        );
    }
}
