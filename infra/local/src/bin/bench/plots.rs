//! The figures of `docs/benchmarks.md`, drawn from the stored results into `docs/plots/` each
//! time the page is regenerated ([`crate::docs`]): the lag histogram of the latest timer run
//! that recorded one (`timer-lag.svg`), and the throughput over time of the latest bulk run
//! that recorded its settlements (`bulk-throughput.svg`). Each figure comes with the Markdown
//! that shows it; without such a run there is no figure, and the Markdown says so.

use local_stack::svg_plot::{Chart, Mark, XAxis, color, format_number};

use crate::distribution::{Timeline, bucket_of, lag_bounds};
use crate::results::{BenchResult, BulkResult, Stored, repo_root};

/// The figures' Markdown, for their places in `docs/benchmarks.md`.
pub(crate) struct Figures {
    /// After the timer runs' table.
    pub(crate) timer_lag: String,
    /// After the bulk runs' section.
    pub(crate) bulk_throughput: String,
}

/// Draws the figures of `results` into `docs/plots/`.
pub(crate) fn write(results: &[Stored]) -> Result<Figures, String> {
    let dir = repo_root().join("docs/plots");
    let timer = results.iter().rev().find_map(|r| match r {
        Stored::Timers(t) if !t.lag_histogram_ms.is_empty() => Some(t),
        _ => None,
    });
    let timer_lag = match timer {
        Some(run) => {
            local_stack::svg_plot::write(&dir.join("timer-lag.svg"), &lag_chart(run).render())?;
            format!(
                "\n### Lag distribution\n\n![Lag from dueAt to commit of the timer run of {}: a histogram, p50, p95, p99 and max marked](plots/timer-lag.svg)\n\nThe latest timer run that recorded its lags by bucket, {}\n(`lagHistogramMs`, recorded since 2026-12-04). The buckets grow 1, 2, 3, 5, 7 × 10ⁿ ms and\nare drawn side by side, so the x axis is nearly logarithmic; the dashed lines are the run's\nexact percentiles.\n",
                run.started_at, run.started_at
            )
        }
        None => "\nNo timer run has recorded its lags by bucket yet: no lag figure.\n".into(),
    };
    let bulk = results.iter().rev().find_map(|r| match r {
        Stored::Bulk(b) => b.settled_timeline.as_ref().map(|t| (&**b, t)),
        _ => None,
    });
    let bulk_throughput = match bulk {
        Some((run, timeline)) => {
            local_stack::svg_plot::write(
                &dir.join("bulk-throughput.svg"),
                &throughput_chart(run, timeline).render(),
            )?;
            format!(
                "\n### Throughput over time\n\n![Recipients settled per second of the bulk run of {}, with its average](plots/bulk-throughput.svg)\n\nThe latest bulk run that recorded its settlements over time, {}\n(`settledTimeline`, recorded since 2026-12-04): the recipients settled in each bucket of time\nsince the run's START (by their ledger entries' `settledAt`, read by the scan of the table\nafter the run) over the bucket's width; the dashed line is the run's recipients/s in the\ntable above.\n",
                run.started_at, run.started_at
            )
        }
        None => "\nNo bulk run has recorded its settlements over time yet: no throughput figure.\n"
            .into(),
    };
    Ok(Figures {
        timer_lag,
        bulk_throughput,
    })
}

/// A bound of the lag buckets as an axis label: ms below a second, else seconds.
fn lag_label(ms: i64) -> String {
    if ms < 1000 {
        ms.to_string()
    } else {
        format!("{} s", format_number(ms as f64 / 1000.0, 0))
    }
}

/// Where `lag` falls on the histogram's axis (edge `i` is the upper bound of bucket `i - 1`):
/// inside its bucket, in proportion.
fn lag_position(bounds: &[i64], lag: i64) -> f64 {
    let bucket = bucket_of(bounds, lag);
    let low = if bucket == 0 { 0 } else { bounds[bucket - 1] };
    let high = bounds[bucket];
    let within = (lag - low) as f64 / (high - low) as f64;
    bucket as f64 + within.clamp(0.0, 1.0)
}

/// The lag histogram of a timer run, from the ≤ 1 ms bucket to its last non-empty one, with
/// the run's percentiles marked.
fn lag_chart(run: &BenchResult) -> Chart {
    let bounds = lag_bounds();
    let mut counts = vec![0_u64; bounds.len()];
    for (bound, n) in &run.lag_histogram_ms {
        counts[bucket_of(&bounds, *bound)] += n;
    }
    let buckets = counts
        .iter()
        .rposition(|n| *n > 0)
        .map_or(1, |last| last + 1);
    let mut edges = vec!["0".to_owned()];
    edges.extend(bounds[..buckets].iter().map(|b| lag_label(*b)));
    let mut marks: Vec<Mark> = counts[..buckets]
        .iter()
        .enumerate()
        .map(|(i, n)| Mark::Bar {
            x0: i as f64,
            x1: i as f64 + 1.0,
            y: *n as f64,
            color: color::BLUE,
            label: (*n > 0).then(|| n.to_string()),
        })
        .collect();
    let lag = &run.lag_ms;
    for (name, value, colour) in [
        ("p50", lag.p50, color::GREEN),
        ("p95", lag.p95, color::ORANGE),
        ("p99", lag.p99, color::RED),
        ("max", lag.max, color::GREY),
    ] {
        marks.push(Mark::VLine {
            x: lag_position(&bounds, value),
            color: colour,
            label: format!("{name} {} ms", format_number(value as f64, 0)),
        });
    }
    Chart {
        title: "Timer lag: how late each timer's campaign moved".into(),
        subtitle: format!(
            "timer run {} ({}): {} of {} timers fired, due over {} s",
            run.started_at,
            run.code.as_deref().unwrap_or("code not recorded"),
            run.fired,
            run.timers,
            run.window_seconds
        ),
        x_axis: XAxis::Edges(edges),
        x_label: "lag from the timer's dueAt to its campaign's commit (ms; s where marked)".into(),
        y_label: "timers".into(),
        y_max: counts.iter().copied().max().unwrap_or(0) as f64,
        marks,
        legend: Vec::new(),
    }
}

/// Recipients settled per second over a bulk run, bucket by bucket, with its average.
fn throughput_chart(run: &BulkResult, timeline: &Timeline) -> Chart {
    let width = timeline.bucket_seconds.max(1) as f64;
    let buckets = timeline.counts.len();
    let mut marks = Vec::new();
    let mut highest = run.run.recipients_per_second;
    for (i, n) in timeline.counts.iter().enumerate() {
        let x0 = i as f64 * width;
        // The last bucket ends with the run: counted over the part of it the run lasted, at
        // least a second (a settlement just before the end would otherwise spike).
        let x1 = if i + 1 == buckets {
            x0 + (run.run.send_seconds - x0).clamp(width.min(1.0), width)
        } else {
            x0 + width
        };
        let rate = *n as f64 / (x1 - x0);
        highest = highest.max(rate);
        marks.push(Mark::Bar {
            x0,
            x1,
            y: rate,
            color: color::BLUE,
            label: None,
        });
    }
    let end = marks.last().map_or(width, |m| match m {
        Mark::Bar { x1, .. } => *x1,
        _ => width,
    });
    marks.push(Mark::HLine {
        y: run.run.recipients_per_second,
        color: color::ORANGE,
        label: format!(
            "average {} recipients/s (START → completed)",
            format_number(run.run.recipients_per_second, 1)
        ),
    });
    Chart {
        title: "Bulk send: recipients settled per second".into(),
        subtitle: format!(
            "bulk run {} ({}): {} recipients, send rate {} /s, {} pollers; {} s buckets",
            run.started_at,
            run.code.as_deref().unwrap_or("code not recorded"),
            format_number(run.recipients as f64, 0),
            run.send_rate,
            run.pollers,
            timeline.bucket_seconds
        ),
        x_axis: XAxis::Linear {
            min: 0.0,
            max: end.max(run.run.send_seconds),
        },
        x_label: "time since the run's START committed (s)".into(),
        y_label: "recipients settled per second".into(),
        y_max: highest,
        marks,
        legend: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer_run(histogram: &[(i64, u64)]) -> BenchResult {
        serde_json::from_value(serde_json::json!({
            "startedAt": "2026-12-04T10:00:00Z",
            "code": "abc1234",
            "endpoint": "http://127.0.0.1:4566",
            "timers": 10,
            "windowSeconds": 30,
            "fired": 10,
            "lagMs": {"p50": 1, "p95": 40, "p99": 2500, "max": 2500},
            "firedPerSecond": 0.3,
            "requestsPerFiredTimer": {},
            "requestsPerFiredTimerTotal": 1.5,
            "platformRequestsPerFiredTimer": {},
            "scans": 0,
            "lagHistogramMs": histogram
                .iter()
                .map(|(bound, n)| (bound.to_string(), serde_json::Value::from(*n)))
                .collect::<serde_json::Map<_, _>>(),
        }))
        .expect("a timer result")
    }

    #[test]
    fn percentiles_sit_inside_their_bucket_in_proportion() {
        let bounds = lag_bounds();
        assert_eq!(lag_position(&bounds, 0), 0.0);
        assert_eq!(lag_position(&bounds, -5), 0.0);
        assert_eq!(lag_position(&bounds, 1), 1.0);
        // 40 ms: bucket 30–50 (index 8), half-way.
        assert_eq!(lag_position(&bounds, 40), 8.5);
        assert_eq!(lag_position(&bounds, 10_000_000), bounds.len() as f64);
        assert_eq!(lag_position(&bounds, i64::MAX), bounds.len() as f64);
        assert_eq!(lag_label(700), "700");
        assert_eq!(lag_label(2000), "2 s");
        assert_eq!(lag_label(1_000_000), "1,000 s");
    }

    #[test]
    fn the_lag_chart_has_a_bar_per_bucket_up_to_the_last_filled_one() {
        let run = timer_run(&[(1, 6), (50, 3), (3000, 1)]);
        let chart = lag_chart(&run);
        let bars: Vec<(f64, Option<String>)> = chart
            .marks
            .iter()
            .filter_map(|m| match m {
                Mark::Bar { y, label, .. } => Some((*y, label.clone())),
                _ => None,
            })
            .collect();
        // Buckets ≤1, 2, 3, 5, 7, 10, 20, 30, 50, 70, 100, 200, 300, 500, 700, 1 s, 2 s, 3 s.
        assert_eq!(bars.len(), 18);
        assert_eq!(bars[0], (6.0, Some("6".into())));
        assert_eq!(bars[8], (3.0, Some("3".into())));
        assert_eq!(bars[17], (1.0, Some("1".into())));
        assert_eq!(bars.iter().filter(|(_, label)| label.is_some()).count(), 3);
        let XAxis::Edges(edges) = &chart.x_axis else {
            panic!("edges")
        };
        assert_eq!(edges.len(), 19);
        assert_eq!((edges[0].as_str(), edges[18].as_str()), ("0", "3 s"));
        let lines: Vec<(f64, &str)> = chart
            .marks
            .iter()
            .filter_map(|m| match m {
                Mark::VLine { x, label, .. } => Some((*x, label.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(
            lines,
            [
                (1.0, "p50 1 ms"),
                (8.5, "p95 40 ms"),
                (17.5, "p99 2,500 ms"),
                (17.5, "max 2,500 ms")
            ]
        );
        assert_eq!(chart.y_max, 6.0);
    }

    #[test]
    fn the_throughput_chart_rates_each_bucket_over_its_width() {
        let mut run: BulkResult = serde_json::from_str(include_str!(
            "../../../../../bench/results/2026-12-02T21-24-11.945Z-bulk.json"
        ))
        .expect("a stored bulk result");
        assert_eq!(run.settled_timeline, None, "older results have no timeline");
        run.run.send_seconds = 4.5;
        run.run.recipients_per_second = 20.0;
        let timeline = Timeline {
            bucket_seconds: 2,
            counts: vec![30, 50, 10],
        };
        let chart = throughput_chart(&run, &timeline);
        let bars: Vec<(f64, f64, f64)> = chart
            .marks
            .iter()
            .filter_map(|m| match m {
                Mark::Bar { x0, x1, y, .. } => Some((*x0, *x1, *y)),
                _ => None,
            })
            .collect();
        // The last bucket, 4–6 s, is counted over the part the run lasted in it, at least a
        // second: the run ended at 4.5 s.
        assert_eq!(bars, [(0.0, 2.0, 15.0), (2.0, 4.0, 25.0), (4.0, 5.0, 10.0)]);
        assert_eq!(chart.y_max, 25.0);
        assert_eq!(chart.x_axis, XAxis::Linear { min: 0.0, max: 5.0 });
        assert!(chart.marks.contains(&Mark::HLine {
            y: 20.0,
            color: color::ORANGE,
            label: "average 20.0 recipients/s (START → completed)".into(),
        }));
    }

    #[test]
    fn the_last_bucket_counts_over_the_time_the_run_lasted_in_it() {
        let mut run: BulkResult = serde_json::from_str(include_str!(
            "../../../../../bench/results/2026-12-02T21-24-11.945Z-bulk.json"
        ))
        .expect("a stored bulk result");
        run.run.send_seconds = 27.5;
        let timeline = Timeline {
            bucket_seconds: 10,
            counts: vec![100, 100, 30],
        };
        let chart = throughput_chart(&run, &timeline);
        assert!(chart.marks.contains(&Mark::Bar {
            x0: 20.0,
            x1: 27.5,
            y: 4.0,
            color: color::BLUE,
            label: None
        }));
    }
}
