//! Validation of a requested schedule, and a series' occurrences inside its bounds.

use serde_json::json;

use super::catch_up::Misfire;
use super::overlap::Overlap;
use super::series::{NewSchedule, Series};
use crate::{FieldErrors, Timestamp};

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2027-01-01T00:00:00Z").unwrap()
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

fn validate(body: serde_json::Value) -> Result<Series, FieldErrors> {
    let schedule: NewSchedule = serde_json::from_value(body).unwrap();
    let mut errors = FieldErrors::default();
    match schedule.validate(now(), None, &mut errors) {
        Some(series) if errors.is_empty() => Ok(series),
        None if !errors.is_empty() => Err(errors),
        other => panic!("series {other:?} with errors {errors:?}"),
    }
}

fn errors_of(body: serde_json::Value) -> Vec<(String, String)> {
    validate(body).unwrap_err().0.into_iter().collect()
}

#[test]
fn a_minimal_schedule_gets_the_defaults() {
    let series = validate(json!({"cron": "0 9 * * MON"})).unwrap();
    assert_eq!(
        series,
        Series {
            cron: "0 9 * * MON".into(),
            timezone: "UTC".into(),
            start_at: now(),
            end_at: None,
            max_runs: None,
            run_duration_ms: None,
            misfire: Misfire::FireOnceNow,
            overlap: Overlap::Skip,
        }
    );
}

#[test]
fn a_run_window_lasts_run_duration_from_its_start_but_never_past_the_campaign() {
    let series = validate(json!({"cron": "0 9 * * *", "runDuration": "PT2H"})).unwrap();
    let started = at("2027-01-04T09:00:30Z");
    let campaign_end = at("2027-02-01T00:00:00Z");
    assert_eq!(
        series.run_closes_at(started, campaign_end),
        Some(at("2027-01-04T11:00:30Z"))
    );
    let ending = at("2027-01-04T10:00:00Z");
    assert_eq!(series.run_closes_at(started, ending), Some(ending));
    let without = validate(json!({"cron": "0 9 * * *"})).unwrap();
    assert_eq!(without.run_closes_at(started, campaign_end), None);
}

#[test]
fn every_field_is_read() {
    let series = validate(json!({
        "cron": "0 9 * * MON", "timezone": "Europe/Berlin",
        "startAt": "2027-01-04T00:00:00Z", "endAt": "2027-12-31T00:00:00Z",
        "maxRuns": 10, "runDuration": "PT2H", "misfire": "fireAll", "maxCatchUp": 3,
        "overlap": "bufferOne"
    }))
    .unwrap();
    assert_eq!(series.timezone, "Europe/Berlin");
    assert_eq!(series.start_at, at("2027-01-04T00:00:00Z"));
    assert_eq!(series.end_at, Some(at("2027-12-31T00:00:00Z")));
    assert_eq!(series.max_runs, Some(10));
    assert_eq!(series.run_duration_ms, Some(7_200_000));
    assert_eq!(series.misfire, Misfire::FireAll { max: 3 });
    assert_eq!(series.overlap, Overlap::BufferOne);
    let skip = validate(json!({"cron": "0 9 * * MON", "misfire": "skip"})).unwrap();
    assert_eq!(skip.misfire, Misfire::Skip);
    let all = validate(json!({"cron": "0 9 * * MON", "misfire": "fireAll"})).unwrap();
    assert_eq!(all.misfire, Misfire::FireAll { max: 10 });
    let limits = validate(json!({
        "cron": "0 9 * * MON", "maxRuns": 100000, "runDuration": "P366D",
        "misfire": "fireAll", "maxCatchUp": 100,
        "startAt": "2026-12-31T23:00:00Z", "endAt": "2036-12-29T00:00:00Z"
    }))
    .unwrap();
    assert_eq!(limits.max_runs, Some(100_000));
    assert_eq!(limits.misfire, Misfire::FireAll { max: 100 });
}

#[test]
fn each_bad_field_is_named() {
    let errors = errors_of(json!({
        "timezone": "Mars/Olympus", "startAt": "soon", "endAt": "later",
        "maxRuns": 0, "runDuration": "P1M", "misfire": "sometimes", "overlap": "both"
    }));
    let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "schedule.cron",
            "schedule.endAt",
            "schedule.maxRuns",
            "schedule.misfire",
            "schedule.overlap",
            "schedule.runDuration",
            "schedule.startAt",
            "schedule.timezone",
        ]
    );
    assert_eq!(errors[0].1, "is required");
    let bad_cron = errors_of(json!({"cron": "0 9 * *"}));
    assert_eq!(bad_cron[0].0, "schedule.cron");
    assert!(bad_cron[0].1.contains("5 fields"), "{}", bad_cron[0].1);
}

#[test]
fn bounds_and_limits_are_checked() {
    let cases = [
        (
            json!({"cron": "0 9 * * *", "startAt": "2027-02-01T00:00:00Z", "endAt": "2027-02-01T00:00:00Z"}),
            "schedule.endAt",
            "must be after schedule.startAt",
        ),
        (
            json!({"cron": "0 9 * * *", "startAt": "2026-12-31T22:59:59Z"}),
            "schedule.startAt",
            "more than one hour in the past",
        ),
        (
            json!({"cron": "0 9 * * *", "endAt": "2037-01-10T00:00:00Z"}),
            "schedule.endAt",
            "ten years",
        ),
        (
            json!({"cron": "0 9 * * *", "maxRuns": 100001}),
            "schedule.maxRuns",
            "from 1 to 100000",
        ),
        (
            json!({"cron": "0 9 * * *", "maxRuns": "ten"}),
            "schedule.maxRuns",
            "whole number",
        ),
        (
            json!({"cron": "0 9 * * *", "runDuration": "PT0S"}),
            "schedule.runDuration",
            "longer than zero",
        ),
        (
            json!({"cron": "0 9 * * *", "runDuration": "P367D"}),
            "schedule.runDuration",
            "at most 366 days",
        ),
        (
            json!({"cron": "0 9 * * *", "misfire": "fireAll", "maxCatchUp": 101}),
            "schedule.maxCatchUp",
            "from 1 to 100",
        ),
        (
            json!({"cron": "0 9 * * *", "maxCatchUp": 5}),
            "schedule.maxCatchUp",
            "only allowed with misfire fireAll",
        ),
        (
            json!({"cron": "0 9 * * *", "misfire": "skip", "maxCatchUp": 5}),
            "schedule.maxCatchUp",
            "only allowed with misfire fireAll",
        ),
    ];
    for (body, field, says) in cases {
        let errors = errors_of(body.clone());
        assert_eq!(errors.len(), 1, "{body}: {errors:?}");
        assert_eq!(errors[0].0, field, "{body}");
        assert!(errors[0].1.contains(says), "{body}: {}", errors[0].1);
    }
}

#[test]
fn a_series_without_an_occurrence_in_its_bounds_is_refused() {
    // Mondays only, in a window from Tuesday to Sunday.
    let errors = errors_of(json!({
        "cron": "0 9 * * MON",
        "startAt": "2027-01-05T00:00:00Z", "endAt": "2027-01-10T23:00:00Z"
    }));
    assert_eq!(
        errors,
        [(
            "schedule.cron".to_owned(),
            "has no occurrence between schedule.startAt and schedule.endAt".to_owned()
        )]
    );
    // An occurrence exactly at either bound counts.
    assert!(
        validate(json!({"cron": "0 9 * * MON", "startAt": "2027-01-04T09:00:00Z", "endAt": "2027-01-05T00:00:00Z"}))
            .is_ok()
    );
    assert!(
        validate(json!({"cron": "0 9 * * MON", "startAt": "2027-01-02T00:00:00Z", "endAt": "2027-01-04T09:00:00Z"}))
            .is_ok()
    );
    assert!(!errors_of(json!({"cron": "0 0 31 2 *"})).is_empty());
}

#[test]
fn occurrences_stay_inside_the_bounds() {
    let series = validate(json!({
        "cron": "0 9 * * *", "timezone": "Europe/Berlin",
        "startAt": "2027-03-27T08:00:01Z", "endAt": "2027-03-29T06:59:59Z"
    }))
    .unwrap();
    let cron = series.cron_schedule().unwrap();
    let before_start = at("2027-01-01T00:00:00Z");
    let first = series.next_occurrence(&cron, before_start).unwrap();
    assert_eq!(
        first,
        at("2027-03-28T07:00:00Z"),
        "09:00 CEST, the first inside"
    );
    assert_eq!(
        series.next_occurrence(&cron, first),
        None,
        "the next is past endAt"
    );
    let at_start = Series {
        start_at: at("2027-03-28T07:00:00Z"),
        ..series.clone()
    };
    assert_eq!(
        at_start.next_occurrence(&cron, before_start),
        Some(first),
        "startAt itself counts"
    );
}

#[test]
fn a_stored_series_that_no_longer_parses_is_an_error() {
    let series = Series {
        cron: "not cron".into(),
        ..validate(json!({"cron": "0 9 * * MON"})).unwrap()
    };
    let error = series.cron_schedule().unwrap_err();
    assert!(error.contains("not cron"), "{error}");
}

#[test]
fn a_series_round_trips_through_json() {
    let series = validate(json!({
        "cron": "0 9 * * MON", "misfire": "fireAll", "maxCatchUp": 3, "overlap": "bufferOne",
        "runDuration": "PT30M"
    }))
    .unwrap();
    let text = serde_json::to_string(&series).unwrap();
    assert!(
        text.contains(r#""misfire":{"policy":"fireAll","max":3}"#),
        "{text}"
    );
    assert!(text.contains(r#""overlap":"bufferOne""#), "{text}");
    assert_eq!(serde_json::from_str::<Series>(&text).unwrap(), series);
}

#[test]
fn a_series_lies_inside_its_campaigns_window() {
    let window = Some((at("2027-02-01T00:00:00Z"), at("2027-03-01T00:00:00Z")));
    let validate_in = |body: serde_json::Value| {
        let schedule: NewSchedule = serde_json::from_value(body).unwrap();
        let mut errors = FieldErrors::default();
        let series = schedule.validate(now(), window, &mut errors);
        (series, errors.0.into_iter().collect::<Vec<_>>())
    };
    let (series, errors) = validate_in(json!({"cron": "0 9 * * MON"}));
    let series = series.unwrap();
    assert!(errors.is_empty());
    assert_eq!(
        (series.start_at, series.end_at),
        (
            at("2027-02-01T00:00:00Z"),
            Some(at("2027-02-28T23:59:59.999Z"))
        ),
        "the window's bounds by default: its last occurrence before the campaign closes"
    );
    let (series, errors) = validate_in(json!({
        "cron": "0 9 * * MON",
        "startAt": "2027-01-31T23:59:59Z", "endAt": "2027-03-01T00:00:00Z"
    }));
    assert!(series.is_none());
    assert_eq!(
        errors,
        [
            (
                "schedule.endAt".to_owned(),
                "must be before the campaign's endAt".to_owned()
            ),
            (
                "schedule.startAt".to_owned(),
                "must not be before the campaign's startAt".to_owned()
            ),
        ]
    );
    let (series, errors) = validate_in(json!({
        "cron": "0 9 * * MON",
        "startAt": "2027-02-01T00:00:00Z", "endAt": "2027-02-28T23:59:59Z"
    }));
    assert!(
        series.is_some() && errors.is_empty(),
        "the window's own bounds: {errors:?}"
    );
}
