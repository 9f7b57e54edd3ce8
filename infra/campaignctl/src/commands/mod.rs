//! Every command: each module turns its arguments into API requests and prints the answers.

pub mod campaigns;
pub mod dlq;
pub mod files;
pub mod invoke;
pub mod operations;
pub mod paging;
pub mod recovery;
pub mod resilience;

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::exit::CliError;
use crate::output::{Column, Output};
use crate::target::{self, TargetArgs};

const COMPONENT_COLUMNS: &[Column] = &[
    ("COMPONENT", "/component"),
    ("STATUS", "/status"),
    ("ERROR", "/errorCode"),
    ("MS", "/responseTimeMs"),
];

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let out = Output {
        json: cli.global.json,
    };
    let target_args = TargetArgs {
        endpoint: cli.global.endpoint,
        stack: cli.global.stack,
        profile: cli.global.profile,
        region: cli.global.region,
        lambda_endpoint: cli.global.lambda_endpoint,
    };
    match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "campaignctl",
                &mut std::io::stdout(),
            );
            return Ok(());
        }
        Command::Invoke(args) => return invoke::run(&target_args, out, args).await,
        _ => {}
    }
    let config = target::sdk_config(&target_args).await;
    let client = target::api_client(&target_args, &config).await?;
    match cli.command {
        Command::Campaigns(command) => campaigns::run(&client, out, command).await,
        Command::Recovery(command) => recovery::run(&client, out, command).await,
        Command::Breakers(command) => resilience::breakers(&client, out, command).await,
        Command::Patterns(command) => resilience::patterns(&client, out, command).await,
        Command::Dlq(command) => dlq::run(&client, out, command).await,
        Command::Consumers(command) => operations::consumers(&client, out, command).await,
        Command::Config(command) => operations::config(&client, out, command).await,
        Command::Test(command) => operations::test(&client, out, command).await,
        Command::Health => health(&client, out).await,
        Command::Completions { .. } | Command::Invoke(_) => Ok(()),
    }
}

/// `GET /health`: its components; unhealthy (503) exits with code 8 after printing them.
async fn health(client: &crate::client::ApiClient, out: Output) -> Result<(), CliError> {
    let answer = client.get_once("/health").await?;
    match answer.status {
        200 => {
            print_health(out, &answer.body);
            Ok(())
        }
        503 => {
            print_health(out, &answer.body);
            Err(CliError::Unhealthy)
        }
        status => Err(crate::client::api_error(status, &answer.body)),
    }
}

fn print_health(out: Output, answer: &serde_json::Value) {
    if !out.json {
        println!("status: {}", answer["status"].as_str().unwrap_or("?"));
    }
    let rows = answer["components"].as_array().cloned().unwrap_or_default();
    out.table(answer, &rows, COMPONENT_COLUMNS, None);
}
