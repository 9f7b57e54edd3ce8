//! An AWS call as IAM authorises it: an action name and the ARN of the resource it acts on.

use std::fmt;

use crate::error::PolicyError::{self, Invalid};

/// One AWS API call to authorise, e.g. `dynamodb:Query` on a table or index ARN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Call {
    /// IAM action, `service:Operation` (e.g. `dynamodb:Query`).
    pub action: String,
    /// ARN of the resource acted on (e.g. `arn:aws:dynamodb:…:table/T/index/ByDue`).
    pub resource: String,
}

impl Call {
    /// The call IAM authorises for an SDK request, from the service id and operation name of
    /// the smithy operation metadata (`"DynamoDB"`, `"SQS"`, `"EventBridge"`, `"SES"`/`"SESv2"`,
    /// `"S3"`, `"SSM"`, `"SecretsManager"`/`"Secrets Manager"`) and the resource's ARN.
    ///
    /// The action prefix is the lower-cased service id without spaces, except EventBridge →
    /// `events` and SESv2 → `ses`. The SQS batch operations are authorised by their singular
    /// actions (`SendMessageBatch` → `sqs:SendMessage`, likewise `DeleteMessage` and
    /// `ChangeMessageVisibility`; <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api.html>),
    /// and the S3 operations that share an action map to it (`HeadObject` → `s3:GetObject`,
    /// `ListObjectsV2` → `s3:ListBucket`, …). Every other operation keeps its name, including
    /// DynamoDB `BatchWriteItem`/`BatchGetItem`. Lambda's `Invoke` is `lambda:InvokeFunction`.
    ///
    /// DynamoDB transactions are not actions of their own: they are authorised per item
    /// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html>).
    /// Callers must expand a `TransactWriteItems` into one [`Call::transact_write_item`] per
    /// item, and a `TransactGetItems` into one `GetItem` per item, each on that item's table.
    /// Passed here unexpanded, they map to `dynamodb:TransactWriteItems`, which no statement
    /// listing item actions allows.
    pub fn for_request(service: &str, operation: &str, resource_arn: String) -> Call {
        let prefix: String = service
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        let prefix = match prefix.as_str() {
            "eventbridge" => "events",
            "sesv2" => "ses",
            other => other,
        };
        let action = match (prefix, operation) {
            ("sqs", "SendMessageBatch") => "SendMessage",
            ("sqs", "DeleteMessageBatch") => "DeleteMessage",
            ("sqs", "ChangeMessageVisibilityBatch") => "ChangeMessageVisibility",
            ("lambda", "Invoke") => "InvokeFunction",
            ("s3", "HeadObject") => "GetObject",
            ("s3", "HeadBucket" | "ListObjects" | "ListObjectsV2") => "ListBucket",
            ("s3", "DeleteObjects") => "DeleteObject",
            ("s3", "ListBuckets") => "ListAllMyBuckets",
            ("s3", "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload") => {
                "PutObject"
            }
            _ => operation,
        };
        Call {
            action: format!("{prefix}:{action}"),
            resource: resource_arn,
        }
    }

    /// The call authorising one item of a DynamoDB `TransactWriteItems`: `kind` is the item's
    /// member name (`"Put"`, `"Update"`, `"Delete"` or `"ConditionCheck"`), authorised by
    /// `dynamodb:PutItem`, `UpdateItem`, `DeleteItem` or `ConditionCheckItem` on its table.
    pub fn transact_write_item(kind: &str, table_arn: String) -> Result<Call, PolicyError> {
        let operation = match kind {
            "Put" => "PutItem",
            "Update" => "UpdateItem",
            "Delete" => "DeleteItem",
            "ConditionCheck" => "ConditionCheckItem",
            other => {
                return Err(Invalid(format!(
                    "unknown TransactWriteItems item kind `{other}`"
                )));
            }
        };
        Ok(Call {
            action: format!("dynamodb:{operation}"),
            resource: table_arn,
        })
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Effect, Policy, Statement};

    const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:timers";
    const OTHER_QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:timers-dlq";

    #[test]
    fn iam_action_for_each_request() {
        let cases = [
            ("DynamoDB", "Query", "dynamodb:Query"),
            ("DynamoDB", "BatchWriteItem", "dynamodb:BatchWriteItem"),
            ("DynamoDB", "BatchGetItem", "dynamodb:BatchGetItem"),
            (
                "DynamoDB",
                "TransactWriteItems",
                "dynamodb:TransactWriteItems",
            ),
            ("SQS", "SendMessage", "sqs:SendMessage"),
            ("SQS", "SendMessageBatch", "sqs:SendMessage"),
            ("SQS", "DeleteMessageBatch", "sqs:DeleteMessage"),
            (
                "SQS",
                "ChangeMessageVisibilityBatch",
                "sqs:ChangeMessageVisibility",
            ),
            ("SQS", "GetQueueAttributes", "sqs:GetQueueAttributes"),
            ("EventBridge", "PutEvents", "events:PutEvents"),
            ("SES", "SendRawEmail", "ses:SendRawEmail"),
            ("SESv2", "SendEmail", "ses:SendEmail"),
            ("S3", "GetObject", "s3:GetObject"),
            ("S3", "HeadObject", "s3:GetObject"),
            ("S3", "ListObjectsV2", "s3:ListBucket"),
            ("SSM", "GetParameter", "ssm:GetParameter"),
            (
                "SecretsManager",
                "GetSecretValue",
                "secretsmanager:GetSecretValue",
            ),
            (
                "Secrets Manager",
                "GetSecretValue",
                "secretsmanager:GetSecretValue",
            ),
            ("Lambda", "Invoke", "lambda:InvokeFunction"),
        ];
        for (service, operation, expected) in cases {
            let call = Call::for_request(service, operation, QUEUE.into());
            assert_eq!(call.action, expected, "{service} {operation}");
            assert_eq!(call.resource, QUEUE);
        }
    }

    #[test]
    fn transact_write_items_expand_per_item() {
        let cases = [
            ("Put", "dynamodb:PutItem"),
            ("Update", "dynamodb:UpdateItem"),
            ("Delete", "dynamodb:DeleteItem"),
            ("ConditionCheck", "dynamodb:ConditionCheckItem"),
        ];
        for (kind, expected) in cases {
            let call = Call::transact_write_item(kind, "arn:t".into());
            assert_eq!(
                call,
                Ok(Call {
                    action: expected.into(),
                    resource: "arn:t".into()
                })
            );
        }
        assert!(matches!(
            Call::transact_write_item("PutItem", "arn:t".into()),
            Err(PolicyError::Invalid(message)) if message.contains("PutItem")
        ));
    }

    #[test]
    fn batch_send_is_allowed_by_send_message_on_that_queue_only() {
        let policy = Policy {
            statements: vec![Statement {
                effect: Effect::Allow,
                actions: vec!["sqs:SendMessage".into()],
                not_actions: None,
                resources: vec![QUEUE.into()],
            }],
        };
        let batch = |queue: &str| Call::for_request("SQS", "SendMessageBatch", queue.into());
        assert!(policy.allows(&batch(QUEUE)));
        assert!(!policy.allows(&batch(OTHER_QUEUE)));
        assert!(!policy.allows(&Call::for_request(
            "SQS",
            "DeleteMessageBatch",
            QUEUE.into()
        )));
    }

    #[test]
    fn display_names_action_and_resource() {
        let call = Call::for_request("SQS", "SendMessage", QUEUE.into());
        assert_eq!(call.to_string(), format!("sqs:SendMessage on {QUEUE}"));
    }
}
