//! Log setup: JSON lines on Lambda (CloudWatch Logs Insights), readable lines locally.
//! The level comes from `RUST_LOG` (default `info`): a default level and levels by target,
//! e.g. `debug,aws_smithy_runtime=info` ([`Targets`] syntax; span and field filters are not
//! supported, which keeps a regex engine out of every function's binary).

use tracing::Level;
use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

use crate::LogFormat;

/// Installs the global subscriber, writing to stdout, once; later calls are no-ops (tests,
/// local runtime).
pub fn init(format: LogFormat) {
    let _already_set = tracing::subscriber::set_global_default(subscriber(format, filter()));
}

/// Readable log lines on stderr, for tools whose stdout is their answer (`make invoke`).
pub fn init_stderr() {
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .compact()
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .finish()
        .with(filter());
    let _already_set = tracing::subscriber::set_global_default(subscriber);
}

/// What [`init`] installs: `format` lines on stdout, which `filter` alone selects.
fn subscriber(format: LogFormat, filter: Targets) -> Box<dyn Subscriber + Send + Sync> {
    // The builder's own level (INFO unless set) would cap what `filter` lets through.
    let builder = tracing_subscriber::fmt().with_max_level(LevelFilter::TRACE);
    match format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .without_time()
                .finish()
                .with(filter),
        ),
        LogFormat::Text => Box::new(
            builder
                .compact()
                .with_target(false)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
                .finish()
                .with(filter),
        ),
    }
}

/// The filter `RUST_LOG` asks for.
fn filter() -> Targets {
    filter_of(std::env::var("RUST_LOG").ok().as_deref())
}

/// The filter of a `RUST_LOG` value: `info` when unset, blank or not understood.
fn filter_of(directives: Option<&str>) -> Targets {
    directives
        .filter(|d| !d.trim().is_empty())
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(Level::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_default_level_and_levels_by_target() {
        let filter = filter_of(Some("debug,aws_smithy_runtime=info"));
        assert!(filter.would_enable("sweeper::steps", &Level::DEBUG));
        assert!(!filter.would_enable("sweeper::steps", &Level::TRACE));
        assert!(filter.would_enable("aws_smithy_runtime::client::orchestrator", &Level::INFO));
        assert!(!filter.would_enable("aws_smithy_runtime::client::orchestrator", &Level::DEBUG));
        let warn = filter_of(Some("warn"));
        assert!(warn.would_enable("api", &Level::WARN));
        assert!(!warn.would_enable("api", &Level::INFO));
        assert!(!filter_of(Some("off")).would_enable("api", &Level::ERROR));
    }

    #[test]
    fn the_installed_subscriber_lets_through_what_rust_log_asks_for() {
        for format in [LogFormat::Json, LogFormat::Text] {
            let debug = subscriber(format, filter_of(Some("debug")));
            tracing::subscriber::with_default(debug, || {
                assert!(tracing::enabled!(Level::DEBUG), "{format:?}");
                assert!(!tracing::enabled!(Level::TRACE), "{format:?}");
            });
            let info = subscriber(format, filter_of(None));
            tracing::subscriber::with_default(info, || {
                assert!(tracing::enabled!(Level::INFO), "{format:?}");
                assert!(!tracing::enabled!(Level::DEBUG), "{format:?}");
            });
        }
    }

    #[test]
    fn falls_back_to_info() {
        for value in [None, Some(""), Some("  "), Some("debug,=bogus=")] {
            let filter = filter_of(value);
            assert!(filter.would_enable("api", &Level::INFO), "{value:?}");
            assert!(!filter.would_enable("api", &Level::DEBUG), "{value:?}");
        }
    }
}
