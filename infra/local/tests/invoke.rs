//! `make invoke` as a user runs it: the real `invoke` binary against the emulator. Its stdout
//! must be the function's JSON answer alone (pipeable into `jq`), and a bad request must be
//! Lambda's error payload with a failing exit code, not a sweep.

use std::process::{Command, Output};

fn invoke(stack: &str, event: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_invoke"))
        .args(["SweeperFunction", event])
        .env("LOCAL_STACK_NAME", stack)
        .env("RUST_LOG", "debug")
        .output()
        .expect("the invoke binary runs")
}

#[test]
fn prints_only_json_on_stdout_and_refuses_unknown_fields() {
    let stack = format!("invoke-test-{}", std::process::id());

    let ok = invoke(&stack, r#"{"dryRun": true}"#);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let answer: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {stdout}"));
    assert_eq!(answer["dryRun"], true);
    assert!(answer["runId"].is_string());

    let typo = invoke(&stack, r#"{"dry_run": true}"#);
    let stdout = String::from_utf8_lossy(&typo.stdout);
    assert!(!typo.status.success(), "a typo must fail: {stdout}");
    let error: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not Lambda's error payload ({e}): {stdout}"));
    assert_eq!(error["errorType"], "BadRequest");
    assert!(
        error["errorMessage"].as_str().unwrap().contains("dry_run"),
        "{error}"
    );
}
