//! The page-token signing key in the table (`CONFIG` / `PAGE_TOKEN_KEY`): 32 random bytes
//! written by the first instance that needs them (`attribute_not_exists`; the loser of that
//! race reads the winner's), then held by each instance ([`PageTokenKeys`]): one GetItem per
//! cold start.

use std::sync::Arc;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use tokio::sync::OnceCell;

use super::client::{Store, key, s};
use super::error::condition_met;
use super::page_token::{PAGE_TOKEN_KEY_BYTES, PageTokenKey};
use super::{StoreError, keys};
use crate::aws::SendWith;

/// Partition of the service's own settings.
const CONFIG_PK: &str = "CONFIG";
/// The page-token key's sort key.
const PAGE_TOKEN_KEY_SK: &str = "PAGE_TOKEN_KEY";
/// The attribute holding the key's bytes.
const KEY_ATTRIBUTE: &str = "keyBytes";

impl Store {
    /// The page-token key: the stored one, or one created now if there is none.
    pub async fn page_token_key(&self) -> Result<PageTokenKey, StoreError> {
        if let Some(bytes) = self.stored_page_token_key().await? {
            return Ok(PageTokenKey::new(&bytes));
        }
        let mut bytes = [0u8; PAGE_TOKEN_KEY_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|e| StoreError::Corrupt(format!("no random bytes for the key: {e}")))?;
        let mut item = key(CONFIG_PK, PAGE_TOKEN_KEY_SK);
        item.insert("entity".into(), s("Settings"));
        item.insert(KEY_ATTRIBUTE.into(), AttributeValue::B(Blob::new(bytes)));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send_with(&self.resilience)
            .await;
        if condition_met("PutItem", result)? {
            return Ok(PageTokenKey::new(&bytes));
        }
        // Another instance stored its key first: everyone signs with that one.
        self.stored_page_token_key()
            .await?
            .map(|bytes| PageTokenKey::new(&bytes))
            .ok_or_else(|| StoreError::Corrupt("the page-token key vanished".into()))
    }

    async fn stored_page_token_key(
        &self,
    ) -> Result<Option<[u8; PAGE_TOKEN_KEY_BYTES]>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(CONFIG_PK, PAGE_TOKEN_KEY_SK)))
            .consistent_read(true)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        item.get(KEY_ATTRIBUTE)
            .and_then(|value| value.as_b().ok())
            .and_then(|blob| <[u8; PAGE_TOKEN_KEY_BYTES]>::try_from(blob.as_ref()).ok())
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt("the page-token key is not 32 bytes".into()))
    }
}

/// An instance's page-token key, read (or created) on first use and then held; clones share
/// it.
#[derive(Debug, Clone, Default)]
pub struct PageTokenKeys(Arc<OnceCell<PageTokenKey>>);

impl PageTokenKeys {
    /// The key, loaded from `store` the first time.
    pub async fn get(&self, store: &Store) -> Result<&PageTokenKey, StoreError> {
        self.0.get_or_try_init(|| store.page_token_key()).await
    }
}
