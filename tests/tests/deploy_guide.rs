//! The deploy guide (`docs/deploy.md`) against what it describes, from the files alone: its
//! parameter table has every parameter of `template.yaml` with its default (empty for none)
//! and no other; it names every output; every `make <target>` it (or the README's deploy
//! section) tells users to run is a target of the Makefile; and the tools `make package`
//! installs are pinned exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_yaml_ng::Value;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repository().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `template.yaml` with its tags (`!Ref`, …) read as plain values.
fn template() -> Value {
    serde_yaml_ng::from_str(&read("template.yaml")).expect("template.yaml parses")
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Null => String::new(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// The guide's parameter table: parameter → default as written (backticks removed, `empty`
/// as the empty string).
fn documented_parameters(guide: &str) -> BTreeMap<String, String> {
    let section = guide
        .split("### Parameters")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .expect("a Parameters section");
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let default = cells[2].trim_matches('`');
            (
                cells[1].trim_matches('`').to_owned(),
                if default == "empty" { "" } else { default }.to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_parameter_is_documented_with_its_default() {
    let template = template();
    let Value::Mapping(parameters) = &template["Parameters"] else {
        panic!("template.yaml has Parameters");
    };
    let expected: BTreeMap<String, String> = parameters
        .iter()
        .map(|(name, parameter)| (scalar(name), scalar(&parameter["Default"])))
        .collect();
    assert_eq!(documented_parameters(&read("docs/deploy.md")), expected);
}

#[test]
fn every_output_is_named() {
    let guide = read("docs/deploy.md");
    let template = template();
    let Value::Mapping(outputs) = &template["Outputs"] else {
        panic!("template.yaml has Outputs");
    };
    let missing: Vec<String> = outputs
        .keys()
        .map(scalar)
        .filter(|name| !guide.contains(&format!("`{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "outputs not in docs/deploy.md: {missing:?}"
    );
}

/// Every `make <target>` command in `text`: in inline code (`` `make package` ``) or at the
/// start of a line (a code block).
fn make_targets(text: &str) -> BTreeSet<String> {
    let inline = text.split("`make ").skip(1);
    let in_blocks = text
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("make "));
    inline
        .chain(in_blocks)
        .filter_map(|rest| rest.split(|c: char| c.is_whitespace() || c == '`').next())
        .filter(|target| {
            !target.is_empty() && target.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_guide_runs_only_targets_the_makefile_has() {
    let makefile = read("Makefile");
    let defined: BTreeSet<String> = makefile
        .lines()
        .filter_map(|line| line.split_once(':').map(|(name, _)| name))
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .map(str::to_owned)
        .collect();
    let readme = read("README.md");
    let deploy_section = readme
        .split("## Deploy to AWS")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the README's deploy section");
    let used: BTreeSet<String> = make_targets(&read("docs/deploy.md"))
        .union(&make_targets(deploy_section))
        .cloned()
        .collect();
    assert!(
        used.contains("package") && used.contains("validate-template"),
        "{used:?}"
    );
    let unknown: Vec<&String> = used.difference(&defined).collect();
    assert!(unknown.is_empty(), "not Makefile targets: {unknown:?}");
}

#[test]
fn the_packaging_tools_are_pinned_exactly() {
    for file in [
        "infra/sam-requirements.txt",
        "infra/package-requirements.txt",
    ] {
        let requirements: Vec<String> = read(file)
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with("-r"))
            .map(str::to_owned)
            .collect();
        assert!(!requirements.is_empty(), "{file}");
        for requirement in requirements {
            assert!(
                requirement.contains("=="),
                "{file}: {requirement} is not pinned"
            );
        }
    }
    assert!(read("infra/package-requirements.txt").contains("-r sam-requirements.txt"));
}
