//! Unit tests of the sender against in-memory ports.

mod fakes;
mod send_batch;
