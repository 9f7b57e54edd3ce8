//! A recipient of a run, and how one is read from a list: inline JSON, a JSON Lines row, or
//! a CSV row under its header.

use serde::{Deserialize, Serialize};

use super::template::Variables;

/// Longest recipient id, in bytes (it is part of a ledger key).
pub const MAX_RECIPIENT_ID_BYTES: usize = 256;

/// One recipient: a stable id (the ledger's key: the same id is sent once per run), an
/// address for the channel, and the variables its message uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Unique within a list; a repeated id is sent once and counted as a duplicate.
    pub id: String,
    /// Where to deliver: an email address, a webhook URL, or an event address.
    pub address: String,
    /// Values for the message's `{{variables}}`.
    #[serde(default)]
    pub vars: Variables,
}

/// Why a recipient id is refused, if it is. Ids starting with `#` are reserved (the ledger
/// keys rows that have no usable id `#row-<n>`).
pub fn check_recipient_id(id: &str) -> Result<(), &'static str> {
    if id.trim().is_empty() {
        Err("is required and must not be blank")
    } else if id.starts_with('#') {
        Err("must not start with # (reserved)")
    } else if id.len() > MAX_RECIPIENT_ID_BYTES {
        Err("must be at most 256 bytes")
    } else if id.chars().any(char::is_control) {
        Err("must not contain control characters")
    } else {
        Ok(())
    }
}

/// A row of a recipient list that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    /// Not a JSON object with string `id`, `address` and string `vars`.
    #[error("not a recipient object ({0})")]
    Json(String),
    /// A CSV row with a different number of fields than the header, or a broken quote.
    #[error("{0}")]
    Csv(String),
}

/// Reads one JSON Lines row: `{"id":…,"address":…,"vars":{…}}`.
pub fn parse_json_row(line: &str) -> Result<Recipient, RowError> {
    serde_json::from_str(line).map_err(|error| RowError::Json(error.to_string()))
}

/// The header of a CSV recipient list: it names an `id` and an `address` column; every other
/// column is a variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvHeader {
    columns: Vec<String>,
    id: usize,
    address: usize,
}

impl CsvHeader {
    /// Reads the header row.
    pub fn parse(line: &str) -> Result<Self, RowError> {
        let columns: Vec<String> = split_csv(line)?
            .into_iter()
            .map(|column| column.trim().to_owned())
            .collect();
        let find = |name: &str| {
            columns
                .iter()
                .position(|column| column == name)
                .ok_or_else(|| RowError::Csv(format!("the header has no '{name}' column")))
        };
        let id = find("id")?;
        let address = find("address")?;
        if let Some(empty) = columns.iter().position(String::is_empty) {
            return Err(RowError::Csv(format!(
                "header column {} has no name",
                empty + 1
            )));
        }
        Ok(Self {
            columns,
            id,
            address,
        })
    }

    /// Reads one data row under this header.
    pub fn parse_row(&self, line: &str) -> Result<Recipient, RowError> {
        let fields = split_csv(line)?;
        if fields.len() != self.columns.len() {
            return Err(RowError::Csv(format!(
                "has {} fields, the header has {}",
                fields.len(),
                self.columns.len()
            )));
        }
        let mut recipient = Recipient {
            id: String::new(),
            address: String::new(),
            vars: Variables::new(),
        };
        for (index, (column, value)) in self.columns.iter().zip(fields).enumerate() {
            if index == self.id {
                recipient.id = value;
            } else if index == self.address {
                recipient.address = value;
            } else {
                recipient.vars.insert(column.clone(), value);
            }
        }
        Ok(recipient)
    }
}

/// Splits one CSV line (RFC 4180 quoting: `"a, b"`, `""` for a quote; a field cannot hold a
/// line break).
fn split_csv(line: &str) -> Result<Vec<String>, RowError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => {
                quoted = false;
                if !matches!(chars.peek(), None | Some(',')) {
                    return Err(RowError::Csv("has text after a closing quote".into()));
                }
            }
            (true, other) => field.push(other),
            (false, '"') if field.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            (false, '"') => return Err(RowError::Csv("has a quote inside a field".into())),
            (false, other) => field.push(other),
        }
    }
    if quoted {
        return Err(RowError::Csv("has an unclosed quote".into()));
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_lines_rows() {
        let recipient =
            parse_json_row(r#"{"id":"r1","address":"ann@example.com","vars":{"name":"Ann"}}"#)
                .unwrap();
        assert_eq!(recipient.id, "r1");
        assert_eq!(recipient.vars["name"], "Ann");
        let bare = parse_json_row(r#"{"id":"r2","address":"bob@example.com"}"#).unwrap();
        assert!(bare.vars.is_empty());
        for bad in [
            "",
            "[]",
            r#"{"id":"r1"}"#,
            r#"{"id":1,"address":"a@b.co"}"#,
            r#"{"id":"r1","address":"a@b.co","vars":{"n":1}}"#,
        ] {
            assert!(
                matches!(parse_json_row(bad), Err(RowError::Json(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn reads_csv_rows_under_their_header() {
        let header = CsvHeader::parse("name, id ,address,tier\r").unwrap();
        let recipient = header
            .parse_row("\"Smith, Ann\",r1,ann@example.com,\"say \"\"hi\"\"\"")
            .unwrap();
        assert_eq!(recipient.id, "r1");
        assert_eq!(recipient.address, "ann@example.com");
        assert_eq!(recipient.vars["name"], "Smith, Ann");
        assert_eq!(recipient.vars["tier"], "say \"hi\"");
        assert_eq!(recipient.vars.len(), 2);
        let empty_fields = header.parse_row(",r2,bob@example.com,").unwrap();
        assert_eq!(empty_fields.vars["name"], "");
    }

    #[test]
    fn refuses_bad_csv() {
        assert_eq!(
            CsvHeader::parse("id,email"),
            Err(RowError::Csv("the header has no 'address' column".into()))
        );
        assert!(CsvHeader::parse("address,name").is_err());
        assert_eq!(
            CsvHeader::parse("id,address,,x"),
            Err(RowError::Csv("header column 3 has no name".into()))
        );
        let header = CsvHeader::parse("id,address").unwrap();
        assert_eq!(
            header.parse_row("r1,a@b.co,extra"),
            Err(RowError::Csv("has 3 fields, the header has 2".into()))
        );
        assert!(header.parse_row("\"r1,a@b.co").is_err());
        assert!(header.parse_row("\"r1\"x,a@b.co").is_err());
        assert!(header.parse_row("r\"1,a@b.co").is_err());
        assert_eq!(
            header.parse_row("r\"1\",a@b.co"),
            Err(RowError::Csv("has a quote inside a field".into()))
        );
    }

    #[test]
    fn recipient_ids_are_printable_and_bounded() {
        assert_eq!(check_recipient_id("r-1"), Ok(()));
        assert!(check_recipient_id(" ").is_err());
        assert_eq!(
            check_recipient_id("#row-1"),
            Err("must not start with # (reserved)")
        );
        assert_eq!(check_recipient_id("r#1"), Ok(()));
        assert!(check_recipient_id("a\nb").is_err());
        assert_eq!(
            check_recipient_id(&"x".repeat(MAX_RECIPIENT_ID_BYTES)),
            Ok(())
        );
        assert!(check_recipient_id(&"x".repeat(MAX_RECIPIENT_ID_BYTES + 1)).is_err());
    }
}
