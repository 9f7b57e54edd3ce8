//! The crash suite's bulk deliveries: every run creates three delivering campaigns through the
//! child's API (email through the emulator's SES, signed webhooks to a receiver this process
//! runs for the whole suite, `RecipientDelivery` events on the bus), so crash points and
//! SIGKILLs land while runs plan and send. After the last run, each recipient's deliveries
//! are counted where they arrived and checked against its run and its ledger entry:
//!
//! - every run is over (COMPLETED), nothing pending, its counts adding up to its total
//!   (`sent + failed + unconfirmed + duplicates + cancelled + expired`), its `duplicates` equal to the
//!   list's rows repeating an id, and its `ambiguous` equal to the ledger entries marked
//!   ambiguous;
//! - every recipient is delivered at least once, except one settled `UNCONFIRMED` (policy
//!   `skip`: it may have arrived once or not at all) and one its run's window closed on
//!   before it was sent (never claimed, never arrived, as many as the run counts `expired`);
//! - a recipient delivered more than once was resent as ambiguous (its ledger entry says so);
//! - every webhook is signed with the stack's secret, and nothing arrives that no list holds.
//!
//! Deliveries are counted raw at the providers: emails per address in the emulator's record
//! (`/moto-api/data.json`), webhook requests per `webhook-id`. Bus events are counted by
//! distinct `eventId` (the bus is at-least-once, a consumer dedupes on the id), so the event
//! channel must deliver each recipient exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use lifecycle_adapters::aws::AwsClients;
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::recipient::parse_json_row;
use lifecycle_domain::delivery::webhook_signature::{SigningKey, webhook_id};
use lifecycle_domain::delivery::{Channel, LedgerStatus, RecipientList, RunRecord, RunStatus};
use local_stack::delivery_record::{checked_webhook, emails_by_address};
use local_stack::harness::{all_campaigns, percentile};
use local_stack::local_delivery::{
    DEFAULT_LOCAL_SENDER, LOCAL_WEBHOOK_SECRET, provision_delivery_fixtures,
};
use serde_json::{Value, json};

/// The shape of a list: `rows` rows cycling through `ids` recipient ids, so every row after
/// the first `ids` repeats an id (a duplicate: sent nothing, counted). Each id is one ledger
/// item, and the emulator's index queries cost time in proportion to the table: the lists
/// are long in rows (batches to crash in) and short in ids.
struct ListShape {
    rows: usize,
    ids: usize,
}

/// Each run's email list: 51 rows are two batches of the sender's 50, sent side by side.
const EMAIL_LIST: ListShape = ListShape { rows: 51, ids: 20 };
/// Each run's webhook list (one batch).
const WEBHOOK_LIST: ListShape = ListShape { rows: 10, ids: 10 };
/// Each run's event list (one batch).
const EVENT_LIST: ListShape = ListShape { rows: 10, ids: 10 };
/// The event list of a run armed at `planner.mid_list`: 11 batches, more than one planner
/// group of 10, so a group is committed with more of the list to go.
const LONG_LIST: ListShape = ListShape { rows: 501, ids: 10 };

/// What the webhook receiver got.
#[derive(Debug, Default)]
struct WebhookCalls {
    /// Requests per `webhook-id`.
    by_id: BTreeMap<String, u64>,
    /// Requests whose signature or timestamp did not check out.
    bad_signatures: u64,
}

/// The suite's delivering campaigns, and the receiver of their webhooks.
pub(crate) struct DeliveryLoad {
    sender: String,
    secret_ref: String,
    hook_base: String,
    /// The email domain of this suite's recipients (the emulator keeps every suite's email).
    domain: String,
    calls: Arc<Mutex<WebhookCalls>>,
}

impl DeliveryLoad {
    /// Verifies the email sender and stores the webhook secret of `stack_name` (as each child
    /// does too), and starts the webhook receiver on a free local port.
    pub(crate) async fn start(clients: &AwsClients, stack_name: &str) -> Result<Self, String> {
        let fixtures =
            provision_delivery_fixtures(clients, stack_name, DEFAULT_LOCAL_SENDER).await?;
        let key = SigningKey::parse(LOCAL_WEBHOOK_SECRET).map_err(|e| e.to_string())?;
        let calls: Arc<Mutex<WebhookCalls>> = Arc::default();
        let app = Router::new().fallback({
            let calls = calls.clone();
            move |headers: HeaderMap, body: Bytes| async move {
                record_webhook(&calls, &key, &headers, &body);
                StatusCode::OK
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("webhook receiver: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("webhook receiver stopped: {error}");
            }
        });
        Ok(Self {
            sender: fixtures.sender,
            secret_ref: fixtures.webhook_secret_ref,
            hook_base: format!("http://{address}"),
            domain: format!("{stack_name}.example.org"),
            calls,
        })
    }

    /// The `POST /campaigns` bodies of run `run`'s delivering campaigns, starting in a second:
    /// email (policy `skip` on even runs, `resend` on odd ones), webhook (`resend`, the
    /// default) and event, the event list [`LONG_LIST`] when `long_list`. They end a minute
    /// later (a slow first request of a fresh child must not find `endAt` past).
    pub(crate) fn campaigns(&self, run: usize, long_list: bool) -> Vec<String> {
        let start = Timestamp::now().plus_millis(1_000);
        let body = |channel: &str, delivery: Value| {
            json!({
                "name": format!("crash delivery {run} {channel}"),
                "startAt": start.to_rfc3339(),
                "endAt": start.plus_millis(60_000).to_rfc3339(),
                "delivery": delivery,
            })
            .to_string()
        };
        let recipients = |shape: &ListShape, address: &dyn Fn(usize) -> String| -> Vec<Value> {
            (0..shape.rows)
                .map(|row| row % shape.ids)
                .map(|n| json!({"id": format!("r{n}"), "address": address(n), "vars": {"n": n.to_string()}}))
                .collect()
        };
        let email = json!({
            "channel": "email",
            "from": self.sender,
            "subject": "Crash run {{n}}",
            "text": "Hello {{n}}",
            "onAmbiguous": if run.is_multiple_of(2) { "skip" } else { "resend" },
            "recipients": recipients(&EMAIL_LIST, &|n| format!("run{run}-r{n}@{}", self.domain)),
        });
        let webhook = json!({
            "channel": "webhook",
            "payload": {"n": "{{n}}", "run": run},
            "secretRef": self.secret_ref,
            "recipients": recipients(&WEBHOOK_LIST, &|n| format!("{}/run{run}/r{n}", self.hook_base)),
        });
        let events = if long_list { &LONG_LIST } else { &EVENT_LIST };
        let event = json!({
            "channel": "event",
            "detail": {"run": run},
            "recipients": recipients(events, &|n| format!("member-{run}-{n}")),
        });
        vec![
            body("email", email),
            body("webhook", webhook),
            body("event", event),
        ]
    }

    /// After the last run (the service stopped): counts each recipient's deliveries and checks
    /// them against its run and ledger. `deaths` are the children's deaths, in order.
    pub(crate) async fn check(
        &self,
        services: &Services,
        clients: &AwsClients,
        events: &BTreeMap<String, Value>,
        deaths: &[Timestamp],
    ) -> Result<DeliveryVerdict, String> {
        let emails = emails_sent(&self.domain).await?;
        let (webhooks, bad_signatures) = {
            let calls = self.calls.lock().expect("webhook calls");
            (calls.by_id.clone(), calls.bad_signatures)
        };
        let recipient_events = recipient_events(events);
        let mut tally = Tally::default();
        let mut windows = Vec::new();
        for campaign in all_campaigns(services).await? {
            if campaign.delivery.is_none() {
                continue;
            }
            let runs = services
                .store
                .list_runs(&campaign.id, 100, None)
                .await
                .map_err(|e| e.to_string())?
                .runs;
            // An occurrence of a series that did not run sent nothing: a delivery for one of
            // its recipients is a stray.
            for run in runs.into_iter().filter(|run| run.started_at.is_some()) {
                windows.push((run.scheduled_at, run.completed_at));
                let recipients = read_list(clients, &run.list).await?;
                tally
                    .run(
                        services,
                        &run,
                        &recipients,
                        &emails,
                        &webhooks,
                        &recipient_events,
                    )
                    .await?;
            }
        }
        tally.strays(&emails, &webhooks, &recipient_events);
        tally.bad_signatures = bad_signatures;
        let mut recoveries: Vec<i64> = windows
            .iter()
            .filter_map(|(scheduled, completed)| {
                let completed = (*completed)?;
                let last_death = deaths
                    .iter()
                    .filter(|d| **d >= *scheduled && **d < completed)
                    .max()?;
                Some(completed.millis_since(*last_death))
            })
            .collect();
        recoveries.sort_unstable();
        let open_at_death = deaths
            .iter()
            .map(|death| {
                windows.iter().any(|(scheduled, completed)| {
                    *scheduled <= *death && completed.is_none_or(|c| c > *death)
                })
            })
            .collect();
        Ok(DeliveryVerdict {
            ok: tally.violations() == 0,
            summary: tally.summary(&recoveries),
            open_at_death,
        })
    }
}

/// The outcome of [`DeliveryLoad::check`].
pub(crate) struct DeliveryVerdict {
    /// Every invariant held.
    pub ok: bool,
    /// The figures and the violations, as counts.
    pub summary: Value,
    /// For each death, whether a delivery run was due and not over then.
    pub open_at_death: Vec<bool>,
}

/// Waits until every delivering campaign's runs are over (COMPLETED, or CANCELLED and
/// completed); `false` if some are not after `limit`, which are then printed.
pub(crate) async fn wait_runs_over(services: &Services, limit: Duration) -> Result<bool, String> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut over = BTreeSet::new();
    loop {
        let mut open = Vec::new();
        for campaign in all_campaigns(services).await? {
            if campaign.delivery.is_none() || over.contains(campaign.id.as_str()) {
                continue;
            }
            let runs = services
                .store
                .list_runs(&campaign.id, 100, None)
                .await
                .map_err(|e| e.to_string())?
                .runs;
            let unfinished: Vec<RunRecord> = runs
                .into_iter()
                .filter(|run| run.completed_at.is_none())
                .collect();
            if unfinished.is_empty() {
                over.insert(campaign.id.as_str().to_owned());
            }
            open.extend(unfinished);
        }
        if open.is_empty() {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            for run in &open {
                println!(
                    "RUN NOT OVER: {}/{} {} total {} counts {:?}",
                    run.campaign_id,
                    run.run_id,
                    run.status.as_str(),
                    run.total,
                    run.counts
                );
            }
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Records one webhook request: its `webhook-id`, and whether its signature checks out.
fn record_webhook(calls: &Mutex<WebhookCalls>, key: &SigningKey, headers: &HeaderMap, body: &[u8]) {
    let (id, valid) = checked_webhook(key, headers, body);
    let mut calls = calls.lock().expect("webhook calls");
    *calls.by_id.entry(id).or_default() += 1;
    calls.bad_signatures += u64::from(!valid);
}

/// Deliveries that arrived somewhere, by what identifies their recipient there (an email
/// address, a `webhook-id`, an event's campaign/run/recipient).
type Arrivals = BTreeMap<String, u64>;

/// The distinct `RecipientDelivery` event ids on the bus, by (campaign, run, recipient).
fn recipient_events(events: &BTreeMap<String, Value>) -> Arrivals {
    let mut by_recipient = BTreeMap::new();
    // One value per distinct eventId: the map is keyed by it.
    for event in events.values() {
        if event["detail-type"] != "RecipientDelivery" {
            continue;
        }
        let detail = &event["detail"];
        let key = event_key(
            detail["campaignId"].as_str().unwrap_or_default(),
            detail["runId"].as_str().unwrap_or_default(),
            detail["recipientId"].as_str().unwrap_or_default(),
        );
        *by_recipient.entry(key).or_default() += 1;
    }
    by_recipient
}

fn event_key(campaign: &str, run: &str, recipient: &str) -> String {
    format!("{campaign}/{run}/{recipient}")
}

/// The recipients of a stored list: (id, address) per row.
async fn read_list(
    clients: &AwsClients,
    list: &RecipientList,
) -> Result<Vec<(String, String)>, String> {
    let object = clients
        .delivery
        .s3
        .get_object()
        .bucket(&list.bucket)
        .key(&list.key)
        .send()
        .await
        .map_err(|e| {
            format!(
                "list {}: {}",
                list.key,
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| format!("list {}: {e}", list.key))?
        .into_bytes();
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            parse_json_row(line)
                .map(|recipient| (recipient.id, recipient.address))
                .map_err(|e| format!("list {}: {e:?}", list.key))
        })
        .collect()
}

/// The emails the emulator recorded as sent to an address of `domain`, per address.
async fn emails_sent(domain: &str) -> Result<Arrivals, String> {
    let suffix = format!("@{domain}");
    Ok(emails_by_address()
        .await?
        .into_iter()
        .filter(|(to, _)| to.ends_with(&suffix))
        .map(|(to, count)| (to, count as u64))
        .collect())
}

/// Prints the first few of `problems` (a run's recipients share one fault more often than not).
fn print_some(problems: &[String]) {
    const SHOWN: usize = 5;
    for problem in problems.iter().take(SHOWN) {
        println!("{problem}");
    }
    if problems.len() > SHOWN {
        println!("… and {} more like these", problems.len() - SHOWN);
    }
}

/// Figures of one channel.
#[derive(Debug, Default, Clone, Copy)]
struct ChannelFigures {
    recipients: u64,
    deliveries: u64,
    /// Deliveries beyond a recipient's first.
    duplicates: u64,
    /// Recipients their run counts ambiguous (resent or unconfirmed).
    ambiguous: u64,
    /// Ambiguous recipients settled UNCONFIRMED (policy `skip`) that never arrived.
    unconfirmed_undelivered: u64,
    /// List rows repeating an id (sent nothing, counted as duplicates).
    duplicate_rows: u64,
}

/// What the check counted, figures and violations.
#[derive(Debug, Default)]
struct Tally {
    runs: u64,
    by_channel: BTreeMap<&'static str, ChannelFigures>,
    /// Keys (address, webhook-id, event key) of every listed recipient.
    expected: BTreeSet<String>,
    runs_not_completed: u64,
    counts_not_adding_up: u64,
    ambiguous_mismatches: u64,
    duplicate_mismatches: u64,
    unsettled: u64,
    /// Recipients not sent because their run's window closed first (counted `expired`).
    expired: u64,
    lost: u64,
    unexplained_duplicates: u64,
    stray_deliveries: u64,
    bad_signatures: u64,
}

impl Tally {
    async fn run(
        &mut self,
        services: &Services,
        run: &RunRecord,
        rows: &[(String, String)],
        emails: &Arrivals,
        webhooks: &Arrivals,
        events: &Arrivals,
    ) -> Result<(), String> {
        self.runs += 1;
        let name = format!("{}/{}", run.campaign_id, run.run_id);
        let progress = run.progress();
        if run.status != RunStatus::Completed || run.completed_at.is_none() {
            self.runs_not_completed += 1;
            println!("RUN NOT COMPLETED: {name} is {}", run.status.as_str());
        }
        if progress.pending() != 0 || run.counts.settled() != run.total {
            self.counts_not_adding_up += 1;
            println!(
                "RUN COUNTS: {name} total {} counts {:?} (pending {})",
                run.total,
                run.counts,
                progress.pending()
            );
        }
        let mut recipients = BTreeMap::new();
        for (id, address) in rows {
            recipients.entry(id.clone()).or_insert(address.clone());
        }
        let duplicate_rows = (rows.len() - recipients.len()) as u64;
        if run.counts.duplicates != duplicate_rows {
            self.duplicate_mismatches += 1;
            println!(
                "DUPLICATES: {name} counts {} duplicates, its list has {duplicate_rows} repeated ids",
                run.counts.duplicates
            );
        }
        let ids: Vec<String> = recipients.keys().cloned().collect();
        let entries = services
            .store
            .ledger_entries(&run.campaign_id, &run.run_id, &ids)
            .await
            .map_err(|e| e.to_string())?;
        let channel = run.message.channel();
        let mut figures = ChannelFigures {
            duplicate_rows,
            ..ChannelFigures::default()
        };
        let mut problems = Vec::new();
        let mut expired = 0;
        for (id, address) in &recipients {
            let (key, arrivals) = match channel {
                Channel::Email => (address.clone(), emails),
                Channel::Webhook => (webhook_id(&run.campaign_id, &run.run_id, id), webhooks),
                Channel::Event => (
                    event_key(run.campaign_id.as_str(), run.run_id.as_str(), id),
                    events,
                ),
            };
            let delivered = arrivals.get(&key).copied().unwrap_or(0);
            self.expected.insert(key);
            figures.recipients += 1;
            figures.deliveries += delivered;
            figures.duplicates += delivered.saturating_sub(1);
            let Some(entry) = entries.get(id) else {
                if run.closes_at.is_some() && delivered == 0 {
                    // Its run's window closed before it was sent: counted `expired`.
                    expired += 1;
                    continue;
                }
                self.unsettled += 1;
                problems.push(format!(
                    "UNSETTLED: {name} recipient {id} has no ledger entry"
                ));
                continue;
            };
            let unconfirmed = entry.status == LedgerStatus::Unconfirmed;
            if entry.status == LedgerStatus::Sending {
                self.unsettled += 1;
                problems.push(format!("UNSETTLED: {name} recipient {id} is still claimed"));
            }
            if entry.ambiguous || unconfirmed {
                figures.ambiguous += 1;
            }
            if delivered == 0 {
                if unconfirmed {
                    figures.unconfirmed_undelivered += 1;
                } else {
                    self.lost += 1;
                    problems.push(format!(
                        "LOST DELIVERY: {name} recipient {id} never arrived: {entry:?}"
                    ));
                }
            }
            // Only a recipient resent as ambiguous may arrive twice (policy `skip` never
            // resends: an UNCONFIRMED one arrives at most once).
            let resent = entry.ambiguous && !unconfirmed;
            if delivered > 1 && !resent {
                self.unexplained_duplicates += 1;
                problems.push(format!(
                    "DUPLICATE DELIVERY: {name} recipient {id} arrived {delivered} times: {entry:?}"
                ));
            }
        }
        print_some(&problems);
        if expired != run.counts.expired {
            self.lost += expired.abs_diff(run.counts.expired);
            println!(
                "EXPIRED COUNT: {name} counts {} expired, {expired} recipients were never sent",
                run.counts.expired
            );
        }
        self.expired += expired;
        if figures.ambiguous != run.counts.ambiguous() {
            self.ambiguous_mismatches += 1;
            println!(
                "AMBIGUOUS COUNT: {name} counts {} ambiguous, its ledger {}",
                run.counts.ambiguous(),
                figures.ambiguous
            );
        }
        let total = self.by_channel.entry(channel.as_str()).or_default();
        total.recipients += figures.recipients;
        total.deliveries += figures.deliveries;
        total.duplicates += figures.duplicates;
        total.ambiguous += figures.ambiguous;
        total.unconfirmed_undelivered += figures.unconfirmed_undelivered;
        total.duplicate_rows += figures.duplicate_rows;
        Ok(())
    }

    /// Counts deliveries that arrived for no listed recipient.
    fn strays(&mut self, emails: &Arrivals, webhooks: &Arrivals, events: &Arrivals) {
        let mut problems = Vec::new();
        for (key, count) in emails.iter().chain(webhooks).chain(events) {
            if !self.expected.contains(key) {
                self.stray_deliveries += count;
                problems.push(format!(
                    "STRAY DELIVERY: {key} arrived {count} times, for no listed recipient"
                ));
            }
        }
        print_some(&problems);
    }

    fn violations(&self) -> u64 {
        self.runs_not_completed
            + self.counts_not_adding_up
            + self.ambiguous_mismatches
            + self.duplicate_mismatches
            + self.unsettled
            + self.lost
            + self.unexplained_duplicates
            + self.stray_deliveries
            + self.bad_signatures
    }

    fn summary(&self, recoveries: &[i64]) -> Value {
        let all = self
            .by_channel
            .values()
            .fold(ChannelFigures::default(), |sum, f| ChannelFigures {
                recipients: sum.recipients + f.recipients,
                deliveries: sum.deliveries + f.deliveries,
                duplicates: sum.duplicates + f.duplicates,
                ambiguous: sum.ambiguous + f.ambiguous,
                unconfirmed_undelivered: sum.unconfirmed_undelivered + f.unconfirmed_undelivered,
                duplicate_rows: sum.duplicate_rows + f.duplicate_rows,
            });
        let figures = |f: &ChannelFigures| {
            json!({
                "recipients": f.recipients,
                "deliveries": f.deliveries,
                "duplicates": f.duplicates,
                "ambiguous": f.ambiguous,
                "unconfirmedUndelivered": f.unconfirmed_undelivered,
                "duplicateRows": f.duplicate_rows,
            })
        };
        let mut summary = figures(&all);
        summary["runs"] = json!(self.runs);
        // Not a violation: recipients their run's window closed on, each matched to the
        // run's `expired` count (a mismatch counts as lost).
        summary["expiredRecipients"] = json!(self.expired);
        summary["byChannel"] = self
            .by_channel
            .iter()
            .map(|(channel, f)| ((*channel).to_owned(), figures(f)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        summary["runRecoveryMs"] = json!({
            "interruptedRuns": recoveries.len(),
            "p50": percentile(recoveries, 50.0),
            "p95": percentile(recoveries, 95.0),
            "max": recoveries.last().copied().unwrap_or(0),
        });
        summary["violations"] = json!({
            "runsNotCompleted": self.runs_not_completed,
            "countsNotAddingUp": self.counts_not_adding_up,
            "ambiguousMismatches": self.ambiguous_mismatches,
            "duplicateMismatches": self.duplicate_mismatches,
            "unsettledRecipients": self.unsettled,
            "lostDeliveries": self.lost,
            "unexplainedDuplicates": self.unexplained_duplicates,
            "strayDeliveries": self.stray_deliveries,
            "badSignatures": self.bad_signatures,
        });
        summary
    }
}
