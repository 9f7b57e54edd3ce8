//! `campaignctl`: parses the command line, runs it, and exits with the documented code.

use std::process::ExitCode;

use campaignctl::cli::Cli;
use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match campaignctl::commands::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("campaignctl: {error}");
            if let campaignctl::exit::CliError::Api { fields, .. } = &error {
                for (field, message) in fields {
                    eprintln!("  {field}: {message}");
                }
            }
            ExitCode::from(error.exit_code())
        }
    }
}
