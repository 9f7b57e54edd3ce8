//! What the functions' requests carry, for the capacity figures of the bulk scenario.
//!
//! moto does not compute DynamoDB consumed capacity (it answers a fixed 1.0, or nothing for
//! transactions), so the bench works it out from the requests themselves. A [`Meter`] wraps
//! the HTTP client of the SDK configuration a group of functions gets: each DynamoDB, SQS and
//! EventBridge request is passed on unchanged, and its JSON body and answer are read on the
//! way back. Kept: every DynamoDB write (which item, how, whether it was applied, the size of
//! a put item), the read capacity of every read (from the sizes of the items answered), the
//! size of every item seen in an answer, the messages each `ReceiveMessage` returned and the
//! entries of each `PutEvents`. [`crate::capacity`] turns that into write and read units.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::observed_client::{self, Exchange, Observer};

/// Which functions a request came from (`delivery`, `timers`, `api`, …).
pub(crate) type Group = &'static str;

/// Membership of an item in the table's two sparse indexes: `[ByDue, ByStatus]`.
pub(crate) type Indexed = [bool; 2];

/// The key attributes of `ByDue` and `ByStatus` (an item is in an index when it has both).
const INDEX_KEYS: [[&str; 2]; 2] = [["duePk", "dueSk"], ["statusPk", "statusSk"]];

/// How a write changes one item.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change {
    /// A whole item written, of `size` bytes.
    Put {
        size: usize,
        indexed: Indexed,
    },
    /// Attributes set or removed; `set`/`removed`: whether a key attribute of each index is.
    Update {
        set: Indexed,
        removed: Indexed,
    },
    Delete,
    /// A `ConditionCheck` of a transaction.
    Check,
}

/// One item written by one request.
#[derive(Debug, Clone)]
pub(crate) struct Write {
    pub(crate) group: Group,
    /// `PutItem`, `TransactWriteItems`, …
    pub(crate) operation: String,
    pub(crate) transactional: bool,
    /// The item's key (`PK`, `SK`).
    pub(crate) key: String,
    pub(crate) change: Change,
    /// Whether the request succeeded (a refused condition still consumes capacity).
    pub(crate) applied: bool,
}

/// `ReceiveMessage` requests and what they returned.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Receives {
    pub(crate) requests: u64,
    /// Requests that returned at least one message.
    pub(crate) with_messages: u64,
    pub(crate) messages: u64,
}

/// Everything a [`Meter`] saw.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    /// DynamoDB writes, item by item, in the order their answers came.
    pub(crate) writes: Vec<Write>,
    /// Read capacity units by group and operation.
    pub(crate) read_units: BTreeMap<(Group, String), f64>,
    /// The largest size seen of each item (puts and answers), in bytes, by key.
    pub(crate) sizes: HashMap<String, usize>,
    pub(crate) receives: BTreeMap<Group, Receives>,
    /// EventBridge entries put (billed events), by group.
    pub(crate) events: BTreeMap<Group, u64>,
}

/// Reads the requests of the clients built from [`Meter::sdk_config`]; clones share what
/// they saw.
#[derive(Debug, Clone, Default)]
pub(crate) struct Meter {
    observed: Arc<Mutex<Observed>>,
}

impl Meter {
    /// A meter that saw nothing yet.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// `base` with an HTTP client that reports `group`'s requests to this meter.
    pub(crate) fn sdk_config(
        &self,
        base: &aws_config::SdkConfig,
        group: Group,
    ) -> aws_config::SdkConfig {
        observed_client::sdk_config(
            base,
            GroupMeter {
                meter: self.clone(),
                group,
            },
        )
    }

    /// What was seen so far (the meter starts again from nothing).
    pub(crate) fn take(&self) -> Observed {
        std::mem::take(&mut *self.observed.lock().expect("meter lock"))
    }

    fn observe(&self, group: Group, target: &str, request: &[u8], status: u16, answer: &[u8]) {
        let Some((service, operation)) = target.split_once('.') else {
            return;
        };
        let request: Value = serde_json::from_slice(request).unwrap_or(Value::Null);
        let answer: Value = serde_json::from_slice(answer).unwrap_or(Value::Null);
        let mut seen = self.observed.lock().expect("meter lock");
        let seen = &mut *seen;
        match service {
            s if s.starts_with("DynamoDB") => {
                let applied = status == 200;
                for (transactional, write) in writes(operation, &request) {
                    let (key, change) = write;
                    if let Change::Put { size, .. } = change {
                        remember(&mut seen.sizes, &key, size);
                    }
                    seen.writes.push(Write {
                        group,
                        operation: operation.to_owned(),
                        transactional,
                        key,
                        change,
                        applied,
                    });
                }
                if applied && let Some(units) = read_units(operation, &request, &answer) {
                    *seen
                        .read_units
                        .entry((group, operation.to_owned()))
                        .or_default() += units;
                }
                for item in answered_items(&answer) {
                    if let Some(key) = key_of(item) {
                        remember(&mut seen.sizes, &key, item_size(item));
                    }
                }
            }
            "AmazonSQS" if operation == "ReceiveMessage" => {
                let messages = answer["Messages"].as_array().map_or(0, Vec::len) as u64;
                let receives = seen.receives.entry(group).or_default();
                receives.requests += 1;
                receives.with_messages += u64::from(messages > 0);
                receives.messages += messages;
            }
            "AWSEvents" if operation == "PutEvents" => {
                let entries = request["Entries"].as_array().map_or(0, Vec::len) as u64;
                *seen.events.entry(group).or_default() += entries;
            }
            _ => {}
        }
    }
}

/// The meter of one group's clients.
#[derive(Debug, Clone)]
struct GroupMeter {
    meter: Meter,
    group: Group,
}

impl Observer for GroupMeter {
    fn observes(&self, target: &str) -> bool {
        target.starts_with("DynamoDB")
            || target == "AmazonSQS.ReceiveMessage"
            || target == "AWSEvents.PutEvents"
    }

    fn observe(&self, exchange: &Exchange<'_>) {
        self.meter.observe(
            self.group,
            exchange.target,
            exchange.request,
            exchange.status,
            exchange.answer,
        );
    }
}

fn remember(sizes: &mut HashMap<String, usize>, key: &str, size: usize) {
    let known = sizes.entry(key.to_owned()).or_default();
    *known = (*known).max(size);
}

/// The items a write request writes: (transactional, (key, change)).
fn writes(operation: &str, request: &Value) -> Vec<(bool, (String, Change))> {
    match operation {
        "PutItem" | "UpdateItem" | "DeleteItem" => {
            let kind = operation.trim_end_matches("Item");
            change(kind, request)
                .map(|c| (false, c))
                .into_iter()
                .collect()
        }
        "TransactWriteItems" => request["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .filter_map(|entry| {
                let (kind, body) = entry.iter().next()?;
                change(kind, body).map(|c| (true, c))
            })
            .collect(),
        "BatchWriteItem" => request["RequestItems"]
            .as_object()
            .into_iter()
            .flat_map(|tables| tables.values())
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|entry| {
                if let Some(put) = entry.get("PutRequest") {
                    change("Put", put)
                } else {
                    change("Delete", entry.get("DeleteRequest")?)
                }
            })
            .map(|c| (false, c))
            .collect(),
        _ => Vec::new(),
    }
}

/// What one `Put`/`Update`/`Delete`/`ConditionCheck` body does to its item.
fn change(kind: &str, body: &Value) -> Option<(String, Change)> {
    if kind == "Put" {
        let item = body["Item"].as_object()?;
        let has = |name: &str| item.contains_key(name);
        let indexed = INDEX_KEYS.map(|[pk, sk]| has(pk) && has(sk));
        return Some((
            key_of(item)?,
            Change::Put {
                size: item_size(item),
                indexed,
            },
        ));
    }
    let key = key_of(body["Key"].as_object()?)?;
    let change = match kind {
        "Update" => {
            let (set, removed) = touched_index_keys(body);
            Change::Update { set, removed }
        }
        "Delete" => Change::Delete,
        "ConditionCheck" => Change::Check,
        _ => return None,
    };
    Some((key, change))
}

/// Whether an update's `SET` and `REMOVE` clauses name a key attribute of each index.
fn touched_index_keys(body: &Value) -> (Indexed, Indexed) {
    let names = body["ExpressionAttributeNames"].as_object();
    let expression = body["UpdateExpression"].as_str().unwrap_or_default();
    let (mut set, mut removed) = ([false; 2], [false; 2]);
    let mut clause = "";
    for token in expression.split(|c: char| c.is_whitespace() || c == ',' || c == '=') {
        let upper = token.to_ascii_uppercase();
        if matches!(upper.as_str(), "SET" | "REMOVE" | "ADD" | "DELETE") {
            clause = match upper.as_str() {
                "SET" => "SET",
                "REMOVE" => "REMOVE",
                _ => "OTHER",
            };
            continue;
        }
        let name = names
            .and_then(|n| n.get(token))
            .and_then(Value::as_str)
            .unwrap_or(token);
        for (index, keys) in INDEX_KEYS.iter().enumerate() {
            if keys.contains(&name) {
                match clause {
                    "SET" => set[index] = true,
                    "REMOVE" => removed[index] = true,
                    _ => {}
                }
            }
        }
    }
    (set, removed)
}

/// Read capacity of a successful read: 4 KB units, per item for `GetItem`, `BatchGetItem` and
/// `TransactGetItems` (transactional reads cost double), over the total for `Query`/`Scan`
/// (which DynamoDB rounds once per request); half for eventually consistent reads.
fn read_units(operation: &str, request: &Value, answer: &Value) -> Option<f64> {
    let units = |bytes: usize| bytes.div_ceil(4096).max(1) as f64;
    let strength = |consistent: &Value| {
        if consistent.as_bool() == Some(true) {
            1.0
        } else {
            0.5
        }
    };
    let sized = |items: &Vec<Value>| -> Vec<usize> {
        items
            .iter()
            .filter_map(Value::as_object)
            .map(item_size)
            .collect()
    };
    Some(match operation {
        "GetItem" => {
            let size = answer["Item"].as_object().map_or(0, item_size);
            units(size) * strength(&request["ConsistentRead"])
        }
        "Query" | "Scan" => {
            let total: usize = answer["Items"].as_array().map(&sized)?.iter().sum();
            units(total) * strength(&request["ConsistentRead"])
        }
        "BatchGetItem" => {
            let mut total = 0.0;
            for (table, items) in answer["Responses"].as_object()? {
                let factor = strength(&request["RequestItems"][table]["ConsistentRead"]);
                let items = items.as_array().map(&sized).unwrap_or_default();
                total += items.into_iter().map(units).sum::<f64>() * factor;
            }
            total
        }
        "TransactGetItems" => {
            let responses = answer["Responses"].as_array()?;
            responses
                .iter()
                .map(|r| units(r["Item"].as_object().map_or(0, item_size)) * 2.0)
                .sum()
        }
        _ => return None,
    })
}

/// Items an answer carries (reads, and old/new images of writes).
fn answered_items(answer: &Value) -> Vec<&Map<String, Value>> {
    let mut items = Vec::new();
    for field in ["Item", "Attributes"] {
        items.extend(answer[field].as_object());
    }
    items.extend(
        answer["Items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_object),
    );
    for table in answer["Responses"]
        .as_object()
        .into_iter()
        .flat_map(|t| t.values())
    {
        items.extend(
            table
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_object),
        );
    }
    items
}

/// `PK` and `SK` of an item or key, as one string.
pub(crate) fn key_of(item: &Map<String, Value>) -> Option<String> {
    let pk = item.get("PK")?.get("S")?.as_str()?;
    let sk = item.get("SK")?.get("S")?.as_str()?;
    Some(format!("{pk}\u{1f}{sk}"))
}

/// An item's size as DynamoDB counts it: each attribute's name plus its value (strings and
/// binaries by their bytes, numbers ≈ 1 byte per two digits plus 1, booleans and nulls 1,
/// lists and maps 3 bytes plus 1 per element plus their elements).
pub(crate) fn item_size(item: &Map<String, Value>) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &Value) -> usize {
    let Some((kind, inner)) = value.as_object().and_then(|v| v.iter().next()) else {
        return 0;
    };
    let number = |n: &Value| n.as_str().map_or(1, |d| d.len().div_ceil(2) + 1);
    match kind.as_str() {
        "S" => inner.as_str().map_or(0, str::len),
        "N" => number(inner),
        "B" => inner.as_str().map_or(0, |b| b.len() * 3 / 4),
        "BOOL" | "NULL" => 1,
        "SS" | "BS" => inner.as_array().map_or(0, |a| {
            a.iter().filter_map(Value::as_str).map(str::len).sum()
        }),
        "NS" => inner.as_array().map_or(0, |a| a.iter().map(number).sum()),
        "L" => {
            3 + inner
                .as_array()
                .map_or(0, |a| a.iter().map(|v| 1 + value_size(v)).sum::<usize>())
        }
        "M" => {
            3 + inner.as_object().map_or(0, |m| {
                m.iter()
                    .map(|(name, v)| 1 + name.len() + value_size(v))
                    .sum::<usize>()
            })
        }
        _ => 0,
    }
}
