//! Bulk deliveries: what a campaign sends (an email, a signed webhook or an event per
//! recipient), to whom (an inline or S3 list), and the rules that let a run of sends resume
//! after any crash: batches cut at a durable cursor, a per-recipient ledger deciding what a
//! resumed batch sends, counts that complete a run once, and a send rate shared by every
//! sender. All pure: the planner and sender functions bring the I/O.

pub mod address;
pub mod batch_job;
pub mod batch_plan;
pub mod batch_state;
pub mod campaign_delivery;
pub mod inline_list;
pub mod ledger;
pub mod ledger_write;
pub mod line_splitter;
pub mod message;
pub mod plan_job;
pub mod provider_response;
pub mod recipient;
pub mod recipient_list;
pub mod run;
pub mod run_event;
pub mod run_record;
pub mod secret_ref;
pub mod send_rate;
pub mod spec;
pub mod template;
pub mod webhook_signature;

#[cfg(test)]
mod spec_tests;

pub use address::Channel;
pub use batch_job::BatchJob;
pub use batch_plan::{BatchCutter, PlanCursor, PlannedBatch};
pub use campaign_delivery::CampaignDelivery;
pub use ledger::{AmbiguousPolicy, LedgerEntry, LedgerStatus, NextStep, Settled, next_step};
pub use message::{Message, RenderedMessage};
pub use plan_job::PlanJob;
pub use recipient::Recipient;
pub use recipient_list::{ListFormat, RecipientList};
pub use run::{Counts, Progress, RunId, RunStatus};
pub use run_event::{RunEvent, RunEventType};
pub use run_record::RunRecord;
pub use spec::{DeliverySpec, NewDelivery, Recipients};
pub use template::{PayloadTemplate, Template};
