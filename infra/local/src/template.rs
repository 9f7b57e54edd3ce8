//! Reading `template.yaml`: resources, parameters, function globals, and the CloudFormation
//! intrinsics the template uses (`!Ref`, `!GetAtt X.Attr`, `!Sub "…"`), resolved against the
//! local physical names. Conditions (`!Equals`, `!Not`, `!And`, `!Or` over parameters) are
//! evaluated with the parameters' defaults when the template is parsed, and each `!If` is
//! replaced by its chosen branch (`!Ref AWS::NoValue` drops the property).

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
        let conditions = evaluate_conditions(root.get("Conditions"), &parameters)?;
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
                    properties: choose_branches(
                        body.get("Properties")
                            .unwrap_or(&Value::Mapping(Mapping::new())),
                        &conditions,
                    )?
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

/// Every condition of `Conditions`, evaluated with `parameters`.
fn evaluate_conditions(
    conditions: Option<&Value>,
    parameters: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, bool>, TemplateError> {
    let definitions = conditions
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    let mut values = BTreeMap::new();
    for (name, _) in &definitions {
        let name = name
            .as_str()
            .ok_or_else(|| TemplateError::Unsupported("non-string condition name".into()))?;
        let value = condition(name, &definitions, parameters, 0)?;
        values.insert(name.to_owned(), value);
    }
    Ok(values)
}

/// The value of the condition `name` (`depth` guards against cycles).
fn condition(
    name: &str,
    definitions: &Mapping,
    parameters: &BTreeMap<String, String>,
    depth: usize,
) -> Result<bool, TemplateError> {
    let unsupported =
        |what: String| TemplateError::Unsupported(format!("condition {name}: {what}"));
    if depth > 16 {
        return Err(unsupported(
            "conditions refer to each other in a cycle".into(),
        ));
    }
    let definition = definitions
        .get(name)
        .ok_or_else(|| unsupported("not defined".into()))?;
    condition_value(definition, definitions, parameters, depth).map_err(|e| match e {
        TemplateError::Unsupported(what) if !what.starts_with("condition ") => unsupported(what),
        other => other,
    })
}

fn condition_value(
    value: &Value,
    definitions: &Mapping,
    parameters: &BTreeMap<String, String>,
    depth: usize,
) -> Result<bool, TemplateError> {
    let Value::Tagged(tagged) = value else {
        return Err(TemplateError::Unsupported(format!(
            "{value:?} is not a condition function"
        )));
    };
    let tag = tagged.tag.to_string();
    let operands = || {
        tagged
            .value
            .as_sequence()
            .ok_or_else(|| TemplateError::Unsupported(format!("{tag} needs a list of operands")))
    };
    let nested = |operand: &Value| condition_value(operand, definitions, parameters, depth + 1);
    match tag.as_str() {
        "!Equals" => match operands()?.as_slice() {
            [left, right] => Ok(operand(left, parameters)? == operand(right, parameters)?),
            _ => Err(TemplateError::Unsupported(
                "!Equals needs two operands".into(),
            )),
        },
        "!Not" => match operands()?.as_slice() {
            [inner] => Ok(!nested(inner)?),
            _ => Err(TemplateError::Unsupported("!Not needs one operand".into())),
        },
        "!And" => operands()?
            .iter()
            .try_fold(true, |all, c| Ok(all & nested(c)?)),
        "!Or" => operands()?
            .iter()
            .try_fold(false, |any, c| Ok(any | nested(c)?)),
        "!Condition" => {
            let name = tagged.value.as_str().unwrap_or_default();
            condition(name, definitions, parameters, depth + 1)
        }
        other => Err(TemplateError::Unsupported(format!(
            "{other} is not supported in conditions locally"
        ))),
    }
}

/// An operand of `!Equals`: a literal or `!Ref` of a parameter.
fn operand(value: &Value, parameters: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "!Ref" => {
            let name = tagged.value.as_str().unwrap_or_default();
            parameters.get(name).cloned().ok_or_else(|| {
                TemplateError::Unsupported(format!("!Equals: {name} is not a parameter"))
            })
        }
        other => scalar(other).ok_or_else(|| {
            TemplateError::Unsupported(format!("!Equals operand {other:?} (a literal or !Ref)"))
        }),
    }
}

/// `value` with each `!If [condition, then, else]` replaced by its branch; `None` when the
/// whole value is `!Ref AWS::NoValue` (a property or list item that is left out).
fn choose_branches(
    value: &Value,
    conditions: &BTreeMap<String, bool>,
) -> Result<Option<Value>, TemplateError> {
    Ok(match value {
        Value::Tagged(tagged) if tagged.tag == "!If" => {
            let (name, then, otherwise) = match tagged.value.as_sequence().map(Vec::as_slice) {
                Some([name, then, otherwise]) => {
                    (name.as_str().unwrap_or_default(), then, otherwise)
                }
                _ => {
                    return Err(TemplateError::Unsupported(
                        "!If needs [condition, value if true, value if false]".into(),
                    ));
                }
            };
            let chosen = conditions
                .get(name)
                .ok_or_else(|| TemplateError::Unsupported(format!("!If: no condition {name}")))?;
            return choose_branches(if *chosen { then } else { otherwise }, conditions);
        }
        Value::Tagged(tagged)
            if tagged.tag == "!Ref" && tagged.value.as_str() == Some("AWS::NoValue") =>
        {
            None
        }
        Value::Mapping(mapping) => {
            let mut chosen = Mapping::new();
            for (key, item) in mapping {
                if let Some(item) = choose_branches(item, conditions)? {
                    chosen.insert(key.clone(), item);
                }
            }
            Some(Value::Mapping(chosen))
        }
        Value::Sequence(items) => {
            let mut chosen = Vec::new();
            for item in items {
                chosen.extend(choose_branches(item, conditions)?);
            }
            Some(Value::Sequence(chosen))
        }
        other => Some(other.clone()),
    })
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

    const CONDITIONAL: &str = r#"
Parameters:
  Reserved:
    Type: Number
    Default: 0
  Name:
    Type: String
    Default: x
Conditions:
  Reserve: !Not [!Equals [!Ref Reserved, "0"]]
  Named: !And [!Equals [!Ref Name, x], !Or [!Condition Reserve, !Equals [a, a]]]
Resources:
  Function:
    Type: AWS::Serverless::Function
    Properties:
      Reserved: !If [Reserve, !Ref Reserved, !Ref AWS::NoValue]
      Name: !If [Named, yes, no]
      List:
        - !If [Reserve, a, !Ref AWS::NoValue]
        - b
"#;

    #[test]
    fn conditions_choose_branches_with_the_parameter_defaults() {
        let template = Template::parse(CONDITIONAL).unwrap();
        let properties = &template.resources["Function"].properties;
        assert!(properties.get("Reserved").is_none());
        assert_eq!(properties["Name"].as_str(), Some("yes"));
        assert_eq!(
            properties["List"],
            serde_yaml_ng::from_str::<Value>("[b]").unwrap()
        );
        let reserved = Template::parse(&CONDITIONAL.replace("Default: 0", "Default: 10")).unwrap();
        let properties = &reserved.resources["Function"].properties;
        assert_eq!(
            references(&properties["Reserved"]),
            BTreeSet::from(["Reserved".to_owned()])
        );
        assert!(Template::parse(&CONDITIONAL.replace("[Reserve, a", "[Missing, a")).is_err());
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
