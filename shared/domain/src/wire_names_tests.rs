//! Wire names: every enum's `as_str` is the name serde writes, `parse` reads it back and
//! nothing else, and ids and timestamps print as their text (keys and attributes in DynamoDB,
//! log fields and event details are built from these).

use serde::Serialize;

use crate::{CampaignId, CampaignStatus, EventType, TimerId, TimerKind, TimerStatus, Timestamp};

/// The JSON string serde writes for `value`.
fn serde_name(value: impl Serialize) -> String {
    match serde_json::to_value(value).unwrap() {
        serde_json::Value::String(name) => name,
        other => panic!("not a string: {other}"),
    }
}

#[test]
fn campaign_statuses_parse_their_own_wire_names_only() {
    for status in CampaignStatus::ALL {
        assert_eq!(status.as_str(), serde_name(status));
        assert_eq!(CampaignStatus::parse(status.as_str()), Some(status));
        assert_eq!(status.to_string(), status.as_str());
    }
    assert_eq!(
        CampaignStatus::parse("REWARD_CLAIM"),
        Some(CampaignStatus::RewardClaim)
    );
    assert_eq!(CampaignStatus::parse("running"), None);
    assert_eq!(CampaignStatus::parse(""), None);
}

#[test]
fn timer_kinds_parse_their_own_wire_names_only() {
    for kind in TimerKind::ALL {
        assert_eq!(kind.as_str(), serde_name(kind));
        assert_eq!(TimerKind::parse(kind.as_str()), Some(kind));
        assert_eq!(kind.to_string(), kind.as_str());
    }
    assert_eq!(
        TimerKind::parse("CLOSE_CAMPAIGN"),
        Some(TimerKind::CloseCampaign)
    );
    assert_eq!(TimerKind::parse("START"), None);
}

#[test]
fn timer_statuses_are_written_as_serde_names_them() {
    use TimerStatus::*;
    let expected = [
        (Pending, "PENDING"),
        (Running, "RUNNING"),
        (Completed, "COMPLETED"),
        (Failed, "FAILED"),
        (Cancelled, "CANCELLED"),
    ];
    for (status, name) in expected {
        assert_eq!(status.as_str(), name);
        assert_eq!(serde_name(status), name);
    }
}

#[test]
fn event_types_are_their_detail_types() {
    use EventType::*;
    for event in [
        CampaignStarted,
        CampaignClosed,
        CampaignRewardClaimOpened,
        CampaignExpired,
        CampaignCancelled,
        RewardReminderDue,
    ] {
        assert_eq!(event.as_str(), serde_name(event));
    }
    assert_eq!(
        CampaignRewardClaimOpened.as_str(),
        "CampaignRewardClaimOpened"
    );
}

#[test]
fn ids_and_timestamps_print_as_their_text() {
    let campaign = CampaignId::new("c-1");
    assert_eq!(campaign.to_string(), "c-1");
    let timer = TimerId::new(&campaign, TimerKind::StartCampaign);
    assert_eq!(timer.to_string(), "c-1:START_CAMPAIGN");
    assert_eq!(format!("{timer}"), timer.as_str());
    let at = Timestamp::from_millis(1_795_424_400_250);
    assert_eq!(at.to_string(), "2026-11-23T09:00:00.25Z");
    assert_eq!(at.to_string(), at.to_rfc3339());
}
