//! Key formats of the single table and its two sparse indexes (see `docs/data-model.md`).

use lifecycle_domain::Timestamp;
use lifecycle_domain::{CampaignId, CampaignStatus, TimerId, TimerKind};

/// Partition key attribute.
pub const PK: &str = "PK";
/// Sort key attribute.
pub const SK: &str = "SK";
/// Index of PENDING timers (and unpublished outbox events) by due time, sharded.
pub const BY_DUE_INDEX: &str = "ByDue";
/// Partition attribute of [`BY_DUE_INDEX`]; present only while an item is due work.
pub const DUE_PK: &str = "duePk";
/// Sort attribute of [`BY_DUE_INDEX`].
pub const DUE_SK: &str = "dueSk";
/// Index of campaigns by status, ordered by when they are due to leave it.
pub const BY_STATUS_INDEX: &str = "ByStatus";
/// Partition attribute of [`BY_STATUS_INDEX`].
pub const STATUS_PK: &str = "statusPk";
/// Sort attribute of [`BY_STATUS_INDEX`].
pub const STATUS_SK: &str = "statusSk";
/// Sort key of the campaign item inside its partition.
pub const CAMPAIGN_SK: &str = "CAMPAIGN";
/// Prefix of timer sort keys.
pub const TIMER_SK_PREFIX: &str = "TIMER#";
/// Prefix of outbox sort keys.
pub const OUTBOX_SK_PREFIX: &str = "OUTBOX#";
/// Partition of the dispatcher's bookkeeping items.
pub const DISPATCHER_PK: &str = "DISPATCHER";
/// The item holding every shard's watermark.
pub const WATERMARKS_SK: &str = "WATERMARKS";

/// Sort key of an SQS consumer's pause record.
pub const CONSUMER_STATE_SK: &str = "STATE";

/// `CONSUMER#<name>`: the pause record of an SQS consumer (`executor`, `sender`, …).
pub fn consumer_pk(name: &str) -> String {
    format!("CONSUMER#{name}")
}

/// `CAMPAIGN#<id>`: a campaign, its timers and its outbox share one partition.
pub fn campaign_pk(id: &CampaignId) -> String {
    format!("CAMPAIGN#{id}")
}

/// `TIMER#<KIND>`.
pub fn timer_sk(kind: TimerKind) -> String {
    format!("{TIMER_SK_PREFIX}{kind}")
}

/// `OUTBOX#<eventId>`.
pub fn outbox_sk(event_id: &str) -> String {
    format!("{OUTBOX_SK_PREFIX}{event_id}")
}

/// Shard of a due-index entry: FNV-1a of the key, modulo the shard count. Stable across
/// releases and platforms (it decides where a timer lives).
pub fn shard_of(key: &str, shards: u16) -> u16 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in key.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash % u32::from(shards.max(1))) as u16
}

/// `DUE#<shard>` — the due-index partition of pending timers.
pub fn timer_due_pk(shard: u16) -> String {
    format!("DUE#{shard:03}")
}

/// `OUTBOX#<shard>` — the due-index partition of unpublished events.
pub fn outbox_due_pk(shard: u16) -> String {
    format!("OUTBOX#{shard:03}")
}

/// `LEASE#<shard>` — the due-index partition of RUNNING timers, by lease expiry.
pub fn lease_due_pk(shard: u16) -> String {
    format!("LEASE#{shard:03}")
}

/// `SERIES#<shard>` — the due-index partition of recurring campaigns, by their next
/// occurrence: the sweeper's watch for a series whose timer was lost.
pub fn series_due_pk(shard: u16) -> String {
    format!("SERIES#{shard:03}")
}

/// Prefix of run sort keys in a campaign's partition.
pub const RUN_SK_PREFIX: &str = "RUN#";

/// `RUN#<runId>`: a run in its campaign's partition.
pub fn run_sk(run: &lifecycle_domain::delivery::RunId) -> String {
    format!("{RUN_SK_PREFIX}{run}")
}

/// `RUN#<campaignId>#<runId>`: the partition of a run's batches.
pub fn run_batches_pk(campaign: &CampaignId, run: &lifecycle_domain::delivery::RunId) -> String {
    format!("RUN#{campaign}#{run}")
}

/// `BATCH#<seq, 8 digits>`.
pub fn batch_sk(seq: u32) -> String {
    format!("BATCH#{seq:08}")
}

/// `RUNS#<STATUS>`: the ByStatus partition of runs in a status (PLANNING, SENDING).
pub fn run_status_pk(status: lifecycle_domain::delivery::RunStatus) -> String {
    format!("RUNS#{}", status.as_str())
}

/// `<updatedMillis 13 digits>#<campaignId>#<runId>`: runs by when they last moved.
pub fn run_status_sk(
    at: Timestamp,
    campaign: &CampaignId,
    run: &lifecycle_domain::delivery::RunId,
) -> String {
    due_sk(at, &format!("{campaign}#{run}"))
}

/// Partition of the send-rate buckets, one item per channel.
pub const SEND_RATE_PK: &str = "SEND_RATE";

/// The channel's bucket: `email`, `webhook`, `event`.
pub fn send_rate_sk(channel: lifecycle_domain::delivery::Channel) -> String {
    channel.as_str().to_owned()
}

/// The bucket of the alert fan-out's Slack webhook (Slack takes one message a second).
pub const ALERT_SLACK_RATE_SK: &str = "alert-slack";

/// Shards of a run's ledger: a run's writes spread over this many partitions.
pub const LEDGER_SHARDS: u16 = 16;

/// `LEDGER#<campaignId>#<runId>#<shard>`: the ledger partition holding `recipient_id`.
pub fn ledger_pk(
    campaign: &CampaignId,
    run: &lifecycle_domain::delivery::RunId,
    recipient_id: &str,
) -> String {
    let shard = shard_of(recipient_id, LEDGER_SHARDS);
    format!("LEDGER#{campaign}#{run}#{shard:02}")
}

/// `RCPT#<recipientId>`.
pub fn ledger_sk(recipient_id: &str) -> String {
    format!("RCPT#{recipient_id}")
}

/// `RCPTS#<campaignId>#<runId>#<STATUS>`: the ByStatus partition listing a run's recipients
/// that FAILED or are UNCONFIRMED (sorted by recipient id).
pub fn ledger_status_pk(
    campaign: &CampaignId,
    run: &lifecycle_domain::delivery::RunId,
    status: lifecycle_domain::delivery::LedgerStatus,
) -> String {
    format!("RCPTS#{campaign}#{run}#{}", status.as_str())
}

/// Partition of alert records (few: one per operator-worthy failure).
pub const ALERTS_PK: &str = "ALERTS";
/// The due-index partition of alerts not yet published.
pub const ALERT_DUE_PK: &str = "ALERT#000";

/// `ALERT#<alertId>`.
pub fn alert_sk(alert_id: &str) -> String {
    format!("ALERT#{alert_id}")
}

/// The partition of the alert fan-out's state of one cause (its dedup key).
pub fn alert_state_pk(key: &str) -> String {
    format!("ALERT_STATE#{key}")
}

/// The sort key of an alert state.
pub const ALERT_STATE_SK: &str = "STATE";
/// The due-index partition of alert states the fan-out's periodic check must look at.
pub const ALERT_CHECK_PK: &str = "ALERTCHECK#000";

/// Partition of the service's settings that operators edit (one item per concern).
pub const SETTINGS_PK: &str = "SETTINGS";
/// The alert fan-out's configuration.
pub const ALERT_CONFIG_SK: &str = "ALERTS";
/// The runtime configuration (misfire settings, breaker thresholds), with its version.
pub const RUNTIME_CONFIG_SK: &str = "RUNTIME";

/// `AUDIT#<millis>#<what>` — an audit record inside a campaign's partition.
pub fn audit_sk(at: Timestamp, what: &str) -> String {
    format!("AUDIT#{}", due_sk(at, what))
}

/// Partition of the functions' heartbeat records (`SK` = function name) and of the sweeper's
/// stall markers (`SK` = `STALL#<function>`).
pub const HEARTBEAT_PK: &str = "HEARTBEAT";
/// Prefix of stall marker sort keys in [`HEARTBEAT_PK`] (no function name starts with it).
pub const STALL_SK_PREFIX: &str = "STALL#";

/// `STALL#<function>`: the marker of `function`'s current outage.
pub fn stall_sk(function: &str) -> String {
    format!("{STALL_SK_PREFIX}{function}")
}

/// Partition of the sweeper's records: its run lease and its recovery reports.
pub const SWEEPER_PK: &str = "SWEEPER";
/// The sweeper's run lease (one sweep at a time).
pub const SWEEP_LEASE_SK: &str = "LEASE";
/// Prefix of recovery report sort keys.
pub const REPORT_SK_PREFIX: &str = "REPORT#";

/// `REPORT#<started millis>#<runId>`: reports sort by start time.
pub fn report_sk(started_at: Timestamp, run_id: &str) -> String {
    format!("{REPORT_SK_PREFIX}{}", due_sk(started_at, run_id))
}

/// `BREAKER#<dependency>`: one partition per circuit breaker (its record and its counters).
pub fn breaker_pk(dependency: &str) -> String {
    format!("BREAKER#{dependency}")
}

/// The breaker record's sort key.
pub const BREAKER_STATE_SK: &str = "STATE";

/// `WINDOW#<bucket start millis, 13 digits>`: one failure-counter bucket.
pub fn breaker_window_sk(bucket_start: i64) -> String {
    format!("WINDOW#{bucket_start:013}")
}

/// Partition of the operators' failure patterns (`SK` = `PATTERN#<id>`).
pub const PATTERNS_PK: &str = "PATTERNS";

/// `PATTERN#<id>`.
pub fn pattern_sk(id: &str) -> String {
    format!("PATTERN#{id}")
}

/// Partition of the pattern set's version, raised by every pattern create (it serialises
/// creates, so the number of patterns stays within its limit).
pub const PATTERN_SET_PK: &str = "PATTERN_SET";
/// The pattern set version's sort key.
pub const PATTERN_SET_SK: &str = "VERSION";

/// The day partition of the recovery-log entries of `at`'s UTC day: `EVENTS#<yyyy-mm-dd>`.
pub fn events_day_pk(at: Timestamp) -> String {
    format!("EVENTS#{}", &at.to_rfc3339()[..10])
}

/// The prefix of a recovery-log entry's sort key.
pub const EVENT_SK_PREFIX: &str = "EVENT#";

/// `EVENT#<entryId>` (entry ids start with their time, so the day sorts by time).
pub fn event_sk(id: &str) -> String {
    format!("{EVENT_SK_PREFIX}{id}")
}

/// ByStatus partition of the recovery-log entries of one category: `EVENTS#<CATEGORY>`.
pub fn events_category_pk(category: lifecycle_domain::recovery_log::EventCategory) -> String {
    format!("EVENTS#{}", category.as_str())
}

/// ByDue partition of the recovery-log entries about one campaign: `EVENTS#CAMPAIGN#<id>`.
pub fn events_campaign_pk(campaign_id: &str) -> String {
    format!("EVENTS#CAMPAIGN#{campaign_id}")
}

/// Partition of the recovery log's hourly counters.
pub const STATS_PK: &str = "STATS";

/// `HOUR#<hourStartMillis, 13 digits>`.
pub fn stats_hour_sk(hour: Timestamp) -> String {
    format!("HOUR#{:013}", hour.millis().max(0))
}

/// `<epoch millis, 13 digits>#<id>`: sorts by time, unique per entry.
pub fn due_sk(at: Timestamp, id: &str) -> String {
    format!("{:013}#{id}", at.millis().max(0))
}

/// The due time a due-index sort key starts with.
pub fn due_of_sk(sk: &str) -> Option<Timestamp> {
    sk.get(..13)?.parse().ok().map(Timestamp::from_millis)
}

/// The smallest sort key after every entry due at or before `at`.
pub fn due_sk_after(at: Timestamp) -> String {
    format!("{:013}#~", at.millis().max(0))
}

/// `STATUS#<STATUS>`.
pub fn status_pk(status: CampaignStatus) -> String {
    format!("STATUS#{status}")
}

/// `<sort millis>#<campaign id>`, the sort time from [`lifecycle_domain::schedule::status_sort_time`]:
/// when the campaign is scheduled to leave its status, else when it entered it.
pub fn status_sk(sort_time: Timestamp, id: &CampaignId) -> String {
    due_sk(sort_time, id.as_str())
}

/// Shard of a timer in the due index.
pub fn timer_shard(timer_id: &TimerId, shards: u16) -> u16 {
    shard_of(timer_id.as_str(), shards)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_sort_keys_order_by_time_then_id() {
        let early = due_sk(Timestamp::from_millis(999), "b");
        let late = due_sk(Timestamp::from_millis(1_000), "a");
        assert!(early < late);
        assert_eq!(late, "0000000001000#a");
        assert!(late < due_sk_after(Timestamp::from_millis(1_000)));
        assert!(
            due_sk_after(Timestamp::from_millis(1_000)) < due_sk(Timestamp::from_millis(1_001), "")
        );
    }

    #[test]
    fn after_marker_sorts_after_every_timer_id_character() {
        let id = TimerId::new(
            &CampaignId::new("ffffffff-ffff-4fff-bfff-ffffffffffff"),
            TimerKind::RewardReminder,
        );
        assert!(
            due_sk(Timestamp::from_millis(5), id.as_str())
                < due_sk_after(Timestamp::from_millis(5))
        );
    }

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(shard_of("abc", 16), shard_of("abc", 16));
        let mut counts = [0u32; 16];
        for i in 0..16_000 {
            counts[usize::from(shard_of(&format!("campaign-{i}:START_CAMPAIGN"), 16))] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }
}
