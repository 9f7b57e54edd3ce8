//! The functions' CPU time per unit of work — per fired timer, per recipient, per recurring
//! occurrence — from the local runtime's meter ([`local_stack::function_usage`]): what a
//! scenario's invocations spent polling their handlers, divided by the units of work done.
//! The local durations beside it are the emulator's pace, not AWS's.

use std::collections::BTreeMap;

use local_stack::function_usage::Usage;
use serde::{Deserialize, Serialize};

use crate::results::round;

/// One function's invocations, CPU and local billed duration per unit of work.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UnitTime {
    pub(crate) invocations: f64,
    pub(crate) cpu_ms: f64,
    /// Each invocation's duration rounded up to the millisecond, as Lambda bills it (local).
    pub(crate) local_billed_ms: f64,
}

/// Every function's [`UnitTime`] over a scenario, and their CPU together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionTime {
    /// By function (logical id).
    pub(crate) by_function: BTreeMap<String, UnitTime>,
    /// CPU milliseconds of all the functions per unit.
    pub(crate) cpu_ms: f64,
}

impl FunctionTime {
    /// `usage` (each function's, over the scenario) per one of `units`.
    pub(crate) fn per(usage: &BTreeMap<String, Usage>, units: f64) -> Self {
        let units = units.max(1.0);
        let by_function: BTreeMap<String, UnitTime> = usage
            .iter()
            .map(|(function, used)| {
                (
                    function.clone(),
                    UnitTime {
                        invocations: precise(used.invocations as f64 / units),
                        cpu_ms: precise(used.cpu_us as f64 / 1000.0 / units),
                        local_billed_ms: precise(used.billed_ms as f64 / units),
                    },
                )
            })
            .collect();
        let cpu_us: u64 = usage.values().map(|used| used.cpu_us).sum();
        Self {
            by_function,
            cpu_ms: precise(cpu_us as f64 / 1000.0 / units),
        }
    }

    /// The figures in a line, e.g. `0.412 ms (TimerExecutor 0.35 ms in 0.1 invocations, …)`.
    pub(crate) fn summary(&self) -> String {
        let parts: Vec<String> = self
            .by_function
            .iter()
            .map(|(function, t)| {
                format!(
                    "{function} {} ms in {} invocations",
                    t.cpu_ms, t.invocations
                )
            })
            .collect();
        format!("{} ms ({})", self.cpu_ms, parts.join(", "))
    }
}

/// Small per-unit figures keep three significant decimals (a timer's CPU is a fraction of a
/// millisecond).
fn precise(value: f64) -> f64 {
    if value.abs() >= 1.0 {
        round(value)
    } else {
        (value * 10_000.0).round() / 10_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used(invocations: u64, cpu_us: u64, billed_ms: u64) -> Usage {
        Usage {
            invocations,
            cpu_us,
            billed_ms,
        }
    }

    #[test]
    fn divides_each_function_and_the_total_by_the_units() {
        let usage = BTreeMap::from([
            ("TimerExecutor".to_owned(), used(100, 250_000, 9_000)),
            ("TimerDispatcher".to_owned(), used(30, 50_000, 600)),
        ]);
        let time = FunctionTime::per(&usage, 1000.0);
        assert_eq!(time.cpu_ms, 0.3);
        assert_eq!(
            time.by_function["TimerExecutor"],
            UnitTime {
                invocations: 0.1,
                cpu_ms: 0.25,
                local_billed_ms: 9.0
            }
        );
        assert_eq!(time.by_function["TimerDispatcher"].invocations, 0.03);
        assert_eq!(
            time.summary(),
            "0.3 ms (TimerDispatcher 0.05 ms in 0.03 invocations, TimerExecutor 0.25 ms in 0.1 invocations)"
        );
    }

    #[test]
    fn no_units_counts_as_one() {
        let usage = BTreeMap::from([("Api".to_owned(), used(2, 3_000, 4))]);
        assert_eq!(FunctionTime::per(&usage, 0.0).cpu_ms, 3.0);
    }

    #[test]
    fn keeps_four_decimals_under_one() {
        assert_eq!(precise(0.123_456), 0.1235);
        assert_eq!(precise(0.000_04), 0.0);
        assert_eq!(precise(12.3456), round(12.3456));
    }
}
