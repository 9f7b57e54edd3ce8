//! The crate map of `docs/architecture.md`, enforced from what cargo resolves (no emulator):
//! which workspace crate may depend on which, that the I/O-free core pulls in no AWS SDK,
//! async runtime or HTTP stack, and that the functions as built alone (what `sam build` does)
//! leave the `testing` feature of `lifecycle-adapters` off.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const DOMAIN: &str = "lifecycle-domain";
const TELEMETRY: &str = "lifecycle-telemetry";
const RESILIENCE: &str = "lifecycle-resilience";
const ADAPTERS: &str = "lifecycle-adapters";
const DELIVERY: &str = "lifecycle-delivery";
const SHARED: &[&str] = &[DOMAIN, TELEMETRY, RESILIENCE, ADAPTERS];
const FUNCTIONS: &[&str] = &[
    "api",
    "timer-dispatcher",
    "timer-executor",
    "sweeper",
    "alert-fanout",
];

/// The workspace crates each crate may have as normal dependencies; `None`: any of them.
/// Mirrors "Crate map" in docs/architecture.md.
fn allowed() -> BTreeMap<&'static str, Option<Vec<&'static str>>> {
    let mut map = BTreeMap::from([
        (DOMAIN, Some(vec![])),
        (TELEMETRY, Some(vec![DOMAIN])),
        (RESILIENCE, Some(vec![DOMAIN, TELEMETRY])),
        (
            ADAPTERS,
            Some(vec![DOMAIN, TELEMETRY, RESILIENCE, "api-signing"]),
        ),
        (DELIVERY, Some(vec![DOMAIN])),
        ("iam-policy", Some(vec![])),
        ("api-signing", Some(vec![])),
        ("campaignctl", Some(vec!["api-signing"])),
        ("local-stack", None),
        ("integration-tests", None),
    ]);
    for function in FUNCTIONS {
        map.insert(function, Some(SHARED.to_vec()));
    }
    // The delivery functions also build on the delivery engine.
    let mut delivery_function = SHARED.to_vec();
    delivery_function.push(DELIVERY);
    map.insert("delivery-sender", Some(delivery_function.clone()));
    map.insert("delivery-planner", Some(delivery_function));
    map
}

/// Crate names the core's dependency closure must not contain: AWS SDKs, async runtimes,
/// Lambda runtimes, HTTP clients, servers and middleware.
fn forbidden_in_core(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "aws-", "aws_", "tokio", "lambda_", "hyper", "reqwest", "axum", "tower",
    ];
    name == "http" || PREFIXES.iter().any(|p| name.starts_with(p))
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

/// Runs cargo with `args` in the workspace root.
fn cargo(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(workspace_root())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("cargo prints UTF-8")
}

/// The host triple, e.g. `x86_64-unknown-linux-gnu`.
fn host() -> String {
    cargo(&["-vV"])
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("cargo -vV names the host")
        .to_owned()
}

/// `cargo metadata` for the host platform (other platforms' packages need not be downloaded).
fn metadata() -> Value {
    let host = host();
    let json = cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--filter-platform",
        &host,
    ]);
    serde_json::from_str(&json).expect("metadata JSON")
}

/// Package id → package, for every package in the resolve.
fn packages(metadata: &Value) -> BTreeMap<&str, &Value> {
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().expect("package id"), p))
        .collect()
}

fn workspace_members(metadata: &Value) -> BTreeMap<&str, &Value> {
    let packages = packages(metadata);
    metadata["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .map(|id| {
            let package = packages[id.as_str().expect("member id")];
            (package["name"].as_str().expect("name"), package)
        })
        .collect()
}

#[test]
fn workspace_crates_depend_only_on_what_the_crate_map_allows() {
    let metadata = metadata();
    let members = workspace_members(&metadata);
    let allowed = allowed();
    let names: BTreeSet<&str> = members.keys().copied().collect();
    assert_eq!(
        names,
        allowed.keys().copied().collect::<BTreeSet<_>>(),
        "every workspace crate, and only those, is in the crate map"
    );

    let mut violations = Vec::new();
    for (name, package) in &members {
        let uses: BTreeSet<&str> = package["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str())
            .filter(|d| names.contains(d))
            .collect();
        let Some(may) = &allowed[name] else {
            continue;
        };
        for dependency in uses {
            if !may.contains(&dependency) {
                violations.push(format!("{name} -> {dependency}"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "dependencies outside the crate map (docs/architecture.md): {violations:?}"
    );
}

/// Names in the normal-dependency closure of `root` in the resolve graph (`root` excluded).
fn normal_closure(metadata: &Value, root: &str) -> BTreeSet<String> {
    let packages = packages(metadata);
    let nodes: BTreeMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .map(|n| (n["id"].as_str().expect("node id"), n))
        .collect();
    let root_id = packages
        .iter()
        .find(|(_, p)| p["name"] == root)
        .map(|(id, _)| *id)
        .expect("root package");
    let mut seen = BTreeSet::new();
    let mut stack = vec![root_id];
    while let Some(id) = stack.pop() {
        for dep in nodes[id]["deps"].as_array().expect("deps") {
            let normal = dep["dep_kinds"]
                .as_array()
                .expect("dep_kinds")
                .iter()
                .any(|k| k["kind"].is_null());
            let dep_id = dep["pkg"].as_str().expect("dep pkg");
            if normal && seen.insert(dep_id) {
                stack.push(dep_id);
            }
        }
    }
    seen.into_iter()
        .map(|id| packages[id]["name"].as_str().expect("name").to_owned())
        .collect()
}

#[test]
fn the_core_pulls_in_no_aws_sdk_runtime_or_http_stack() {
    let closure = normal_closure(&metadata(), DOMAIN);
    // The walk found the core's real dependencies (a broken walk would pass vacuously).
    for expected in ["chrono", "serde", "serde_json", "uuid"] {
        assert!(
            closure.contains(expected),
            "{expected} missing: {closure:?}"
        );
    }
    let bad: Vec<&String> = closure.iter().filter(|n| forbidden_in_core(n)).collect();
    assert!(bad.is_empty(), "{DOMAIN} depends (transitively) on {bad:?}");

    // The same check on what `cargo tree -p lifecycle-domain -e normal` lists.
    let tree = cargo(&["tree", "-p", DOMAIN, "-e", "normal", "--prefix", "none"]);
    let listed: BTreeSet<&str> = tree.lines().filter_map(|l| l.split(' ').next()).collect();
    assert!(listed.contains("chrono"), "cargo tree printed:\n{tree}");
    let bad: Vec<&&str> = listed.iter().filter(|n| forbidden_in_core(n)).collect();
    assert!(
        bad.is_empty(),
        "cargo tree -p {DOMAIN} lists {bad:?}:\n{tree}"
    );
}

/// Whether `package`, resolved on its own (as `cargo build -p <package>` and `sam build` do),
/// turns on the `testing` feature of lifecycle-adapters.
fn enables_testing(package: &str) -> bool {
    let tree = cargo(&[
        "tree",
        "-p",
        package,
        "-e",
        "features,normal",
        "-i",
        ADAPTERS,
    ]);
    assert!(
        tree.contains(&format!("{ADAPTERS} feature \"default\"")),
        "{package} reaches {ADAPTERS}; cargo tree printed:\n{tree}"
    );
    tree.contains(&format!("{ADAPTERS} feature \"testing\""))
}

#[test]
fn functions_built_alone_leave_crash_points_and_fault_injection_out() {
    for function in FUNCTIONS {
        assert!(
            !enables_testing(function),
            "{function} built alone enables {ADAPTERS}/testing"
        );
    }
    // The harness does enable it: the check above can see the feature.
    assert!(enables_testing("local-stack"));
}
