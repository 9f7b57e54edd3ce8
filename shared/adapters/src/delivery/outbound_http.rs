//! The HTTP client webhooks and Slack messages are posted with, built on first use: building
//! one loads the machine's TLS root certificates, several milliseconds of a cold start
//! (docs/benchmarks.md, "Binaries"), which an invocation that posts nothing never needs. Clones
//! share one client (one root store, one connection pool).

use std::sync::{Arc, OnceLock};

use super::webhook::WebhookSettings;

/// A lazily built HTTP client with `settings`' timeouts, no redirects; cheap to clone.
#[derive(Debug, Clone)]
pub struct OutboundHttp {
    settings: WebhookSettings,
    client: Arc<OnceLock<Result<reqwest::Client, String>>>,
}

impl OutboundHttp {
    /// A client to be built with `settings` when first asked for.
    pub fn new(settings: WebhookSettings) -> Self {
        Self {
            settings,
            client: Arc::default(),
        }
    }

    /// The client, built on the first call; why there is none if it could not be built.
    pub fn client(&self) -> Result<&reqwest::Client, String> {
        self.client
            .get_or_init(|| build(self.settings))
            .as_ref()
            .map_err(Clone::clone)
    }
}

fn build(settings: WebhookSettings) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("campaign-lifecycle/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| format!("the outbound HTTP client could not be built: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_on_first_use_and_shared_by_clones() {
        let http = OutboundHttp::new(WebhookSettings::default());
        let clone = http.clone();
        assert!(http.client.get().is_none(), "built before it was asked for");
        let first: *const reqwest::Client = clone.client().expect("a client");
        assert!(http.client.get().is_some());
        let second: *const reqwest::Client = http.client().expect("a client");
        assert_eq!(first, second, "clones build a client each");
    }
}
