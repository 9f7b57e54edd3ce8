//! The DynamoDB store: one table, keys designed from the access patterns in
//! `docs/data-model.md`. Every state change is a conditional write.

mod alerts;
mod breakers;
mod campaign_move;
mod campaigns;
mod cancel;
mod client;
mod correction;
mod due_index;
mod error;
mod heartbeats;
pub mod items;
pub mod keys;
mod leases;
mod ledger;
mod outbox;
mod page_token;
mod partition;
mod patterns;
mod run_listing;
mod runs;
mod send_rate;
mod stalled_runs;
mod sweeps;
mod timer_apply;
mod timer_writes;
mod unprocessed;
mod watermarks;

pub use campaigns::CampaignPage;
pub use cancel::{CancelError, Cancelled};
pub use client::Store;
pub use correction::Correction;
pub use due_index::{DuePage, IndexedTimer};
pub use error::StoreError;
pub use heartbeats::HeartbeatRecord;
pub use leases::TakenBack;
pub use ledger::LedgerRun;
pub use page_token::{InvalidPageToken, PageToken};
pub use partition::CampaignPartition;
pub use patterns::PatternCreate;
pub use run_listing::{RecipientOutcome, RecipientPage, RunPage};
pub use runs::BatchKey;
pub use stalled_runs::StalledRun;
pub use timer_apply::ApplyOutcome;
pub use timer_writes::Claim;
pub use watermarks::Watermarks;
