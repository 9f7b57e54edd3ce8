//! How answers are shown: aligned tables and `key: value` lines for people, or the API's
//! JSON unchanged with `--json` for scripts.

use std::fmt::Write as _;

use serde_json::Value;

/// A table column: its header and where its value is in a row (a JSON pointer).
pub type Column = (&'static str, &'static str);

/// The longest a cell may be before it is cut (with `…`).
const MAX_CELL: usize = 48;

/// Where and how answers are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Print the API's JSON instead of tables.
    pub json: bool,
}

impl Output {
    /// Prints `rows` as a table of `columns` (or `whole` as JSON), then `footer` if any.
    pub fn table(&self, whole: &Value, rows: &[Value], columns: &[Column], footer: Option<&str>) {
        if self.json {
            self.value(whole);
            return;
        }
        print!("{}", table(rows, columns));
        if let Some(footer) = footer {
            println!("{footer}");
        }
    }

    /// Prints an object as `key: value` lines (or JSON).
    pub fn record(&self, value: &Value) {
        if self.json {
            self.value(value);
        } else {
            print!("{}", record(value));
        }
    }

    /// Prints `value` as pretty JSON.
    pub fn value(&self, value: &Value) {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
        );
    }

    /// A line for people (`--json` prints the answer instead).
    pub fn note(&self, text: &str, answer: &Value) {
        if self.json {
            self.value(answer);
        } else {
            println!("{text}");
        }
    }
}

/// `rows` as an aligned text table with a header line.
pub fn table(rows: &[Value], columns: &[Column]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|(_, pointer)| cell(row.pointer(pointer).unwrap_or(&Value::Null)))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (header, _))| {
            cells
                .iter()
                .map(|row| row[i].chars().count())
                .chain([header.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    let line = |values: Vec<&str>, text: &mut String| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(value, width)| format!("{value:<width$}"))
            .collect();
        let _ = writeln!(text, "{}", padded.join("  ").trim_end());
    };
    line(
        columns.iter().map(|(header, _)| *header).collect(),
        &mut text,
    );
    for row in &cells {
        line(row.iter().map(String::as_str).collect(), &mut text);
    }
    if rows.is_empty() {
        text.push_str("(none)\n");
    }
    text
}

/// An object as `key: value` lines, nested objects indented.
pub fn record(value: &Value) -> String {
    let mut text = String::new();
    write_record(value, 0, &mut text);
    text
}

fn write_record(value: &Value, depth: usize, text: &mut String) {
    let indent = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::Object(inner) if !inner.is_empty() => {
                        let _ = writeln!(text, "{indent}{key}:");
                        write_record(value, depth + 1, text);
                    }
                    _ => {
                        let _ = writeln!(text, "{indent}{key}: {}", cell(value));
                    }
                }
            }
        }
        other => {
            let _ = writeln!(text, "{indent}{}", cell(other));
        }
    }
}

/// One value as a table cell: strings bare, null as `-`, the rest as compact JSON, cut.
pub fn cell(value: &Value) -> String {
    let text = match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > MAX_CELL {
        let cut: String = text.chars().take(MAX_CELL - 1).collect();
        format!("{cut}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tables_align_columns_and_show_missing_values_as_dashes() {
        let rows = [
            json!({"id": "c-1", "status": "ACTIVE", "n": 3}),
            json!({"id": "campaign-22", "status": null}),
        ];
        let text = table(&rows, &[("ID", "/id"), ("STATUS", "/status"), ("N", "/n")]);
        assert_eq!(
            text,
            "ID           STATUS  N\nc-1          ACTIVE  3\ncampaign-22  -       -\n"
        );
        assert_eq!(table(&[], &[("ID", "/id")]), "ID\n(none)\n");
    }

    #[test]
    fn long_cells_are_cut_and_records_nest() {
        let long = "x".repeat(60);
        assert_eq!(cell(&json!(long)).chars().count(), MAX_CELL);
        assert!(cell(&json!(long)).ends_with('…'));
        assert_eq!(cell(&json!([1, 2])), "[1,2]");
        assert_eq!(
            record(&json!({"a": 1, "b": {"c": "d"}, "e": {}})),
            "a: 1\nb:\n  c: d\ne: {}\n"
        );
    }
}
