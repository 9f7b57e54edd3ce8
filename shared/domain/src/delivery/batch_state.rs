//! What a batch's record answers a sender: whether it may take the batch, and whether its
//! counts were recorded.

use super::run::Progress;
use crate::Timestamp;

/// The answer to taking a batch's lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// Taken; `resumed` if an earlier attempt took it before (the ledger may hold its work).
    Taken {
        /// Whether an earlier attempt held the lease.
        resumed: bool,
    },
    /// The batch is complete: nothing to do.
    Done,
    /// Another sender holds it until then.
    Held {
        /// When its lease ends.
        until: Timestamp,
    },
}

/// The answer to recording a batch's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchRecorded {
    /// Recorded once; the run's progress after it.
    Recorded(Progress),
    /// Recorded before (a repeated completion): nothing added.
    AlreadyDone,
    /// The lease was taken over: another sender finishes the batch.
    LeaseLost,
}
