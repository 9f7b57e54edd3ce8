//! The delivery sender: sends the batches of a campaign run from the deliveries queue, each
//! recipient once, resumable after a crash at any line (see [`send_batch`]). The batch logic
//! runs against the sender's ports ([`ports`]), implemented in memory by the unit tests.

pub mod ports;
pub mod rows;
pub mod send_batch;
#[cfg(test)]
mod tests;

pub use send_batch::{BatchResult, Sender, Settings};
