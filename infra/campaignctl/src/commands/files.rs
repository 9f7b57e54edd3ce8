//! Request bodies from files: JSON or YAML (by extension, else tried as JSON then YAML);
//! `-` reads standard input.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use crate::exit::CliError;

/// The JSON value of `path`'s JSON or YAML text.
pub fn read_body(path: &Path) -> Result<Value, CliError> {
    let text = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Input(format!("standard input: {e}")))?;
        text
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?
    };
    parse_body(&text, path)
}

/// Parses `text` read from `path`.
pub fn parse_body(text: &str, path: &Path) -> Result<Value, CliError> {
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    let parsed = if yaml {
        serde_yaml_ng::from_str(text).map_err(|e| e.to_string())
    } else {
        serde_json::from_str(text)
            .or_else(|json_error| serde_yaml_ng::from_str(text).map_err(|_| json_error))
            .map_err(|e| e.to_string())
    };
    let value: Value = parsed.map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(CliError::Input(format!(
            "{}: expected an object",
            path.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_and_yaml_files_give_the_same_body() {
        let json = parse_body(r#"{"name": "Spring", "n": 2}"#, Path::new("c.json")).unwrap();
        let yaml = parse_body("name: Spring\nn: 2\n", Path::new("c.yaml")).unwrap();
        let guessed = parse_body("name: Spring\nn: 2\n", Path::new("-")).unwrap();
        assert_eq!(json, json!({"name": "Spring", "n": 2}));
        assert_eq!(yaml, json);
        assert_eq!(guessed, json);
    }

    #[test]
    fn other_documents_are_refused_with_the_file_name() {
        let error = parse_body("[1, 2]", Path::new("c.json")).unwrap_err();
        assert_eq!(error.to_string(), "c.json: expected an object");
        assert!(
            parse_body("{", Path::new("bad.json"))
                .unwrap_err()
                .to_string()
                .starts_with("bad.json: ")
        );
    }
}
