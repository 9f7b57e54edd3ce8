//! The per-recipient ledger of a run: the rule that makes a resumed batch send each recipient
//! once. A recipient's entry is claimed (`SENDING`) just before its provider call and settled
//! just after; a batch that resumes finds, for each row, whether to send, skip, or treat the
//! row as ambiguous (claimed, never settled: the crash happened inside the provider call).

use serde::{Deserialize, Serialize};

use super::address::Channel;

/// What a resumed run does with a recipient claimed but never settled: its provider may or
/// may not have accepted the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AmbiguousPolicy {
    /// Send again: a recipient may get it twice (webhooks carry the same `webhook-id`, so
    /// receivers drop the repeat).
    Resend,
    /// Do not send again: a recipient may get nothing. Counted `ambiguous` for the operator.
    Skip,
}

impl AmbiguousPolicy {
    /// The default: webhooks resend (receivers dedupe on `webhook-id`), emails skip (no
    /// provider idempotency: never mail anyone twice unless asked to). Events are never
    /// ambiguous (they are written with the ledger, in one transaction).
    pub const fn default_for(channel: Channel) -> Self {
        match channel {
            Channel::Email => Self::Skip,
            Channel::Webhook | Channel::Event => Self::Resend,
        }
    }

    /// Parses `resend` or `skip`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "resend" => Some(Self::Resend),
            "skip" => Some(Self::Skip),
            _ => None,
        }
    }
}

/// Where a recipient's entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LedgerStatus {
    /// Claimed: its provider call is under way (or was, when a crash interrupted it).
    Sending,
    /// The provider accepted it.
    Sent,
    /// Refused for good (bad address, 4xx, missing variable): not retried.
    Failed,
    /// Ambiguous and not sent again (policy `skip`): it may or may not have arrived.
    Unconfirmed,
}

impl LedgerStatus {
    /// The name used in items and in `?status=` filters.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "SENDING",
            Self::Sent => "SENT",
            Self::Failed => "FAILED",
            Self::Unconfirmed => "UNCONFIRMED",
        }
    }

    /// Parses a stored name; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Sending, Self::Sent, Self::Failed, Self::Unconfirmed]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// A recipient's ledger entry as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Where it stands.
    pub status: LedgerStatus,
    /// The list row that claimed it: the first row with this recipient id to be sent. Any
    /// other row with the same id is a duplicate.
    pub owner_row: u64,
    /// Whether it was ambiguous once (then resent).
    pub ambiguous: bool,
}

/// What to do with one row of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Never claimed: claim it and send.
    Send,
    /// Claimed by this row, never settled, policy `resend`: send again, marked ambiguous.
    Resend,
    /// Claimed by this row, never settled, policy `skip`: settle as `UNCONFIRMED`, send nothing.
    MarkUnconfirmed,
    /// Settled earlier by this row: count it, send nothing.
    AlreadySettled(Settled),
    /// Another row holds this recipient id: a duplicate, counted, sent nothing.
    Duplicate,
}

/// A final outcome of a row, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Delivered (`ambiguous`: after a resend, so possibly twice).
    Sent {
        /// Whether it was resent after an ambiguous attempt.
        ambiguous: bool,
    },
    /// Refused for good.
    Failed {
        /// Whether it was resent after an ambiguous attempt.
        ambiguous: bool,
    },
    /// Ambiguous, not resent.
    Unconfirmed,
}

/// Decides what the row at list position `row` does, given its recipient's ledger entry.
pub fn next_step(entry: Option<&LedgerEntry>, row: u64, policy: AmbiguousPolicy) -> NextStep {
    let Some(entry) = entry else {
        return NextStep::Send;
    };
    if entry.owner_row != row {
        return NextStep::Duplicate;
    }
    match (entry.status, policy) {
        (LedgerStatus::Sending, AmbiguousPolicy::Resend) => NextStep::Resend,
        (LedgerStatus::Sending, AmbiguousPolicy::Skip) => NextStep::MarkUnconfirmed,
        (LedgerStatus::Sent, _) => NextStep::AlreadySettled(Settled::Sent {
            ambiguous: entry.ambiguous,
        }),
        (LedgerStatus::Failed, _) => NextStep::AlreadySettled(Settled::Failed {
            ambiguous: entry.ambiguous,
        }),
        (LedgerStatus::Unconfirmed, _) => NextStep::AlreadySettled(Settled::Unconfirmed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(status: LedgerStatus, owner_row: u64) -> LedgerEntry {
        LedgerEntry {
            status,
            owner_row,
            ambiguous: false,
        }
    }

    #[test]
    fn ledger_statuses_read_back_from_their_names() {
        for status in [
            LedgerStatus::Sending,
            LedgerStatus::Sent,
            LedgerStatus::Failed,
            LedgerStatus::Unconfirmed,
        ] {
            assert_eq!(LedgerStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(LedgerStatus::parse("failed"), None);
        assert_eq!(LedgerStatus::parse(""), None);
    }

    #[test]
    fn an_unclaimed_recipient_is_sent() {
        assert_eq!(next_step(None, 7, AmbiguousPolicy::Skip), NextStep::Send);
    }

    #[test]
    fn a_claim_never_settled_follows_the_policy() {
        let claimed = entry(LedgerStatus::Sending, 7);
        assert_eq!(
            next_step(Some(&claimed), 7, AmbiguousPolicy::Resend),
            NextStep::Resend
        );
        assert_eq!(
            next_step(Some(&claimed), 7, AmbiguousPolicy::Skip),
            NextStep::MarkUnconfirmed
        );
    }

    #[test]
    fn settled_recipients_are_counted_not_sent() {
        let mut sent = entry(LedgerStatus::Sent, 3);
        assert_eq!(
            next_step(Some(&sent), 3, AmbiguousPolicy::Resend),
            NextStep::AlreadySettled(Settled::Sent { ambiguous: false })
        );
        sent.ambiguous = true;
        assert_eq!(
            next_step(Some(&sent), 3, AmbiguousPolicy::Skip),
            NextStep::AlreadySettled(Settled::Sent { ambiguous: true })
        );
        let mut failed = entry(LedgerStatus::Failed, 3);
        failed.ambiguous = true;
        assert_eq!(
            next_step(Some(&failed), 3, AmbiguousPolicy::Resend),
            NextStep::AlreadySettled(Settled::Failed { ambiguous: true })
        );
        assert_eq!(
            next_step(
                Some(&entry(LedgerStatus::Unconfirmed, 3)),
                3,
                AmbiguousPolicy::Resend
            ),
            NextStep::AlreadySettled(Settled::Unconfirmed)
        );
    }

    #[test]
    fn a_recipient_held_by_another_row_is_a_duplicate_whatever_its_state() {
        for status in [
            LedgerStatus::Sending,
            LedgerStatus::Sent,
            LedgerStatus::Failed,
            LedgerStatus::Unconfirmed,
        ] {
            assert_eq!(
                next_step(Some(&entry(status, 1)), 2, AmbiguousPolicy::Resend),
                NextStep::Duplicate
            );
        }
    }

    #[test]
    fn policies_default_per_channel_and_parse() {
        assert_eq!(
            AmbiguousPolicy::default_for(Channel::Email),
            AmbiguousPolicy::Skip
        );
        assert_eq!(
            AmbiguousPolicy::default_for(Channel::Webhook),
            AmbiguousPolicy::Resend
        );
        assert_eq!(
            AmbiguousPolicy::default_for(Channel::Event),
            AmbiguousPolicy::Resend
        );
        assert_eq!(
            AmbiguousPolicy::parse("resend"),
            Some(AmbiguousPolicy::Resend)
        );
        assert_eq!(AmbiguousPolicy::parse("skip"), Some(AmbiguousPolicy::Skip));
        assert_eq!(AmbiguousPolicy::parse("Skip"), None);
        assert_eq!(LedgerStatus::Unconfirmed.as_str(), "UNCONFIRMED");
        assert_eq!(
            serde_json::to_value(LedgerStatus::Sending).unwrap(),
            serde_json::json!(LedgerStatus::Sending.as_str())
        );
    }
}
