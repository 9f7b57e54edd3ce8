//! `campaignctl` itself, run as a process against the local stack: the API served by the
//! local runtime behind its SigV4 gate (as API Gateway), Lambda's Invoke API served locally,
//! credentials from a shared-credentials file as `make local` writes it. Checks what a script
//! relies on: the JSON, the tables and the exit codes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Output;

use integration_tests::{LocalRun, TestStack};
use local_stack::aws_env;
use local_stack::credentials;
use serde_json::Value;

/// A running local API and the files and endpoints the CLI is given.
struct Local {
    api: SocketAddr,
    lambda: String,
    credentials: PathBuf,
    /// The runtime serving the API (dropping it stops the API).
    running: LocalRun,
}

async fn serve(stack: &TestStack) -> Local {
    let keys = credentials::generate();
    let dir = std::env::temp_dir().join(format!("campaignctl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let credentials_file = dir.join("credentials");
    std::fs::write(&credentials_file, credentials::render(&keys)).expect("credentials written");
    let (api, running) = stack.serve_gated_api(&keys).await;
    let lambda = stack.serve_lambda_api().await;
    Local {
        api,
        lambda,
        credentials: credentials_file,
        running,
    }
}

impl Local {
    /// Runs `campaignctl args…` as `profile`; answers its exit code, stdout and stderr.
    async fn run(&self, profile: &str, args: &[&str]) -> (i32, String, String) {
        let binary = env!("CARGO_BIN_EXE_campaignctl");
        let mut command = tokio::process::Command::new(binary);
        command
            .args(args)
            .env("AWS_SHARED_CREDENTIALS_FILE", &self.credentials)
            .env("AWS_CONFIG_FILE", self.credentials.with_file_name("config"))
            .env("AWS_PROFILE", profile)
            .env("AWS_REGION", aws_env::region())
            .env("CAMPAIGNCTL_ENDPOINT", format!("http://{}", self.api))
            .env("CAMPAIGNCTL_LAMBDA_ENDPOINT", &self.lambda)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN");
        let Output {
            status,
            stdout,
            stderr,
        } = command.output().await.expect("campaignctl runs");
        (
            status.code().unwrap_or(-1),
            String::from_utf8_lossy(&stdout).into_owned(),
            String::from_utf8_lossy(&stderr).into_owned(),
        )
    }

    /// Runs a command that must succeed with `--json`; answers its JSON.
    async fn json(&self, profile: &str, args: &[&str]) -> Value {
        let mut with_json = args.to_vec();
        with_json.push("--json");
        let (code, stdout, stderr) = self.run(profile, &with_json).await;
        assert_eq!(code, 0, "campaignctl {args:?}: {stderr}");
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
    }
}

const OPERATOR: &str = "campaign-operator";
const ADMIN: &str = "campaign-admin";

#[tokio::test]
async fn campaignctl_drives_the_local_stack_with_tables_json_and_exit_codes() {
    let stack = TestStack::new().await;
    let local = serve(&stack).await;
    let now = chrono::Utc::now();
    let file = local.credentials.with_file_name("campaign.yaml");
    std::fs::write(
        &file,
        format!(
            "name: CLI spring sale\nstartAt: {}\nendAt: {}\n",
            (now + chrono::Duration::hours(1)).to_rfc3339(),
            (now + chrono::Duration::hours(2)).to_rfc3339()
        ),
    )
    .unwrap();

    // An operator creates from YAML, reads it back, finds it in a table.
    let created = local
        .json(
            OPERATOR,
            &["campaigns", "create", "-f", file.to_str().unwrap()],
        )
        .await;
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(created["status"], "SCHEDULED");
    let read = local.json(OPERATOR, &["campaigns", "get", &id]).await;
    assert_eq!(read["name"], "CLI spring sale");
    let (code, table, _) = local
        .run(
            OPERATOR,
            &["campaigns", "list", "--status", "SCHEDULED", "--all"],
        )
        .await;
    assert_eq!(code, 0);
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table
            .lines()
            .any(|line| line.starts_with(&id) && line.contains("CLI spring sale")),
        "{table}"
    );

    // Exit codes scripts rely on.
    let (code, _, stderr) = local
        .run(OPERATOR, &["campaigns", "get", "no-such-campaign"])
        .await;
    assert_eq!(code, 3, "not found: {stderr}");
    let (code, _, stderr) = local.run(OPERATOR, &["breakers", "reset", "sqs"]).await;
    assert_eq!(code, 5, "an operator may not reset a breaker: {stderr}");
    assert!(stderr.contains("403"), "{stderr}");
    let cancelled = local.json(OPERATOR, &["campaigns", "cancel", &id]).await;
    assert_eq!(cancelled["status"], "CANCELLED");
    let (code, _, stderr) = local.run(OPERATOR, &["campaigns", "cancel", &id]).await;
    assert_eq!(code, 4, "cancelling twice is refused: {stderr}");
    assert!(stderr.contains("ILLEGAL_TRANSITION"), "{stderr}");
    let (code, _, stderr) = local
        .run(
            OPERATOR,
            &["--endpoint", "http://127.0.0.1:9", "campaigns", "get", &id],
        )
        .await;
    assert_eq!(code, 7, "unreachable: {stderr}");

    // An admin's routes and a function run by hand.
    let breaker = local.json(ADMIN, &["breakers", "reset", "sqs"]).await;
    assert_eq!(breaker["state"], "CLOSED");
    let queues = local.json(ADMIN, &["dlq", "list"]).await;
    assert!(
        queues["queues"]
            .as_array()
            .is_some_and(|q| q.iter().any(|q| q["name"] == "timers")),
        "{queues}"
    );
    let report = local.json(ADMIN, &["invoke", "sweeper", "--dry-run"]).await;
    assert_eq!(report["dryRun"], true, "{report}");
    let (code, script, _) = local.run(ADMIN, &["completions", "bash"]).await;
    assert_eq!(code, 0);
    assert!(script.contains("campaignctl"));

    local.running.stop().await;
}
