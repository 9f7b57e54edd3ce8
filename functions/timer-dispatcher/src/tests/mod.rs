//! Unit tests of a dispatcher tick through in-memory ports ([`fakes`]): watermarks advance
//! only over what was read and sent, truncated shards resume where they stopped, a failed
//! read or send loses nothing, overlapping ticks never move a watermark backwards, and
//! missed timers are sent again for a while without starving new ones.

mod fakes;

use lifecycle_domain::{
    CampaignId, CampaignStatus, DueTimer, ManualClock, TimerEffect, TimerId, TimerKind, Timestamp,
};

use self::fakes::FakePorts;
use crate::dispatch::{DispatchReport, Dispatcher, Settings};

const NOW: i64 = 1_800_000_000_000;
const LOOKAHEAD_MS: i64 = 90_000;
const CATCH_UP_AFTER_MS: i64 = 30_000;
const CATCH_UP_SPAN_MS: i64 = 120_000;

fn at(offset_ms: i64) -> Timestamp {
    Timestamp::from_millis(NOW + offset_ms)
}

fn timer(campaign: &str, due: Timestamp) -> DueTimer {
    let campaign_id = CampaignId::new(campaign);
    DueTimer {
        timer_id: TimerId::new(&campaign_id, TimerKind::StartCampaign),
        campaign_id,
        kind: TimerKind::StartCampaign,
        due_at: due,
        effect: TimerEffect::Move {
            from: CampaignStatus::Scheduled,
            to: CampaignStatus::Running,
        },
        run_id: None,
        next_deadline: None,
    }
}

fn settings(max_per_shard: u32) -> Settings {
    Settings {
        lookahead_ms: LOOKAHEAD_MS,
        max_per_shard,
        catch_up_after_ms: CATCH_UP_AFTER_MS,
        catch_up_span_ms: CATCH_UP_SPAN_MS,
    }
}

async fn tick(ports: &FakePorts, now: Timestamp, max_per_shard: u32) -> DispatchReport {
    let clock = ManualClock::at(now);
    let dispatcher = Dispatcher {
        ports,
        clock: &clock,
        settings: settings(max_per_shard),
    };
    dispatcher.tick(now).await.expect("the tick runs")
}

#[tokio::test]
async fn due_timers_of_every_shard_are_sent_delayed_and_every_watermark_advances() {
    let ports = FakePorts::new(3);
    ports.index(0, timer("a", at(1_000)), false);
    ports.index(2, timer("b", at(1_400)), false);
    ports.index(2, timer("c", at(30_000)), false);
    ports.index(1, timer("late", at(LOOKAHEAD_MS + 1)), false);
    ports.index(1, timer("api", at(2_000)), true);
    let report = tick(&ports, at(0), 100).await;
    assert_eq!((report.timers_sent, report.messages_sent), (3, 2));
    assert_eq!(report.queued_at_creation, 1, "the API's own are left out");
    assert!(report.watermarks_saved && report.errors.is_empty());
    {
        let world = ports.world();
        let delays: Vec<i32> = world.sent.iter().map(|m| m.delay_seconds(at(0))).collect();
        assert_eq!(delays, [0, 29], "a and b share their second's message");
        for shard in 0..3 {
            assert_eq!(
                world.watermarks.of(shard),
                at(LOOKAHEAD_MS),
                "shard {shard}"
            );
        }
    }
    // Sooner than the catch-up threshold: none of the earlier ones counts as missed yet.
    let next = tick(&ports, at(20_000), 100).await;
    assert_eq!(
        next.timers_sent, 1,
        "only the timer past the old horizon is new"
    );
    assert_eq!(ports.sent_ids().last().unwrap(), "late:START_CAMPAIGN");
}

#[tokio::test]
async fn a_truncated_shard_resumes_after_the_last_whole_millisecond_it_read() {
    let ports = FakePorts::new(1);
    ports.index(0, timer("a", at(1_000)), false);
    // More timers in one millisecond than the limit: read whole, never cut.
    for id in ["b", "c", "d"] {
        ports.index(0, timer(id, at(2_000)), false);
    }
    ports.index(0, timer("e", at(3_000)), false);
    ports.index(0, timer("f", at(4_000)), false);
    let first = tick(&ports, at(0), 2).await;
    assert_eq!((first.timers_sent, first.truncated_shards), (4, 1));
    assert_eq!(ports.world().watermarks.of(0), at(2_000));
    let second = tick(&ports, at(0), 2).await;
    assert_eq!((second.timers_sent, second.truncated_shards), (2, 1));
    let third = tick(&ports, at(0), 2).await;
    assert_eq!((third.timers_sent, third.truncated_shards), (0, 0));
    assert_eq!(
        ports.sent_ids(),
        ["a", "b", "c", "d", "e", "f"].map(|id| format!("{id}:START_CAMPAIGN")),
        "each exactly once, in order"
    );
    assert_eq!(ports.world().watermarks.of(0), at(LOOKAHEAD_MS));
}

#[tokio::test]
async fn a_shard_whose_read_failed_keeps_its_watermark_and_is_read_next_tick() {
    let ports = FakePorts::new(2);
    ports.index(0, timer("a", at(1_000)), false);
    ports.index(1, timer("b", at(1_000)), false);
    ports.world().failing_shards.insert(1);
    let report = tick(&ports, at(0), 100).await;
    assert_eq!(report.timers_sent, 1);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(
        report.clone().into_result().is_err(),
        "the invocation fails"
    );
    {
        let world = ports.world();
        assert_eq!(world.watermarks.of(0), at(LOOKAHEAD_MS));
        assert_eq!(
            world.watermarks.of(1),
            Timestamp::from_millis(0),
            "unread: not moved"
        );
    }
    ports.world().failing_shards.clear();
    let retry = tick(&ports, at(5_000), 100).await;
    assert_eq!(retry.timers_sent, 1);
    assert_eq!(ports.sent_ids(), ["a:START_CAMPAIGN", "b:START_CAMPAIGN"]);
}

#[tokio::test]
async fn a_failed_send_keeps_the_watermarks_of_shards_with_timers() {
    let ports = FakePorts::new(2);
    ports.index(0, timer("a", at(1_000)), false);
    ports.world().failing_send = true;
    let report = tick(&ports, at(0), 100).await;
    assert_eq!(report.timers_sent, 0);
    assert_eq!(report.errors.len(), 1);
    {
        let world = ports.world();
        assert_eq!(
            world.watermarks.of(0),
            Timestamp::from_millis(0),
            "resent next tick"
        );
        assert_eq!(
            world.watermarks.of(1),
            at(LOOKAHEAD_MS),
            "nothing to resend there"
        );
    }
    ports.world().failing_send = false;
    let retry = tick(&ports, at(1_000), 100).await;
    assert_eq!(retry.timers_sent, 1);
    assert_eq!(ports.sent_ids(), ["a:START_CAMPAIGN"]);
}

#[tokio::test]
async fn overlapping_ticks_save_once_and_never_move_a_watermark_back() {
    let ports = FakePorts::new(1);
    ports.index(0, timer("a", at(1_000)), false);
    let before = ports.world().watermarks.clone();
    let first = tick(&ports, at(10_000), 100).await;
    assert!(first.watermarks_saved);
    // A second tick that read the watermarks before the first saved, with an earlier now.
    ports.world().stale_load = Some(before);
    let second = tick(&ports, at(0), 100).await;
    assert!(
        !second.watermarks_saved,
        "the version moved: its save is refused"
    );
    assert_eq!(
        ports.world().watermarks.of(0),
        at(10_000 + LOOKAHEAD_MS),
        "the first tick's watermark stands"
    );
    assert_eq!(
        ports.sent_ids(),
        ["a:START_CAMPAIGN", "a:START_CAMPAIGN"],
        "sent twice, harmless"
    );
}

#[tokio::test]
async fn a_lost_watermark_save_fails_the_tick_and_the_next_tick_resends() {
    let ports = FakePorts::new(1);
    ports.index(0, timer("a", at(1_000)), false);
    ports.world().failing_save = true;
    let clock = ManualClock::at(at(0));
    let dispatcher = Dispatcher {
        ports: &ports,
        clock: &clock,
        settings: settings(100),
    };
    assert!(dispatcher.tick(at(0)).await.is_err());
    assert_eq!(ports.world().watermarks.version, 0);
    ports.world().failing_save = false;
    let retry = tick(&ports, at(500), 100).await;
    assert!(retry.watermarks_saved);
    assert_eq!(ports.sent_ids(), ["a:START_CAMPAIGN", "a:START_CAMPAIGN"]);
}

#[tokio::test]
async fn missed_timers_are_sent_again_for_the_span_even_those_queued_at_creation() {
    let ports = FakePorts::new(1);
    // The watermark is far past them all: each was sent (or queued by the API) long ago.
    ports.world().watermarks.shards.insert(0, at(LOOKAHEAD_MS));
    ports.index(0, timer("missed", at(-CATCH_UP_AFTER_MS - 1)), false);
    ports.index(0, timer("missed-direct", at(-60_000)), true);
    ports.index(0, timer("in-flight", at(-CATCH_UP_AFTER_MS + 1)), false);
    ports.index(0, timer("soon", at(20_000)), true);
    ports.index(
        0,
        timer("too-old", at(-CATCH_UP_AFTER_MS - CATCH_UP_SPAN_MS)),
        false,
    );
    let report = tick(&ports, at(0), 100).await;
    assert_eq!(
        (
            report.timers_sent,
            report.timers_caught_up,
            report.queued_at_creation
        ),
        (2, 2, 0),
        "{report:?}"
    );
    assert_eq!(
        ports.sent_ids(),
        ["missed-direct:START_CAMPAIGN", "missed:START_CAMPAIGN"],
        "in due order, whoever queued them"
    );
    assert_eq!(
        ports.world().sent[0].delay_seconds(at(0)),
        0,
        "late timers go at once"
    );
    // A minute later both are still inside the span; "in-flight" and "soon" are now late too:
    // each is sent once per tick while PENDING.
    let later = tick(&ports, at(60_000), 100).await;
    assert_eq!(later.timers_caught_up, 4, "{later:?}");
    // Past the span, missed timers are the sweeper's.
    let much_later = tick(
        &ports,
        at(20_000 + CATCH_UP_AFTER_MS + CATCH_UP_SPAN_MS),
        100,
    )
    .await;
    assert_eq!(much_later.timers_caught_up, 0, "{much_later:?}");
}

#[tokio::test]
async fn a_shard_full_of_old_timers_still_sends_its_new_ones() {
    let ports = FakePorts::new(1);
    ports.world().watermarks.shards.insert(0, at(30_000));
    // Sent last tick and not late yet: the first read stops among them, before the watermark.
    for id in ["s1", "s2", "s3"] {
        ports.index(0, timer(id, at(10_000)), false);
    }
    ports.index(0, timer("new", at(40_000)), false);
    let report = tick(&ports, at(0), 2).await;
    assert_eq!(ports.sent_ids(), ["new:START_CAMPAIGN"], "{report:?}");
    let reads = ports.world().reads.clone();
    assert_eq!(
        reads,
        [
            (0, at(-CATCH_UP_AFTER_MS - CATCH_UP_SPAN_MS)),
            (0, at(30_000))
        ],
        "the catch-up range first, then past the watermark"
    );
    assert_eq!(ports.world().watermarks.of(0), at(LOOKAHEAD_MS));
}

#[tokio::test]
async fn an_idle_shard_costs_one_read_per_tick() {
    let ports = FakePorts::new(1);
    ports.world().watermarks.shards.insert(0, at(30_000));
    ports.index(0, timer("sent", at(10_000)), false);
    let report = tick(&ports, at(0), 100).await;
    assert_eq!(report.timers_sent, 0, "{report:?}");
    assert_eq!(ports.world().reads.len(), 1);
}
