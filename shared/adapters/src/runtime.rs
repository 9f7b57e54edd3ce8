//! Each instance's copy of the runtime configuration ([`crate::runtime_config`]): read at
//! most every [`RUNTIME_CONFIG_REFRESH`] (one GetItem, at the start of an invocation) and
//! applied to what uses it — the shared breakers' thresholds, the store's occurrence grace,
//! the sweeper's misfire window and grace — so that every instance agrees within that time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::runtime_config::{RuntimeConfig, RuntimeSettings};

/// How often each instance reads the runtime configuration again.
pub const RUNTIME_CONFIG_REFRESH: Duration = Duration::from_secs(60);

/// The configuration in force in this process and when it was last read; clones share it.
#[derive(Debug, Clone)]
pub struct RuntimeCache {
    inner: Arc<Mutex<Cached>>,
}

#[derive(Debug)]
struct Cached {
    read_at: Option<Instant>,
    config: RuntimeConfig,
}

impl RuntimeCache {
    /// A cache holding today's values (version 0), never read yet.
    pub fn new(defaults: RuntimeSettings) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Cached {
                read_at: None,
                config: RuntimeConfig {
                    version: 0,
                    updated_at: None,
                    settings: defaults,
                },
            })),
        }
    }

    /// The configuration in force.
    pub fn current(&self) -> RuntimeConfig {
        self.inner.lock().expect("runtime config").config.clone()
    }

    /// Whether it was never read, or read at least `max_age` ago.
    pub fn stale(&self, max_age: Duration) -> bool {
        self.inner
            .lock()
            .expect("runtime config")
            .read_at
            .is_none_or(|at| at.elapsed() >= max_age)
    }

    /// Notes a read now (successful or not: a failing store is not asked again before the
    /// next refresh), replacing the configuration with `config` when given.
    pub fn read(&self, config: Option<RuntimeConfig>) {
        let mut cached = self.inner.lock().expect("runtime config");
        cached.read_at = Some(Instant::now());
        if let Some(config) = config {
            cached.config = config;
        }
    }
}
