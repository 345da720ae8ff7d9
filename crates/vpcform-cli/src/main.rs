//! The `vpcform` command. The only crate that prints or exits.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod validate;

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

#[derive(Debug, Args)]
struct FileArg {
    /// The topology file.
    #[arg(
        short = 'f',
        long = "file",
        default_value = "topology.yaml",
        value_name = "FILE"
    )]
    file: PathBuf,
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
}

impl Output {
    fn new(choice: ColorChoice) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let stderr_color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && std::io::stderr().is_terminal(),
        };
        Output { stderr_color }
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let output = Output::new(cli.global.color);
    let result = match cli.command {
        Command::Validate(args) => validate::run_validate(&args, output),
        Command::Graph(args) => validate::run_graph(&args, output),
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
