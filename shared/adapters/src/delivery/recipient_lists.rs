//! Recipient lists in S3: the size of a list (checked when a campaign is created), byte
//! ranges of it (the planner reads the list in ranges and the sender re-reads its batch's
//! range, so memory stays flat whatever the list's size), and storing an inline list as a JSON
//! Lines object so that both kinds of list are planned the same way.

use aws_sdk_s3::primitives::ByteStream;
use lifecycle_domain::delivery::RecipientList;
use lifecycle_resilience::{AwsError, Dependency, Resilience};

use crate::aws::{Describe, SendWith};

/// A list could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// No such bucket or object.
    #[error("the recipient list s3://{bucket}/{key} does not exist")]
    NotFound { bucket: String, key: String },
    /// The function may not read it (403).
    #[error("the recipient list s3://{bucket}/{key} may not be read (access denied)")]
    Denied { bucket: String, key: String },
    /// Another failure (after the resilience layer's retries).
    #[error("{0}")]
    Failed(AwsError),
}

impl ListError {
    /// Whether a retry later may succeed (`NotFound` and `Denied` need an operator).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Failed(_))
    }

    fn of(list: &RecipientList, error: AwsError) -> Self {
        let (bucket, key) = (list.bucket.clone(), list.key.clone());
        match (error.code.as_str(), error.status) {
            ("NoSuchKey" | "NoSuchBucket" | "NotFound", _) | (_, Some(404)) => {
                Self::NotFound { bucket, key }
            }
            ("AccessDenied", _) | (_, Some(403)) => Self::Denied { bucket, key },
            _ => Self::Failed(error),
        }
    }
}

/// Recipient lists in S3; cheap to clone.
#[derive(Debug, Clone)]
pub struct RecipientLists {
    s3: aws_sdk_s3::Client,
    resilience: Resilience,
}

impl RecipientLists {
    /// Lists read and written with `s3`, through `resilience`.
    pub fn new(s3: aws_sdk_s3::Client, resilience: Resilience) -> Self {
        Self { s3, resilience }
    }

    /// The list's size in bytes (one `HeadObject`).
    pub async fn size(&self, list: &RecipientList) -> Result<u64, ListError> {
        let head = self
            .s3
            .head_object()
            .bucket(&list.bucket)
            .key(&list.key)
            .send_with(&self.resilience)
            .await
            .map_err(|error| ListError::of(list, error.describe("HeadObject")))?;
        Ok(head
            .content_length()
            .and_then(|length| u64::try_from(length).ok())
            .unwrap_or(0))
    }

    /// Bytes `start..end` of the list (fewer only at its end; none when `start >= end`): one
    /// ranged `GetObject`.
    pub async fn read_range(
        &self,
        list: &RecipientList,
        start: u64,
        end: u64,
    ) -> Result<Vec<u8>, ListError> {
        if start >= end {
            return Ok(Vec::new());
        }
        let object = self
            .s3
            .get_object()
            .bucket(&list.bucket)
            .key(&list.key)
            .range(format!("bytes={start}-{}", end - 1))
            .send_with(&self.resilience)
            .await;
        let object = match object {
            Ok(object) => object,
            // A range starting at or past the end: nothing left to read.
            Err(error) if error.describe("GetObject").code == "InvalidRange" => {
                return Ok(Vec::new());
            }
            Err(error) => return Err(ListError::of(list, error.describe("GetObject"))),
        };
        let bytes = object.body.collect().await.map_err(|error| {
            ListError::Failed(AwsError {
                operation: "GetObject",
                code: "ResponseError".into(),
                message: format!("reading the object's body failed: {error}"),
                status: None,
            })
        })?;
        Ok(bytes.to_vec())
    }

    /// Stores `body` as the list (one `PutObject`; a repeat overwrites it with the same bytes).
    pub async fn put(&self, list: &RecipientList, body: Vec<u8>) -> Result<(), ListError> {
        // A streamed body cannot be cloned for a retry: each attempt builds its request.
        self.resilience
            .call(
                Dependency::S3,
                "PutObject",
                || {
                    self.s3
                        .put_object()
                        .bucket(&list.bucket)
                        .key(&list.key)
                        .content_type("application/x-ndjson")
                        .body(ByteStream::from(body.clone()))
                        .send()
                },
                |error| error.describe("PutObject"),
            )
            .await
            .map_err(|error| ListError::of(list, error.describe("PutObject")))?;
        Ok(())
    }
}
