//! `campaignctl`: the operator's command line for campaign-lifecycle. Every command is a
//! SigV4-signed request to the API (or, for `invoke`, Lambda's Invoke API), so it works the
//! same against `make local` and a deployed stack, with the caller's IAM access level.
//!
//! Tables for people, `--json` for scripts; exit codes in [`exit::code`].

pub mod cli;
pub mod client;
pub mod commands;
pub mod exit;
pub mod output;
pub mod progress;
pub mod signing;
pub mod target;
