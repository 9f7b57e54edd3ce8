//! A test alert an operator asks for (`POST /recovery/test`): published on the bus as
//! `AlertTestRequested` with the one channel to try, taken by the fan-out from its queue
//! like any alert, and sent as a notification of kind `TEST` through that channel only —
//! no noise control, no stored state, one attempt.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::alert::{AlertKind, Severity};
use crate::alerting::noise::Notice;
use crate::alerting::notification::Notification;
use crate::alerting::routing::AlertChannel;
use crate::event::{BusEvent, stable_id};

/// The `detail-type` of a test alert request.
pub const TEST_ALERT_DETAIL_TYPE: &str = "AlertTestRequested";

/// A request to send a test notification through one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestAlertRequest {
    /// Unique per request: the notification's id derives from it.
    pub test_id: String,
    /// The one channel to send through.
    pub channel: AlertChannel,
    /// When the operator asked.
    pub requested_at: Timestamp,
}

impl TestAlertRequest {
    /// The notification the channel sends: kind `TEST`, severity `LOW`, subject the channel.
    pub fn notification(&self) -> Notification {
        Notification {
            notification_id: stable_id(&format!("test-alert/{}", self.test_id)),
            notice: Notice::Firing,
            key: format!("TEST/{}", self.channel.as_str()),
            kind: AlertKind::Test,
            subject: self.channel.as_str().to_owned(),
            severity: Severity::Low,
            message: format!(
                "Test alert {} requested at {} through POST /recovery/test; no action needed.",
                self.test_id, self.requested_at
            ),
            repeats: 0,
            at: self.requested_at,
        }
    }
}

impl BusEvent for TestAlertRequest {
    fn event_id(&self) -> &str {
        &self.test_id
    }

    fn detail_type(&self) -> &str {
        TEST_ALERT_DETAIL_TYPE
    }

    fn detail_json(&self) -> String {
        serde_json::to_string(self).expect("a test alert request is always serialisable")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notification_says_it_is_a_test_on_every_channel() {
        let request = TestAlertRequest {
            test_id: "t-1".into(),
            channel: AlertChannel::Webhook,
            requested_at: Timestamp::from_millis(1_800_000_000_000),
        };
        let notification = request.notification();
        assert_eq!(notification.headline(), "[LOW] TEST WEBHOOK");
        assert_eq!(notification.json()["kind"], "TEST");
        assert!(
            notification.slack()["text"]
                .as_str()
                .unwrap()
                .contains("TEST")
        );
        assert_eq!(
            notification.notification_id,
            request.notification().notification_id
        );
        let detail: TestAlertRequest = serde_json::from_str(&request.detail_json()).unwrap();
        assert_eq!(detail, request);
        assert_eq!(request.detail_type(), TEST_ALERT_DETAIL_TYPE);
    }
}
