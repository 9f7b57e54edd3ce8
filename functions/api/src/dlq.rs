//! Operator routes of the dead-letter queues (docs/recovery.md, "Dead-letter queues"): every
//! DLQ by its short name with its source queue and depth, a peek at its messages with the
//! error attributes the service sets, and a redrive of selected messages back to the source
//! queue with the adapters' [`Redrive`](lifecycle_adapters::aws::Redrive) (receive → send →
//! delete: a message leaves the DLQ only once its copy is in the source queue).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use futures_util::future::try_join_all;
use lifecycle_adapters::aws::redrive::{
    ERROR_CATEGORY_ATTRIBUTE, ERROR_CODE_ATTRIBUTE, ERROR_MESSAGE_ATTRIBUTE, FAILED_AT_ATTRIBUTE,
};
use lifecycle_adapters::aws::{
    DeadLetter, OldestAge, QUEUE_AGE_LOOKBACK_MS, RedriveReport, RedriveRequest,
};
use lifecycle_adapters::dead_letter_queues::DeadLetterQueue;
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use lifecycle_resilience::AwsError;
use serde_json::{Map, Value, json};

use crate::ApiError;

type App = State<Arc<Services>>;
type Params = Result<Query<BTreeMap<String, String>>, QueryRejection>;

/// Messages a peek shows when `limit` is not given, and at most.
const DEFAULT_PEEK: usize = 10;
const MAX_PEEK: usize = 100;
/// Messages a redrive moves when `limit` is not given, and at most.
const DEFAULT_REDRIVE: usize = 100;
const MAX_REDRIVE: usize = 1_000;
/// Most `messageIds` one redrive names, and the longest id and `errorCode` accepted.
const MAX_MESSAGE_IDS: usize = 100;
const MAX_ID_CHARS: usize = 128;
/// Messages a selective redrive (by ids or `errorCode`) looks at to find its selection.
const SELECTION_SCAN: usize = 1_000;
/// EventBridge's attributes on an event its rule could not deliver to its target.
const EVENTBRIDGE_ERROR_CODE: &str = "ERROR_CODE";
const EVENTBRIDGE_ERROR_MESSAGE: &str = "ERROR_MESSAGE";
/// `GET /recovery/dlq`: every configured DLQ with its source queue, depth (one
/// GetQueueAttributes per DLQ, concurrently) and the age of its oldest message (one
/// CloudWatch GetMetricData for all: SQS reports no ages). An age CloudWatch cannot give is
/// `null` with `oldestMessageAgeReason`; the depths are answered all the same.
pub(crate) async fn list_queues(State(app): App) -> Result<Json<Value>, ApiError> {
    let queues: Vec<&DeadLetterQueue> = app.config.dead_letter_queues.iter().collect();
    let names: Vec<&str> = queues.iter().map(|queue| queue.dlq_queue_name()).collect();
    let (depths, ages) = tokio::join!(
        try_join_all(queues.iter().map(|queue| app.timers.depth(&queue.dlq_url))),
        app.queue_ages.oldest_ages(&names, Timestamp::now()),
    );
    let depths = depths.map_err(|error| unavailable(&error, "DLQ depths not read"))?;
    let ages: Vec<Result<OldestAge, &str>> = match ages {
        Ok(ages) => ages
            .into_iter()
            .map(|age| age.ok_or(AGE_NO_DATAPOINT))
            .collect(),
        Err(error) => {
            tracing::warn!(error = %error, "DLQ ages not read");
            vec![Err(AGE_UNREADABLE); queues.len()]
        }
    };
    let listed: Vec<Value> = queues
        .iter()
        .zip(depths)
        .zip(ages)
        .map(|((queue, depth), age)| {
            let mut entry = json!({
                "name": queue.name,
                "queue": queue.dlq_queue_name(),
                "sourceQueue": queue.source_queue_name(),
                "visible": depth.visible,
                "inFlight": depth.in_flight,
                "delayed": depth.delayed,
            });
            let empty = depth.visible + depth.in_flight + depth.delayed == 0;
            let fields = entry.as_object_mut().expect("an object");
            match age {
                Ok(age) => {
                    fields.insert(
                        "oldestMessageAgeSeconds".into(),
                        json!(age.seconds.round() as i64),
                    );
                    fields.insert("oldestMessageAgeAt".into(), json!(age.at.to_rfc3339()));
                }
                Err(reason) => {
                    fields.insert("oldestMessageAgeSeconds".into(), Value::Null);
                    let reason = if empty {
                        "the queue reports no messages"
                    } else {
                        reason
                    };
                    fields.insert("oldestMessageAgeReason".into(), json!(reason));
                }
            }
            entry
        })
        .collect();
    Ok(Json(json!({ "queues": listed })))
}

/// Why `oldestMessageAgeSeconds` is null for a queue with messages.
const AGE_NO_DATAPOINT: &str = "CloudWatch has no ApproximateAgeOfOldestMessage datapoint of the \
queue in the last 15 minutes (SQS publishes it every minute for an active queue, a few minutes \
late); a peek shows each message's sentAt";
const _: () = assert!(
    QUEUE_AGE_LOOKBACK_MS == 15 * 60_000,
    "AGE_NO_DATAPOINT says 15 minutes"
);
const AGE_UNREADABLE: &str = "CloudWatch could not be read; a peek shows each message's sentAt";

/// `GET /recovery/dlq/{queue}/messages?limit=`: up to `limit` messages (1–100, default 10)
/// with their error attributes. A peek receives them (their receive counts grow by one) and
/// makes them visible again at once.
pub(crate) async fn peek(
    State(app): App,
    Path(name): Path<String>,
    query: Params,
) -> Result<Json<Value>, ApiError> {
    let queue = queue(&app, &name)?;
    let params = query
        .map(|Query(params)| params)
        .map_err(|rejection| ApiError::bad_body(rejection.body_text()))?;
    let limit = match params.get("limit").map(|v| v.trim().parse::<usize>()) {
        None => DEFAULT_PEEK,
        Some(Ok(limit)) if (1..=MAX_PEEK).contains(&limit) => limit,
        Some(_) => {
            return Err(ApiError::field(
                "limit",
                format!("must be an integer from 1 to {MAX_PEEK}"),
            ));
        }
    };
    let letters = app
        .redrive
        .list(&queue.dlq_url, limit)
        .await
        .map_err(|error| unavailable(&error, "DLQ messages not listed"))?;
    let messages: Vec<Value> = letters.iter().map(message_view).collect();
    Ok(Json(json!({ "queue": queue.name, "messages": messages })))
}

/// `POST /recovery/dlq/{queue}/redrive`: moves the selected messages (every one, up to
/// `limit`, without a selection) back to the source queue; `dryRun` only reports them.
pub(crate) async fn redrive(
    State(app): App,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let queue = queue(&app, &name)?;
    let selection = Selection::parse(&body)?;
    let outcome = if selection.is_selective() {
        redrive_selected(&app, queue, &selection).await
    } else {
        app.redrive
            .redrive(
                &queue.dlq_url,
                &queue.source_url,
                &RedriveRequest {
                    message_ids: None,
                    limit: selection.limit,
                    dry_run: selection.dry_run,
                },
            )
            .await
            .map(|report| (report, Vec::new()))
    };
    let (report, not_found) = outcome.map_err(|error| unavailable(&error, "DLQ redrive failed"))?;
    if !report.dry_run {
        tracing::info!(
            queue = queue.name,
            moved = report.moved.len(),
            failed = report.failed.len(),
            "DLQ messages redriven"
        );
    }
    Ok(Json(redrive_view(queue, &report, &not_found)))
}

/// A selection by ids or `errorCode`: one bounded pass finds the selected messages among the
/// first [`SELECTION_SCAN`], a second moves exactly those. Returns the report and the
/// requested ids the pass did not see.
async fn redrive_selected(
    app: &Services,
    queue: &DeadLetterQueue,
    selection: &Selection,
) -> Result<(RedriveReport, Vec<String>), AwsError> {
    let letters = app.redrive.list(&queue.dlq_url, SELECTION_SCAN).await?;
    let chosen: BTreeSet<String> = letters
        .iter()
        .filter(|letter| selection.selects(letter))
        .take(selection.limit)
        .map(|letter| letter.message_id.clone())
        .collect();
    let not_found = selection
        .message_ids
        .iter()
        .flatten()
        .filter(|id| !letters.iter().any(|letter| &letter.message_id == *id))
        .cloned()
        .collect();
    let mut report = RedriveReport {
        dry_run: selection.dry_run,
        examined: letters.len(),
        ..RedriveReport::default()
    };
    if selection.dry_run {
        report.moved = chosen.into_iter().collect();
    } else if !chosen.is_empty() {
        let moved = app
            .redrive
            .redrive(
                &queue.dlq_url,
                &queue.source_url,
                &RedriveRequest {
                    limit: chosen.len(),
                    message_ids: Some(chosen),
                    dry_run: false,
                },
            )
            .await?;
        report.moved = moved.moved;
        report.failed = moved.failed;
    }
    Ok((report, not_found))
}

/// The DLQ named `name`, or 404 `DLQ_NOT_FOUND`.
fn queue<'a>(app: &'a Services, name: &str) -> Result<&'a DeadLetterQueue, ApiError> {
    let queues = &app.config.dead_letter_queues;
    queues
        .get(name)
        .ok_or_else(|| ApiError::dlq_not_found(name, &queues.names()))
}

/// A failed SQS request: 503, logged; the body names no queue.
fn unavailable(error: &AwsError, what: &str) -> ApiError {
    tracing::error!(error = %error, "{what}");
    ApiError::dependency_unavailable()
}

/// What `POST /recovery/dlq/{queue}/redrive` selects.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selection {
    message_ids: Option<BTreeSet<String>>,
    error_code: Option<String>,
    limit: usize,
    dry_run: bool,
}

impl Selection {
    /// Reads the body (empty: `{}`); every problem is a field message.
    fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let text = std::str::from_utf8(body).map_err(|_| not_an_object())?;
        let object = if text.trim().is_empty() {
            Map::new()
        } else {
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(object)) => object,
                _ => return Err(not_an_object()),
            }
        };
        let mut fields = BTreeMap::new();
        let mut problem = |field: &str, message: String| {
            fields.insert(field.to_owned(), message);
        };
        for name in object.keys() {
            if !["messageIds", "errorCode", "limit", "dryRun"].contains(&name.as_str()) {
                problem(
                    name,
                    "is not a field of this request (messageIds, errorCode, limit, dryRun)".into(),
                );
            }
        }
        let present = |name: &str| object.get(name).filter(|v| !v.is_null());
        let ids_problem = format!(
            "must be a list of 1 to {MAX_MESSAGE_IDS} message ids (non-empty strings of at most {MAX_ID_CHARS} characters)"
        );
        let message_ids = present("messageIds").and_then(|value| {
            let ids: Option<BTreeSet<String>> = value.as_array().and_then(|items| {
                items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .map(str::trim)
                            .filter(|id| !id.is_empty() && id.chars().count() <= MAX_ID_CHARS)
                            .map(str::to_owned)
                    })
                    .collect()
            });
            match ids {
                Some(ids) if (1..=MAX_MESSAGE_IDS).contains(&ids.len()) => Some(ids),
                _ => {
                    problem("messageIds", ids_problem.clone());
                    None
                }
            }
        });
        let error_code = present("errorCode").and_then(|value| {
            match value
                .as_str()
                .map(str::trim)
                .filter(|code| !code.is_empty() && code.chars().count() <= MAX_ID_CHARS)
            {
                Some(code) => Some(code.to_owned()),
                None => {
                    problem(
                        "errorCode",
                        format!("must be a non-empty string of at most {MAX_ID_CHARS} characters"),
                    );
                    None
                }
            }
        });
        let limit = match present("limit").map(|value| value.as_u64()) {
            None => DEFAULT_REDRIVE,
            Some(Some(limit)) if (1..=MAX_REDRIVE as u64).contains(&limit) => limit as usize,
            Some(_) => {
                problem(
                    "limit",
                    format!("must be an integer from 1 to {MAX_REDRIVE}"),
                );
                DEFAULT_REDRIVE
            }
        };
        let dry_run = match present("dryRun").map(Value::as_bool) {
            None => false,
            Some(Some(dry_run)) => dry_run,
            Some(None) => {
                problem("dryRun", "must be true or false".into());
                false
            }
        };
        if !fields.is_empty() {
            return Err(ApiError::invalid_fields(fields));
        }
        Ok(Self {
            message_ids,
            error_code,
            limit,
            dry_run,
        })
    }

    /// Whether it names messages (by id or error code) rather than taking every one.
    fn is_selective(&self) -> bool {
        self.message_ids.is_some() || self.error_code.is_some()
    }

    /// Whether `letter` is selected (both criteria hold when both are given).
    fn selects(&self, letter: &DeadLetter) -> bool {
        self.message_ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&letter.message_id))
            && self
                .error_code
                .as_ref()
                .is_none_or(|code| error_code(letter) == Some(code.as_str()))
    }
}

fn not_an_object() -> ApiError {
    ApiError::bad_body("the body must be a JSON object (or empty)")
}

/// The error code of a dead letter: the service's `errorCode` attribute, or EventBridge's
/// `ERROR_CODE` on an event its rule could not deliver.
fn error_code(letter: &DeadLetter) -> Option<&str> {
    attribute(letter, ERROR_CODE_ATTRIBUTE).or_else(|| attribute(letter, EVENTBRIDGE_ERROR_CODE))
}

fn attribute<'a>(letter: &'a DeadLetter, name: &str) -> Option<&'a str> {
    letter.attributes.get(name).map(String::as_str)
}

/// A peeked message as the API answers it.
fn message_view(letter: &DeadLetter) -> Value {
    json!({
        "messageId": letter.message_id,
        "receiveCount": letter.receive_count,
        "sentAt": letter.sent_at,
        "errorCode": error_code(letter),
        "errorCategory": attribute(letter, ERROR_CATEGORY_ATTRIBUTE),
        "errorMessage": attribute(letter, ERROR_MESSAGE_ATTRIBUTE)
            .or_else(|| attribute(letter, EVENTBRIDGE_ERROR_MESSAGE)),
        "failedAt": attribute(letter, FAILED_AT_ATTRIBUTE),
        "body": letter.body,
    })
}

/// A redrive's answer: counts, the moved ids, each failure with a public reason.
fn redrive_view(queue: &DeadLetterQueue, report: &RedriveReport, not_found: &[String]) -> Value {
    let failures: Vec<Value> = report
        .failed
        .iter()
        .map(|(id, reason)| {
            tracing::warn!(
                queue = queue.name,
                message = id,
                reason,
                "DLQ message not moved"
            );
            json!({ "messageId": id, "reason": failure_reason(reason) })
        })
        .collect();
    json!({
        "queue": queue.name,
        "sourceQueue": queue.source_queue_name(),
        "dryRun": report.dry_run,
        "examined": report.examined,
        "selected": report.moved.len() + report.failed.len(),
        "moved": if report.dry_run { 0 } else { report.moved.len() },
        "failed": report.failed.len(),
        "messageIds": report.moved,
        "failures": failures,
        "notFound": not_found,
    })
}

/// The public reason of a failed move, from the library's (which may carry AWS error text).
fn failure_reason(reason: &str) -> &'static str {
    if reason.starts_with("copied, not deleted") {
        // Its copy is in the source queue and it is still in the DLQ.
        "COPIED_NOT_DELETED"
    } else if reason.starts_with("send refused") {
        "SEND_REFUSED"
    } else if reason.starts_with("copy not buildable") {
        "NOT_COPYABLE"
    } else {
        // The send request failed: no copy, or (its answer lost) a copy nobody confirmed.
        "SEND_FAILED"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Selection, ApiError> {
        Selection::parse(body.as_bytes())
    }

    fn fields(body: &str) -> Vec<String> {
        let error = parse(body).unwrap_err();
        assert_eq!(error.code, "VALIDATION_FAILED", "{body}");
        error.fields.into_keys().collect()
    }

    fn letter(id: &str, attributes: &[(&str, &str)]) -> DeadLetter {
        DeadLetter {
            message_id: id.into(),
            body: "{}".into(),
            receive_count: 1,
            sent_at: None,
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn an_empty_body_takes_every_message_up_to_the_default_limit() {
        for body in ["", "  ", "{}", r#"{"messageIds":null,"errorCode":null}"#] {
            let selection = parse(body).unwrap();
            assert_eq!(
                selection,
                Selection {
                    message_ids: None,
                    error_code: None,
                    limit: DEFAULT_REDRIVE,
                    dry_run: false
                },
                "{body}"
            );
            assert!(!selection.is_selective());
        }
    }

    #[test]
    fn reads_a_full_selection() {
        let selection =
            parse(r#"{"messageIds":["a"," b ","a"],"errorCode":"X","limit":1000,"dryRun":true}"#)
                .unwrap();
        assert_eq!(
            selection.message_ids,
            Some(BTreeSet::from(["a".into(), "b".into()]))
        );
        assert_eq!(selection.error_code.as_deref(), Some("X"));
        assert_eq!((selection.limit, selection.dry_run), (1000, true));
        assert!(selection.is_selective());
    }

    #[test]
    fn names_every_bad_field() {
        assert_eq!(
            fields(r#"{"messageIds":[],"errorCode":"","limit":0,"dryRun":"yes","all":true}"#),
            ["all", "dryRun", "errorCode", "limit", "messageIds"]
        );
        for bad in [
            r#"{"messageIds":"a"}"#,
            r#"{"messageIds":[1]}"#,
            r#"{"messageIds":[" "]}"#,
        ] {
            assert_eq!(fields(bad), ["messageIds"], "{bad}");
        }
        let too_many: Vec<String> = (0..=MAX_MESSAGE_IDS).map(|i| i.to_string()).collect();
        assert_eq!(
            fields(&json!({ "messageIds": too_many }).to_string()),
            ["messageIds"]
        );
        for bad in ["1001", "-1", "1.5", "\"10\""] {
            assert_eq!(fields(&format!(r#"{{"limit":{bad}}}"#)), ["limit"], "{bad}");
        }
        assert_eq!(fields(r#"{"errorCode":7}"#), ["errorCode"]);
    }

    #[test]
    fn a_body_that_is_not_an_object_is_invalid() {
        for bad in ["[]", "nope", "{\"limit\":", "3"] {
            assert_eq!(parse(bad).unwrap_err().code, "INVALID_BODY", "{bad}");
        }
        assert_eq!(
            Selection::parse(&[0xff, 0xfe]).unwrap_err().code,
            "INVALID_BODY"
        );
    }

    #[test]
    fn selects_by_ids_and_error_code_together() {
        let selection = parse(r#"{"messageIds":["a","b"],"errorCode":"X"}"#).unwrap();
        assert!(selection.selects(&letter("a", &[(ERROR_CODE_ATTRIBUTE, "X")])));
        assert!(!selection.selects(&letter("b", &[(ERROR_CODE_ATTRIBUTE, "Y")])));
        assert!(!selection.selects(&letter("c", &[(ERROR_CODE_ATTRIBUTE, "X")])));
        let by_code = parse(r#"{"errorCode":"X"}"#).unwrap();
        assert!(by_code.selects(&letter("c", &[(EVENTBRIDGE_ERROR_CODE, "X")])));
        assert!(!by_code.selects(&letter("d", &[])));
    }

    #[test]
    fn a_message_shows_its_error_attributes_or_nulls() {
        let view = message_view(&letter(
            "a",
            &[
                (ERROR_CODE_ATTRIBUTE, "SCHEMA"),
                (ERROR_CATEGORY_ATTRIBUTE, "Validation"),
                (ERROR_MESSAGE_ATTRIBUTE, "bad"),
                (FAILED_AT_ATTRIBUTE, "2026-12-04T02:00:00Z"),
            ],
        ));
        assert_eq!(
            (
                &view["errorCode"],
                &view["errorCategory"],
                &view["errorMessage"],
                &view["failedAt"]
            ),
            (
                &json!("SCHEMA"),
                &json!("Validation"),
                &json!("bad"),
                &json!("2026-12-04T02:00:00Z")
            )
        );
        let bare = message_view(&letter("b", &[]));
        assert!(bare["errorCode"].is_null() && bare["failedAt"].is_null());
        let from_rule = message_view(&letter(
            "c",
            &[
                (EVENTBRIDGE_ERROR_CODE, "SDK_CLIENT_ERROR"),
                (EVENTBRIDGE_ERROR_MESSAGE, "no"),
            ],
        ));
        assert_eq!(
            (&from_rule["errorCode"], &from_rule["errorMessage"]),
            (&json!("SDK_CLIENT_ERROR"), &json!("no"))
        );
    }

    #[test]
    fn failure_reasons_carry_no_aws_text() {
        assert_eq!(
            failure_reason("copied, not deleted: DeleteMessageBatch failed: arn:aws:sqs:…"),
            "COPIED_NOT_DELETED"
        );
        assert_eq!(
            failure_reason("send refused: AWS.SimpleQueueService.X"),
            "SEND_REFUSED"
        );
        assert_eq!(failure_reason("copy not buildable"), "NOT_COPYABLE");
        assert_eq!(
            failure_reason("SendMessageBatch failed: 500 https://sqs…/123/q"),
            "SEND_FAILED"
        );
    }
}
