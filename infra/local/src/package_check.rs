//! The check `make package` runs after `sam build`: the built stack is the template's. Every
//! `AWS::Serverless::Function` of `template.yaml` must be in the built template
//! (`.aws-sam/build/template.yaml`) under the same logical id, with its `CodeUri` pointing at
//! its own build directory, and nothing else; each build directory must hold an executable
//! `bootstrap` that is an ELF binary for the template's architecture (`Globals.Function.
//! Architectures`: arm64 → `EM_AARCH64`, x86_64 → `EM_X86_64`), the binary that
//! `Metadata.BuildProperties.Binary` names.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml_ng::Value;

use crate::template::{Template, scalar};

const FUNCTION: &str = "AWS::Serverless::Function";
/// ELF `e_machine` values (System V ABI).
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

/// One built function, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltFunction {
    pub logical_id: String,
    /// The cargo binary the template names.
    pub binary: String,
    /// Size of the built `bootstrap`, bytes.
    pub bootstrap_bytes: u64,
}

/// Compares `built_dir` (`.aws-sam/build`) with `template`; every problem is listed.
pub fn check(template: &Template, built_dir: &Path) -> Result<Vec<BuiltFunction>, Vec<String>> {
    let mut problems = Vec::new();
    let expected: BTreeMap<&str, &crate::template::Resource> =
        template.resources_of(FUNCTION).collect();
    let machine = match architecture(template).as_deref() {
        Some("arm64") => EM_AARCH64,
        Some("x86_64") | None => EM_X86_64,
        Some(other) => {
            problems.push(format!("Globals.Function.Architectures: unknown {other}"));
            EM_X86_64
        }
    };
    let built = match built_functions(&built_dir.join("template.yaml")) {
        Ok(built) => built,
        Err(problem) => return Err(vec![format!("the built template: {problem}")]),
    };
    let built_functions: BTreeMap<&str, &Value> =
        built.iter().map(|(id, uri)| (id.as_str(), uri)).collect();
    for id in built_functions.keys() {
        if !expected.contains_key(id) {
            problems.push(format!("{id} is built but not in template.yaml"));
        }
    }
    let mut found = Vec::new();
    for (id, resource) in &expected {
        let binary = scalar(&resource.metadata["BuildProperties"]["Binary"]).unwrap_or_default();
        if binary.is_empty() {
            problems.push(format!("{id}: no Metadata.BuildProperties.Binary"));
        }
        let Some(built) = built_functions.get(id) else {
            problems.push(format!("{id} is in template.yaml but not built"));
            continue;
        };
        let code_uri = scalar(built).unwrap_or_default();
        if code_uri != *id {
            problems.push(format!(
                "{id}: the built CodeUri is {code_uri:?}, not its build directory"
            ));
        }
        let bootstrap = built_dir.join(id).join("bootstrap");
        match inspect(&bootstrap, machine) {
            Ok(bytes) => found.push(BuiltFunction {
                logical_id: (*id).to_owned(),
                binary,
                bootstrap_bytes: bytes,
            }),
            Err(problem) => problems.push(format!("{id}: {problem}")),
        }
    }
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(problems)
    }
}

/// The functions of the built template (SAM writes its intrinsics in long form, `Fn::Not`,
/// which [`Template`] does not read): logical id → `CodeUri`.
fn built_functions(path: &Path) -> Result<Vec<(String, Value)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let document: Value = serde_yaml_ng::from_str(&text).map_err(|e| e.to_string())?;
    let resources = match &document["Resources"] {
        Value::Mapping(resources) => resources,
        Value::Null => return Ok(Vec::new()),
        _ => return Err("Resources is not a mapping".into()),
    };
    Ok(resources
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(FUNCTION))
        .filter_map(|(id, resource)| {
            Some((
                id.as_str()?.to_owned(),
                resource["Properties"]["CodeUri"].clone(),
            ))
        })
        .collect())
}

/// `Globals.Function.Architectures[0]`.
/// The template's `Globals.Function.Architectures` (its first entry).
pub fn architecture(template: &Template) -> Option<String> {
    match &template.function_globals["Architectures"] {
        Value::Sequence(items) => items.first().and_then(scalar),
        _ => None,
    }
}

/// The size of `path` if it is an executable ELF file for `machine`.
fn inspect(path: &Path, machine: u16) -> Result<u64, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    elf_machine(&bytes)
        .ok_or_else(|| format!("{} is not an ELF binary", path.display()))
        .and_then(|found| {
            if found == machine {
                Ok(())
            } else {
                Err(format!(
                    "{} is built for ELF machine {found}, not {machine}",
                    path.display()
                ))
            }
        })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| e.to_string())?
            .permissions()
            .mode();
        if mode & 0o111 == 0 {
            return Err(format!("{} is not executable", path.display()));
        }
    }
    Ok(bytes.len() as u64)
}

/// The `e_machine` of a little-endian ELF header.
fn elf_machine(bytes: &[u8]) -> Option<u16> {
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" || bytes[5] != 1 {
        return None;
    }
    Some(u16::from_le_bytes([bytes[18], bytes[19]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Globals:
  Function:
    Architectures:
      - arm64
Resources:
  ApiFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: api
    Properties:
      CodeUri: functions/api
  Table:
    Type: AWS::DynamoDB::Table
    Properties: {}
"#;

    fn elf(machine: u16) -> Vec<u8> {
        let mut bytes = vec![0u8; 64];
        bytes[..4].copy_from_slice(b"\x7fELF");
        bytes[4] = 2;
        bytes[5] = 1;
        bytes[18..20].copy_from_slice(&machine.to_le_bytes());
        bytes
    }

    /// A build directory with the built template `built` and `bootstraps`.
    fn build_dir(built: &str, bootstraps: &[(&str, Vec<u8>)]) -> tempdir::Dir {
        let dir = tempdir::Dir::new();
        std::fs::write(dir.path().join("template.yaml"), built).unwrap();
        for (id, bytes) in bootstraps {
            std::fs::create_dir_all(dir.path().join(id)).unwrap();
            let path = dir.path().join(id).join("bootstrap");
            std::fs::write(&path, bytes).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        dir
    }

    /// A built template as SAM writes it: long-form intrinsics (which `Template` does not
    /// read) and `CodeUri` rewritten to the build directory.
    fn built_template(functions: &[&str]) -> String {
        let mut text = String::from(
            "Conditions:\n  Reserve:\n    Fn::Not:\n    - Fn::Equals:\n      - Ref: P\n      - '0'\nResources:\n",
        );
        for id in functions {
            text.push_str(&format!(
                "  {id}:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: {id}\n"
            ));
        }
        text
    }

    #[test]
    fn a_build_of_every_function_for_the_architecture_passes() {
        let template = Template::parse(TEMPLATE).unwrap();
        let dir = build_dir(
            &built_template(&["ApiFunction"]),
            &[("ApiFunction", elf(EM_AARCH64))],
        );
        assert_eq!(
            check(&template, dir.path()),
            Ok(vec![BuiltFunction {
                logical_id: "ApiFunction".into(),
                binary: "api".into(),
                bootstrap_bytes: 64,
            }])
        );
    }

    #[test]
    fn a_missing_an_extra_or_a_foreign_binary_is_named() {
        let template = Template::parse(TEMPLATE).unwrap();
        let wrong_arch = build_dir(
            &built_template(&["ApiFunction"]),
            &[("ApiFunction", elf(EM_X86_64))],
        );
        let problems = check(&template, wrong_arch.path()).unwrap_err();
        assert!(
            problems[0].contains("ELF machine 62, not 183"),
            "{problems:?}"
        );

        let extra = build_dir(
            &built_template(&["ApiFunction", "OldFunction"]),
            &[("ApiFunction", elf(EM_AARCH64))],
        );
        assert_eq!(
            check(&template, extra.path()).unwrap_err(),
            vec!["OldFunction is built but not in template.yaml".to_owned()]
        );

        let missing = build_dir(&built_template(&[]), &[]);
        assert_eq!(
            check(&template, missing.path()).unwrap_err(),
            vec!["ApiFunction is in template.yaml but not built".to_owned()]
        );

        let not_elf = build_dir(
            &built_template(&["ApiFunction"]),
            &[("ApiFunction", b"#!/bin/sh\n".to_vec())],
        );
        assert!(check(&template, not_elf.path()).unwrap_err()[0].contains("is not an ELF binary"));
    }

    /// A temporary directory removed on drop.
    mod tempdir {
        use std::path::{Path, PathBuf};

        pub(super) struct Dir(PathBuf);

        impl Dir {
            pub(super) fn new() -> Self {
                let path =
                    std::env::temp_dir().join(format!("package-check-{}", uuid::Uuid::new_v4()));
                std::fs::create_dir_all(&path).unwrap();
                Self(path)
            }

            pub(super) fn path(&self) -> &Path {
                &self.0
            }
        }

        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }
}
