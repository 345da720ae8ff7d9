//! The `vpcform` command. The only crate that prints or exits.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod apply;
mod explain;
mod import;
mod monitor;
mod plan;
mod query;
mod reach;
mod redact;
mod validate;
mod verify;

const EXAMPLES: &str = "\
Examples:
  vpcform validate                       check ./topology.yaml
  vpcform validate -f net.yaml --format json --deny-warnings
  vpcform graph --format mermaid         dependency graph for a pull request
  vpcform schema > topology.schema.json  JSON Schema for editor completion";

/// Declarative plan/apply for AWS networks: VPCs, subnets, routing, peering,
/// security groups, instances and VPC flow logs.
#[derive(Debug, Parser)]
#[command(name = "vpcform", version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// Show each AWS API call (-v) or more (-vv); RUST_LOG works too.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Colour: auto (only on a terminal, never with NO_COLOR set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Debug, Args)]
struct FileArg {
    /// The topology file.
    #[arg(
        short = 'f',
        long = "file",
        default_value = "topology.yaml",
        value_name = "FILE"
    )]
    file: PathBuf,
    /// The environment to use, one of the topology's `environments:`.
    #[arg(long, value_name = "NAME")]
    env: Option<String>,
    /// A parameter's value (repeatable); wins over the environment's and --param-file.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// A YAML file of parameter values (repeatable); wins over the environment's.
    #[arg(long = "param-file", value_name = "FILE")]
    param_files: Vec<PathBuf>,
}

impl FileArg {
    /// The same file in another environment.
    pub(crate) fn in_env(&self, env: &str) -> FileArg {
        FileArg {
            env: Some(env.to_string()),
            ..self.clone()
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a topology: syntax, references, CIDRs, AWS's value rules; print every problem.
    #[command(
        after_help = "Examples:\n  vpcform validate\n  vpcform validate -f examples/hub.yaml --deny-warnings\n  vpcform validate --format json   # file, line, column, severity, code, message"
    )]
    Validate(validate::ValidateArgs),
    /// Print the dependency graph (creation order) as DOT, Mermaid or JSON.
    #[command(
        after_help = "Examples:\n  vpcform graph --format mermaid   # renders in GitHub pull requests\n  vpcform graph --format dot | dot -Tsvg > graph.svg"
    )]
    Graph(validate::GraphArgs),
    /// Compare the topology with the live account and show what apply would change.
    #[command(
        after_help = "Examples:\n  vpcform plan\n  vpcform plan --detailed-exitcode --format markdown > plan.md   # PR comment; exit 2 = changes\n  vpcform plan --out plan.json && vpcform apply plan.json\n  vpcform plan --deny-broadening      # exit 1 when the plan widens access (needs a security review)\n  AWS_ENDPOINT_URL=http://127.0.0.1:5000 vpcform plan --stats   # against local moto"
    )]
    Plan(plan::PlanArgs),
    /// Converge the account: plan, confirm, and execute in dependency order.
    #[command(
        after_help = "Examples:\n  vpcform apply                       # plan, ask for `yes`, apply\n  vpcform apply --auto-approve        # in pipelines\n  vpcform apply plan.json             # exactly a saved plan; refused if stale\n  vpcform apply --parallelism 4"
    )]
    Apply(apply::ApplyArgs),
    /// Delete everything the stack owns.
    #[command(after_help = "Examples:\n  vpcform destroy\n  vpcform destroy --auto-approve")]
    Destroy(apply::DestroyArgs),
    /// Write the topology that adopts existing VPCs (built by hand or another tool).
    #[command(
        after_help = "Everything in the VPCs that vpcform can declare is written with `import-id`, its tags, names from Name tags (or the names vpcform gave), references instead of ids; what it cannot declare (virtual private gateways, VPN attachments, …) is listed on stderr and in the file.\n\nExamples:\n  vpcform import --vpc vpc-0abc --vpc vpc-0def -o topology.yaml\n  vpcform plan      # N to adopt, 0 to add, 0 to destroy\n  vpcform apply     # adds the ownership tags; nothing is recreated"
    )]
    Import(import::ImportArgs),
    /// Release a stack lock left by an aborted apply.
    #[command(
        name = "force-unlock",
        after_help = "Example:\n  vpcform force-unlock 1a2b3c4d   # the id printed when the lock was reported"
    )]
    ForceUnlock(apply::UnlockArgs),
    /// Can traffic get from one endpoint to another and back? Names every setting that blocks it.
    #[command(
        after_help = "Endpoints: instance.NAME, subnet.NAME, vpc-endpoint.NAME (an interface endpoint), an id (i-…, subnet-…, vpce-…, an interface endpoint's eni-…), an IP, a CIDR, `internet`, or an AWS service (`s3`, `dynamodb`, `service:NAME`: its prefix list's addresses, known with --live).\nExit 0 when reachable, 2 when not, 3 when unknown (the path crosses what vpcform does not model, e.g. a virtual private gateway, or another VPC beyond a transit gateway), 1 on errors.\n\nExamples:\n  vpcform reach instance.instance-1 instance.instance-2                 # ping, from the topology\n  vpcform reach internet instance.instance-1 --protocol tcp --port 22\n  vpcform reach instance.instance-1 instance.instance-2 --live          # from the account\n  vpcform reach i-0abc 10.2.0.15 --live --format json\n  vpcform reach instance.app s3 --protocol tcp --port 443 --live       # through the S3 gateway endpoint"
    )]
    Reach(reach::ReachArgs),
    /// Run a Logs Insights query over the flow logs: on AWS, locally, or offline on a file.
    #[command(
        after_help = "Examples:\n  vpcform query                                   # list the topology's queries\n  vpcform query rejected --since 30m              # on Logs Insights itself\n  vpcform query by-protocol --engine local        # vpcform's engine over the events (works against moto)\n  vpcform query --input flows.log --query 'stats sum(bytes) as b by srcAddr | sort b desc | limit 10'\n  vpcform query all-events --format json"
    )]
    Query(query::QueryArgs),
    /// After apply: check each `expect:` entry against the live configuration and the flow logs.
    #[command(
        after_help = "Exit 0 when every expectation holds, 2 when one does not, 1 on errors.\n\nExamples:\n  vpcform verify --since 30m\n  vpcform verify --engine local --format json    # vpcform's engine over the events (works against moto)"
    )]
    Verify(verify::VerifyArgs),
    /// Why each REJECT in the flow logs happened: the security group, ACL entry or route, and the fix.
    #[command(
        after_help = "Reads the live network and the flow-log records (the topology's log groups, or --input), and explains each REJECT: read as a request, or as the reply of a flow the other side opened (a network ACL that drops replies). Accepted flows no `expect:` entry covers are listed as candidates for one.\n\nExamples:\n  vpcform explain --since 1h\n  vpcform explain --engine local --since 2h   # vpcform's engine over the events (works against moto)\n  vpcform explain --input flows.log --format json"
    )]
    Explain(explain::ExplainArgs),
    /// Test monitoring before deploying it: a metric filter and an alarm over flow-log records.
    #[command(subcommand)]
    Monitor(monitor::MonitorCommand),
    /// Print the plain topology: parameters, environment, for-each and blueprints expanded.
    #[command(
        after_help = "The output is an ordinary topology, valid input to every command.\n\nExamples:\n  vpcform render --env prod\n  vpcform render -f examples/spokes.yaml --param spoke-count=3\n  diff <(vpcform render --env dev) <(vpcform render --env prod)"
    )]
    Render(validate::RenderArgs),
    /// Print the JSON Schema of the topology language.
    #[command(
        after_help = "Put this line first in topology.yaml for completion in editors:\n  # yaml-language-server: $schema=./topology.schema.json"
    )]
    Schema,
}

/// How output is styled, decided once from flags, terminal and NO_COLOR.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    pub(crate) stderr_color: bool,
    pub(crate) stdout_color: bool,
}

impl Output {
    fn new(choice: ColorChoice) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let on = |terminal: bool| match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && terminal,
        };
        Output {
            stderr_color: on(std::io::stderr().is_terminal()),
            stdout_color: on(std::io::stdout().is_terminal()),
        }
    }

    pub(crate) fn stdout_style(&self) -> vpcform_topology::Style {
        vpcform_topology::Style {
            color: self.stdout_color,
        }
    }

    pub(crate) fn style(&self) -> vpcform_topology::Style {
        vpcform_topology::Style {
            color: self.stderr_color,
        }
    }
}

/// Writes to stdout, ignoring a closed pipe (`vpcform graph | head`).
#[allow(clippy::print_stdout)]
pub(crate) fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

#[allow(clippy::print_stderr)]
pub(crate) fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
}

/// The async runtime for commands that talk to AWS.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match (std::env::var("RUST_LOG"), verbose) {
        (Ok(spec), _) => EnvFilter::new(spec),
        (Err(_), 0) => EnvFilter::new("warn"),
        (Err(_), 1) => EnvFilter::new("warn,vpcform_aws=debug"),
        (Err(_), _) => EnvFilter::new("info,vpcform_aws=trace,aws_smithy_runtime=debug"),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Whichever crate logs a request, its credentials never reach the output.
        .with_writer(redact::RedactingStderr(redact::Redactor::from_env()))
        .without_time()
        .with_target(false)
        .with_ansi(std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal())
        .try_init();
}

/// mimalloc: `query` allocates a string per record on every core, where
/// the system allocator's locking showed as a third of the profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.global.verbose);
    let output = Output::new(cli.global.color);
    let result = match cli.command {
        Command::Validate(args) => validate::run_validate(&args, output),
        Command::Render(args) => validate::run_render(&args, output),
        Command::Explain(args) => explain::run_explain(&args, output),
        Command::Monitor(command) => monitor::run_monitor(&command, output),
        Command::Graph(args) => validate::run_graph(&args, output),
        Command::Plan(args) => plan::run_plan(&args, output),
        Command::Apply(args) => apply::run_apply(&args, output),
        Command::Destroy(args) => apply::run_destroy(&args, output),
        Command::Import(args) => import::run_import(&args, output),
        Command::ForceUnlock(args) => apply::run_force_unlock(&args, output),
        Command::Reach(args) => reach::run_reach(&args, output),
        Command::Query(args) => query::run_query(&args, output),
        Command::Verify(args) => verify::run_verify(&args, output),
        Command::Schema => {
            let schema = vpcform_topology::json_schema();
            out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            ));
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let style = output.style();
            err(&format!("{} {e:#}\n", style.error("error:")));
            ExitCode::from(1)
        }
    }
}
