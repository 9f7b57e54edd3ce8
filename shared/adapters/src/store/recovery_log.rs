//! The recovery log in the table: entries (`EVENTS#<day>` / `EVENT#<id>`, in ByStatus by
//! category and, when about a campaign, in ByDue by campaign), written with their hour's
//! counters (`STATS` / `HOUR#<millis>`) in one transaction so each is counted once; read by
//! time range, category, severity and campaign with Queries only; resolved by an operator.
//! Keys and costs: `docs/data-model.md`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem, Update};
use lifecycle_resilience as resilience;
use serde::{Deserialize, Serialize};

use super::client::{Store, key, n, s};
use super::error::condition_met;
use super::items::{self, Entity, Item};
use super::{StoreError, keys};
use crate::aws::{Describe, SendWith};
use lifecycle_domain::Timestamp;
use lifecycle_domain::recovery_log::counters::{HOUR_MS, hour_start};
use lifecycle_domain::recovery_log::entry::event_time;
use lifecycle_domain::recovery_log::{
    Counter, Counts, EventQuery, HourCounts, RecoveryEvent, Resolution,
};

/// Requests one page of `GET /recovery/events` may make (filters can leave pages short; the
/// page token then continues where the reads stopped).
pub const MAX_QUERY_REQUESTS: usize = 10;
/// Counter items are kept at least this long, so a 7-day window always finds its hours.
const MIN_COUNTER_RETENTION_MS: i64 = 8 * 24 * HOUR_MS;

#[derive(Debug, Serialize, Deserialize)]
struct EventItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: Entity,
    #[serde(rename = "statusPk")]
    status_pk: String,
    #[serde(rename = "statusSk")]
    status_sk: String,
    #[serde(rename = "duePk", default, skip_serializing_if = "Option::is_none")]
    due_pk: Option<String>,
    #[serde(rename = "dueSk", default, skip_serializing_if = "Option::is_none")]
    due_sk: Option<String>,
    /// TTL attribute (epoch seconds).
    #[serde(rename = "expiresAt")]
    expires_at: i64,
    #[serde(flatten)]
    event: RecoveryEvent,
}

impl EventItem {
    fn new(event: &RecoveryEvent, retention_ms: i64) -> Self {
        let campaign = event.campaign_id.as_deref();
        Self {
            pk: keys::events_day_pk(event.at),
            sk: keys::event_sk(&event.id),
            entity: Entity::RecoveryEvent,
            status_pk: keys::events_category_pk(event.category),
            status_sk: event.id.clone(),
            due_pk: campaign.map(keys::events_campaign_pk),
            due_sk: campaign.map(|_| event.id.clone()),
            expires_at: event.at.plus_millis(retention_ms).epoch_seconds(),
            event: event.clone(),
        }
    }
}

/// One page of entries, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    /// The entries.
    pub events: Vec<RecoveryEvent>,
    /// Where the next page starts; `None` when there is no more.
    pub next_token: Option<String>,
}

/// What resolving an entry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveOutcome {
    /// It is resolved now.
    Resolved(RecoveryEvent),
    /// It was already (the first resolution stays).
    AlreadyResolved(RecoveryEvent),
    /// No such entry (or it expired).
    NotFound,
}

/// An UpdateItem's parts, for a request or a transaction.
struct CounterUpdate {
    key: Item,
    expression: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

/// Where a query reads: a day partition of the table, or an index partition.
struct Source {
    index: Option<&'static str>,
    pk_name: &'static str,
    sk_name: &'static str,
    pk: String,
    sk_prefix: &'static str,
}

impl Store {
    /// Writes `events` (each once: a repeat finds it stored) and adds `counts` to the
    /// counters of `at`'s hour, in one transaction; `false` if they were recorded before.
    pub async fn record_recovery(
        &self,
        events: &[RecoveryEvent],
        counts: &Counts,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.record_recovery_with(None, events, counts, at).await
    }

    /// [`Store::record_recovery`], with `first` (e.g. a sweep's report Put) in the same
    /// transaction. Nothing to write (no `first`, no entry, no count) writes nothing.
    pub(super) async fn record_recovery_with(
        &self,
        first: Option<TransactWriteItem>,
        events: &[RecoveryEvent],
        counts: &Counts,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut writes: Vec<TransactWriteItem> = first.into_iter().collect();
        if writes.is_empty() && events.is_empty() && counts.is_empty() {
            return Ok(true);
        }
        for event in events {
            let item = items::to_item(&EventItem::new(event, self.recovery_retention_ms))?;
            writes.push(self.put_new(item)?);
        }
        if !counts.is_empty() {
            let update = self.counter_update(counts, at)?;
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(update.key))
                .update_expression(update.expression)
                .set_expression_attribute_names(Some(update.names))
                .set_expression_attribute_values(Some(update.values))
                .build()?;
            writes.push(TransactWriteItem::builder().update(update).build());
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send_with(&self.resilience)
            .await;
        condition_met("TransactWriteItems", result)
    }

    /// Adds `counts` to the counters of `at`'s hour, outside any transaction (counts that
    /// belong to no entry, like an instance's retries).
    pub async fn add_recovery_counts(
        &self,
        counts: &Counts,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        if counts.is_empty() {
            return Ok(());
        }
        let update = self.counter_update(counts, at)?;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(update.key))
            .update_expression(update.expression)
            .set_expression_attribute_names(Some(update.names))
            .set_expression_attribute_values(Some(update.values))
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("UpdateItem", e))?;
        Ok(())
    }

    /// The update adding `counts` to `at`'s hour (creating the hour's item).
    fn counter_update(&self, counts: &Counts, at: Timestamp) -> Result<CounterUpdate, StoreError> {
        let hour = hour_start(at);
        let retention = self.recovery_retention_ms.max(MIN_COUNTER_RETENTION_MS);
        let mut names = HashMap::from([
            ("#entity".to_owned(), "entity".to_owned()),
            ("#expiresAt".to_owned(), "expiresAt".to_owned()),
        ]);
        let mut values = HashMap::from([
            (
                ":entity".to_owned(),
                items::to_attribute(&Entity::RecoveryStats)?,
            ),
            (
                ":expiresAt".to_owned(),
                n(hour.plus_millis(HOUR_MS + retention).epoch_seconds()),
            ),
        ]);
        let mut adds = Vec::new();
        for (i, (name, value)) in counts.named().into_iter().enumerate() {
            adds.push(format!("#c{i} :c{i}"));
            names.insert(format!("#c{i}"), name);
            values.insert(format!(":c{i}"), n(value));
        }
        Ok(CounterUpdate {
            key: key(keys::STATS_PK, keys::stats_hour_sk(hour)),
            expression: format!(
                "SET #entity = :entity, #expiresAt = :expiresAt ADD {}",
                adds.join(", ")
            ),
            names,
            values,
        })
    }

    /// The counters of every hour from `first` to `last` (hour starts, inclusive): one Query
    /// of the `STATS` partition (a 7-day window is 169 small items).
    pub async fn recovery_counts(
        &self,
        first: Timestamp,
        last: Timestamp,
    ) -> Result<Vec<HourCounts>, StoreError> {
        let mut hours = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :first AND :last")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", s(keys::STATS_PK))
                .expression_attribute_values(":first", s(keys::stats_hour_sk(first)))
                .expression_attribute_values(":last", s(keys::stats_hour_sk(last)))
                .set_exclusive_start_key(start.take())
                .send_with(&self.resilience)
                .await
                .map_err(|e| StoreError::aws("Query", e))?;
            for item in output.items() {
                hours.push(hour_counts(item)?);
            }
            match output.last_evaluated_key() {
                Some(next) if !next.is_empty() => start = Some(next.clone()),
                _ => return Ok(hours),
            }
        }
    }

    /// One page of the entries `query` selects at `now`, newest first; expired ones left out.
    /// With a campaign it reads that campaign's ByDue partition, else with a category that
    /// category's ByStatus partition, else the day partitions from the newest; the other
    /// filters are FilterExpressions. At most [`MAX_QUERY_REQUESTS`] requests.
    pub async fn recovery_events(
        &self,
        query: &EventQuery,
        now: Timestamp,
    ) -> Result<EventPage, StoreError> {
        let newest = query
            .before
            .as_deref()
            .and_then(event_time)
            .unwrap_or(now)
            .max(query.since);
        let sources: Vec<Source> = if let Some(campaign) = &query.campaign_id {
            vec![Source {
                index: Some(keys::BY_DUE_INDEX),
                pk_name: keys::DUE_PK,
                sk_name: keys::DUE_SK,
                pk: keys::events_campaign_pk(campaign),
                sk_prefix: "",
            }]
        } else if let Some(category) = query.category {
            vec![Source {
                index: Some(keys::BY_STATUS_INDEX),
                pk_name: keys::STATUS_PK,
                sk_name: keys::STATUS_SK,
                pk: keys::events_category_pk(category),
                sk_prefix: "",
            }]
        } else {
            let mut days = Vec::new();
            let mut day = newest;
            while keys::events_day_pk(day) >= keys::events_day_pk(query.since) {
                days.push(Source {
                    index: None,
                    pk_name: keys::PK,
                    sk_name: keys::SK,
                    pk: keys::events_day_pk(day),
                    sk_prefix: keys::EVENT_SK_PREFIX,
                });
                day = day.plus_millis(-24 * HOUR_MS);
            }
            days
        };
        let mut page = EventPage {
            events: Vec::new(),
            next_token: None,
        };
        let mut requests = 0;
        let mut last_examined: Option<String> = None;
        for source in sources {
            let mut start: Option<Item> = None;
            loop {
                if requests == MAX_QUERY_REQUESTS {
                    page.next_token = last_examined;
                    return Ok(page);
                }
                requests += 1;
                let wanted = query.limit - page.events.len();
                let output = self
                    .event_query(query, &source, now, wanted, start.take())
                    .send_with(&self.resilience)
                    .await
                    .map_err(|e| StoreError::aws("Query", e))?;
                for item in output.items() {
                    let event = items::from_item::<EventItem>(item.clone())?.event;
                    if query.before.as_deref() == Some(event.id.as_str()) {
                        continue;
                    }
                    last_examined = Some(event.id.clone());
                    page.events.push(event);
                    if page.events.len() == query.limit {
                        page.next_token = last_examined;
                        return Ok(page);
                    }
                }
                match output.last_evaluated_key() {
                    Some(next) if !next.is_empty() => {
                        last_examined = examined_id(next, source.sk_name).or(last_examined);
                        start = Some(next.clone());
                    }
                    _ => break,
                }
            }
        }
        Ok(page)
    }

    fn event_query(
        &self,
        query: &EventQuery,
        source: &Source,
        now: Timestamp,
        limit: usize,
        start: Option<Item>,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let lowest = format!("{}{:013}", source.sk_prefix, query.since.millis().max(0));
        let highest = match &query.before {
            Some(id) => format!("{}{id}", source.sk_prefix),
            None => format!("{}~", source.sk_prefix),
        };
        let mut filters = vec!["#expiresAt > :now".to_owned()];
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(source.index.map(str::to_owned))
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :lowest AND :highest")
            .expression_attribute_names("#pk", source.pk_name)
            .expression_attribute_names("#sk", source.sk_name)
            .expression_attribute_names("#expiresAt", "expiresAt")
            .expression_attribute_values(":pk", s(&source.pk))
            .expression_attribute_values(":lowest", s(lowest))
            .expression_attribute_values(":highest", s(highest))
            .expression_attribute_values(":now", n(now.epoch_seconds()));
        if let Some(severity) = query.severity {
            filters.push("#severity = :severity".into());
            request = request
                .expression_attribute_names("#severity", "severity")
                .expression_attribute_values(":severity", s(severity.as_str()));
        }
        if let (Some(category), Some(_)) = (query.category, &query.campaign_id) {
            filters.push("#category = :category".into());
            request = request
                .expression_attribute_names("#category", "category")
                .expression_attribute_values(":category", s(category.as_str()));
        }
        request
            .filter_expression(filters.join(" AND "))
            .scan_index_forward(false)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
    }

    /// Marks the entry `id` resolved with `resolution`, unless it already is (the first
    /// resolution stays: repeating the call changes nothing).
    pub async fn resolve_event(
        &self,
        id: &str,
        resolution: &Resolution,
    ) -> Result<ResolveOutcome, StoreError> {
        let Some(at) = event_time(id) else {
            return Ok(ResolveOutcome::NotFound);
        };
        let item_key = key(keys::events_day_pk(at), keys::event_sk(id));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key.clone()))
            .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#resolution)")
            .update_expression("SET #resolution = :resolution")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#resolution", "resolution")
            .expression_attribute_values(":resolution", items::to_attribute(resolution)?)
            .return_values(ReturnValue::AllNew)
            .send_with(&self.resilience)
            .await;
        let attributes = match result {
            Ok(output) => output.attributes,
            Err(error) => {
                let error = error.describe("UpdateItem");
                if error.class() != resilience::CONDITION_FAILED {
                    return Err(StoreError::Aws(error));
                }
                let stored = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(item_key))
                    .consistent_read(true)
                    .send_with(&self.resilience)
                    .await
                    .map_err(|e| StoreError::aws("GetItem", e))?;
                return Ok(match stored.item {
                    Some(item) => {
                        ResolveOutcome::AlreadyResolved(items::from_item::<EventItem>(item)?.event)
                    }
                    None => ResolveOutcome::NotFound,
                });
            }
        };
        let item =
            attributes.ok_or_else(|| StoreError::Corrupt("resolved entry not returned".into()))?;
        Ok(ResolveOutcome::Resolved(
            items::from_item::<EventItem>(item)?.event,
        ))
    }
}

/// The entry id in a page's last evaluated key.
fn examined_id(key: &Item, sk_name: &str) -> Option<String> {
    let sort = key.get(sk_name)?.as_s().ok()?;
    let id = sort.strip_prefix(keys::EVENT_SK_PREFIX).unwrap_or(sort);
    event_time(id).map(|_| id.to_owned())
}

/// The counters of one stored hour (attributes that are not counters are skipped).
fn hour_counts(item: &Item) -> Result<HourCounts, StoreError> {
    let hour = item
        .get(keys::SK)
        .and_then(|sk| sk.as_s().ok())
        .and_then(|sk| sk.strip_prefix("HOUR#"))
        .and_then(|millis| millis.parse().ok())
        .map(Timestamp::from_millis)
        .ok_or_else(|| StoreError::Corrupt("a counter item without its hour".into()))?;
    let counts = item
        .iter()
        .filter(|(name, _)| Counter::parse(name).is_some())
        .filter_map(|(name, value)| match value {
            AttributeValue::N(number) => number.parse().ok().map(|v| (name.clone(), v)),
            _ => None,
        })
        .collect();
    Ok(HourCounts { hour, counts })
}
