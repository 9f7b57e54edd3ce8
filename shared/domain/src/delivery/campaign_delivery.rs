//! A campaign's delivery as stored with the campaign: what each run sends, to which stored
//! list, and the policy for ambiguous recipients. The API turns a validated
//! [`DeliverySpec`](super::DeliverySpec) into this once an inline list is stored as an object
//! ([`inline_list`](super::inline_list)), so every run reads its recipients the same way.

use serde::{Deserialize, Serialize};

use super::address::Channel;
use super::ledger::AmbiguousPolicy;
use super::message::Message;
use super::recipient_list::RecipientList;
use super::run::RunId;
use super::run_record::RunRecord;
use crate::{CampaignId, Timestamp};

/// What a campaign sends on each run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignDelivery {
    /// The message.
    pub message: Message,
    /// The recipients: an S3 object (an inline list is stored as one at creation).
    pub list: RecipientList,
    /// What a resumed batch does with a recipient whose send may have happened.
    pub on_ambiguous: AmbiguousPolicy,
}

impl CampaignDelivery {
    /// The channel its messages go out on.
    pub const fn channel(&self) -> Channel {
        self.message.channel()
    }

    /// The run of the occurrence scheduled at `occurrence`, waiting for its START.
    pub fn scheduled_run(&self, campaign: &CampaignId, occurrence: Timestamp) -> RunRecord {
        RunRecord::scheduled(
            campaign.clone(),
            RunId::for_occurrence(occurrence),
            self.message.clone(),
            self.list.clone(),
            self.on_ambiguous,
            occurrence,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::RunStatus;
    use crate::delivery::message::EventMessage;

    #[test]
    fn a_scheduled_run_carries_the_delivery_and_the_occurrence_id() {
        let delivery = CampaignDelivery {
            message: Message::Event(EventMessage { detail: None }),
            list: RecipientList::parse_uri("s3://lists/a.jsonl").unwrap(),
            on_ambiguous: AmbiguousPolicy::Skip,
        };
        assert_eq!(delivery.channel(), Channel::Event);
        let at = Timestamp::parse_rfc3339("2026-12-02T09:00:00Z").unwrap();
        let run = delivery.scheduled_run(&CampaignId::new("c1"), at);
        assert_eq!(run.run_id, RunId::for_occurrence(at));
        assert_eq!(run.status, RunStatus::Scheduled);
        assert_eq!((run.scheduled_at, run.started_at), (at, None));
        assert_eq!(run.list, delivery.list);
        assert_eq!(run.message, delivery.message);
        assert_eq!(run.on_ambiguous, AmbiguousPolicy::Skip);
    }
}
