//! A UTC instant with millisecond precision, written as RFC 3339 at every edge
//! (API, items, events) and as epoch milliseconds inside sort keys.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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
        Self((OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64)
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
        let parsed = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| InvalidTimestamp)?;
        Ok(Self((parsed.unix_timestamp_nanos() / 1_000_000) as i64))
    }

    /// Formats as RFC 3339 in UTC, e.g. `2026-11-23T09:00:00.250Z`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| self.0.to_string())
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
