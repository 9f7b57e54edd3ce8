//! `request.send_with(&resilience)`: sends an SDK request through the resilience layer
//! (breaker, classification, retries; see [`Resilience::call`]) instead of `send()`. It is
//! implemented for every request type the service sends, each tied to its dependency and
//! operation name.

use std::future::Future;

use lifecycle_resilience::{Dependency, Resilience};

use super::error::{Describe, RequestError};

/// An SDK request that can be sent through the resilience layer.
pub trait SendWith: Clone + Send {
    type Output;
    type Error;

    /// Sends the request (each attempt sends a clone).
    fn send_with(
        self,
        resilience: &Resilience,
    ) -> impl Future<Output = Result<Self::Output, RequestError<Self::Error>>> + Send;
}

macro_rules! send_with {
    ($dependency:expr, $operation:literal, $service:ident::$module:ident, $builder:ident, $output:ident, $error:ident) => {
        impl SendWith for $service::$module::builders::$builder {
            type Output = $service::$module::$output;
            type Error = $service::$module::$error;

            async fn send_with(
                self,
                resilience: &Resilience,
            ) -> Result<Self::Output, RequestError<Self::Error>> {
                resilience
                    .call(
                        $dependency,
                        $operation,
                        || self.clone().send(),
                        |error| error.describe($operation),
                    )
                    .await
            }
        }
    };
}

use Dependency::{DynamoDb, EventBridge, Sqs};
use aws_sdk_dynamodb::operation as ddb;
use aws_sdk_eventbridge::operation as events;
use aws_sdk_sqs::operation as sqs;

send_with!(
    DynamoDb,
    "GetItem",
    ddb::get_item,
    GetItemFluentBuilder,
    GetItemOutput,
    GetItemError
);
send_with!(
    DynamoDb,
    "PutItem",
    ddb::put_item,
    PutItemFluentBuilder,
    PutItemOutput,
    PutItemError
);
send_with!(
    DynamoDb,
    "UpdateItem",
    ddb::update_item,
    UpdateItemFluentBuilder,
    UpdateItemOutput,
    UpdateItemError
);
send_with!(
    DynamoDb,
    "DeleteItem",
    ddb::delete_item,
    DeleteItemFluentBuilder,
    DeleteItemOutput,
    DeleteItemError
);
send_with!(
    DynamoDb,
    "Query",
    ddb::query,
    QueryFluentBuilder,
    QueryOutput,
    QueryError
);
send_with!(
    DynamoDb,
    "TransactWriteItems",
    ddb::transact_write_items,
    TransactWriteItemsFluentBuilder,
    TransactWriteItemsOutput,
    TransactWriteItemsError
);
send_with!(
    DynamoDb,
    "BatchGetItem",
    ddb::batch_get_item,
    BatchGetItemFluentBuilder,
    BatchGetItemOutput,
    BatchGetItemError
);
send_with!(
    DynamoDb,
    "BatchWriteItem",
    ddb::batch_write_item,
    BatchWriteItemFluentBuilder,
    BatchWriteItemOutput,
    BatchWriteItemError
);
send_with!(
    Sqs,
    "SendMessageBatch",
    sqs::send_message_batch,
    SendMessageBatchFluentBuilder,
    SendMessageBatchOutput,
    SendMessageBatchError
);
send_with!(
    Sqs,
    "SendMessage",
    sqs::send_message,
    SendMessageFluentBuilder,
    SendMessageOutput,
    SendMessageError
);
send_with!(
    Sqs,
    "GetQueueAttributes",
    sqs::get_queue_attributes,
    GetQueueAttributesFluentBuilder,
    GetQueueAttributesOutput,
    GetQueueAttributesError
);
send_with!(
    Sqs,
    "ReceiveMessage",
    sqs::receive_message,
    ReceiveMessageFluentBuilder,
    ReceiveMessageOutput,
    ReceiveMessageError
);
send_with!(
    Sqs,
    "DeleteMessageBatch",
    sqs::delete_message_batch,
    DeleteMessageBatchFluentBuilder,
    DeleteMessageBatchOutput,
    DeleteMessageBatchError
);
send_with!(
    Sqs,
    "ChangeMessageVisibilityBatch",
    sqs::change_message_visibility_batch,
    ChangeMessageVisibilityBatchFluentBuilder,
    ChangeMessageVisibilityBatchOutput,
    ChangeMessageVisibilityBatchError
);
send_with!(
    EventBridge,
    "PutEvents",
    events::put_events,
    PutEventsFluentBuilder,
    PutEventsOutput,
    PutEventsError
);
send_with!(
    EventBridge,
    "DescribeEventBus",
    events::describe_event_bus,
    DescribeEventBusFluentBuilder,
    DescribeEventBusOutput,
    DescribeEventBusError
);

/// The reads of recipient lists in S3.
#[cfg(feature = "lists")]
mod lists {
    use super::{Describe, RequestError, Resilience, SendWith};
    use aws_sdk_s3::operation as s3;
    use lifecycle_resilience::Dependency::S3;

    send_with!(
        S3,
        "GetObject",
        s3::get_object,
        GetObjectFluentBuilder,
        GetObjectOutput,
        GetObjectError
    );
    send_with!(
        S3,
        "HeadObject",
        s3::head_object,
        HeadObjectFluentBuilder,
        HeadObjectOutput,
        HeadObjectError
    );
}

/// The reads of bulk deliveries' secrets that may be retried (never a provider's send).
#[cfg(feature = "delivery")]
mod secrets {
    use super::{Describe, RequestError, Resilience, SendWith};
    use aws_sdk_secretsmanager::operation as secretsmanager;
    use aws_sdk_ssm::operation as ssm;
    use lifecycle_resilience::Dependency::{SecretsManager, Ssm};

    send_with!(
        Ssm,
        "GetParameter",
        ssm::get_parameter,
        GetParameterFluentBuilder,
        GetParameterOutput,
        GetParameterError
    );
    send_with!(
        SecretsManager,
        "GetSecretValue",
        secretsmanager::get_secret_value,
        GetSecretValueFluentBuilder,
        GetSecretValueOutput,
        GetSecretValueError
    );
}
