//! The store handle: a DynamoDB client, the table name and the due-index shard count.

use aws_sdk_dynamodb::types::AttributeValue;

use super::items::Item;
use super::keys;
use lifecycle_resilience::Resilience;

/// Operations on the campaign table; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(super) client: aws_sdk_dynamodb::Client,
    pub(super) table: String,
    pub(super) due_shards: u16,
    /// Breaker, classification and retries of every request (the breaker records excepted).
    pub(super) resilience: Resilience,
}

impl Store {
    /// A store whose requests are sent once, unguarded (the breakers' own store, tools); see
    /// [`Store::with_resilience`].
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        due_shards: u16,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            due_shards,
            resilience: Resilience::passthrough(),
        }
    }

    /// This store with its requests sent through `resilience`.
    pub fn with_resilience(self, resilience: Resilience) -> Self {
        Self { resilience, ..self }
    }

    /// Shards of the due index.
    pub fn due_shards(&self) -> u16 {
        self.due_shards
    }
}

/// A primary key.
pub(super) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    Item::from([
        (keys::PK.to_owned(), AttributeValue::S(pk.into())),
        (keys::SK.to_owned(), AttributeValue::S(sk.into())),
    ])
}

/// A string attribute value.
pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute value.
pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
