//! The DynamoDB store: one table, keys designed from the access patterns in
//! `docs/data-model.md`. So far: key formats, item mapping, errors and page tokens; the
//! operations (create, due-index query, timer transaction, outbox) land next.

mod error;
pub mod items;
pub mod keys;
mod page_token;

pub use error::StoreError;
pub use page_token::{InvalidPageToken, PageToken};
