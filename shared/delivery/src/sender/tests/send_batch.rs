//! The sender's promises, checked against the in-memory ports: each recipient once, counts
//! exact, the run completed once, and a crash at any port call losing nothing and doubling
//! only recipients counted ambiguous.

use std::collections::HashMap;
use std::time::Duration;

use lifecycle_domain::delivery::message::{EmailMessage, EventMessage, WebhookMessage};
use lifecycle_domain::delivery::provider_response::SendOutcome;
use lifecycle_domain::delivery::secret_ref::SecretRef;
use lifecycle_domain::delivery::{
    AmbiguousPolicy, Channel, Counts, LedgerEntry, LedgerStatus, Message, PayloadTemplate,
    PlannedBatch, RecipientList, RunEventType, RunId, RunStatus, Template,
};
use lifecycle_domain::{CampaignId, ManualClock, Timestamp};

use super::fakes::{FakePorts, StoredEntry, World};
use crate::sender::ports::RunPlan;
use crate::sender::send_batch::{BatchResult, Sender, Settings};
use lifecycle_domain::delivery::BatchJob;

fn start() -> Timestamp {
    Timestamp::parse_rfc3339("2026-12-02T09:00:00Z").unwrap()
}

fn email(policy: AmbiguousPolicy) -> RunPlan {
    plan(
        Message::Email(EmailMessage {
            from: "offers@example.com".into(),
            subject: Template::parse("Hi {{name}}").unwrap(),
            text: Some(Template::parse("Hello {{name}}").unwrap()),
            html: None,
        }),
        policy,
    )
}

fn webhook() -> RunPlan {
    plan(
        Message::Webhook(WebhookMessage {
            payload: PayloadTemplate::parse(serde_json::json!({"hi": "{{name}}"})).unwrap(),
            secret_ref: SecretRef::parse("ssm:/hook").unwrap(),
        }),
        AmbiguousPolicy::Resend,
    )
}

fn plan(message: Message, on_ambiguous: AmbiguousPolicy) -> RunPlan {
    RunPlan {
        status: RunStatus::Sending,
        message,
        list: RecipientList::parse_uri("s3://lists/run.jsonl").unwrap(),
        csv_header: None,
        on_ambiguous,
        closes_at: None,
    }
}

/// A JSON Lines list of recipients `ids` (address `<id>@example.com`, var `name`).
fn list(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| {
            format!("{{\"id\":\"{id}\",\"address\":\"{id}@example.com\",\"vars\":{{\"name\":\"{id}\"}}}}\n")
        })
        .collect()
}

fn job(list: &str, rows: u32) -> BatchJob {
    BatchJob {
        campaign_id: CampaignId::new("c1"),
        run_id: RunId::for_occurrence(start()),
        batch: PlannedBatch {
            seq: 0,
            first_row: 0,
            rows,
            start_byte: 0,
            end_byte: list.len() as u64,
        },
    }
}

struct Case {
    ports: FakePorts,
    clock: ManualClock,
    job: BatchJob,
    settings: Settings,
}

impl Case {
    fn new(plan: RunPlan, ids: &[&str]) -> Self {
        let text = list(ids);
        let clock = ManualClock::at(start());
        Self {
            ports: FakePorts::new(World::new(plan, &text, ids.len() as u64), &clock),
            job: job(&text, ids.len() as u32),
            clock,
            settings: Settings::default(),
        }
    }

    async fn send(&self, token: &str) -> BatchResult {
        self.send_until(token, None).await
    }

    async fn send_until(&self, token: &str, stop_at: Option<Timestamp>) -> BatchResult {
        let sender = Sender {
            ports: &self.ports,
            clock: &self.clock,
            settings: self.settings,
        };
        sender.send(&self.job, token, stop_at).await
    }

    /// Lets the last attempt's lease run out.
    fn expire_lease(&self) {
        self.clock.advance(self.settings.lease_ms + 1);
    }

    fn answer(&self, id: &str, answers: Vec<SendOutcome>) {
        self.ports
            .world()
            .answers
            .insert(format!("{id}@example.com"), answers.into());
    }

    /// How many times the provider accepted each address.
    fn accepted(&self) -> HashMap<String, usize> {
        let mut times = HashMap::new();
        for (address, _) in &self.ports.world().accepted {
            *times.entry(address.clone()).or_insert(0) += 1;
        }
        times
    }

    fn status_of(&self, id: &str) -> Option<LedgerStatus> {
        self.ports.world().ledger.get(id).map(|e| e.entry.status)
    }
}

const FIVE: [&str; 5] = ["a", "b", "c", "d", "e"];

fn sent(counts: Counts) -> BatchResult {
    BatchResult::Sent(counts)
}

#[tokio::test]
async fn sends_each_recipient_once_with_one_ledger_write_each_and_completes_the_run() {
    let case = Case::new(email(AmbiguousPolicy::Skip), &FIVE);
    let result = case.send("t1").await;
    assert_eq!(
        result,
        sent(Counts {
            sent: 5,
            ..Counts::default()
        })
    );
    assert_eq!(case.accepted().len(), 5);
    assert!(case.accepted().values().all(|times| *times == 1));
    let world = case.ports.world();
    assert!(
        world
            .ledger
            .values()
            .all(|e| e.entry.status == LedgerStatus::Sent)
    );
    assert_eq!(world.provider_calls, 5);
    assert_eq!(world.acquired, 5);
    assert_eq!(
        world.ledger_writes, 6,
        "claim+settle merged: one write per recipient, one flush"
    );
    assert_eq!(world.ledger_reads, 0, "a first attempt reads no ledger");
    assert_eq!(world.run_completions, 1);
    assert_eq!(world.progress.counts.sent, 5);
    let completed: Vec<_> = world
        .outbox
        .iter()
        .filter(|e| e.event_type == RunEventType::CampaignRunCompleted)
        .collect();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].detail["sent"], 5);
}

#[tokio::test]
async fn a_batch_delivered_again_sends_nothing_and_counts_nothing_twice() {
    let case = Case::new(email(AmbiguousPolicy::Skip), &FIVE);
    case.send("t1").await;
    case.expire_lease();
    assert_eq!(case.send("t2").await, sent(Counts::default()));
    assert_eq!(case.ports.world().accepted.len(), 5);
    assert_eq!(case.ports.world().progress.counts.sent, 5);
    assert_eq!(case.ports.world().run_completions, 1);
}

#[tokio::test]
async fn the_attempt_that_records_a_batch_reports_it_once_with_its_channel() {
    let case = Case::new(webhook(), &FIVE);
    case.answer("b", vec![SendOutcome::Rejected("410 Gone".into())]);
    case.send("t1").await;
    case.expire_lease();
    case.send("t2").await;
    let counts = Counts {
        sent: 4,
        failed: 1,
        ..Counts::default()
    };
    assert_eq!(case.ports.world().recorded, [(Channel::Webhook, counts)]);
}

#[tokio::test]
async fn a_batch_held_by_a_live_sender_is_retried_after_its_lease() {
    let case = Case::new(email(AmbiguousPolicy::Skip), &FIVE);
    case.ports.world().crash_at = Some(3);
    case.send("t1").await;
    case.ports.world().crash_at = None;
    case.clock.advance(1000);
    let BatchResult::Retry { after_ms, .. } = case.send("t2").await else {
        panic!("a held batch must wait")
    };
    assert_eq!(after_ms, (case.settings.lease_ms - 1000) as u64);
    assert!(case.ports.world().accepted.len() <= 1);
}

#[tokio::test]
async fn a_message_for_a_missing_run_is_unsendable() {
    let case = Case::new(email(AmbiguousPolicy::Skip), &FIVE);
    case.ports.world().plan = None;
    assert!(matches!(case.send("t1").await, BatchResult::Unsendable(_)));
    assert_eq!(case.ports.world().provider_calls, 0);
}

#[tokio::test]
async fn repeated_ids_are_sent_once_and_counted_as_duplicates() {
    let case = Case::new(email(AmbiguousPolicy::Skip), &["a", "b", "a", "c"]);
    // `c` is held by row 90 of another batch.
    case.ports.world().ledger.insert(
        "c".into(),
        StoredEntry {
            entry: LedgerEntry {
                status: LedgerStatus::Sent,
                owner_row: 90,
                ambiguous: false,
            },
            reason: None,
        },
    );
    let result = case.send("t1").await;
    assert_eq!(
        result,
        sent(Counts {
            sent: 2,
            duplicates: 2,
            ..Counts::default()
        })
    );
    assert_eq!(case.accepted().get("a@example.com"), Some(&1));
    assert_eq!(case.accepted().get("c@example.com"), None);
    assert_eq!(case.ports.world().run_completions, 1);
}

#[tokio::test]
async fn a_refused_recipient_fails_with_its_reason_and_the_run_completes() {
    let case = Case::new(email(AmbiguousPolicy::Skip), &FIVE);
    case.answer(
        "b",
        vec![SendOutcome::Rejected(
            "MessageRejected: address blocked".into(),
        )],
    );
    let result = case.send("t1").await;
    assert_eq!(
        result,
        sent(Counts {
            sent: 4,
            failed: 1,
            ..Counts::default()
        })
    );
    let world = case.ports.world();
    let b = &world.ledger["b"];
    assert_eq!(b.entry.status, LedgerStatus::Failed);
    assert_eq!(
        b.reason.as_deref(),
        Some("MessageRejected: address blocked")
    );
    assert_eq!(world.run_completions, 1);
}

#[tokio::test]
async fn throttling_waits_and_retries_and_is_never_counted_as_sent() {
    let case = Case::new(email(AmbiguousPolicy::Skip), &FIVE);
    case.answer(
        "c",
        vec![
            SendOutcome::Throttled {
                retry_after_ms: Some(1500),
            },
            SendOutcome::Throttled {
                retry_after_ms: None,
            },
            SendOutcome::Throttled {
                retry_after_ms: None,
            },
        ],
    );
    let result = case.send("t1").await;
    assert_eq!(
        result,
        sent(Counts {
            sent: 5,
            ..Counts::default()
        })
    );
    assert_eq!(case.ports.world().pauses, vec![1500, 400, 800]);
    assert_eq!(case.accepted().get("c@example.com"), Some(&1));
    assert_eq!(case.ports.world().provider_calls, 8);
}

#[tokio::test]
async fn a_throttle_outlasting_the_deadline_releases_the_claim_so_nothing_counts_ambiguous() {
    let case = Case::new(email(AmbiguousPolicy::Skip), &FIVE);
    case.answer(
        "c",
        vec![SendOutcome::Throttled {
            retry_after_ms: Some(5_000),
        }],
    );
    let stop_at = start().plus_millis(2_000);
    let result = case.send_until("t1", Some(stop_at)).await;
    assert!(matches!(result, BatchResult::Retry { .. }), "{result:?}");
    assert!(
        case.ports.world().pauses.is_empty(),
        "no wait past the deadline"
    );
    assert_eq!(case.status_of("b"), Some(LedgerStatus::Sent));
    assert_eq!(case.status_of("c"), None, "the claim was released");
    case.expire_lease();
    assert_eq!(
        case.send("t2").await,
        sent(Counts {
            sent: 5,
            ..Counts::default()
        }),
        "c was never accepted: not ambiguous, not lost"
    );
    assert!(case.accepted().values().all(|times| *times == 1));
}

#[tokio::test]
async fn failures_that_may_pass_release_the_claim_and_the_batch_resumes_fresh() {
    let case = Case::new(email(AmbiguousPolicy::Skip), &FIVE);
    let failing = SendOutcome::Transient("InternalFailure".into());
    case.answer("c", vec![failing.clone(), failing.clone(), failing]);
    let BatchResult::Retry { reason, .. } = case.send("t1").await else {
        panic!("the batch must be retried")
    };
    assert!(reason.contains("InternalFailure"), "{reason}");
    assert_eq!(case.ports.world().pauses, vec![200, 400]);
    assert_eq!(
        case.status_of("b"),
        Some(LedgerStatus::Sent),
        "the settlement before was flushed"
    );
    assert_eq!(case.status_of("c"), None, "the claim was released");
    case.expire_lease();
    let result = case.send("t2").await;
    assert_eq!(
        result,
        sent(Counts {
            sent: 5,
            ..Counts::default()
        }),
        "nothing ambiguous: c was never accepted"
    );
    assert_eq!(case.ports.world().ledger_reads, 1);
    assert!(case.accepted().values().all(|times| *times == 1));
}

#[tokio::test]
async fn no_answer_is_ambiguous_and_the_policy_decides() {
    let skip = Case::new(email(AmbiguousPolicy::Skip), &FIVE);
    skip.answer("d", vec![SendOutcome::Unknown("timeout".into())]);
    assert_eq!(
        skip.send("t1").await,
        sent(Counts {
            sent: 4,
            unconfirmed: 1,
            ..Counts::default()
        })
    );
    assert_eq!(skip.status_of("d"), Some(LedgerStatus::Unconfirmed));
    assert_eq!(skip.accepted().get("d@example.com"), Some(&1));

    let resend = Case::new(email(AmbiguousPolicy::Resend), &FIVE);
    resend.answer("d", vec![SendOutcome::Unknown("timeout".into())]);
    assert_eq!(
        resend.send("t1").await,
        sent(Counts {
            sent: 5,
            resent: 1,
            ..Counts::default()
        })
    );
    assert_eq!(
        resend.accepted().get("d@example.com"),
        Some(&2),
        "sent twice, counted ambiguous"
    );
    assert!(resend.ports.world().ledger["d"].entry.ambiguous);
}

#[tokio::test]
async fn a_cancel_mid_batch_counts_the_rest_as_cancelled() {
    let mut case = Case::new(email(AmbiguousPolicy::Skip), &FIVE);
    case.settings.cancel_check_rows = 2;
    case.ports.world().cancel_at_check = Some(1);
    let result = case.send("t1").await;
    assert_eq!(
        result,
        sent(Counts {
            sent: 2,
            cancelled: 3,
            ..Counts::default()
        })
    );
    assert_eq!(case.ports.world().accepted.len(), 2);
    assert_eq!(
        case.ports.world().run_completions,
        0,
        "a cancelled run stays cancelled"
    );

    let cancelled = Case::new(email(AmbiguousPolicy::Skip), &FIVE);
    if let Some(plan) = &mut cancelled.ports.world().plan {
        plan.status = RunStatus::Cancelled;
    }
    assert_eq!(
        cancelled.send("t1").await,
        sent(Counts {
            cancelled: 5,
            ..Counts::default()
        })
    );
    assert_eq!(cancelled.ports.world().provider_calls, 0);
}

#[tokio::test]
async fn a_window_closing_mid_batch_counts_the_rest_as_expired_and_completes_the_run() {
    let mut plan = email(AmbiguousPolicy::Skip);
    plan.closes_at = Some(start().plus_millis(2_500));
    let case = Case::new(plan, &FIVE);
    case.ports.world().call_ms = 1_000;
    assert_eq!(
        case.send("t1").await,
        sent(Counts {
            sent: 3,
            expired: 2,
            ..Counts::default()
        }),
        "sent at 0, 1 and 2 s; the window closed at 2.5 s"
    );
    assert_eq!(case.ports.world().provider_calls, 3);
    assert_eq!(case.ports.world().run_completions, 1);

    let mut closed = email(AmbiguousPolicy::Skip);
    closed.closes_at = Some(start());
    let late = Case::new(closed, &FIVE);
    assert_eq!(
        late.send("t1").await,
        sent(Counts {
            expired: 5,
            ..Counts::default()
        }),
        "closed exactly when the batch began"
    );
    assert_eq!(late.ports.world().provider_calls, 0);
}

#[tokio::test]
async fn bad_rows_and_missing_variables_fail_without_a_provider_call() {
    let text = format!(
        "{}not json\n{{\"id\":\"m\",\"address\":\"m@example.com\"}}\n",
        list(&["a"])
    );
    let clock = ManualClock::at(start());
    let case = Case {
        ports: FakePorts::new(World::new(email(AmbiguousPolicy::Skip), &text, 3), &clock),
        job: job(&text, 3),
        clock,
        settings: Settings::default(),
    };
    assert_eq!(
        case.send("t1").await,
        sent(Counts {
            sent: 1,
            failed: 2,
            ..Counts::default()
        })
    );
    let world = case.ports.world();
    assert_eq!(world.provider_calls, 1);
    assert!(
        world.ledger["#row-1"]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("not a recipient"))
    );
    assert_eq!(
        world.ledger["m"].reason.as_deref(),
        Some("missing variable 'name'")
    );
    assert_eq!(world.run_completions, 1);
}

#[tokio::test]
async fn the_event_channel_writes_each_delivery_with_its_ledger_entry() {
    let case = Case::new(
        plan(
            Message::Event(EventMessage { detail: None }),
            AmbiguousPolicy::Resend,
        ),
        &["a", "b", "a"],
    );
    assert_eq!(
        case.send("t1").await,
        sent(Counts {
            sent: 2,
            duplicates: 1,
            ..Counts::default()
        })
    );
    let world = case.ports.world();
    assert_eq!(world.provider_calls, 0);
    assert_eq!(world.ledger_writes, 2);
    let deliveries: Vec<_> = world
        .outbox
        .iter()
        .filter(|e| e.event_type == RunEventType::RecipientDelivery)
        .map(|e| {
            e.detail["recipientId"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(deliveries, vec!["a", "b"]);
}

#[tokio::test]
async fn a_deadline_stops_between_recipients_and_gives_the_lease_up_so_the_batch_resumes_at_once() {
    let case = Case::new(email(AmbiguousPolicy::Skip), &FIVE);
    let result = case.send_until("t1", Some(start())).await;
    assert!(
        matches!(result, BatchResult::Retry { after_ms: 0, .. }),
        "{result:?}"
    );
    assert_eq!(case.ports.world().provider_calls, 0);
    assert_eq!(
        case.send("t2").await,
        sent(Counts {
            sent: 5,
            ..Counts::default()
        })
    );
}

#[tokio::test]
async fn a_deadline_whose_lease_release_is_not_confirmed_redelivers_after_the_lease() {
    let clean = Case::new(email(AmbiguousPolicy::Skip), &FIVE);
    clean.send_until("t1", Some(start())).await;
    let release = clean.ports.world().calls;
    let case = Case::new(email(AmbiguousPolicy::Skip), &FIVE);
    case.ports.world().crash_at = Some(release);
    let result = case.send_until("t1", Some(start())).await;
    let lease_ms = case.settings.lease_ms as u64;
    assert!(
        matches!(result, BatchResult::Retry { after_ms, .. } if after_ms == lease_ms),
        "{result:?}"
    );
}

#[tokio::test]
async fn provider_pauses_double_up_to_the_cap() {
    let mut case = Case::new(email(AmbiguousPolicy::Skip), &["a"]);
    case.settings.max_pause = Duration::from_millis(500);
    case.answer(
        "a",
        vec![
            SendOutcome::Throttled {
                retry_after_ms: None
            };
            4
        ],
    );
    case.send("t1").await;
    assert_eq!(case.ports.world().pauses, vec![200, 400, 500, 500]);
}

/// Plants a crash at every port call of a clean run in turn, then resumes: every recipient
/// is accepted at least once, only recipients counted ambiguous more than once, the counts
/// settle every row exactly once, and the run completes once.
async fn crash_anywhere(plan: fn() -> RunPlan) {
    let ids = ["a", "b", "c", "a", "d"];
    let clean = Case::new(plan(), &ids);
    clean.send("clean").await;
    let calls = clean.ports.world().calls;
    assert!(calls > 10, "{calls}");
    for crash_at in 1..=calls {
        let case = Case::new(plan(), &ids);
        case.ports.world().crash_at = Some(crash_at);
        case.send("t1").await;
        case.ports.world().crash_at = None;
        case.expire_lease();
        let result = case.send("t2").await;
        assert!(
            matches!(result, BatchResult::Sent(_)),
            "crash at {crash_at}: {result:?}"
        );
        let world = case.ports.world();
        let counts = world.progress.counts;
        assert_eq!(counts.settled(), 5, "crash at {crash_at}: {counts:?}");
        assert_eq!(counts.duplicates, 1, "crash at {crash_at}");
        assert_eq!(world.run_completions, 1, "crash at {crash_at}");
        let mut times: HashMap<&str, usize> = HashMap::new();
        for (address, _) in &world.accepted {
            *times.entry(address.as_str()).or_insert(0) += 1;
        }
        let doubled = times.values().filter(|t| **t > 1).count() as u64;
        assert!(
            doubled <= counts.ambiguous(),
            "crash at {crash_at}: {times:?} {counts:?}"
        );
        for id in ["a", "b", "c", "d"] {
            let address = format!("{id}@example.com");
            let entry = &world.ledger[id].entry;
            match entry.status {
                LedgerStatus::Sent => {
                    assert!(
                        times.contains_key(address.as_str()),
                        "crash at {crash_at}: {id} lost"
                    );
                }
                LedgerStatus::Unconfirmed => {}
                other => panic!("crash at {crash_at}: {id} left {other:?}"),
            }
        }
        assert!(
            counts.unconfirmed + counts.resent <= 1,
            "the window is one call: {crash_at}"
        );
    }
}

#[tokio::test]
async fn a_crash_at_any_call_loses_nothing_with_the_skip_policy() {
    crash_anywhere(|| email(AmbiguousPolicy::Skip)).await;
}

#[tokio::test]
async fn a_crash_at_any_call_loses_nothing_with_the_resend_policy() {
    crash_anywhere(|| email(AmbiguousPolicy::Resend)).await;
}

#[tokio::test]
async fn a_crash_at_any_call_loses_nothing_on_webhooks() {
    crash_anywhere(webhook).await;
}

#[tokio::test]
async fn a_recipient_without_answers_keeps_its_claim_and_is_resent_as_ambiguous() {
    let case = Case::new(email(AmbiguousPolicy::Resend), &FIVE);
    let silent = SendOutcome::Unknown("timeout".into());
    case.answer("d", vec![silent.clone(), silent.clone(), silent]);
    assert!(matches!(case.send("t1").await, BatchResult::Retry { .. }));
    assert_eq!(
        case.status_of("d"),
        Some(LedgerStatus::Sending),
        "the provider may have it"
    );
    case.expire_lease();
    assert_eq!(
        case.send("t2").await,
        sent(Counts {
            sent: 5,
            resent: 1,
            ..Counts::default()
        })
    );
    assert_eq!(case.accepted().get("d@example.com"), Some(&4));
    assert!(case.ports.world().ledger["d"].entry.ambiguous);
}
