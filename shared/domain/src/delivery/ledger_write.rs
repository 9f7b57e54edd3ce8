//! The writes of the recipient ledger: a claim just before a provider call, a settlement
//! just after, or both in one transaction (the settlement of one recipient with the claim of
//! the next), and what such a write can come to.

use super::ledger::LedgerStatus;
use super::run_event::RunEvent;

/// A claim on a recipient just before its provider call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The ledger key.
    pub recipient_id: String,
    /// The claiming row.
    pub row: u64,
    /// The lease token of the claiming attempt.
    pub token: String,
}

/// A recipient's final outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// The ledger key.
    pub recipient_id: String,
    /// The settling row.
    pub row: u64,
    /// The lease token of the settling attempt.
    pub token: String,
    /// `SENT`, `FAILED` or `UNCONFIRMED`.
    pub status: LedgerStatus,
    /// Whether the recipient was ambiguous once.
    pub ambiguous: bool,
    /// Why it failed.
    pub reason: Option<String>,
    /// Whether it settles a claim (conditional on the claim and its token, re-taken by this
    /// token if an earlier attempt made it) or a recipient never claimed (conditional on no
    /// entry).
    pub claimed: bool,
    /// The event channel's delivery, written to the outbox with the entry (exactly once).
    pub event: Option<RunEvent>,
}

/// One ledger write: a settlement, a claim, or both in one transaction (the settlement of a
/// recipient and the claim of the next: one request per recipient).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerWrite {
    /// The previous recipient's outcome.
    pub settle: Option<Settlement>,
    /// The next recipient's claim.
    pub claim: Option<Claim>,
}

/// The answer to a ledger write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Everything written.
    Written,
    /// The settlement is written, but the recipient being claimed (or settled unclaimed)
    /// already has an entry: another row holds its id.
    Taken,
    /// The settlement's claim belongs to another token: the lease was taken over; nothing
    /// written.
    LeaseLost,
}
