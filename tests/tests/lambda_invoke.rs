//! Lambda's Invoke API of the local runtime, called with the AWS SDK's Lambda client as
//! `aws lambda invoke` calls it: the sweeper's report comes back for the deployed-style name,
//! a function error is flagged as Lambda flags it, an unknown function is
//! `ResourceNotFoundException`.

use aws_sdk_lambda::primitives::Blob;
use integration_tests::TestStack;
use local_stack::invocation::INVOCABLE;
use serde_json::Value;

const STACK: &str = "it-invoke";

#[tokio::test]
async fn aws_lambda_invoke_runs_the_sweeper_and_answers_like_lambda() {
    let stack = TestStack::new().await;
    let specs = stack
        .specs
        .iter()
        .filter(|spec| INVOCABLE.contains(&spec.binary.as_str()))
        .map(|spec| (spec.clone(), stack.function_clients(&spec.logical_id)))
        .collect();
    let router = local_stack::lambda_api::router(STACK, specs);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await;
    let lambda = aws_sdk_lambda::Client::new(&config);

    // SAM's deployed name: <stack>-<LogicalId>-<suffix>.
    let output = lambda
        .invoke()
        .function_name(format!("{STACK}-SweeperFunction-Ab12Cd34"))
        .payload(Blob::new(r#"{"dryRun":true,"steps":["stuck_timers"]}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(output.status_code(), 200);
    assert_eq!(output.function_error(), None);
    let report: Value = serde_json::from_slice(output.payload().unwrap().as_ref()).unwrap();
    assert_eq!(report["dryRun"], true, "{report:#}");
    assert_eq!(report["steps"][0]["step"], "stuck_timers");
    assert!(report["runId"].is_string());

    let output = lambda
        .invoke()
        .function_name("SweeperFunction")
        .payload(Blob::new(r#"{"dryRun":"yes"}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(output.function_error(), Some("Unhandled"));
    let error: Value = serde_json::from_slice(output.payload().unwrap().as_ref()).unwrap();
    assert_eq!(error["errorType"], "BadRequest", "{error}");

    let missing = lambda
        .invoke()
        .function_name(format!("{STACK}-NoSuchFunction"))
        .send()
        .await
        .unwrap_err();
    assert!(
        missing
            .as_service_error()
            .is_some_and(|e| e.is_resource_not_found_exception()),
        "{missing:?}"
    );
    stack.assert_iam_allowed();
}
