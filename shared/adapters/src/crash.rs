//! Named crash points for the crash-injection suite (`make crash-test`). Each point is a call
//! to [`point`] on a code path; when the `CRASH_AT` environment variable names it (a comma-
//! separated list is allowed), the process aborts right there, the way a SIGKILL or a Lambda
//! timeout would end it: no destructors, no flush, no graceful anything. Unarmed, a point costs
//! one load of a cached flag. Built without the `testing` feature (the binaries `sam build`
//! makes), a point compiles to nothing.

#[cfg(feature = "testing")]
use std::sync::OnceLock;

/// Every crash point, for the suite to cycle through.
#[cfg(feature = "testing")]
pub const POINTS: [&str; 10] = [
    // The API stored the campaign but did not send its short-notice timers.
    "api.after_create",
    // The dispatcher sent timers but did not save its watermarks.
    "dispatcher.after_send",
    // The executor committed a timer's transaction but did not publish its event.
    "executor.after_transaction",
    // The executor applied part of a batch.
    "executor.mid_batch",
    // The sweeper claimed a missed timer under its lease but did not fire it.
    "sweeper.after_claim",
    // The sweeper finished a step but not the next.
    "sweeper.between_steps",
    // The planner committed a group of batches (not queued yet); more of the list to go.
    "planner.mid_list",
    // The sender's ledger write holding a claim went through; the provider call not made.
    "sender.after_claim",
    // The provider accepted a message; its settlement not written.
    "sender.after_provider",
    // The sender recorded a batch's counts into its run; the run's events not published.
    "sender.after_progress",
];

#[cfg(feature = "testing")]
fn armed() -> &'static [String] {
    static ARMED: OnceLock<Vec<String>> = OnceLock::new();
    ARMED.get_or_init(|| {
        std::env::var("CRASH_AT")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

/// Aborts the process if `CRASH_AT` names `name`.
#[cfg(feature = "testing")]
pub fn point(name: &'static str) {
    if armed().iter().any(|armed| armed == name) {
        eprintln!("CRASH_AT={name}: aborting the process");
        std::process::abort();
    }
}

/// A crash point in a build without the `testing` feature: nothing.
#[cfg(not(feature = "testing"))]
#[inline(always)]
pub fn point(_name: &'static str) {}
