//! Unit tests of a dispatcher tick through in-memory ports ([`fakes`]): watermarks advance
//! only over what was read and sent, truncated shards resume where they stopped, a failed
//! read or send loses nothing, and overlapping ticks never move a watermark backwards.

mod fakes;

use lifecycle_domain::{
    CampaignId, CampaignStatus, DueTimer, ManualClock, TimerEffect, TimerId, TimerKind, Timestamp,
};

use self::fakes::FakePorts;
use crate::dispatch::{DispatchReport, Dispatcher, Settings};

const NOW: i64 = 1_800_000_000_000;
const LOOKAHEAD_MS: i64 = 90_000;

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
        next_deadline: None,
    }
}

async fn tick(ports: &FakePorts, now: Timestamp, max_per_shard: u32) -> DispatchReport {
    let clock = ManualClock::at(now);
    let dispatcher = Dispatcher {
        ports,
        clock: &clock,
        settings: Settings {
            lookahead_ms: LOOKAHEAD_MS,
            max_per_shard,
        },
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
        let delays: Vec<i32> = world.sent.iter().map(|m| m.delay_seconds).collect();
        assert_eq!(delays, [1, 30], "a and b share their second's message");
        for shard in 0..3 {
            assert_eq!(
                world.watermarks.of(shard),
                at(LOOKAHEAD_MS),
                "shard {shard}"
            );
        }
    }
    let next = tick(&ports, at(60_000), 100).await;
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
        settings: Settings {
            lookahead_ms: LOOKAHEAD_MS,
            max_per_shard: 100,
        },
    };
    assert!(dispatcher.tick(at(0)).await.is_err());
    assert_eq!(ports.world().watermarks.version, 0);
    ports.world().failing_save = false;
    let retry = tick(&ports, at(500), 100).await;
    assert!(retry.watermarks_saved);
    assert_eq!(ports.sent_ids(), ["a:START_CAMPAIGN", "a:START_CAMPAIGN"]);
}
