//! Where the commands go: the API endpoint and the functions' names, from flags, environment
//! variables or the CloudFormation stack's outputs; and the credentials that sign, from the
//! standard AWS chain (`--profile`, `AWS_PROFILE`, environment keys, SSO, instance roles).

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;

use crate::client::ApiClient;
use crate::exit::CliError;
use crate::signing::Signer;

/// The stack output holding the API's URL.
pub const API_URL_OUTPUT: &str = "ApiUrl";
/// The stack output holding the sweeper's function name.
pub const SWEEPER_OUTPUT: &str = "SweeperFunctionName";
/// The stack output holding the dispatcher's function name.
pub const DISPATCHER_OUTPUT: &str = "TimerDispatcherFunctionName";

/// What the global flags say about the target.
#[derive(Debug, Clone, Default)]
pub struct TargetArgs {
    pub endpoint: Option<String>,
    pub stack: Option<String>,
    pub profile: Option<String>,
    pub region: Option<String>,
    pub lambda_endpoint: Option<String>,
}

/// The AWS configuration of `args`' profile and region.
pub async fn sdk_config(args: &TargetArgs) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &args.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &args.region {
        loader = loader.region(Region::new(region.clone()));
    }
    loader.load().await
}

/// The signed API client of `args`: `--endpoint`, or the stack's `ApiUrl` output.
pub async fn api_client(args: &TargetArgs, config: &SdkConfig) -> Result<ApiClient, CliError> {
    let endpoint = match (&args.endpoint, &args.stack) {
        (Some(endpoint), _) => endpoint.clone(),
        (None, Some(stack)) => output(&stack_outputs(config, stack).await?, stack, API_URL_OUTPUT)?,
        (None, None) => {
            return Err(CliError::Input(
                "no API endpoint: pass --endpoint URL (make local prints it) or --stack NAME (a deployed stack)".into(),
            ));
        }
    };
    let provider = config.credentials_provider().ok_or_else(|| {
        CliError::Input(
            "no AWS credentials: set --profile, AWS_PROFILE or AWS_ACCESS_KEY_ID".into(),
        )
    })?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|e| CliError::Input(format!("no AWS credentials: {e}")))?;
    let region = config
        .region()
        .map(|r| r.to_string())
        .ok_or_else(|| CliError::Input("no AWS region: pass --region or set AWS_REGION".into()))?;
    ApiClient::new(&endpoint, Signer::new(credentials, region))
}

/// The name of the function behind stack output `output_key`: `explicit` if given, else the
/// stack's output, else `logical_id` (which the local runtime's Lambda API accepts).
pub async fn function_name(
    args: &TargetArgs,
    config: &SdkConfig,
    explicit: Option<&str>,
    output_key: &str,
    logical_id: &str,
) -> Result<String, CliError> {
    if let Some(name) = explicit {
        return Ok(name.to_owned());
    }
    match &args.stack {
        Some(stack) if args.lambda_endpoint.is_none() => {
            output(&stack_outputs(config, stack).await?, stack, output_key)
        }
        Some(stack) => Ok(format!("{stack}-{logical_id}")),
        None => Ok(logical_id.to_owned()),
    }
}

/// The Lambda client of `args` (`--lambda-endpoint` for the local runtime's Invoke API).
pub fn lambda_client(args: &TargetArgs, config: &SdkConfig) -> aws_sdk_lambda::Client {
    let mut builder = aws_sdk_lambda::config::Builder::from(config);
    if let Some(endpoint) = &args.lambda_endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    aws_sdk_lambda::Client::from_conf(builder.build())
}

async fn stack_outputs(
    config: &SdkConfig,
    stack: &str,
) -> Result<BTreeMap<String, String>, CliError> {
    let described = aws_sdk_cloudformation::Client::new(config)
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| {
            CliError::Input(format!(
                "cannot read stack {stack}'s outputs: {}",
                aws_sdk_cloudformation::error::DisplayErrorContext(&e)
            ))
        })?;
    Ok(described
        .stacks()
        .first()
        .map(|stack| {
            stack
                .outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
                .collect()
        })
        .unwrap_or_default())
}

fn output(outputs: &BTreeMap<String, String>, stack: &str, key: &str) -> Result<String, CliError> {
    outputs
        .get(key)
        .cloned()
        .ok_or_else(|| CliError::Input(format!("stack {stack} has no output {key}")))
}
