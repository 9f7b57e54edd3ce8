//! The rows of one batch, read from its byte range of the run's list: each row's number and
//! its recipient, or why the row cannot be sent (it is settled `FAILED` with that reason).

use lifecycle_domain::delivery::ListFormat;
use lifecycle_domain::delivery::Recipient;
use lifecycle_domain::delivery::recipient::{CsvHeader, check_recipient_id, parse_json_row};

/// One row of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Its number in the list (recipients only, from 0).
    pub number: u64,
    /// The ledger key: the recipient id, or `#row-<n>` for a row without a usable one.
    pub ledger_id: String,
    /// The recipient, or the reason the row cannot be sent.
    pub recipient: Result<Recipient, String>,
}

/// Reads `expected` rows from `bytes` (a batch's range), numbering them from `first_row`. A
/// list shorter than planned (changed after planning) yields failed rows for the missing
/// ones, so the batch still settles the rows it was planned with.
pub fn read_rows(
    bytes: &[u8],
    format: ListFormat,
    csv_header: Option<&CsvHeader>,
    first_row: u64,
    expected: u32,
) -> Vec<Row> {
    let text = String::from_utf8_lossy(bytes);
    let mut rows: Vec<Row> = text
        .split('\n')
        .filter(|line| !line.trim().is_empty())
        .take(expected as usize)
        .zip(first_row..)
        .map(|(line, number)| parse_row(line, format, csv_header, number))
        .collect();
    let read = rows.len() as u64;
    rows.extend((read..u64::from(expected)).map(|offset| {
        let number = first_row + offset;
        Row {
            number,
            ledger_id: row_key(number),
            recipient: Err("the list changed after it was planned: row missing".into()),
        }
    }));
    rows
}

fn parse_row(line: &str, format: ListFormat, header: Option<&CsvHeader>, number: u64) -> Row {
    let parsed = match (format, header) {
        (ListFormat::JsonLines, _) => parse_json_row(line).map_err(|error| error.to_string()),
        (ListFormat::Csv, Some(header)) => header.parse_row(line).map_err(|e| e.to_string()),
        (ListFormat::Csv, None) => Err("the list's CSV header was not read".into()),
    };
    match parsed {
        Ok(recipient) => match check_recipient_id(&recipient.id) {
            Ok(()) => Row {
                number,
                ledger_id: recipient.id.clone(),
                recipient: Ok(recipient),
            },
            Err(problem) => Row {
                number,
                ledger_id: row_key(number),
                recipient: Err(format!("id {problem}")),
            },
        },
        Err(reason) => Row {
            number,
            ledger_id: row_key(number),
            recipient: Err(reason),
        },
    }
}

/// The ledger key of a row without a usable recipient id: unique in the list, and never a
/// recipient id (those cannot start with `#`).
fn row_key(number: u64) -> String {
    format!("#row-{number}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_json_rows_and_skips_blank_lines() {
        let bytes = b"{\"id\":\"a\",\"address\":\"a@example.com\"}\n\n{\"id\":\"b\",\"address\":\"b@example.com\"}\n";
        let rows = read_rows(bytes, ListFormat::JsonLines, None, 10, 2);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].number, rows[0].ledger_id.as_str()), (10, "a"));
        assert_eq!((rows[1].number, rows[1].ledger_id.as_str()), (11, "b"));
        assert!(rows.iter().all(|r| r.recipient.is_ok()));
    }

    #[test]
    fn bad_rows_are_kept_with_their_reason_under_a_row_key() {
        let header = CsvHeader::parse("id,address,name").unwrap();
        let bytes = b"r1,a@example.com,Ann\r\nr2,b@example.com\n ,c@example.com,C\n";
        let rows = read_rows(bytes, ListFormat::Csv, Some(&header), 0, 3);
        assert!(rows[0].recipient.is_ok());
        assert_eq!(rows[0].recipient.as_ref().unwrap().vars["name"], "Ann");
        assert_eq!(rows[1].ledger_id, "#row-1");
        assert_eq!(
            rows[1].recipient,
            Err("has 2 fields, the header has 3".to_owned())
        );
        assert_eq!(rows[2].ledger_id, "#row-2");
        assert_eq!(
            rows[2].recipient,
            Err("id is required and must not be blank".to_owned())
        );
        let headless = read_rows(b"r1,a@example.com\n", ListFormat::Csv, None, 0, 1);
        assert!(headless[0].recipient.is_err());
    }

    #[test]
    fn a_shorter_list_fails_the_missing_rows_and_a_longer_one_is_cut() {
        let rows = read_rows(
            b"{\"id\":\"a\",\"address\":\"a@example.com\"}",
            ListFormat::JsonLines,
            None,
            5,
            3,
        );
        assert_eq!(
            rows.iter().map(|r| r.number).collect::<Vec<_>>(),
            vec![5, 6, 7]
        );
        assert!(
            rows[1]
                .recipient
                .as_ref()
                .is_err_and(|e| e.contains("changed"))
        );
        assert_eq!(rows[2].ledger_id, "#row-7");
        let longer = read_rows(
            b"{\"id\":\"a\",\"address\":\"x\"}\n{\"id\":\"b\",\"address\":\"y\"}\n",
            ListFormat::JsonLines,
            None,
            0,
            1,
        );
        assert_eq!(longer.len(), 1);
    }
}
