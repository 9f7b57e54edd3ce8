//! A stored recipient list: an S3 object in JSON Lines or CSV (with a header), read as a
//! stream of rows by the planner and by byte range by the sender.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The format of a stored list, from its key's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListFormat {
    /// One JSON object per line (`.jsonl`, `.ndjson`).
    JsonLines,
    /// A header row naming `id`, `address` and variable columns, then one row per line (`.csv`).
    Csv,
}

/// An S3 object holding a recipient list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientList {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// How its rows are written.
    pub format: ListFormat,
}

impl RecipientList {
    /// Parses `s3://bucket/key.jsonl` (or `.ndjson`, `.csv`).
    pub fn parse_uri(uri: &str) -> Result<Self, &'static str> {
        const PROBLEM: &str = "must be s3://<bucket>/<key> ending in .jsonl, .ndjson or .csv";
        let rest = uri.strip_prefix("s3://").ok_or(PROBLEM)?;
        let (bucket, key) = rest.split_once('/').ok_or(PROBLEM)?;
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        let key_ok = (1..=1024).contains(&key.len()) && !key.chars().any(char::is_control);
        if !bucket_ok || !key_ok {
            return Err(PROBLEM);
        }
        let lower = key.to_ascii_lowercase();
        let format = if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            ListFormat::JsonLines
        } else if lower.ends_with(".csv") {
            ListFormat::Csv
        } else {
            return Err(PROBLEM);
        };
        Ok(Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            format,
        })
    }
}

impl fmt::Display for RecipientList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bucket_key_and_format() {
        let list = RecipientList::parse_uri("s3://my-lists/spring/2026.JSONL").unwrap();
        assert_eq!(
            (list.bucket.as_str(), list.key.as_str(), list.format),
            ("my-lists", "spring/2026.JSONL", ListFormat::JsonLines)
        );
        assert_eq!(list.to_string(), "s3://my-lists/spring/2026.JSONL");
        assert_eq!(
            RecipientList::parse_uri("s3://b.c-d/x.ndjson")
                .unwrap()
                .format,
            ListFormat::JsonLines
        );
        assert_eq!(
            RecipientList::parse_uri("s3://lists/x.csv").unwrap().format,
            ListFormat::Csv
        );
    }

    #[test]
    fn refuses_other_uris() {
        for bad in [
            "https://lists.s3.amazonaws.com/x.csv",
            "s3://lists",
            "s3://lists/",
            "s3://Lists/x.csv",
            "s3://ab/x.csv",
            "s3://lists/x.json",
            "s3://lists/x.csv.gz",
            "s3://lists/a\nb.csv",
        ] {
            assert!(RecipientList::parse_uri(bad).is_err(), "{bad:?}");
        }
    }
}
