//! A walk over the campaigns of several statuses, one status after the other, a page at a
//! time (`POST /campaigns/recover`): each page is [`Store::list_campaigns`] on ByStatus, so no
//! Scan. Its token is the index's `LastEvaluatedKey`, which names the status it stopped in
//! (`statusPk`); a token of `statusPk` alone starts that status from its beginning (the
//! previous status ended exactly at the page's end).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use lifecycle_domain::CampaignStatus;

use super::{CampaignPage, PageToken, StoreError, keys};
use crate::store::Store;

impl Store {
    /// Up to `limit` campaigns of `statuses`, in that order (each status next-to-move first
    /// or latest first, as [`Store::list_campaigns`]), from `page` on.
    pub async fn walk_campaigns(
        &self,
        statuses: &[CampaignStatus],
        limit: i32,
        page: Option<&PageToken>,
    ) -> Result<CampaignPage, StoreError> {
        let corrupt = || StoreError::Corrupt("page token".into());
        let (mut index, mut start) = match page {
            None => (0, None),
            Some(token) => {
                let key = token.to_key().map_err(|_| corrupt())?;
                let status_pk = key
                    .get(keys::STATUS_PK)
                    .and_then(|v| v.as_s().ok())
                    .ok_or_else(corrupt)?;
                let index = statuses
                    .iter()
                    .position(|status| keys::status_pk(*status) == *status_pk)
                    .ok_or_else(corrupt)?;
                (index, key.contains_key(keys::STATUS_SK).then_some(token))
            }
        };
        let mut campaigns = Vec::new();
        while let Some(status) = statuses.get(index) {
            let wanted = limit - i32::try_from(campaigns.len()).unwrap_or(i32::MAX);
            let read = self.list_campaigns(*status, wanted, start.take()).await?;
            campaigns.extend(read.campaigns);
            if let Some(next) = read.next {
                return Ok(CampaignPage {
                    campaigns,
                    next: Some(next),
                });
            }
            index += 1;
            if i32::try_from(campaigns.len()).unwrap_or(i32::MAX) >= limit {
                break;
            }
        }
        let next = statuses.get(index).and_then(|status| {
            PageToken::from_key(&HashMap::from([(
                keys::STATUS_PK.to_owned(),
                AttributeValue::S(keys::status_pk(*status)),
            )]))
        });
        Ok(CampaignPage { campaigns, next })
    }
}
