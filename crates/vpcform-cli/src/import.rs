//! `vpcform import`: write the topology that adopts existing VPCs and
//! everything attached that vpcform can declare.

use std::path::PathBuf;
use std::process::ExitCode;
use vpcform_topology::escape::terminal;

use anyhow::{Context as _, bail};
use clap::Args;
use vpcform_topology::export::Origin;

use crate::plan::AwsArgs;
use crate::{Output, err, out};

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// A VPC to import (repeat for several; peerings between them are imported too).
    #[arg(long = "vpc", value_name = "ID", required = true)]
    vpcs: Vec<String>,
    /// The stack name written into the topology (the `vpcform:stack` tag apply adds).
    #[arg(long, value_name = "NAME", default_value = "imported")]
    stack: String,
    /// Write the topology to FILE instead of stdout (refused if FILE exists).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    aws: AwsArgs,
}

pub(crate) fn run_import(args: &ImportArgs, output: Output) -> anyhow::Result<ExitCode> {
    check_args(args)?;
    let runtime = crate::runtime()?;
    let aws = runtime.block_on(crate::plan::connect(
        &args.aws,
        &vpcform_topology::Topology::default(),
    ))?;
    let imported = runtime.block_on(vpcform_aws::read_vpcs(&aws, &args.stack, &args.vpcs))?;
    let style = output.style();
    if !imported.conflicts.is_empty() {
        for c in &imported.conflicts {
            err(&format!(
                "{} {}: {}\n",
                style.error("error:"),
                c.id,
                c.message
            ));
        }
        bail!(
            "{} object(s) in these VPCs already belong to another stack; nothing was written",
            imported.conflicts.len()
        );
    }
    let origin = Origin {
        stack: args.stack.clone(),
        region: aws.region().to_string(),
        vpcs: args.vpcs.clone(),
        aws_prefix_lists: imported.aws_prefix_lists.clone(),
    };
    let written = vpcform_topology::export::write(&origin, &imported.observed, imported.left_out);
    check_written(&written.text)?;
    match &args.out {
        Some(path) => write_new(path, &written.text)?,
        None => out(&written.text),
    }
    for l in &written.left_out {
        err(&format!(
            "{} left out {}: {} ({})\n",
            style.warning("warning:"),
            terminal(&l.id),
            terminal(&l.what),
            terminal(&l.why)
        ));
    }
    let target = args
        .out
        .as_ref()
        .map_or("stdout".to_string(), |p| p.display().to_string());
    let file = args
        .out
        .as_ref()
        .map_or(String::new(), |p| format!(" -f {}", p.display()));
    err(&format!(
        "Imported {} object(s) from {} VPC(s) into {target} ({} AWS calls); {} left out.\nNext: `vpcform plan{file}` shows {} adoption(s) and nothing to add or destroy; `vpcform apply{file}` takes them over.\n",
        written.declarations,
        args.vpcs.len(),
        imported.api_calls,
        written.left_out.len(),
        written.declarations,
    ));
    Ok(ExitCode::SUCCESS)
}

/// Ids and the stack name are checked before anything is read.
fn check_args(args: &ImportArgs) -> anyhow::Result<()> {
    for vpc in &args.vpcs {
        let well_formed = vpc.strip_prefix("vpc-").is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if !well_formed {
            bail!("`--vpc {vpc}` is not a VPC id; VPC ids look like vpc-0123456789abcdef0");
        }
    }
    if !vpcform_topology::is_valid_name(&args.stack) {
        bail!(
            "`--stack {}` is not a valid stack name; use letters, digits, `-` and `_`, starting with a letter, at most 64 characters",
            args.stack
        );
    }
    Ok(())
}

/// The written topology must load as is: a bug here must not reach the user's file.
fn check_written(text: &str) -> anyhow::Result<()> {
    let loaded = vpcform_topology::load("imported topology", text.as_bytes());
    if let Some(first) = loaded.diagnostics.iter().find(|d| d.is_error()) {
        bail!(
            "the written topology does not validate ({}: {} at line {}); this is a bug in vpcform import, please report it",
            first.code,
            first.message,
            first.span.line
        );
    }
    Ok(())
}

/// Writes `text` to a new file; an existing file is never overwritten.
fn write_new(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| {
            format!(
                "cannot create {} (an existing file is never overwritten)",
                path.display()
            )
        })?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
