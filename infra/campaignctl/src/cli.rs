//! The command line: global flags and every command (`campaignctl --help`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Operate campaign-lifecycle: campaigns, runs, recovery, dead-letter queues and functions.
/// Requests are signed with SigV4 from the standard AWS credential chain.
#[derive(Debug, Parser)]
#[command(name = "campaignctl", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The API's URL (`make local` prints it; on AWS the stack's ApiUrl output).
    #[arg(long, env = "CAMPAIGNCTL_ENDPOINT", global = true)]
    pub endpoint: Option<String>,
    /// A deployed stack: the API URL and function names are read from its outputs.
    #[arg(long, env = "CAMPAIGNCTL_STACK", global = true)]
    pub stack: Option<String>,
    /// The AWS profile whose credentials sign the requests.
    #[arg(long, env = "AWS_PROFILE", global = true)]
    pub profile: Option<String>,
    /// The AWS region (default: the profile's).
    #[arg(long, env = "AWS_REGION", global = true)]
    pub region: Option<String>,
    /// Lambda's endpoint for `invoke` (the local runtime's, e.g. http://127.0.0.1:3001).
    #[arg(long, env = "CAMPAIGNCTL_LAMBDA_ENDPOINT", global = true)]
    pub lambda_endpoint: Option<String>,
    /// Print the API's JSON instead of tables (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Campaigns: create, read, list, cancel, runs, recipients, schedule, pause, resume.
    #[command(subcommand)]
    Campaigns(CampaignCommand),
    /// The recovery log, statistics, report and sweeps; manual sweeps.
    #[command(subcommand)]
    Recovery(RecoveryCommand),
    /// Shared circuit breakers: list, reset.
    #[command(subcommand)]
    Breakers(BreakerCommand),
    /// Failure patterns: list, add, delete.
    #[command(subcommand)]
    Patterns(PatternCommand),
    /// Dead-letter queues: list, peek, redrive.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// SQS consumers (executor, sender, fan-out, planner): list, pause, resume.
    #[command(subcommand)]
    Consumers(ConsumerCommand),
    /// Runtime configuration (misfire window, breaker thresholds, alert routing): get, set.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Test actions: an alert through one channel, a pattern on a sample error, a probe.
    #[command(subcommand)]
    Test(TestCommand),
    /// Health of every component (exit code 8 when unhealthy).
    Health,
    /// Runs a function by hand through Lambda's Invoke API and prints its answer.
    Invoke(InvokeArgs),
    /// Prints a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `campaignctl campaigns …`
#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Creates a campaign from a JSON or YAML file (`-` reads standard input).
    Create {
        #[arg(short, long)]
        file: PathBuf,
    },
    /// Shows a campaign (with its latest runs when it delivers).
    Get { id: String },
    /// Lists campaigns in a status, next to move first.
    List {
        #[arg(long, default_value = "SCHEDULED")]
        status: String,
        #[command(flatten)]
        page: Page,
    },
    /// Cancels a campaign.
    Cancel { id: String },
    /// A campaign's timers, in due order.
    Timers { id: String },
    /// A campaign's runs and their counts, newest first.
    Runs {
        id: String,
        #[command(flatten)]
        page: Page,
    },
    /// A run's recipients in an outcome, with reasons.
    Recipients {
        id: String,
        run_id: String,
        #[arg(long, default_value = "failed")]
        status: String,
        #[command(flatten)]
        page: Page,
    },
    /// A recurring campaign's next occurrences in UTC and local time.
    Schedule {
        id: String,
        #[arg(long, default_value_t = 10)]
        next: u32,
    },
    /// Pauses a recurring campaign's series (idempotent).
    Pause { id: String },
    /// Resumes a recurring campaign's series (idempotent).
    Resume { id: String },
    /// Waits, with a progress bar, until a run is over (its latest run by default).
    Wait {
        id: String,
        #[arg(long)]
        run: Option<String>,
        /// Gives up after this many seconds (exit code 6).
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Finds campaigns that should be progressing and are not, and re-arms them.
    Recover {
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        limit: Option<u32>,
    },
}

/// `campaignctl recovery …`
#[derive(Debug, Subcommand)]
pub enum RecoveryCommand {
    /// The recovery log, newest first.
    Events {
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        category: Option<String>,
        #[arg(long)]
        severity: Option<String>,
        #[arg(long)]
        campaign: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// Marks a recovery-log entry resolved.
    Resolve {
        id: String,
        /// Who resolved it.
        #[arg(long)]
        by: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Errors, retries, breaker trips, recoveries and MTTR of a window (1h, 24h, 7d).
    Statistics {
        #[arg(long, default_value = "24h")]
        window: String,
    },
    /// Each dependency's health, the last sweeps and recommendations.
    Report,
    /// The stored sweep reports, newest first.
    Sweeps {
        #[command(flatten)]
        page: Page,
    },
    /// Runs a sweep now (all steps, or the named ones) and prints its report.
    Trigger {
        #[arg(long = "step")]
        steps: Vec<String>,
        #[arg(long)]
        dry_run: bool,
    },
}

/// `campaignctl breakers …`
#[derive(Debug, Subcommand)]
pub enum BreakerCommand {
    /// Every dependency's shared breaker.
    List,
    /// Forces a breaker CLOSED.
    Reset { dependency: String },
}

/// `campaignctl patterns …`
#[derive(Debug, Subcommand)]
pub enum PatternCommand {
    /// Operators' and built-in failure patterns.
    List,
    /// Adds a pattern from a JSON or YAML file.
    Add {
        #[arg(short, long)]
        file: PathBuf,
    },
    /// Deletes an operator's pattern.
    Delete { id: String },
}

/// `campaignctl dlq …`
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Every dead-letter queue's depth and oldest message.
    List,
    /// Shows messages of a DLQ without removing them.
    Peek {
        queue: String,
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Moves messages back to their source queue, with a progress bar.
    Redrive {
        queue: String,
        /// Only these message ids (repeatable).
        #[arg(long = "id")]
        ids: Vec<String>,
        /// Only messages dead-lettered with this error code.
        #[arg(long)]
        error_code: Option<String>,
        /// At most this many messages (default: all).
        #[arg(long)]
        limit: Option<u32>,
        /// Lists what would move and moves nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `campaignctl consumers …`
#[derive(Debug, Subcommand)]
pub enum ConsumerCommand {
    /// Every consumer's state, and who paused it.
    List,
    /// Stops a consumer taking messages (idempotent); its queue keeps them.
    Pause { name: String },
    /// Lets a consumer take messages again (idempotent).
    Resume { name: String },
}

/// `campaignctl config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// The stored runtime configuration and its version.
    Get,
    /// Replaces it from a JSON or YAML file (with the `version` it was read at).
    Set {
        #[arg(short, long)]
        file: PathBuf,
    },
}

/// `campaignctl test …`
#[derive(Debug, Subcommand)]
pub enum TestCommand {
    /// Sends a test alert through one channel (email, slack, webhook, sns).
    Alert { channel: String },
    /// Classifies a sample error with the patterns (and, from a file, a new one).
    Pattern {
        /// The sample error's code.
        #[arg(long)]
        code: String,
        /// The sample error's message.
        #[arg(long, default_value = "")]
        message: String,
        /// The sample error's HTTP status.
        #[arg(long)]
        status: Option<u16>,
        /// A stored pattern to try.
        #[arg(long, conflicts_with = "file")]
        pattern_id: Option<String>,
        /// A pattern (JSON or YAML file) to try without storing it.
        #[arg(short, long)]
        file: Option<PathBuf>,
    },
    /// One cheap call to a dependency (dynamodb, sqs, eventbridge, …): ok and latency.
    Probe { dependency: String },
}

/// `campaignctl invoke …`
#[derive(Debug, Args)]
pub struct InvokeArgs {
    #[arg(value_enum)]
    pub function: Invocable,
    /// The deployed function's name (default: from the stack's outputs).
    #[arg(long)]
    pub function_name: Option<String>,
    /// A dry run (the sweeper only): reports what it would repair.
    #[arg(long)]
    pub dry_run: bool,
    /// Sweep steps to run (the sweeper only; repeatable; default: all).
    #[arg(long = "step")]
    pub steps: Vec<String>,
}

/// Functions that can be run by hand.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Invocable {
    Sweeper,
    Dispatcher,
}

/// Paging flags of list commands.
#[derive(Debug, Args)]
pub struct Page {
    /// Items per page.
    #[arg(long)]
    pub limit: Option<u32>,
    /// Where to continue (the `nextToken` of the previous page).
    #[arg(long)]
    pub next_token: Option<String>,
    /// Follows every page to the end.
    #[arg(long)]
    pub all: bool,
}
