//! ISO 8601 durations of days, hours, minutes and seconds (`PT2H`, `P1DT12H`, `PT90M`,
//! `P2W`), the form of a series' `runDuration`. Years and months are refused: their length
//! depends on the calendar.

/// The duration `text` names, in milliseconds; the error is a sentence for the field.
pub fn parse_duration_ms(text: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "{text:?} is not an ISO 8601 duration of weeks, days, hours, minutes and seconds \
             (e.g. PT2H, P1DT12H, PT90M)"
        )
    };
    let rest = text.strip_prefix('P').ok_or_else(bad)?;
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, Some(time)),
        Some(_) => return Err(bad()),
        None => (rest, None),
    };
    if date.is_empty() && time.is_none() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    for (part, units) in [(date, DATE_UNITS), (time.unwrap_or(""), TIME_UNITS)] {
        total = total
            .checked_add(sum_of(part, units).ok_or_else(bad)?)
            .ok_or_else(bad)?;
    }
    Ok(total)
}

/// Designator → milliseconds, in the order they must appear.
type Units = &'static [(char, i64)];
const DATE_UNITS: Units = &[('W', 7 * 86_400_000), ('D', 86_400_000)];
const TIME_UNITS: Units = &[('H', 3_600_000), ('M', 60_000), ('S', 1_000)];

/// The sum of `part`'s `<digits><designator>` terms, each designator at most once and in
/// order; `None` if malformed.
fn sum_of(part: &str, units: Units) -> Option<i64> {
    let mut total: i64 = 0;
    let mut next_unit = 0;
    let mut digits = String::new();
    for c in part.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let offset = units[next_unit..].iter().position(|(d, _)| *d == c)?;
        let (_, unit_ms) = units[next_unit + offset];
        next_unit += offset + 1;
        let count: i64 = digits.parse().ok()?;
        digits.clear();
        total = total.checked_add(count.checked_mul(unit_ms)?)?;
    }
    digits.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_of_weeks_days_hours_minutes_and_seconds() {
        for (text, ms) in [
            ("PT2H", 7_200_000),
            ("PT90M", 5_400_000),
            ("PT45S", 45_000),
            ("P1D", 86_400_000),
            ("P2W", 14 * 86_400_000),
            ("P1DT12H", 86_400_000 + 12 * 3_600_000),
            (
                "P1W2DT3H4M5S",
                9 * 86_400_000 + 3 * 3_600_000 + 4 * 60_000 + 5_000,
            ),
            ("PT0S", 0),
        ] {
            assert_eq!(parse_duration_ms(text), Ok(ms), "{text}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for text in [
            "",
            "P",
            "PT",
            "2H",
            "PT2",
            "P1M",
            "P1Y",
            "PT1H2H",
            "PT1M1H",
            "P1D1W",
            "pt2h",
            "PT-1H",
            "PT1.5H",
            "P99999999999999999W",
            "PTH",
            "P1DT",
        ] {
            let error = parse_duration_ms(text).unwrap_err();
            assert!(error.contains("ISO 8601"), "{text}: {error}");
        }
    }
}
