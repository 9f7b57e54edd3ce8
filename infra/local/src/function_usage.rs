//! The CPU time and duration of each function's invocations in the local runtime — what
//! Lambda bills, measured where our code runs. Every handler future is polled through
//! [`FunctionUsage::metered`], which reads the thread's CPU clock around each poll: the CPU
//! counted is the handler's own (building and signing requests, parsing answers, the domain
//! logic), not the runtime's queue polling nor other invocations interleaved on the same
//! threads. The socket I/O of the SDK's connection tasks runs outside the handler's polls and
//! is not counted (a few microseconds per request on plain local HTTP; TLS adds to it on AWS).
//! The duration (start to answer) is the local one: the emulator's latency, not AWS's.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cpu_time::ThreadTime;

/// The invocations of one function so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Invocations that finished.
    pub invocations: u64,
    /// CPU time spent polling the handlers, in microseconds.
    pub cpu_us: u64,
    /// Start-to-answer times rounded up to the millisecond, each on its own, as Lambda bills
    /// them.
    pub billed_ms: u64,
}

impl Usage {
    fn add(&mut self, cpu: Duration, duration: Duration) {
        self.invocations += 1;
        self.cpu_us += micros(cpu);
        self.billed_ms += micros(duration).div_ceil(1000);
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Each function's [`Usage`], by logical id; clones share it.
#[derive(Debug, Clone, Default)]
pub struct FunctionUsage(Arc<Mutex<BTreeMap<String, Usage>>>);

impl FunctionUsage {
    /// An empty meter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `invocation` of `function`, adding its CPU time and duration when it finishes.
    pub async fn metered<F: Future>(&self, function: &str, invocation: F) -> F::Output {
        let started = Instant::now();
        let mut cpu = Duration::ZERO;
        let mut invocation = std::pin::pin!(invocation);
        let output = std::future::poll_fn(|context| {
            let before = ThreadTime::try_now();
            let poll = invocation.as_mut().poll(context);
            if let Ok(spent) = before.and_then(|before| before.try_elapsed()) {
                cpu += spent;
            }
            poll
        })
        .await;
        self.record(function, cpu, started.elapsed());
        output
    }

    fn record(&self, function: &str, cpu: Duration, duration: Duration) {
        let mut usage = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        usage
            .entry(function.to_owned())
            .or_default()
            .add(cpu, duration);
    }

    /// Every function's usage so far.
    pub fn snapshot(&self) -> BTreeMap<String, Usage> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Burns about `duration` of CPU on this thread.
    fn spin(duration: Duration) {
        let start = ThreadTime::now();
        let mut x = 0u64;
        while start.elapsed() < duration {
            x = std::hint::black_box(x.wrapping_add(1));
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn counts_the_cpu_of_the_polls_and_not_the_waits() {
        let usage = FunctionUsage::new();
        let answer = usage
            .metered("Executor", async {
                spin(Duration::from_millis(20));
                tokio::time::sleep(Duration::from_millis(60)).await;
                spin(Duration::from_millis(20));
                7
            })
            .await;
        assert_eq!(answer, 7);
        let used = usage.snapshot()["Executor"];
        assert_eq!(used.invocations, 1);
        // Both spins are counted, the sleep is not.
        assert!((40_000..60_000).contains(&used.cpu_us), "{used:?}");
        // The sleep and both spins are billed.
        assert!(used.billed_ms >= 100, "{used:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn other_work_between_polls_is_not_counted() {
        let usage = FunctionUsage::new();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let metered = tokio::spawn({
            let usage = usage.clone();
            async move { usage.metered("Sender", rx).await }
        });
        tokio::task::yield_now().await;
        // Busy on the same thread while the invocation waits.
        spin(Duration::from_millis(50));
        tx.send(()).expect("receiver");
        metered.await.expect("task").expect("sent");
        let used = usage.snapshot()["Sender"];
        assert!(used.cpu_us < 10_000, "{used:?}");
    }

    #[test]
    fn billed_time_rounds_each_invocation_up_to_the_millisecond() {
        let usage = FunctionUsage::new();
        usage.record("Planner", Duration::ZERO, Duration::from_micros(1_200));
        usage.record("Planner", Duration::ZERO, Duration::from_micros(3_000));
        usage.record("Planner", Duration::ZERO, Duration::from_micros(1));
        let used = usage.snapshot()["Planner"];
        assert_eq!(used.invocations, 3);
        assert_eq!(used.billed_ms, 2 + 3 + 1);
    }
}
