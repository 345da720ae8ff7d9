//! `vpcform apply`, `vpcform destroy` and `vpcform force-unlock`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use vpcform_diff::Plan;
use vpcform_exec::{Event, Options, Report, StopSignal};

use crate::plan::{AwsArgs, SavedPlan, make_plan};
use crate::validate::{load, report as report_diagnostics};
use crate::{FileArg, Output, err, out};

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// A plan saved with `vpcform plan --out FILE`: apply exactly that plan (refused if stale).
    #[arg(value_name = "PLANFILE")]
    plan_file: Option<PathBuf>,
    #[command(flatten)]
    file: FileArg,
    #[command(flatten)]
    aws: AwsArgs,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DestroyArgs {
    #[command(flatten)]
    file: FileArg,
    #[command(flatten)]
    aws: AwsArgs,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Apply without asking (for pipelines).
    #[arg(long)]
    auto_approve: bool,
    /// How many operations run at once.
    #[arg(long, default_value_t = 10, value_name = "N")]
    parallelism: usize,
}

#[derive(Debug, Args)]
pub(crate) struct UnlockArgs {
    /// The lock id printed by the command that reported the lock.
    #[arg(value_name = "ID")]
    id: String,
    #[command(flatten)]
    file: FileArg,
    #[command(flatten)]
    aws: AwsArgs,
}

pub(crate) fn run_apply(args: &ApplyArgs, output: Output) -> anyhow::Result<ExitCode> {
    // A saved plan holds its environment and values: others given here would be ignored.
    if args.plan_file.is_some()
        && (args.file.env.is_some()
            || !args.file.params.is_empty()
            || !args.file.param_files.is_empty())
    {
        anyhow::bail!(
            "a saved plan holds the environment and values it was made with; leave out --env, --param and --param-file (make another plan to change them)"
        );
    }
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        // The plan, and the file it was made from (to plan again under the lock).
        let (plan, aws, file) = match &args.plan_file {
            Some(path) => saved_plan(path, &args.aws, output).await?,
            None => match make_plan(&args.file, &args.aws, output).await? {
                Some((plan, aws)) => (plan, aws, args.file.clone()),
                None => return Ok(ExitCode::from(1)),
            },
        };
        execute_with_lock(
            plan,
            aws,
            &args.run,
            output,
            Command::Apply,
            args.plan_file.is_some(),
            &file,
        )
        .await
    })
}

pub(crate) fn run_destroy(args: &DestroyArgs, output: Output) -> anyhow::Result<ExitCode> {
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        let loaded = load(&args.file)?;
        report_diagnostics(&loaded, output, false);
        let Some((topology, _)) = loaded.valid() else {
            err("the topology has errors; destroy needs its stack name and region\n");
            return Ok(ExitCode::from(1));
        };
        let aws = crate::plan::connect(&args.aws, topology).await?;
        let (live, network) = tokio::try_join!(
            vpcform_aws::read_live_state(&aws, topology),
            vpcform_aws::read_network(&aws, topology),
        )?;
        let mut plan = vpcform_diff::plan_destroy(
            topology,
            &live,
            &vpcform_diff::short_hash(&loaded.binding_text()),
        );
        crate::plan::add_refusals(&mut plan, &network);
        execute_with_lock(
            plan,
            aws,
            &args.run,
            output,
            Command::Destroy,
            false,
            &args.file,
        )
        .await
    })
}

pub(crate) fn run_force_unlock(args: &UnlockArgs, _output: Output) -> anyhow::Result<ExitCode> {
    let runtime = crate::runtime()?;
    runtime.block_on(async {
        let loaded = load(&args.file)?;
        let Some((topology, _)) = loaded.valid() else {
            bail!("{} has errors; run `vpcform validate`", loaded.source.name);
        };
        let aws = crate::plan::connect(&args.aws, topology).await?;
        let info = aws.force_unlock(&topology.stack.value, &args.id).await?;
        out(&format!(
            "Released the lock of stack `{}` held by {} (`{}`).\n",
            topology.stack.value, info.holder, info.command
        ));
        Ok(ExitCode::SUCCESS)
    })
}

/// Loads a saved plan and refuses it when the topology or any object it read has moved.
async fn saved_plan(
    path: &std::path::Path,
    aws_args: &AwsArgs,
    output: Output,
) -> anyhow::Result<(Plan, vpcform_aws::Aws, FileArg)> {
    let bytes = read_capped(path, MAX_PLAN_BYTES)
        .with_context(|| format!("cannot read the plan file {}", path.display()))?;
    let saved: SavedPlan = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a plan saved by `vpcform plan --out`",
            path.display()
        )
    })?;
    if saved.vpcform_version != env!("CARGO_PKG_VERSION") {
        bail!(
            "{} was saved by vpcform {}, this is {}; make a new plan",
            path.display(),
            saved.vpcform_version,
            env!("CARGO_PKG_VERSION")
        );
    }
    if vpcform_diff::digest(&saved.plan.promise()) != saved.digest {
        bail!(
            "{} was altered after `vpcform plan --out` wrote it (its digest does not match); make a new plan",
            path.display()
        );
    }
    let file = FileArg {
        file: PathBuf::from(&saved.topology_file),
        env: saved.env.clone(),
        params: saved.params.clone(),
        param_files: saved.param_files.clone(),
    };
    let loaded = load(&file)?;
    report_diagnostics(&loaded, output, false);
    let Some((topology, graph)) = loaded.valid() else {
        bail!("{} has errors now; make a new plan", saved.topology_file);
    };
    if vpcform_diff::short_hash(&loaded.binding_text()) != saved.plan.topology_hash {
        bail!(
            "saved plan is stale: {} (or a file it reads, or the environment and values the plan was made with) changed since the plan was made; run `vpcform plan --out {}` again",
            saved.topology_file,
            path.display()
        );
    }
    let aws = crate::plan::connect(aws_args, topology).await?;
    let live = vpcform_aws::read_live_state(&aws, topology).await?;
    let moved = vpcform_diff::stale_objects(&saved.plan.fingerprints, &live);
    if !moved.is_empty() {
        bail!(
            "saved plan is stale: since it was made,\n  - {}\nRun `vpcform plan --out {}` again and review the new plan",
            moved.join("\n  - "),
            path.display()
        );
    }
    // A plan is what its topology and the account give, not what a file
    // says: planned again from the same inputs, it must be the same promise.
    let mut fresh = vpcform_diff::plan(vpcform_diff::PlanInput {
        topology,
        graph,
        live: &live,
        topology_hash: &saved.plan.topology_hash,
    });
    let network = vpcform_aws::read_network(&aws, topology).await?;
    crate::plan::add_refusals(&mut fresh, &network);
    if fresh.promise() != saved.plan.promise() {
        bail!(
            "{} does not hold the plan its topology and the account give (it was edited); nothing was changed. Run `vpcform plan --out {}` again and review it",
            path.display(),
            path.display()
        );
    }
    err(&format!("Plan digest {} matches.\n", saved.digest));
    fresh.connectivity = saved.plan.connectivity;
    Ok((fresh, aws, file))
}

/// A saved plan's size limit: far beyond any real plan, it bounds the read.
const MAX_PLAN_BYTES: u64 = 256 << 20;

/// Reads at most `limit` bytes: more is an error, whatever metadata says.
fn read_capped(path: &std::path::Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "the file goes on past {limit} bytes, more than any plan"
        )));
    }
    Ok(bytes)
}

/// The command that changes the account, as its messages name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Command {
    Apply,
    Destroy,
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Apply => "apply",
            Command::Destroy => "destroy",
        })
    }
}

async fn execute_with_lock(
    plan: Plan,
    aws: vpcform_aws::Aws,
    run: &RunArgs,
    output: Output,
    command: Command,
    from_saved_plan: bool,
    file: &FileArg,
) -> anyhow::Result<ExitCode> {
    let style = output.stdout_style();
    if !plan.errors.is_empty() || plan.has_changes() || !from_saved_plan {
        out(&vpcform_diff::to_text(&plan, &style));
    }
    if !plan.errors.is_empty() {
        err("the plan has errors; nothing was changed\n");
        return Ok(ExitCode::from(1));
    }
    if crate::plan::breaks_expectations(&plan) {
        err("nothing was changed\n");
        return Ok(ExitCode::from(1));
    }
    if !plan.has_changes() {
        return Ok(ExitCode::SUCCESS);
    }
    if !run.auto_approve && !from_saved_plan && !confirm(command)? {
        err(&format!("{command} cancelled; nothing was changed\n"));
        return Ok(ExitCode::from(1));
    }
    let lock = aws.lock(&plan.stack, &format!("vpcform {command}")).await?;
    // Under the lock, the plan made from the same file and the account as it
    // is now must be the plan that was confirmed: another run may have
    // applied meanwhile, or the file changed.
    match replan(&aws, file, command).await {
        Ok(now) if now.promise() == plan.promise() => {}
        outcome => {
            if let Err(e) = aws.unlock(lock).await {
                err(&format!("warning: could not release the lock: {e}\n"));
            }
            let why = match outcome {
                Ok(_) => "the account or the topology changed after this plan was made (another run may have applied)".to_string(),
                Err(e) => format!("it could not be planned again under the lock: {e:#}"),
            };
            bail!(
                "{command} refused: {why}; nothing was changed. Plan again and review the new plan"
            );
        }
    }
    let provider: Arc<dyn vpcform_exec::Provider> = Arc::new(aws.clone());
    let report = run_plan(&plan, provider, run.parallelism, output).await;
    if let Err(e) = aws.unlock(lock).await {
        err(&format!("warning: could not release the lock: {e}\n"));
    }
    summarize(&report, command);
    Ok(if report.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The plan `command` makes from `file` and the account now.
async fn replan(aws: &vpcform_aws::Aws, file: &FileArg, command: Command) -> anyhow::Result<Plan> {
    let loaded = load(file)?;
    let Some((topology, graph)) = loaded.valid() else {
        bail!("{} has errors now", loaded.source.name);
    };
    let (live, network) = tokio::try_join!(
        vpcform_aws::read_live_state(aws, topology),
        vpcform_aws::read_network(aws, topology),
    )?;
    let hash = vpcform_diff::short_hash(&loaded.binding_text());
    let mut plan = match command {
        Command::Apply => vpcform_diff::plan(vpcform_diff::PlanInput {
            topology,
            graph,
            live: &live,
            topology_hash: &hash,
        }),
        Command::Destroy => vpcform_diff::plan_destroy(topology, &live, &hash),
    };
    crate::plan::add_refusals(&mut plan, &network);
    Ok(plan)
}

/// Asks for `yes` on a terminal; refuses without one.
fn confirm(command: Command) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "{command} needs confirmation, and there is no terminal to ask on. Review the plan above and pass --auto-approve (as pipelines do), or apply a saved plan: `vpcform plan --out plan.json` then `vpcform apply plan.json`"
        );
    }
    out(
        "\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ",
    );
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// Executes with progress output and Ctrl-C handling.
async fn run_plan(
    plan: &Plan,
    provider: Arc<dyn vpcform_exec::Provider>,
    parallelism: usize,
    output: Output,
) -> Report {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stop = StopSignal::default();
    spawn_interrupt_handler(stop.clone());
    let options = Options {
        parallelism,
        heartbeat: Duration::from_secs(10),
    };
    let total = vpcform_exec::build_apply_graph(plan).steps.len() as u64;
    let bar = (output.stderr_color && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let printer = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            let line = match &event {
                Event::Started { address, verb } => format!("{address}: {}...", verb.progressive()),
                Event::StillRunning {
                    address,
                    verb,
                    elapsed,
                } => {
                    format!(
                        "{address}: Still {}... [{}s elapsed]",
                        verb.progressive().to_lowercase(),
                        elapsed.as_secs()
                    )
                }
                Event::Finished {
                    address,
                    verb,
                    id,
                    elapsed,
                } => {
                    format!(
                        "{address}: {} after {:.1}s [id={id}]",
                        verb.past(),
                        elapsed.as_secs_f64()
                    )
                }
                Event::Failed {
                    address,
                    verb,
                    message,
                    ..
                } => format!("{address}: {verb} failed: {message}"),
                Event::Skipped {
                    address,
                    verb,
                    reason,
                } => format!("{address}: {verb} skipped ({reason})"),
            };
            match &bar {
                Some(bar) => {
                    if matches!(
                        event,
                        Event::Finished { .. } | Event::Failed { .. } | Event::Skipped { .. }
                    ) {
                        bar.inc(1);
                    }
                    bar.println(line);
                }
                None => err(&format!("{line}\n")),
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    });
    let report = vpcform_exec::execute(plan, provider, &options, tx, stop).await;
    let _ = printer.await;
    report
}

/// First Ctrl-C (or SIGTERM): finish running steps, start nothing new. Second: abort.
fn spawn_interrupt_handler(stop: StopSignal) {
    tokio::spawn(async move {
        let mut interrupts = 0;
        loop {
            #[cfg(unix)]
            {
                let mut term =
                    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
                        Ok(s) => s,
                        Err(_) => return,
                    };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            #[cfg(not(unix))]
            {
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
            }
            interrupts += 1;
            if interrupts == 1 {
                stop.stop();
                err(
                    "\nInterrupt received: waiting for running operations to finish; nothing new starts. Interrupt again to abort at once (the stack's lock then stays: see `vpcform force-unlock`).\n",
                );
            } else {
                err(
                    "\nAborted. Every object vpcform created carries its ownership tags: run `vpcform plan` to see what remains.\n",
                );
                std::process::exit(130);
            }
        }
    });
}

fn summarize(report: &Report, command: Command) {
    if let Some(reason) = &report.refused {
        err(&format!(
            "\n{command} refused, nothing was changed: {reason}\n"
        ));
        return;
    }
    let adopted = match report.adopted() {
        0 => String::new(),
        n => format!("{n} adopted, "),
    };
    let counts = format!(
        "Resources: {adopted}{} added, {} changed, {} destroyed.",
        report.added(),
        report.changed(),
        report.destroyed()
    );
    if report.succeeded() {
        if command == Command::Destroy {
            out(&format!(
                "\nDestroy complete! Resources: {} destroyed.\n",
                report.destroyed()
            ));
        } else {
            out(&format!("\nApply complete! {counts}\n"));
        }
        return;
    }
    let mut text = String::new();
    if report.interrupted {
        text.push_str(&format!("\n{command} interrupted. {counts}\n"));
    } else {
        text.push_str(&format!("\n{command} failed. {counts}\n"));
    }
    let failed: Vec<_> = report.failed().collect();
    if !failed.is_empty() {
        text.push_str("Failed:\n");
        for (address, verb, message) in failed {
            text.push_str(&format!("  - {verb} {address}: {message}\n"));
        }
    }
    let skipped: Vec<_> = report.skipped().collect();
    if !skipped.is_empty() {
        text.push_str(&format!("Not done ({}):\n", skipped.len()));
        for (address, verb, reason) in skipped {
            text.push_str(&format!("  - {verb} {address} ({reason})\n"));
        }
    }
    text.push_str("Run `vpcform plan` to see the remaining work.\n");
    err(&text);
}
