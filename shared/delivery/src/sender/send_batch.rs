//! Sending one batch of a run, so that a crash at any point loses no recipient and sends
//! none twice, except inside one provider call.
//!
//! The batch's lease is taken first (a batch is sent by one sender at a time). Its rows are
//! read from their byte range of the list. A first attempt writes straight away; a resumed one
//! reads the rows' ledger entries once and lets [`next_step`] decide each row: send it, count
//! it as settled, treat it as ambiguous (claimed by a crashed attempt, never settled: resent
//! or left `UNCONFIRMED` by the run's policy), or count it as a duplicate (another row holds
//! the id). A recipient is claimed just before its provider call and settled just after; the
//! settlement of one recipient and the claim of the next are one ledger write. Throttling
//! waits and retries and is never counted as sent; a refusal settles the recipient as
//! `FAILED`; a failure that may pass is retried, then the claim is released and the batch is
//! retried later. The event channel has no provider call: the settlement writes the
//! `RecipientDelivery` event to the outbox, exactly once. A cancelled run sends nothing more
//! (the rest is counted `cancelled`), nor does a run whose window has closed (`expired`).
//! When every row is settled the batch's counts are added to the run once, and the sender
//! that sees the run done completes it.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use lifecycle_domain::delivery::provider_response::SendOutcome;
use lifecycle_domain::delivery::webhook_signature::webhook_id;
use lifecycle_domain::delivery::{
    AmbiguousPolicy, Counts, LedgerEntry, LedgerStatus, NextStep, RenderedMessage, RunEvent,
    RunStatus, Settled, next_step,
};
use lifecycle_domain::{Clock, Timestamp};

use crate::sender::ports::{Ledger, Lists, PortError, Provider, RunPlan, Runs, SendGate};
use crate::sender::rows::{Row, read_rows};
use lifecycle_domain::delivery::BatchJob;
use lifecycle_domain::delivery::batch_state::{BatchRecorded, Lease};
use lifecycle_domain::delivery::ledger_write::{Claim, LedgerWrite, Settlement, WriteOutcome};

/// The sender's settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long a batch's lease lasts: longer than an invocation, so a live sender never
    /// loses it.
    pub lease_ms: i64,
    /// Provider failures that may pass, per recipient, before the batch is retried later.
    pub max_attempts: u32,
    /// Rows between two checks for a cancel.
    pub cancel_check_rows: u32,
    /// The first wait before retrying a provider call (doubles each time, up to `max_pause`).
    pub first_pause: Duration,
    /// The longest wait before retrying a provider call.
    pub max_pause: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lease_ms: 120_000,
            max_attempts: 3,
            cancel_check_rows: 25,
            first_pause: Duration::from_millis(200),
            max_pause: Duration::from_secs(5),
        }
    }
}

/// What became of a batch message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchResult {
    /// Every row settled and counted once (now or before).
    Sent(Counts),
    /// Not finished: redeliver the message after `after_ms`.
    Retry {
        /// When to try again.
        after_ms: u64,
        /// Why.
        reason: String,
    },
    /// The message can never be sent (its run does not exist): dead-letter it.
    Unsendable(String),
}

/// Sends batches through its ports.
pub struct Sender<'a, P, C> {
    /// The outside world.
    pub ports: &'a P,
    /// The time.
    pub clock: &'a C,
    /// Tuning.
    pub settings: Settings,
}

/// Why an attempt stopped before the batch was done.
enum Stop {
    Port(PortError),
    LeaseLost,
    Deadline,
    GaveUp(String),
}

impl From<PortError> for Stop {
    fn from(error: PortError) -> Self {
        Self::Port(error)
    }
}

/// One attempt at a batch: its plan, its token and what it has settled so far.
struct Attempt<'j> {
    job: &'j BatchJob,
    token: &'j str,
    plan: RunPlan,
    counts: Counts,
    /// A claimed recipient's settlement, written with the next claim.
    pending: Option<Settlement>,
    /// Recipient ids met in this batch (a repeat is a duplicate).
    seen: HashSet<String>,
    entries: HashMap<String, LedgerEntry>,
    cancelled: bool,
    /// No recipient starts, and no throttled one waits, past this.
    stop_at: Option<Timestamp>,
}

impl<P, C> Sender<'_, P, C>
where
    P: Runs + Ledger + Lists + Provider + SendGate,
    C: Clock,
{
    /// Sends `job`'s batch as the attempt holding `token`, starting no recipient after
    /// `stop_at`.
    pub async fn send(
        &self,
        job: &BatchJob,
        token: &str,
        stop_at: Option<Timestamp>,
    ) -> BatchResult {
        let plan = match self.ports.load_run(job).await {
            Ok(Some(plan)) => plan,
            Ok(None) => return BatchResult::Unsendable("the run does not exist".into()),
            Err(error) => return self.retry(error.0),
        };
        if plan.status == RunStatus::Completed {
            return BatchResult::Sent(Counts::default());
        }
        let now = self.clock.now();
        let resumed = match self
            .ports
            .lease_batch(job, token, now.plus_millis(self.settings.lease_ms))
            .await
        {
            Ok(Lease::Taken { resumed }) => resumed,
            Ok(Lease::Done) => return self.finish_run(job, plan.status).await,
            Ok(Lease::Held { until }) => {
                return BatchResult::Retry {
                    after_ms: u64::try_from(until.millis_since(now))
                        .unwrap_or(0)
                        .max(1000),
                    reason: "another sender holds the batch".into(),
                };
            }
            Err(error) => return self.retry(error.0),
        };
        let mut attempt = Attempt {
            job,
            token,
            cancelled: plan.status == RunStatus::Cancelled,
            plan,
            counts: Counts::default(),
            pending: None,
            seen: HashSet::new(),
            entries: HashMap::new(),
            stop_at,
        };
        match self.work(&mut attempt, resumed, stop_at).await {
            Ok(result) => result,
            Err(Stop::Port(error)) => self.retry(error.0),
            Err(Stop::LeaseLost) => self.retry("the batch's lease was taken over".into()),
            Err(Stop::Deadline) => self.stop_for_deadline(job, token).await,
            Err(Stop::GaveUp(reason)) => self.retry(reason),
        }
    }

    /// A batch already done (a redelivery): completes its run if the attempt that recorded
    /// the batch died before completing it.
    async fn finish_run(&self, job: &BatchJob, status: RunStatus) -> BatchResult {
        if status.is_terminal() {
            return BatchResult::Sent(Counts::default());
        }
        let completed = match self.ports.run_progress(job).await {
            Ok(progress) if progress.is_done() => {
                self.ports
                    .complete_run(job, progress, self.clock.now())
                    .await
            }
            Ok(_) => Ok(false),
            Err(error) => Err(error),
        };
        match completed {
            Ok(_) => BatchResult::Sent(Counts::default()),
            Err(error) => self.retry(error.0),
        }
    }

    /// The invocation's time ran out: gives the lease up so the batch resumes at once on its
    /// redelivery, or, if the release fails, when the lease runs out.
    async fn stop_for_deadline(&self, job: &BatchJob, token: &str) -> BatchResult {
        let after_ms = match self.ports.release_batch(job, token, self.clock.now()).await {
            Ok(()) => 0,
            Err(error) => {
                tracing::warn!(batch = job.batch.seq, error = %error.0, "batch lease not released: the batch resumes when it runs out");
                u64::try_from(self.settings.lease_ms).unwrap_or(0)
            }
        };
        BatchResult::Retry {
            after_ms,
            reason: "the invocation's time ran out; the batch resumes".into(),
        }
    }

    fn retry(&self, reason: String) -> BatchResult {
        BatchResult::Retry {
            after_ms: self.settings.max_pause.as_millis() as u64,
            reason,
        }
    }

    async fn work(
        &self,
        attempt: &mut Attempt<'_>,
        resumed: bool,
        stop_at: Option<Timestamp>,
    ) -> Result<BatchResult, Stop> {
        let job = attempt.job;
        let bytes = self
            .ports
            .read_range(&attempt.plan.list, job.batch.start_byte, job.batch.end_byte)
            .await?;
        let rows = read_rows(
            &bytes,
            attempt.plan.list.format,
            attempt.plan.csv_header.as_ref(),
            job.batch.first_row,
            job.batch.rows,
        );
        if resumed {
            // Each id once: DynamoDB refuses a BatchGetItem naming a key twice (a repeated id).
            let ids: HashSet<String> = rows.iter().map(|row| row.ledger_id.clone()).collect();
            let ids: Vec<String> = ids.into_iter().collect();
            attempt.entries = self.ports.entries(job, &ids).await?;
        }
        for (index, row) in rows.iter().enumerate() {
            if stop_at.is_some_and(|stop| self.clock.now() >= stop) {
                self.flush(attempt).await?;
                return Err(Stop::Deadline);
            }
            let check_every = self.settings.cancel_check_rows.max(1) as usize;
            if !attempt.cancelled && index > 0 && index % check_every == 0 {
                attempt.cancelled = self.ports.run_status(job).await? == RunStatus::Cancelled;
            }
            self.row(attempt, row).await?;
        }
        self.flush(attempt).await?;
        let now = self.clock.now();
        match self
            .ports
            .record_batch(job, attempt.token, attempt.counts, now)
            .await?
        {
            BatchRecorded::Recorded(progress) => {
                let channel = attempt.plan.message.channel();
                self.ports
                    .batch_recorded(job, channel, attempt.counts, progress);
                if progress.is_done() {
                    self.ports.complete_run(job, progress, now).await?;
                }
                Ok(BatchResult::Sent(attempt.counts))
            }
            BatchRecorded::AlreadyDone => Ok(BatchResult::Sent(attempt.counts)),
            BatchRecorded::LeaseLost => Err(Stop::LeaseLost),
        }
    }

    /// Works one row through to its settlement.
    async fn row(&self, attempt: &mut Attempt<'_>, row: &Row) -> Result<(), Stop> {
        if !attempt.seen.insert(row.ledger_id.clone()) {
            attempt.counts.duplicates += 1;
            return Ok(());
        }
        let step = next_step(
            attempt.entries.get(&row.ledger_id),
            row.number,
            attempt.plan.on_ambiguous,
        );
        match step {
            NextStep::Duplicate => attempt.counts.duplicates += 1,
            NextStep::AlreadySettled(settled) => attempt.counts.add(settled),
            NextStep::MarkUnconfirmed => self.settle_unconfirmed(attempt, row, None),
            NextStep::Send | NextStep::Resend
                if attempt.cancelled || self.window_closed(attempt) =>
            {
                if step == NextStep::Resend {
                    // Claimed by a crashed attempt: it may have been sent.
                    self.settle_unconfirmed(attempt, row, None);
                } else if attempt.cancelled {
                    attempt.counts.cancelled += 1;
                } else {
                    attempt.counts.expired += 1;
                }
            }
            NextStep::Send | NextStep::Resend => {
                self.deliver(attempt, row, step == NextStep::Resend).await?;
            }
        }
        Ok(())
    }

    /// Whether the run's window (a series' `runDuration`) has closed: nothing more is sent.
    fn window_closed(&self, attempt: &Attempt<'_>) -> bool {
        attempt
            .plan
            .closes_at
            .is_some_and(|closes_at| self.clock.now() >= closes_at)
    }

    /// Settles a claimed recipient whose delivery is unknown as `UNCONFIRMED`, with the next
    /// write.
    fn settle_unconfirmed(&self, attempt: &mut Attempt<'_>, row: &Row, reason: Option<String>) {
        attempt.counts.add(Settled::Unconfirmed);
        attempt.pending = Some(settlement(
            attempt,
            row,
            LedgerStatus::Unconfirmed,
            true,
            reason,
            true,
        ));
    }

    /// Sends one recipient (`resend`: claimed by a crashed attempt, sent again per policy).
    async fn deliver(
        &self,
        attempt: &mut Attempt<'_>,
        row: &Row,
        resend: bool,
    ) -> Result<(), Stop> {
        let recipient = match &row.recipient {
            Ok(recipient) => recipient,
            Err(reason) => return self.fail_row(attempt, row, resend, reason.clone()).await,
        };
        let rendered = match attempt.plan.message.render(recipient) {
            Ok(rendered) => rendered,
            Err(missing) => {
                return self
                    .fail_row(attempt, row, resend, missing.to_string())
                    .await;
            }
        };
        if let RenderedMessage::Event { address, detail } = &rendered {
            let event = RunEvent::recipient_delivery(
                &attempt.job.campaign_id,
                &attempt.job.run_id,
                &recipient.id,
                address,
                detail.as_ref(),
            );
            let mut sent = settlement(attempt, row, LedgerStatus::Sent, resend, None, resend);
            sent.event = Some(event);
            return self
                .write_unclaimed(attempt, sent, Settled::Sent { ambiguous: resend })
                .await;
        }
        let claim = Claim {
            recipient_id: row.ledger_id.clone(),
            row: row.number,
            token: attempt.token.to_owned(),
        };
        if resend {
            self.flush(attempt).await?;
        } else {
            let write = LedgerWrite {
                settle: attempt.pending.take(),
                claim: Some(claim.clone()),
            };
            match self.ports.write(attempt.job, &write).await? {
                WriteOutcome::Written => {}
                WriteOutcome::Taken => {
                    attempt.counts.duplicates += 1;
                    return Ok(());
                }
                WriteOutcome::LeaseLost => return Err(Stop::LeaseLost),
            }
        }
        let delivery_id = webhook_id(&attempt.job.campaign_id, &attempt.job.run_id, &recipient.id);
        let channel = attempt.plan.message.channel();
        let mut ambiguous = resend;
        let mut failures = 0u32;
        let mut throttled = 0u32;
        loop {
            if let Err(error) = self.ports.acquire(channel).await {
                self.abandon(attempt, &claim, ambiguous).await;
                return Err(error.into());
            }
            let outcome = self.ports.send(&rendered, &delivery_id).await;
            let no_answer = matches!(outcome, SendOutcome::Unknown(_));
            let (status, reason) = match outcome {
                SendOutcome::Delivered => (LedgerStatus::Sent, None),
                SendOutcome::Rejected(reason) => (LedgerStatus::Failed, Some(reason)),
                SendOutcome::Throttled { retry_after_ms } => {
                    let wait = retry_after_ms.unwrap_or_else(|| self.pause_ms(throttled));
                    throttled += 1;
                    let resume_at = self.clock.now().plus_millis(wait as i64);
                    if attempt.stop_at.is_some_and(|stop| resume_at >= stop) {
                        // Nothing was sent: release the claim (so the retry does not count
                        // the recipient ambiguous) and let the batch come back later.
                        self.abandon(attempt, &claim, ambiguous).await;
                        return Err(Stop::Deadline);
                    }
                    self.ports.pause(wait).await;
                    continue;
                }
                SendOutcome::Unknown(reason)
                    if attempt.plan.on_ambiguous == AmbiguousPolicy::Skip =>
                {
                    tracing::warn!(recipient = %recipient.id, %reason, "no answer from the provider: recipient unconfirmed");
                    self.settle_unconfirmed(attempt, row, Some(reason));
                    return Ok(());
                }
                SendOutcome::Unknown(reason) | SendOutcome::Transient(reason) => {
                    // No answer: the provider may have it; policy `resend` sends it again.
                    ambiguous |= no_answer;
                    self.after_failure(
                        attempt,
                        &claim,
                        ambiguous,
                        &mut failures,
                        reason,
                        &recipient.id,
                    )
                    .await?;
                    continue;
                }
            };
            let settled = match status {
                LedgerStatus::Failed => Settled::Failed { ambiguous },
                _ => Settled::Sent { ambiguous },
            };
            attempt.counts.add(settled);
            attempt.pending = Some(settlement(attempt, row, status, ambiguous, reason, true));
            return Ok(());
        }
    }

    /// Settles a row that cannot be sent (bad row, missing variable) as `FAILED`: with the
    /// next write if a crashed attempt claimed it, alone otherwise.
    async fn fail_row(
        &self,
        attempt: &mut Attempt<'_>,
        row: &Row,
        claimed: bool,
        reason: String,
    ) -> Result<(), Stop> {
        let failed = settlement(
            attempt,
            row,
            LedgerStatus::Failed,
            claimed,
            Some(reason),
            claimed,
        );
        let outcome = Settled::Failed { ambiguous: claimed };
        if claimed {
            attempt.counts.add(outcome);
            attempt.pending = Some(failed);
            return Ok(());
        }
        self.write_unclaimed(attempt, failed, outcome).await
    }

    /// Writes a settlement of a recipient never claimed, alone.
    async fn write_unclaimed(
        &self,
        attempt: &mut Attempt<'_>,
        settlement: Settlement,
        outcome: Settled,
    ) -> Result<(), Stop> {
        self.flush(attempt).await?;
        let write = LedgerWrite {
            settle: Some(settlement),
            claim: None,
        };
        match self.ports.write(attempt.job, &write).await? {
            WriteOutcome::Written => attempt.counts.add(outcome),
            WriteOutcome::Taken => attempt.counts.duplicates += 1,
            WriteOutcome::LeaseLost => return Err(Stop::LeaseLost),
        }
        Ok(())
    }

    /// Writes the pending settlement, if any.
    async fn flush(&self, attempt: &mut Attempt<'_>) -> Result<(), Stop> {
        let Some(settle) = attempt.pending.take() else {
            return Ok(());
        };
        let write = LedgerWrite {
            settle: Some(settle),
            claim: None,
        };
        match self.ports.write(attempt.job, &write).await? {
            WriteOutcome::Written | WriteOutcome::Taken => Ok(()),
            WriteOutcome::LeaseLost => Err(Stop::LeaseLost),
        }
    }

    /// Gives a claim up: released when its provider surely does not have the message (so a
    /// later attempt sends it fresh), kept when it may (a later attempt finds it ambiguous).
    async fn abandon(&self, attempt: &mut Attempt<'_>, claim: &Claim, ambiguous: bool) {
        if let Err(error) = self.flush(attempt).await {
            tracing::warn!(reason = %stop_reason(&error), "settlement not written: the batch resumes from the ledger");
        }
        if !ambiguous && let Err(error) = self.ports.release(attempt.job, claim).await {
            tracing::warn!(recipient = %claim.recipient_id, %error, "claim not released: the recipient will count as ambiguous");
        }
    }

    /// Counts a failed provider call: pauses before the next one, or, after
    /// `max_attempts`, gives the recipient up and stops the batch (retried later).
    async fn after_failure(
        &self,
        attempt: &mut Attempt<'_>,
        claim: &Claim,
        ambiguous: bool,
        failures: &mut u32,
        reason: String,
        recipient: &str,
    ) -> Result<(), Stop> {
        *failures += 1;
        if *failures >= self.settings.max_attempts {
            self.abandon(attempt, claim, ambiguous).await;
            return Err(Stop::GaveUp(format!(
                "recipient {recipient}: {reason} ({failures} attempts)"
            )));
        }
        self.ports.pause(self.pause_ms(*failures - 1)).await;
        Ok(())
    }

    fn pause_ms(&self, retry: u32) -> u64 {
        let factor = 1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX);
        self.settings
            .first_pause
            .saturating_mul(factor)
            .min(self.settings.max_pause)
            .as_millis() as u64
    }
}

fn stop_reason(stop: &Stop) -> String {
    match stop {
        Stop::Port(error) => error.0.clone(),
        Stop::LeaseLost => "lease lost".into(),
        Stop::Deadline => "deadline".into(),
        Stop::GaveUp(reason) => reason.clone(),
    }
}

fn settlement(
    attempt: &Attempt<'_>,
    row: &Row,
    status: LedgerStatus,
    ambiguous: bool,
    reason: Option<String>,
    claimed: bool,
) -> Settlement {
    Settlement {
        recipient_id: row.ledger_id.clone(),
        row: row.number,
        token: attempt.token.to_owned(),
        status,
        ambiguous,
        reason,
        claimed,
        event: None,
    }
}
