//! DynamoDB capacity of a group of functions, worked out from the requests a [`Meter`] saw
//! (moto reports none), with DynamoDB's on-demand rules:
//!
//! - a write costs 1 write unit per started KB of the item (the larger of its size before and
//!   after: the largest size the bench saw of it — in a put, in an answer, or in the scan of
//!   the table after the run); a write of a `TransactWriteItems` costs 2 per KB, a
//!   `ConditionCheck` in one too; each item of a `BatchWriteItem` is a write of its own;
//! - a write refused by its condition is billed like an applied one;
//! - an applied write of an item that is, or becomes, or stops being, in a sparse index also
//!   writes the index (projection ALL): 1 unit per KB to add or remove the entry or rewrite
//!   it, 2 when its index key changes (a delete and a put), at the standard rate also inside a
//!   transaction;
//! - reads: see [`crate::meter`] (4 KB units, half for eventually consistent reads).
//!
//! [`Meter`]: crate::meter::Meter

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::meter::{Change, Group, Indexed, Observed};
use crate::results::round;

/// DynamoDB capacity and the billed units of other services of one group, per recipient.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CapacityFigures {
    /// Write units per recipient, table and index writes.
    pub(crate) write_units_per_recipient: f64,
    /// Of which index writes.
    pub(crate) index_write_units_per_recipient: f64,
    /// Write units per recipient by the kind of item written (`ledger`, `run`, `batch`, …).
    pub(crate) write_units_by_item: BTreeMap<String, f64>,
    /// Write units per recipient by operation.
    pub(crate) write_units_by_operation: BTreeMap<String, f64>,
    /// Read units per recipient.
    pub(crate) read_units_per_recipient: f64,
    pub(crate) read_units_by_operation: BTreeMap<String, f64>,
    /// Item writes refused by their condition (billed all the same).
    pub(crate) refused_writes: u64,
    /// The largest size seen of each kind of item the group wrote, in bytes.
    pub(crate) largest_item_bytes: BTreeMap<String, usize>,
    /// EventBridge entries put per recipient (events are billed one by one).
    pub(crate) events_per_recipient: f64,
    /// `ReceiveMessage` of the group's queues (the event source mappings' polling) that
    /// returned messages, per recipient.
    pub(crate) receives_with_messages_per_recipient: f64,
    /// `ReceiveMessage` that returned nothing (idle polling), per recipient.
    pub(crate) empty_receives_per_recipient: f64,
}

/// The capacity `group` consumed, per `basis` recipients. Every group's writes are replayed
/// in order, so an item's index membership is known whoever wrote it first.
pub(crate) fn figures(observed: &Observed, group: Group, basis: f64) -> CapacityFigures {
    let basis = basis.max(1.0);
    let mut figures = CapacityFigures::default();
    let mut state: HashMap<&str, Indexed> = HashMap::new();
    let (mut total, mut index_total) = (0.0, 0.0);
    for write in &observed.writes {
        let size = match write.change {
            Change::Put { size, .. } => size,
            _ => observed.sizes.get(&write.key).copied().unwrap_or(0),
        };
        let units = size.div_ceil(1024).max(1) as f64;
        let table = units * if write.transactional { 2.0 } else { 1.0 };
        let mut index = 0.0;
        if write.applied {
            let before = state.get(write.key.as_str()).copied().unwrap_or_default();
            let after = match write.change {
                Change::Put { indexed, .. } => indexed,
                Change::Update { set, removed } => {
                    [0, 1].map(|i| (before[i] || set[i]) && !removed[i])
                }
                Change::Delete => [false; 2],
                Change::Check => before,
            };
            for i in 0..2 {
                index += units
                    * match (before[i], after[i], write.change) {
                        (false, false, _) | (_, _, Change::Check) => 0.0,
                        (true, true, Change::Update { set, .. }) if set[i] => 2.0,
                        _ => 1.0,
                    };
            }
            state.insert(&write.key, after);
        }
        if write.group != group {
            continue;
        }
        let kind = item_kind(&write.key);
        *figures.write_units_by_item.entry(kind.into()).or_default() += table + index;
        *figures
            .write_units_by_operation
            .entry(format!("DynamoDB.{}", write.operation))
            .or_default() += table + index;
        let largest = figures.largest_item_bytes.entry(kind.into()).or_default();
        *largest = (*largest).max(size);
        figures.refused_writes += u64::from(!write.applied);
        total += table + index;
        index_total += index;
    }
    let per = |map: &mut BTreeMap<String, f64>| {
        for value in map.values_mut() {
            *value = round(*value / basis);
        }
    };
    per(&mut figures.write_units_by_item);
    per(&mut figures.write_units_by_operation);
    figures.write_units_per_recipient = round(total / basis);
    figures.index_write_units_per_recipient = round(index_total / basis);
    let mut reads = 0.0;
    for ((read_group, operation), units) in &observed.read_units {
        if *read_group == group {
            reads += units;
            *figures
                .read_units_by_operation
                .entry(format!("DynamoDB.{operation}"))
                .or_default() += units;
        }
    }
    per(&mut figures.read_units_by_operation);
    figures.read_units_per_recipient = round(reads / basis);
    let events = observed.events.get(group).copied().unwrap_or(0);
    figures.events_per_recipient = round(events as f64 / basis);
    let receives = observed.receives.get(group).copied().unwrap_or_default();
    figures.receives_with_messages_per_recipient = round(receives.with_messages as f64 / basis);
    figures.empty_receives_per_recipient =
        round((receives.requests - receives.with_messages) as f64 / basis);
    figures
}

/// The kind of item a key names (see `shared/adapters/src/store/keys.rs`).
fn item_kind(key: &str) -> &'static str {
    let (pk, sk) = key.split_once('\u{1f}').unwrap_or((key, ""));
    if pk.starts_with("LEDGER#") {
        "ledger"
    } else if sk.starts_with("BATCH#") {
        "batch"
    } else if sk.starts_with("RUN#") {
        "run"
    } else if sk.starts_with("OUTBOX#") {
        "outbox"
    } else if pk == "SEND_RATE" {
        "send rate"
    } else if sk == "CAMPAIGN" {
        "campaign"
    } else if sk.starts_with("TIMER#") {
        "timer"
    } else if pk.starts_with("BREAKER#") {
        "breaker"
    } else {
        "other"
    }
}
