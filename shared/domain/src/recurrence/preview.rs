//! The preview of a series' next occurrences (`GET /campaigns/{id}/schedule?next=N`): each in
//! UTC and in the schedule's local time, with a note on a local time DST skipped (listed, not
//! counted) or repeated (run once, at the first).

use serde::Serialize;

use crate::Timestamp;
use crate::recurrence::cron_schedule::{CronSchedule, LocalTime};
use crate::recurrence::series::Series;

/// Most occurrences one preview lists.
pub const MAX_PREVIEW: usize = 100;

/// One previewed local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewEntry {
    /// When it runs; `None` for a local time DST skipped.
    pub utc: Option<Timestamp>,
    /// The local time, with the zone's offset when it runs (`2027-01-04T09:00:00+01:00`),
    /// without when it was skipped (`2027-03-28T02:30:00`).
    pub local: String,
    /// What DST did to it, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The next `count` (at most [`MAX_PREVIEW`]) occurrences of `series` after `after`, inside
/// its bounds and within `runs_left` more runs, read with `cron` (its schedule); skipped local
/// times among them are listed too, with their note.
pub fn preview(
    series: &Series,
    cron: &CronSchedule,
    after: Timestamp,
    count: usize,
    runs_left: Option<u64>,
) -> Vec<PreviewEntry> {
    let limit = runs_left.map_or(count, |left| {
        count.min(usize::try_from(left).unwrap_or(usize::MAX))
    });
    let limit = limit.min(MAX_PREVIEW);
    let zone = cron.zone_name();
    let mut entries = Vec::new();
    let mut runs = 0;
    for slot in series.slots_after(cron, after) {
        if runs >= limit {
            break;
        }
        let day = slot.local.format("%Y-%m-%d");
        let time = slot.local.format("%H:%M:%S");
        let entry = match (slot.at, slot.dst) {
            (Some(at), dst) => {
                runs += 1;
                PreviewEntry {
                    utc: Some(at),
                    local: cron.local_rfc3339(at),
                    note: (dst == LocalTime::Repeated).then(|| {
                        format!(
                            "{time} happens twice on {day} in {zone} (the clock falls back): \
                             runs once, at the first"
                        )
                    }),
                }
            }
            (None, _) => PreviewEntry {
                utc: None,
                local: slot.local.format("%Y-%m-%dT%H:%M:%S").to_string(),
                note: Some(format!(
                    "{time} does not exist on {day} in {zone} (the clock springs forward): \
                     no run"
                )),
            },
        };
        entries.push(entry);
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recurrence::catch_up::Misfire;
    use crate::recurrence::overlap::Overlap;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    fn series(cron: &str, zone: &str, start: &str, end: Option<&str>) -> Series {
        Series {
            cron: cron.into(),
            timezone: zone.into(),
            start_at: at(start),
            end_at: end.map(at),
            max_runs: None,
            run_duration_ms: None,
            misfire: Misfire::FireOnceNow,
            overlap: Overlap::Skip,
        }
    }

    fn utc_list(entries: &[PreviewEntry]) -> Vec<Option<String>> {
        entries
            .iter()
            .map(|e| e.utc.map(Timestamp::to_rfc3339))
            .collect()
    }

    #[test]
    fn a_preview_lists_utc_and_local_times_with_dst_notes() {
        let s = series("30 2 * * *", "Europe/Berlin", "2027-03-27T00:00:00Z", None);
        let cron = s.cron_schedule().unwrap();
        let entries = preview(&s, &cron, at("2027-03-26T00:00:00Z"), 2, None);
        assert_eq!(
            utc_list(&entries),
            [
                Some("2027-03-27T01:30:00Z".into()),
                None,
                Some("2027-03-29T00:30:00Z".into())
            ],
            "the skipped time is listed, not counted"
        );
        assert_eq!(entries[0].local, "2027-03-27T02:30:00+01:00");
        assert_eq!(entries[0].note, None);
        assert_eq!(entries[1].local, "2027-03-28T02:30:00");
        assert_eq!(
            entries[1].note.as_deref(),
            Some(
                "02:30:00 does not exist on 2027-03-28 in Europe/Berlin (the clock springs \
                 forward): no run"
            )
        );
        assert_eq!(entries[2].local, "2027-03-29T02:30:00+02:00");
        let autumn = preview(&s, &cron, at("2027-10-30T12:00:00Z"), 1, None);
        assert_eq!(autumn[0].local, "2027-10-31T02:30:00+02:00");
        assert_eq!(
            autumn[0].note.as_deref(),
            Some(
                "02:30:00 happens twice on 2027-10-31 in Europe/Berlin (the clock falls back): \
                 runs once, at the first"
            )
        );
        let json = serde_json::to_value(&autumn[0]).unwrap();
        assert_eq!(json["utc"], "2027-10-31T00:30:00Z");
        let plain = serde_json::to_value(&entries[0]).unwrap();
        assert!(plain.get("note").is_none(), "{plain}");
    }

    #[test]
    fn a_preview_stays_inside_the_bounds_and_the_runs_left() {
        let s = series(
            "0 9 * * *",
            "UTC",
            "2027-01-10T00:00:00Z",
            Some("2027-01-13T09:00:00Z"),
        );
        let cron = s.cron_schedule().unwrap();
        let from_before = preview(&s, &cron, at("2027-01-01T00:00:00Z"), 10, None);
        assert_eq!(
            utc_list(&from_before),
            [
                Some("2027-01-10T09:00:00Z".into()),
                Some("2027-01-11T09:00:00Z".into()),
                Some("2027-01-12T09:00:00Z".into()),
                Some("2027-01-13T09:00:00Z".into()),
            ],
            "from startAt to endAt, both included"
        );
        assert_eq!(
            preview(&s, &cron, at("2027-01-01T00:00:00Z"), 10, Some(2)).len(),
            2
        );
        assert!(preview(&s, &cron, at("2027-01-01T00:00:00Z"), 10, Some(0)).is_empty());
        assert_eq!(
            preview(&s, &cron, at("2027-01-11T09:00:00Z"), 1, None).len(),
            1
        );
        let from_start = series("0 9 * * *", "UTC", "2027-01-10T09:00:00Z", None);
        assert_eq!(
            utc_list(&preview(
                &from_start,
                &cron,
                at("2027-01-01T00:00:00Z"),
                1,
                None
            )),
            [Some("2027-01-10T09:00:00Z".into())],
            "an occurrence at startAt itself is the first"
        );
        let open = series("* * * * *", "UTC", "2027-01-01T00:00:00Z", None);
        let cron = open.cron_schedule().unwrap();
        assert_eq!(
            preview(&open, &cron, at("2027-01-01T00:00:00Z"), 1_000, None).len(),
            MAX_PREVIEW
        );
    }
}
