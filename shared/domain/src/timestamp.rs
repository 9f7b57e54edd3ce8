//! A UTC instant with millisecond precision, written as RFC 3339 at every edge
//! (API, items, events) and as epoch milliseconds inside sort keys.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// The text was not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 date-time (example: 2026-11-23T09:00:00Z)")]
pub struct InvalidTimestamp;

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        Self(Utc::now().timestamp_millis())
    }

    /// The instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the epoch.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (for TTL attributes).
    pub const fn epoch_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This instant moved by `millis` (negative moves back).
    pub const fn plus_millis(self, millis: i64) -> Self {
        Self(self.0 + millis)
    }

    /// Milliseconds from `earlier` to `self` (negative when `self` is earlier).
    pub const fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0 - earlier.0
    }

    /// Parses an RFC 3339 date-time with any offset; sub-millisecond digits are dropped.
    pub fn parse_rfc3339(text: &str) -> Result<Self, InvalidTimestamp> {
        let parsed = DateTime::parse_from_rfc3339(text).map_err(|_| InvalidTimestamp)?;
        Ok(Self(parsed.timestamp_millis()))
    }

    /// Formats as RFC 3339 in UTC with the fraction's trailing zeros dropped (none when
    /// whole), e.g. `2026-11-23T09:00:00.25Z`, `2026-11-23T09:00:00Z`. An instant chrono
    /// cannot represent (beyond ±262,000 years) is written as its epoch milliseconds.
    pub fn to_rfc3339(self) -> String {
        let Some(at) = DateTime::<Utc>::from_timestamp_millis(self.0) else {
            return self.0.to_string();
        };
        let whole = at.format("%Y-%m-%dT%H:%M:%S");
        match self.0.rem_euclid(1000) {
            0 => format!("{whole}Z"),
            millis => {
                let fraction = format!("{millis:03}");
                format!("{whole}.{}Z", fraction.trim_end_matches('0'))
            }
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rfc3339_with_milliseconds() {
        let t = Timestamp::parse_rfc3339("2026-11-23T09:00:00.250Z").unwrap();
        assert_eq!(t.millis(), 1_795_424_400_250);
        assert_eq!(t.to_rfc3339(), "2026-11-23T09:00:00.25Z");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
    }

    #[test]
    fn writes_whole_seconds_without_a_fraction_and_keeps_leading_zeros() {
        assert_eq!(
            Timestamp::from_millis(1_795_424_400_000).to_rfc3339(),
            "2026-11-23T09:00:00Z"
        );
        assert_eq!(
            Timestamp::from_millis(1_795_424_400_007).to_rfc3339(),
            "2026-11-23T09:00:00.007Z"
        );
        assert_eq!(
            Timestamp::from_millis(1_795_424_400_120).to_rfc3339(),
            "2026-11-23T09:00:00.12Z"
        );
        assert_eq!(
            Timestamp::from_millis(-1).to_rfc3339(),
            "1969-12-31T23:59:59.999Z"
        );
        assert_eq!(
            Timestamp::from_millis(i64::MAX).to_rfc3339(),
            i64::MAX.to_string()
        );
    }

    #[test]
    fn drops_sub_millisecond_digits() {
        let t = Timestamp::parse_rfc3339("2026-11-23T09:00:00.250999Z").unwrap();
        assert_eq!(t.millis(), 1_795_424_400_250);
    }

    #[test]
    fn converts_offsets_to_utc() {
        let a = Timestamp::parse_rfc3339("2026-11-23T10:00:00+01:00").unwrap();
        let b = Timestamp::parse_rfc3339("2026-11-23T09:00:00Z").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn rejects_non_rfc3339() {
        assert_eq!(
            Timestamp::parse_rfc3339("23/11/2026"),
            Err(InvalidTimestamp)
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-23"),
            Err(InvalidTimestamp)
        );
    }
}
