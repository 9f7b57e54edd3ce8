//! The retry budget: a token bucket shared by every call of a process. A retry takes tokens
//! (a timeout more, because it may have been applied), a successful call puts one back, so
//! when a dependency fails broadly retries stop after the bucket is empty instead of
//! multiplying the load — the same scheme as the AWS SDKs' standard retry quota.

use std::sync::{Arc, Mutex};

/// Token bucket sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetConfig {
    /// Tokens when full (and at start).
    pub capacity: u32,
    /// Tokens one retry takes.
    pub retry_cost: u32,
    /// Tokens one retry after a timeout takes.
    pub timeout_retry_cost: u32,
    /// Tokens a successful call puts back.
    pub success_refund: u32,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            capacity: 500,
            retry_cost: 5,
            timeout_retry_cost: 10,
            success_refund: 1,
        }
    }
}

/// A shared token bucket; clones share the tokens.
#[derive(Debug, Clone)]
pub struct RetryBudget {
    config: BudgetConfig,
    tokens: Arc<Mutex<u32>>,
}

impl RetryBudget {
    /// A full bucket.
    pub fn new(config: BudgetConfig) -> Self {
        Self {
            config,
            tokens: Arc::new(Mutex::new(config.capacity)),
        }
    }

    /// Takes the tokens for one retry; `false` (and nothing taken) if there are not enough.
    pub fn try_take(&self, after_timeout: bool) -> bool {
        let cost = if after_timeout {
            self.config.timeout_retry_cost
        } else {
            self.config.retry_cost
        };
        let mut tokens = self.tokens.lock().expect("budget lock");
        if *tokens < cost {
            return false;
        }
        *tokens -= cost;
        true
    }

    /// Puts back the refund of one successful call, up to the capacity.
    pub fn refund(&self) {
        let mut tokens = self.tokens.lock().expect("budget lock");
        *tokens = (*tokens + self.config.success_refund).min(self.config.capacity);
    }

    /// Tokens left.
    pub fn available(&self) -> u32 {
        *self.tokens.lock().expect("budget lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> RetryBudget {
        RetryBudget::new(BudgetConfig {
            capacity: 20,
            retry_cost: 5,
            timeout_retry_cost: 10,
            success_refund: 1,
        })
    }

    #[test]
    fn retries_stop_when_the_bucket_is_empty() {
        let budget = small();
        assert!((0..4).all(|_| budget.try_take(false)));
        assert!(!budget.try_take(false));
        assert_eq!(budget.available(), 0);
    }

    #[test]
    fn timeouts_cost_more_and_a_refused_take_takes_nothing() {
        let budget = small();
        assert!(budget.try_take(true));
        assert!(budget.try_take(true));
        assert!(!budget.try_take(true));
        assert_eq!(budget.available(), 0);
        (0..7).for_each(|_| budget.refund());
        assert!(
            !budget.try_take(true),
            "7 tokens do not pay a timeout retry"
        );
        assert!(budget.try_take(false));
        assert_eq!(budget.available(), 2);
    }

    #[test]
    fn successes_refill_up_to_the_capacity() {
        let budget = small();
        assert!(budget.try_take(false));
        (0..100).for_each(|_| budget.refund());
        assert_eq!(budget.available(), 20);
        let shared = budget.clone();
        assert!(shared.try_take(false));
        assert_eq!(budget.available(), 15, "clones share the tokens");
    }
}
