//! The shapes a run keeps for the figures of `docs/plots/` ([`crate::plots`]): a timer run's
//! lags as a compact histogram over fixed buckets, a bulk run's settlements as counts over time
//! from its START.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Upper bounds (inclusive, in ms) of the lag histogram's buckets: 1, 2, 3, 5 and 7 × 10ⁿ from
/// 1 ms to 10⁷ ms (2.8 hours). A bucket holds the lags above the bound before it; the first
/// every lag up to 1 ms (a negative lag too), the last every lag above 7 × 10⁶ ms.
pub(crate) fn lag_bounds() -> Vec<i64> {
    let mut bounds: Vec<i64> = (0..7)
        .flat_map(|power| [1, 2, 3, 5, 7].map(|m| m * 10_i64.pow(power)))
        .collect();
    bounds.push(10_000_000);
    bounds
}

/// The index in `bounds` (ascending, not empty) of the bucket that holds `lag`.
pub(crate) fn bucket_of(bounds: &[i64], lag: i64) -> usize {
    bounds
        .partition_point(|bound| *bound < lag)
        .min(bounds.len() - 1)
}

/// `lags` counted by bucket of [`lag_bounds`], keyed by the bucket's upper bound; empty
/// buckets are left out.
pub(crate) fn lag_histogram(lags: &[i64]) -> BTreeMap<i64, u64> {
    let bounds = lag_bounds();
    let mut histogram = BTreeMap::new();
    for lag in lags {
        *histogram
            .entry(bounds[bucket_of(&bounds, *lag)])
            .or_default() += 1;
    }
    histogram
}

/// Bucket widths a [`Timeline`] may use, in seconds.
const TIMELINE_WIDTHS_S: [u64; 10] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600];
/// A timeline has at most this many buckets (unless its run outlasts 600 s buckets).
const TIMELINE_MAX_BUCKETS: u64 = 120;
/// Events later than this after the start are left out (a bench run lasts minutes), which
/// bounds a timeline to 144 buckets.
const TIMELINE_MAX_OFFSET_MS: i64 = 86_400_000;

/// Events counted over time in buckets of equal width, the first starting at a run's START.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Timeline {
    /// Width of each bucket, in seconds.
    pub(crate) bucket_seconds: u64,
    /// Events in each bucket, in order.
    pub(crate) counts: Vec<u64>,
}

impl Timeline {
    /// Events at `offsets_ms` after the start (an earlier one counts in the first bucket), in
    /// the narrowest bucket width of 1, 2, 5, 10, 15, 30, 60 s … that needs at most 120
    /// buckets; `None` without events. Events more than a day after the start are left out.
    pub(crate) fn of(offsets_ms: &[i64]) -> Option<Self> {
        let offsets: Vec<u64> = offsets_ms
            .iter()
            .filter(|offset| **offset <= TIMELINE_MAX_OFFSET_MS)
            .map(|offset| (*offset).max(0).unsigned_abs())
            .collect();
        let last = offsets.iter().copied().max()?;
        let bucket_seconds = TIMELINE_WIDTHS_S
            .into_iter()
            .find(|width| last / (width * 1000) < TIMELINE_MAX_BUCKETS)
            .unwrap_or(TIMELINE_WIDTHS_S[TIMELINE_WIDTHS_S.len() - 1]);
        let width_ms = bucket_seconds * 1000;
        let mut counts = vec![0; (last / width_ms + 1) as usize];
        for offset in offsets {
            counts[(offset / width_ms) as usize] += 1;
        }
        Some(Self {
            bucket_seconds,
            counts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_buckets_run_one_two_three_five_seven_per_decade() {
        let bounds = lag_bounds();
        assert_eq!(&bounds[..7], &[1, 2, 3, 5, 7, 10, 20]);
        assert_eq!(bounds.len(), 36);
        assert_eq!(bounds.last(), Some(&10_000_000));
        assert!(bounds.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn a_lag_counts_in_the_bucket_whose_upper_bound_it_reaches() {
        let histogram =
            lag_histogram(&[-3, 0, 1, 2, 3, 4, 5, 6, 10, 11, 999, 1000, 1001, 50_000_000]);
        let expected: BTreeMap<i64, u64> = [
            (1, 3),
            (2, 1),
            (3, 1),
            (5, 2),
            (7, 1),
            (10, 1),
            (20, 1),
            (1000, 2),
            (2000, 1),
            (10_000_000, 1),
        ]
        .into();
        assert_eq!(histogram, expected);
        assert!(lag_histogram(&[]).is_empty());
    }

    #[test]
    fn the_histogram_survives_its_json_form() {
        let histogram = lag_histogram(&[0, 7, 7, 300]);
        let json = serde_json::to_string(&histogram).expect("json");
        assert_eq!(json, r#"{"1":1,"7":2,"300":1}"#);
        let back: BTreeMap<i64, u64> = serde_json::from_str(&json).expect("parsed");
        assert_eq!(back, histogram);
    }

    #[test]
    fn a_timeline_takes_the_narrowest_width_under_120_buckets() {
        let short = Timeline::of(&[0, 999, 1000, 46_500, -20]).expect("events");
        assert_eq!(short.bucket_seconds, 1);
        assert_eq!(short.counts.len(), 47);
        assert_eq!(&short.counts[..2], &[3, 1]);
        assert_eq!(short.counts[46], 1);
        assert_eq!(short.counts.iter().sum::<u64>(), 5);

        // 119.999 s still fits 1 s buckets; 120 s needs 2 s ones; 226 s 2 s ones (113).
        assert_eq!(Timeline::of(&[119_999]).expect("one").counts.len(), 120);
        assert_eq!(Timeline::of(&[120_000]).expect("one").bucket_seconds, 2);
        let long = Timeline::of(&[0, 226_000]).expect("two");
        assert_eq!((long.bucket_seconds, long.counts.len()), (2, 114));
        assert_eq!(Timeline::of(&[1_000_000]).expect("one").bucket_seconds, 10);
        assert_eq!(Timeline::of(&[3_600_000]).expect("one").bucket_seconds, 60);
        assert_eq!(Timeline::of(&[86_400_000]).expect("one").counts.len(), 145);
        assert_eq!(Timeline::of(&[]), None);
        assert_eq!(Timeline::of(&[i64::MAX]), None);
        let stray = Timeline::of(&[500, i64::MAX]).expect("one in a day");
        assert_eq!((stray.bucket_seconds, stray.counts), (1, vec![1]));
    }
}
