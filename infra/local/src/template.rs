//! Reading `template.yaml`: resources, parameters, function globals, and the CloudFormation
//! intrinsics the template uses (`!Ref`, `!GetAtt X.Attr`, `!Sub "…"`), resolved against the
//! local physical names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

/// Account id and region the local endpoint reports in ARNs.
pub const LOCAL_ACCOUNT: &str = "123456789012";
pub const LOCAL_PARTITION: &str = "aws";

/// The template could not be read or uses something the local stack does not support.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("template.yaml: {0}")]
    Unsupported(String),
}

/// One resource of the template.
#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: String,
    pub properties: Value,
    pub metadata: Value,
}

/// The parts of the template the local stack uses.
#[derive(Debug, Clone)]
pub struct Template {
    /// Parameter name → default value.
    pub parameters: BTreeMap<String, String>,
    /// `Globals.Function` (merged into every function).
    pub function_globals: Value,
    pub resources: BTreeMap<String, Resource>,
}

impl Template {
    /// Reads and parses a template file.
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|error| TemplateError::Read {
            path: path.display().to_string(),
            error,
        })?;
        Self::parse(&text)
    }

    /// Parses template text.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let root: Value = serde_yaml_ng::from_str(text)?;
        let parameters = root
            .get("Parameters")
            .and_then(Value::as_mapping)
            .map(|params| {
                params
                    .iter()
                    .filter_map(|(name, spec)| {
                        Some((name.as_str()?.to_owned(), scalar(spec.get("Default")?)?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let function_globals = root
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .cloned()
            .unwrap_or(Value::Mapping(Mapping::new()));
        let mut resources = BTreeMap::new();
        for (name, body) in root
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| TemplateError::Unsupported("no Resources".into()))?
        {
            let name = name
                .as_str()
                .ok_or_else(|| TemplateError::Unsupported("non-string resource id".into()))?;
            let kind = body
                .get("Type")
                .and_then(Value::as_str)
                .ok_or_else(|| TemplateError::Unsupported(format!("{name} has no Type")))?;
            resources.insert(
                name.to_owned(),
                Resource {
                    kind: kind.to_owned(),
                    properties: body
                        .get("Properties")
                        .cloned()
                        .unwrap_or(Value::Mapping(Mapping::new())),
                    metadata: body.get("Metadata").cloned().unwrap_or(Value::Null),
                },
            );
        }
        Ok(Self {
            parameters,
            function_globals,
            resources,
        })
    }

    /// Resource ids of `kind`, in name order.
    pub fn resources_of<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Resource)> {
        self.resources
            .iter()
            .filter(move |(_, r)| r.kind == kind)
            .map(|(name, r)| (name.as_str(), r))
    }
}

/// A scalar as text (numbers and booleans included).
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What a created resource answers to `!Ref` and `!GetAtt`.
#[derive(Debug, Clone, Default)]
pub struct Physical {
    pub reference: String,
    pub attributes: BTreeMap<String, String>,
}

/// Resolves intrinsics against the resources created so far.
#[derive(Debug, Clone)]
pub struct Resolver {
    pub stack_name: String,
    pub region: String,
    pub parameters: BTreeMap<String, String>,
    pub physical: BTreeMap<String, Physical>,
}

impl Resolver {
    /// `value` with every intrinsic replaced by its local value.
    pub fn resolve(&self, value: &Value) -> Result<Value, TemplateError> {
        Ok(match value {
            Value::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                let argument = tagged.value.as_str().ok_or_else(|| {
                    TemplateError::Unsupported(format!("{tag} needs a string argument"))
                })?;
                Value::String(match tag.as_str() {
                    "!Ref" => self.reference(argument)?,
                    "!GetAtt" => self.attribute(argument)?,
                    "!Sub" => self.substitute(argument)?,
                    other => {
                        return Err(TemplateError::Unsupported(format!(
                            "intrinsic {other} is not supported locally"
                        )));
                    }
                })
            }
            Value::Mapping(mapping) => Value::Mapping(
                mapping
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
                    .collect::<Result<Mapping, TemplateError>>()?,
            ),
            Value::Sequence(items) => Value::Sequence(
                items
                    .iter()
                    .map(|v| self.resolve(v))
                    .collect::<Result<_, _>>()?,
            ),
            other => other.clone(),
        })
    }

    fn reference(&self, name: &str) -> Result<String, TemplateError> {
        match name {
            "AWS::StackName" => return Ok(self.stack_name.clone()),
            "AWS::Region" => return Ok(self.region.clone()),
            "AWS::AccountId" => return Ok(LOCAL_ACCOUNT.to_owned()),
            "AWS::Partition" => return Ok(LOCAL_PARTITION.to_owned()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".to_owned()),
            _ => {}
        }
        if let Some(value) = self.parameters.get(name) {
            return Ok(value.clone());
        }
        self.physical
            .get(name)
            .map(|p| p.reference.clone())
            .ok_or_else(|| {
                TemplateError::Unsupported(format!("!Ref {name}: not provisioned locally"))
            })
    }

    fn attribute(&self, argument: &str) -> Result<String, TemplateError> {
        let (name, attribute) = argument.split_once('.').ok_or_else(|| {
            TemplateError::Unsupported(format!("!GetAtt {argument}: use Resource.Attribute"))
        })?;
        self.physical
            .get(name)
            .and_then(|p| p.attributes.get(attribute))
            .cloned()
            .ok_or_else(|| {
                TemplateError::Unsupported(format!("!GetAtt {argument}: not provisioned locally"))
            })
    }

    fn substitute(&self, text: &str) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| TemplateError::Unsupported(format!("!Sub {text}: unclosed ${{")))?
                + start;
            let name = &rest[start + 2..end];
            out.push_str(&if name.contains('.') {
                self.attribute(name)?
            } else {
                self.reference(name)?
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Logical ids `value` refers to through intrinsics (for creation order).
pub fn references(value: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    collect_references(value, &mut found);
    found
}

fn collect_references(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Tagged(tagged) => {
            let argument = tagged.value.as_str().unwrap_or_default();
            match tagged.tag.to_string().as_str() {
                "!Ref" => {
                    found.insert(argument.to_owned());
                }
                "!GetAtt" => {
                    found.insert(argument.split('.').next().unwrap_or_default().to_owned());
                }
                "!Sub" => {
                    for piece in argument.split("${").skip(1) {
                        let name = piece.split('}').next().unwrap_or_default();
                        found.insert(name.split('.').next().unwrap_or_default().to_owned());
                    }
                }
                _ => {}
            }
        }
        Value::Mapping(mapping) => mapping.values().for_each(|v| collect_references(v, found)),
        Value::Sequence(items) => items.iter().for_each(|v| collect_references(v, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Shards:
    Type: Number
    Default: 16
Globals:
  Function:
    Environment:
      Variables:
        TABLE: !Ref Table
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dlq.Arn
      Name: !Sub "${AWS::StackName}-q-${Table.Arn}-${Shards}"
"#;

    #[test]
    fn parses_and_resolves_intrinsics() {
        let template = Template::parse(TEMPLATE).unwrap();
        assert_eq!(template.parameters["Shards"], "16");
        let queue = &template.resources["Queue"];
        assert_eq!(
            references(&queue.properties),
            BTreeSet::from([
                "Dlq".to_owned(),
                "AWS::StackName".to_owned(),
                "Table".to_owned(),
                "Shards".to_owned()
            ])
        );
        let resolver = Resolver {
            stack_name: "s".into(),
            region: "us-east-1".into(),
            parameters: template.parameters.clone(),
            physical: BTreeMap::from([
                (
                    "Dlq".to_owned(),
                    Physical {
                        reference: "url".into(),
                        attributes: BTreeMap::from([("Arn".to_owned(), "arn:dlq".to_owned())]),
                    },
                ),
                (
                    "Table".to_owned(),
                    Physical {
                        reference: "t".into(),
                        attributes: BTreeMap::from([("Arn".to_owned(), "arn:t".to_owned())]),
                    },
                ),
            ]),
        };
        let resolved = resolver.resolve(&queue.properties).unwrap();
        assert_eq!(
            resolved["RedrivePolicy"]["deadLetterTargetArn"].as_str(),
            Some("arn:dlq")
        );
        assert_eq!(resolved["Name"].as_str(), Some("s-q-arn:t-16"));
        let env = resolver.resolve(&template.function_globals).unwrap();
        assert_eq!(env["Environment"]["Variables"]["TABLE"].as_str(), Some("t"));
    }

    #[test]
    fn unknown_references_are_errors_not_empty_strings() {
        let template = Template::parse(TEMPLATE).unwrap();
        let resolver = Resolver {
            stack_name: "s".into(),
            region: "us-east-1".into(),
            parameters: BTreeMap::new(),
            physical: BTreeMap::new(),
        };
        assert!(
            resolver
                .resolve(&template.resources["Queue"].properties)
                .is_err()
        );
    }
}
