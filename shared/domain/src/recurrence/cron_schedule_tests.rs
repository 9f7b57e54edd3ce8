//! The DST policy across real transitions (Europe/Berlin, America/New_York,
//! Australia/Lord_Howe with its 30-minute shift, Asia/Kolkata without DST), the cron dialect,
//! and a property test over random expressions and zones.

use chrono::NaiveDateTime;
use proptest::prelude::*;

use super::cron_schedule::{CronSchedule, LocalTime, parse_expression, parse_zone};
use crate::Timestamp;

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

fn schedule(expression: &str, zone: &str) -> CronSchedule {
    CronSchedule::new(expression, zone).unwrap()
}

/// The next `n` instants after `after`, as RFC 3339 UTC text.
fn next_n(schedule: &CronSchedule, after: &str, n: usize) -> Vec<String> {
    let mut from = at(after);
    let mut out = Vec::new();
    for _ in 0..n {
        let Some(next) = schedule.next_after(from) else {
            break;
        };
        out.push(next.to_rfc3339());
        from = next;
    }
    out
}

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap()
}

/// Each row: zone, expression, after, the next instants (UTC).
const TABLE: &[(&str, &str, &str, &[&str])] = &[
    // Berlin springs forward on 2027-03-28 at 02:00 CET to 03:00 CEST: 02:30 is skipped.
    (
        "Europe/Berlin",
        "30 2 * * *",
        "2027-03-26T12:00:00Z",
        &[
            "2027-03-27T01:30:00Z",
            "2027-03-29T00:30:00Z",
            "2027-03-30T00:30:00Z",
        ],
    ),
    // 03:00 exists on the transition day: it runs at 03:00 CEST.
    (
        "Europe/Berlin",
        "0 3 * * *",
        "2027-03-27T12:00:00Z",
        &["2027-03-28T01:00:00Z", "2027-03-29T01:00:00Z"],
    ),
    // Berlin falls back on 2027-10-31 at 03:00 CEST to 02:00 CET: 02:30 runs once, at CEST.
    (
        "Europe/Berlin",
        "30 2 * * *",
        "2027-10-29T12:00:00Z",
        &[
            "2027-10-30T00:30:00Z",
            "2027-10-31T00:30:00Z",
            "2027-11-01T01:30:00Z",
        ],
    ),
    // Every 15 minutes through the repeated hour: its first pass runs, its second does not.
    (
        "Europe/Berlin",
        "*/15 * * * *",
        "2027-10-31T00:20:00Z",
        &[
            "2027-10-31T00:30:00Z",
            "2027-10-31T00:45:00Z",
            "2027-10-31T02:00:00Z",
            "2027-10-31T02:15:00Z",
        ],
    ),
    // Asked from inside the second pass: the next run is after it.
    (
        "Europe/Berlin",
        "*/15 * * * *",
        "2027-10-31T01:10:00Z",
        &["2027-10-31T02:00:00Z"],
    ),
    // New York springs forward on 2027-03-14 at 02:00 EST to 03:00 EDT.
    (
        "America/New_York",
        "0 2 * * *",
        "2027-03-13T00:00:00Z",
        &["2027-03-13T07:00:00Z", "2027-03-15T06:00:00Z"],
    ),
    // New York falls back on 2027-11-07 at 02:00 EDT to 01:00 EST: 01:30 runs once, at EDT.
    (
        "America/New_York",
        "30 1 * * *",
        "2027-11-06T00:00:00Z",
        &[
            "2027-11-06T05:30:00Z",
            "2027-11-07T05:30:00Z",
            "2027-11-08T06:30:00Z",
        ],
    ),
    // Lord Howe springs forward by 30 minutes on 2027-10-03 at 02:00 (+10:30) to 02:30 (+11).
    (
        "Australia/Lord_Howe",
        "15 2 * * *",
        "2027-10-01T00:00:00Z",
        &["2027-10-01T15:45:00Z", "2027-10-03T15:15:00Z"],
    ),
    // Lord Howe falls back by 30 minutes on 2027-04-04 at 02:00 (+11) to 01:30 (+10:30):
    // 01:45 runs once, at +11.
    (
        "Australia/Lord_Howe",
        "45 1 * * *",
        "2027-04-02T00:00:00Z",
        &[
            "2027-04-02T14:45:00Z",
            "2027-04-03T14:45:00Z",
            "2027-04-04T15:15:00Z",
        ],
    ),
    // Kolkata (+05:30) has no DST: every Monday 09:00 is 03:30 UTC, all year.
    (
        "Asia/Kolkata",
        "0 9 * * MON",
        "2027-03-26T00:00:00Z",
        &[
            "2027-03-29T03:30:00Z",
            "2027-04-05T03:30:00Z",
            "2027-04-12T03:30:00Z",
        ],
    ),
    // EventBridge extras: the last day of the month, with `?` for the day of the week.
    (
        "UTC",
        "0 9 L * ?",
        "2027-01-01T00:00:00Z",
        &[
            "2027-01-31T09:00:00Z",
            "2027-02-28T09:00:00Z",
            "2027-03-31T09:00:00Z",
        ],
    ),
    // The first Monday of the month.
    (
        "UTC",
        "0 9 ? * MON#1",
        "2027-01-01T00:00:00Z",
        &["2027-01-04T09:00:00Z", "2027-02-01T09:00:00Z"],
    ),
    // The weekday nearest the 15th (2027-05-15 is a Saturday: Friday the 14th).
    (
        "UTC",
        "0 9 15W * ?",
        "2027-05-01T00:00:00Z",
        &["2027-05-14T09:00:00Z", "2027-06-15T09:00:00Z"],
    ),
    // Six fields: seconds first.
    (
        "UTC",
        "*/20 * * * * *",
        "2027-01-01T00:00:05.500Z",
        &[
            "2027-01-01T00:00:20Z",
            "2027-01-01T00:00:40Z",
            "2027-01-01T00:01:00Z",
        ],
    ),
];

#[test]
fn occurrences_across_dst_transitions_follow_eventbridge() {
    for (zone, expression, after, expected) in TABLE {
        let schedule = schedule(expression, zone);
        assert_eq!(
            next_n(&schedule, after, expected.len()),
            *expected,
            "{expression} in {zone} after {after}"
        );
    }
}

#[test]
fn a_preview_names_the_skipped_and_the_repeated_local_times() {
    let berlin = schedule("30 2 * * *", "Europe/Berlin");
    let spring: Vec<_> = berlin
        .slots_after(at("2027-03-27T12:00:00Z"))
        .take(2)
        .collect();
    assert_eq!(spring[0].local, local("2027-03-28T02:30:00"));
    assert_eq!((spring[0].at, spring[0].dst), (None, LocalTime::Skipped));
    assert_eq!(spring[1].dst, LocalTime::Unique);
    let autumn = berlin
        .slots_after(at("2027-10-30T12:00:00Z"))
        .next()
        .unwrap();
    assert_eq!(autumn.dst, LocalTime::Repeated);
    assert_eq!(autumn.at, Some(at("2027-10-31T00:30:00Z")));
    assert_eq!(
        berlin.local_rfc3339(at("2027-10-31T00:30:00Z")),
        "2027-10-31T02:30:00+02:00"
    );
    assert_eq!(
        berlin.local_rfc3339(at("2027-10-31T01:30:00Z")),
        "2027-10-31T02:30:00+01:00"
    );
}

#[test]
fn an_expression_naming_only_skipped_times_never_runs() {
    // 02:30 on the last Sunday of March (days 25-31 that are Sundays, with `+` for AND).
    let never = schedule("30 2 25-31 3 +SUN", "Europe/Berlin");
    assert_eq!(never.next_after(at("2027-01-01T00:00:00Z")), None);
    // A preview of it ends too: after 33 skipped local times in a row (yearly: 33 years).
    let slots: Vec<_> = never.slots_after(at("2027-01-01T00:00:00Z")).collect();
    assert_eq!(slots.len(), 33);
    assert!(
        slots
            .iter()
            .all(|s| s.dst == LocalTime::Skipped && s.at.is_none())
    );
    // In UTC the same expression runs.
    let utc = schedule("30 2 25-31 3 +SUN", "UTC");
    assert_eq!(
        utc.next_after(at("2027-01-01T00:00:00Z")),
        Some(at("2027-03-28T02:30:00Z"))
    );
}

#[test]
fn an_expression_that_names_no_date_never_runs() {
    let never = schedule("0 0 31 2 *", "UTC");
    assert_eq!(never.next_after(at("2027-01-01T00:00:00Z")), None);
}

#[test]
fn a_start_and_step_runs_from_the_start_to_the_end_of_the_field_as_in_eventbridge() {
    let seconds = schedule("3/10 * * * * *", "UTC");
    assert_eq!(
        next_n(&seconds, "2027-01-04T09:00:00Z", 7),
        [
            "2027-01-04T09:00:03Z",
            "2027-01-04T09:00:13Z",
            "2027-01-04T09:00:23Z",
            "2027-01-04T09:00:33Z",
            "2027-01-04T09:00:43Z",
            "2027-01-04T09:00:53Z",
            "2027-01-04T09:01:03Z"
        ]
    );
    let minutes = schedule("0/15 9,10/6 * * *", "UTC");
    assert_eq!(
        next_n(&minutes, "2027-01-04T08:59:00Z", 6),
        [
            "2027-01-04T09:00:00Z",
            "2027-01-04T09:15:00Z",
            "2027-01-04T09:30:00Z",
            "2027-01-04T09:45:00Z",
            "2027-01-04T10:00:00Z",
            "2027-01-04T10:15:00Z"
        ],
        "hours 9 and 10/6 (10, 16, 22), every 15 minutes from 0"
    );
    assert_eq!(
        next_n(&schedule("0 0 1/10 * *", "UTC"), "2027-01-25T00:00:00Z", 2),
        ["2027-01-31T00:00:00Z", "2027-02-01T00:00:00Z"],
        "days 1, 11, 21, 31"
    );
    assert_eq!(
        next_n(&schedule("0 0 * * 1/2", "UTC"), "2027-01-04T00:00:00Z", 3),
        [
            "2027-01-06T00:00:00Z",
            "2027-01-08T00:00:00Z",
            "2027-01-11T00:00:00Z"
        ],
        "Monday, Wednesday, Friday"
    );
    assert_eq!(
        schedule("3/10 * * * * *", "UTC").expression(),
        "3/10 * * * * *",
        "kept as written"
    );
}

#[test]
fn expressions_and_zones_are_checked() {
    for good in [
        "0 9 * * MON",
        "*/10 * * * * *",
        "0 9 ? * MON-FRI",
        "0 0 L * ?",
        "0 9 ? * 5#3",
    ] {
        assert!(parse_expression(good).is_ok(), "{good}");
    }
    for (bad, says) in [
        ("0 9 * *", "4 given"),
        ("0 0 9 * * MON 2027", "7 given"),
        ("@daily", "1 given"),
        ("61 * * * *", "not a valid cron expression"),
        ("0 9 * * FUNDAY", "not a valid cron expression"),
        ("", "0 given"),
    ] {
        let error = parse_expression(bad).unwrap_err();
        assert!(error.contains(says), "{bad}: {error}");
    }
    assert!(parse_zone("Europe/Berlin").is_ok());
    assert!(parse_zone("UTC").is_ok());
    let error = parse_zone("Mars/Olympus").unwrap_err();
    assert!(error.contains("IANA"), "{error}");
    let Err((cron, zone)) = CronSchedule::new("nope", "Nowhere/Land") else {
        panic!("accepted");
    };
    assert!(cron.is_some() && zone.is_some(), "both reported");
    let schedule = schedule("  0 9 * * MON ", "Asia/Kolkata");
    assert_eq!(schedule.expression(), "0 9 * * MON");
    assert_eq!(schedule.zone_name(), "Asia/Kolkata");
}

/// Random expressions: each field `*`, a value, a range or a step.
fn field(max: u32, min: u32) -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_owned()),
        (min..=max).prop_map(|v| v.to_string()),
        (min..=max, min..=max).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
        (1..=max.max(1)).prop_map(|step| format!("*/{step}")),
    ]
}

fn expression() -> impl Strategy<Value = String> {
    (
        prop::option::of(field(59, 0)),
        field(59, 0),
        field(23, 0),
        field(28, 1),
        field(12, 1),
        field(6, 0),
    )
        .prop_map(|(seconds, minute, hour, dom, month, dow)| {
            let five = format!("{minute} {hour} {dom} {month} {dow}");
            seconds.map_or(five.clone(), |s| format!("{s} {five}"))
        })
}

const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Occurrences are strictly increasing (so unique), each after the one asked from, each
    /// at a local time the expression names, never moved: the instant reads back as the
    /// local time that was named.
    #[test]
    fn occurrences_increase_and_match_their_local_time(
        expression in expression(),
        zone in prop::sample::select(&ZONES[..]),
        start_day in 0i64..730,
    ) {
        let schedule = CronSchedule::new(&expression, zone).unwrap();
        let cron = parse_expression(&expression).unwrap();
        // From 2027-01-01, within two years: both of each zone's transitions are covered.
        let mut after = Timestamp::from_millis(1_798_761_600_000 + start_day * 86_400_000);
        for slot in schedule.slots_after(after).take(40) {
            prop_assert!(cron.is_time_matching(&slot.local).unwrap(), "{} names {}", expression, slot.local);
            if let Some(at) = slot.at {
                prop_assert!(at > after, "{} in {}: {} not after {}", expression, zone, at, after);
                prop_assert_eq!(schedule.local(at), slot.local);
                after = at;
            }
        }
    }
}
