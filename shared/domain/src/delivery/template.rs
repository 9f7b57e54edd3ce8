//! Message templates: text with `{{variable}}` placeholders, filled per recipient, and JSON
//! payloads whose string values are such templates.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Longest accepted variable name, in bytes.
pub const MAX_VARIABLE_NAME: usize = 64;

/// A recipient's variables: name → value.
pub type Variables = BTreeMap<String, String>;

/// Text with `{{name}}` placeholders (spaces inside the braces are ignored). Stored and sent
/// over the wire as its source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Variable(String),
}

/// Why a template's text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{` without its closing `}}`.
    #[error("has a '{{{{' without its closing '}}}}' at character {0}")]
    Unclosed(usize),
    /// A placeholder whose name is empty or has other characters than letters, digits, `_`, `-`, `.`.
    #[error(
        "has an invalid variable name at character {0} (1 to 64 letters, digits, '_', '-' or '.')"
    )]
    BadName(usize),
}

/// A recipient lacks a variable the template uses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing variable '{0}'")]
pub struct MissingVariable(pub String);

impl Template {
    /// Parses `source`; every `{{` must be closed and name a variable.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = source;
        let mut offset = 0;
        while let Some(open) = rest.find("{{") {
            parts.push(Part::Text(rest[..open].to_owned()));
            let after_open = &rest[open + 2..];
            let position = source[..offset + open].chars().count();
            let close = after_open
                .find("}}")
                .ok_or(TemplateError::Unclosed(position))?;
            let name = after_open[..close].trim();
            if !is_variable_name(name) {
                return Err(TemplateError::BadName(position));
            }
            parts.push(Part::Variable(name.to_owned()));
            let consumed = open + 2 + close + 2;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self {
            source: source.to_owned(),
            parts,
        })
    }

    /// The names of the variables used, each once, in order of first use.
    pub fn variables(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for part in &self.parts {
            if let Part::Variable(name) = part
                && !names.contains(&name.as_str())
            {
                names.push(name);
            }
        }
        names
    }

    /// The text with every placeholder replaced by the recipient's value.
    pub fn render(&self, vars: &Variables) -> Result<String, MissingVariable> {
        let mut out = String::with_capacity(self.source.len());
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Variable(name) => out.push_str(
                    vars.get(name)
                        .ok_or_else(|| MissingVariable(name.clone()))?,
                ),
            }
        }
        Ok(out)
    }
}

fn is_variable_name(name: &str) -> bool {
    (1..=MAX_VARIABLE_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl Serialize for Template {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for Template {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        Self::parse(&source).map_err(serde::de::Error::custom)
    }
}

/// A JSON document whose string values (not its keys) are [`Template`]s. Stored and sent
/// over the wire as the JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub struct PayloadTemplate {
    document: Value,
    root: Node,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Text(Template),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
    Literal(Value),
}

impl PayloadTemplate {
    /// Checks every string value of `document` as a template.
    pub fn parse(document: Value) -> Result<Self, TemplateError> {
        let root = Node::parse(&document)?;
        Ok(Self { document, root })
    }

    /// The variables used anywhere in the payload, each once, in document order.
    pub fn variables(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.root.collect_variables(&mut names);
        names
    }

    /// The payload with every string value rendered for the recipient.
    pub fn render(&self, vars: &Variables) -> Result<Value, MissingVariable> {
        self.root.render(vars)
    }
}

impl Node {
    fn parse(value: &Value) -> Result<Self, TemplateError> {
        Ok(match value {
            Value::String(text) => Self::Text(Template::parse(text)?),
            Value::Array(items) => {
                Self::Array(items.iter().map(Self::parse).collect::<Result<_, _>>()?)
            }
            Value::Object(fields) => Self::Object(
                fields
                    .iter()
                    .map(|(key, item)| Ok((key.clone(), Self::parse(item)?)))
                    .collect::<Result<_, TemplateError>>()?,
            ),
            literal => Self::Literal(literal.clone()),
        })
    }

    fn collect_variables<'a>(&'a self, names: &mut Vec<&'a str>) {
        match self {
            Self::Text(template) => {
                for name in template.variables() {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
            Self::Array(items) => items.iter().for_each(|item| item.collect_variables(names)),
            Self::Object(fields) => fields
                .iter()
                .for_each(|(_, item)| item.collect_variables(names)),
            Self::Literal(_) => {}
        }
    }

    fn render(&self, vars: &Variables) -> Result<Value, MissingVariable> {
        Ok(match self {
            Self::Text(template) => Value::String(template.render(vars)?),
            Self::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| item.render(vars))
                    .collect::<Result<_, _>>()?,
            ),
            Self::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, item)| Ok((key.clone(), item.render(vars)?)))
                    .collect::<Result<_, MissingVariable>>()?,
            ),
            Self::Literal(value) => value.clone(),
        })
    }
}

impl TryFrom<Value> for PayloadTemplate {
    type Error = TemplateError;

    fn try_from(document: Value) -> Result<Self, Self::Error> {
        Self::parse(document)
    }
}

impl From<PayloadTemplate> for Value {
    fn from(payload: PayloadTemplate) -> Self {
        payload.document
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn fills_every_placeholder() {
        let template = Template::parse("Hi {{name}}, your code is {{ code }}.").unwrap();
        assert_eq!(template.variables(), vec!["name", "code"]);
        assert_eq!(
            template
                .render(&vars(&[("name", "Ann"), ("code", "X1")]))
                .unwrap(),
            "Hi Ann, your code is X1."
        );
    }

    #[test]
    fn text_without_placeholders_is_unchanged() {
        let template = Template::parse("Hello { there } }}").unwrap();
        assert!(template.variables().is_empty());
        assert_eq!(
            template.render(&Variables::new()).unwrap(),
            "Hello { there } }}"
        );
    }

    #[test]
    fn a_missing_variable_is_named() {
        let template = Template::parse("{{greeting}} {{name}}").unwrap();
        assert_eq!(
            template.render(&vars(&[("greeting", "Hi")])),
            Err(MissingVariable("name".into()))
        );
    }

    #[test]
    fn each_variable_is_listed_once() {
        let template = Template::parse("{{a}}{{b}}{{a}}").unwrap();
        assert_eq!(template.variables(), vec!["a", "b"]);
        assert_eq!(
            template.render(&vars(&[("a", "1"), ("b", "2")])).unwrap(),
            "121"
        );
    }

    #[test]
    fn refuses_unclosed_and_badly_named_placeholders() {
        assert_eq!(
            Template::parse("héllo {{name"),
            Err(TemplateError::Unclosed(6))
        );
        assert_eq!(Template::parse("a {{ }} b"), Err(TemplateError::BadName(2)));
        assert_eq!(
            Template::parse("{{a}} é {{b}} {{"),
            Err(TemplateError::Unclosed(14)),
            "positions count characters from the start, past earlier placeholders"
        );
        assert_eq!(
            Template::parse("{{first name}}"),
            Err(TemplateError::BadName(0))
        );
        assert!(Template::parse(&format!("{{{{{}}}}}", "x".repeat(MAX_VARIABLE_NAME))).is_ok());
        assert!(
            Template::parse(&format!("{{{{{}}}}}", "x".repeat(MAX_VARIABLE_NAME + 1))).is_err()
        );
    }

    #[test]
    fn round_trips_through_json_as_its_source() {
        let template = Template::parse("Hi {{name}}").unwrap();
        let text = serde_json::to_string(&template).unwrap();
        assert_eq!(text, "\"Hi {{name}}\"");
        assert_eq!(serde_json::from_str::<Template>(&text).unwrap(), template);
        assert!(serde_json::from_str::<Template>("\"{{oops\"").is_err());
    }

    #[test]
    fn payloads_render_their_string_values_only() {
        let payload = PayloadTemplate::parse(json!({
            "user": "{{name}}",
            "{{key}}": 1,
            "tags": ["vip", "{{tier}}"],
            "nested": {"flag": true, "note": null}
        }))
        .unwrap();
        assert_eq!(payload.variables(), vec!["tier", "name"]);
        assert_eq!(
            payload
                .render(&vars(&[("name", "Ann"), ("tier", "gold")]))
                .unwrap(),
            json!({"user": "Ann", "{{key}}": 1, "tags": ["vip", "gold"],
                   "nested": {"flag": true, "note": null}})
        );
        assert_eq!(
            payload.render(&vars(&[("name", "Ann")])),
            Err(MissingVariable("tier".into()))
        );
        assert!(PayloadTemplate::parse(json!({"a": ["{{"]})).is_err());
        assert!(serde_json::from_value::<PayloadTemplate>(json!({"a": "{{"})).is_err());
        let stored = serde_json::to_value(&payload).unwrap();
        assert_eq!(
            serde_json::from_value::<PayloadTemplate>(stored).unwrap(),
            payload
        );
    }
}
