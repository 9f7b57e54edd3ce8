//! Progress bars on long operations (redrive, waiting for a run), drawn on standard error
//! and only when it is a terminal and `--json` is off, so scripts see clean output.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::Output;

/// A bar of `length` steps labelled `unit`; hidden for `--json` and when not on a terminal.
pub fn bar(out: Output, length: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stderr());
    if out.json {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template("{bar:40} {pos}/{len} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(unit.to_owned());
    bar
}
