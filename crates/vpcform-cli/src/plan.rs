//! `vpcform plan`: read the account, compare it with the topology, show the difference.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use vpcform_diff::Plan;

use crate::validate::{load, report};
use crate::{FileArg, Output, err, out};

/// Where and as whom to reach AWS. Unset: the standard credential chain.
#[derive(Debug, Clone, Args)]
pub(crate) struct AwsArgs {
    /// AWS profile from ~/.aws/config (default: AWS_PROFILE or the default profile).
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// AWS region (default: the topology's `region`, else AWS_REGION / the profile's).
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// Send every AWS call to this endpoint, e.g. a local moto server (also AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    file: FileArg,
    #[command(flatten)]
    aws: AwsArgs,
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    format: PlanFormat,
    /// Exit 0 when there are no changes, 2 when there are, 1 on errors.
    #[arg(long)]
    detailed_exitcode: bool,
    /// Save the plan for `vpcform apply FILE`, bound to what it read.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print how many AWS API calls the plan made.
    #[arg(long)]
    stats: bool,
    /// Exit 1 when the plan broadens access (an allow added or widened, a
    /// deny removed), for pipelines that require a security review.
    #[arg(long)]
    deny_broadening: bool,
    /// Plan every environment of the topology, concurrently; with
    /// `--format markdown`, one comment with a section per environment.
    #[arg(long, conflicts_with_all = ["out", "region"])]
    all_envs: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlanFormat {
    Text,
    Json,
    Markdown,
}

/// A plan saved with `--out`: everything `apply FILE` needs, and what to check first.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SavedPlan {
    pub(crate) vpcform_version: String,
    pub(crate) topology_file: String,
    /// SHA-256 of the plan's promise (`Plan::promise`): printed by `plan
    /// --out` and by `apply`, checked on load.
    pub(crate) digest: String,
    /// `--env`, `--param` and `--param-file` as given to `plan`, so that
    /// `apply` expands the topology the same way (the plan's topology hash
    /// covers the values and the files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) env: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) params: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) param_files: Vec<PathBuf>,
    pub(crate) plan: Plan,
}

/// Connects with `--region`, else the topology's region (an environment's,
/// with `--env`), else the environment's; as `--profile`, else the
/// environment's profile, assuming the environment's role if it names one.
pub(crate) async fn connect(
    aws_args: &AwsArgs,
    topology: &vpcform_topology::Topology,
) -> anyhow::Result<vpcform_aws::Aws> {
    let env = topology.environment.as_ref();
    let options = vpcform_aws::AwsOptions {
        profile: aws_args
            .profile
            .clone()
            .or_else(|| env.and_then(|e| e.profile.clone())),
        region: aws_args
            .region
            .clone()
            .or_else(|| topology.region.as_ref().map(|r| r.value.clone())),
        endpoint_url: aws_args.endpoint_url.clone(),
        role_arn: env.and_then(|e| e.role_arn.clone()),
    };
    Ok(vpcform_aws::Aws::connect(&options).await?)
}

/// Loads and plans; `Err` carries a message, `Ok(None)` means the topology was invalid (reported).
pub(crate) async fn make_plan(
    file: &FileArg,
    aws_args: &AwsArgs,
    output: Output,
) -> anyhow::Result<Option<(Plan, vpcform_aws::Aws)>> {
    let loaded = load(file)?;
    report(&loaded, output, false);
    let Some((topology, graph)) = loaded.valid() else {
        let env = file
            .env
            .as_ref()
            .map(|e| format!(" (environment {e})"))
            .unwrap_or_default();
        err(&format!(
            "{}{env}: {} error(s); nothing was read or changed{}\n",
            loaded.source.name,
            loaded.error_count(),
            if env.is_empty() { "" } else { " there" }
        ));
        return Ok(None);
    };
    let aws = connect(aws_args, topology).await?;
    let before = aws.calls().get();
    let (live, network) = tokio::try_join!(
        vpcform_aws::read_live_state(&aws, topology),
        vpcform_aws::read_network(&aws, topology),
    )?;
    let topology_hash = vpcform_diff::short_hash(&loaded.binding_text());
    let mut plan = vpcform_diff::plan(vpcform_diff::PlanInput {
        topology,
        graph,
        live: &live,
        topology_hash: &topology_hash,
    });
    plan.api_calls = aws.calls().get() - before;
    // A plan is a promise: what apply would refuse is an error now, in review.
    add_refusals(&mut plan, &network);
    plan.connectivity = Some(connectivity(topology, &network));
    Ok(Some((plan, aws)))
}

/// What apply would refuse, as plan errors: a cycle in the apply graph, a
/// VPC to delete that still holds what vpcform does not manage. Every path
/// that makes a plan adds them, so a plan made again compares equal.
pub(crate) fn add_refusals(plan: &mut Plan, network: &vpcform_reach::Network) {
    plan.errors
        .extend(vpcform_exec::build_apply_graph(plan).refusal());
    plan.errors
        .extend(vpcform_diff::unmanaged_in_deleted_vpcs(plan, network));
}

/// The topology's expectations on the planned network, and the flows the
/// plan changes (the live network now against the planned one).
fn connectivity(
    topology: &vpcform_topology::Topology,
    live: &vpcform_reach::Network,
) -> vpcform_reach::Connectivity {
    let planned = vpcform_reach::planned(&vpcform_reach::from_topology(topology), live);
    vpcform_reach::Connectivity {
        expectations: vpcform_reach::check_expectations(&topology.expect, &planned),
        changes: vpcform_reach::diff(live, &planned),
    }
}

pub(crate) fn run_plan(args: &PlanArgs, output: Output) -> anyhow::Result<ExitCode> {
    if args.all_envs {
        return run_plan_all_envs(args, output);
    }
    let runtime = crate::runtime()?;
    let made = runtime.block_on(make_plan(&args.file, &args.aws, output));
    // A pull request's comment says why there is no plan, rather than nothing.
    if args.format == PlanFormat::Markdown {
        let failure = match &made {
            Ok(Some(_)) => None,
            Ok(None) => Some("the topology has errors; `vpcform validate` lists them".to_string()),
            Err(e) => Some(format!("{e:#}")),
        };
        if let Some(why) = failure {
            let stack = crate::validate::load(&args.file)
                .ok()
                .and_then(|l| l.topology.map(|t| t.stack.value))
                .unwrap_or_default();
            out(&vpcform_diff::failure_markdown(&stack, &why));
        }
    }
    let Some((plan, aws)) = made? else {
        return Ok(ExitCode::from(1));
    };
    match args.format {
        PlanFormat::Text => out(&vpcform_diff::to_text(&plan, &output.stdout_style())),
        PlanFormat::Json => out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&vpcform_diff::to_json(&plan, env!("CARGO_PKG_VERSION")))?
        )),
        PlanFormat::Markdown => out(&vpcform_diff::to_markdown(&plan)),
    }
    if args.stats {
        err(&format!(
            "AWS API calls: {} ({} objects read, region {})\n",
            plan.api_calls,
            plan.fingerprints
                .iter()
                .filter(|f| f.hash != vpcform_diff::ObjectHash::Absent)
                .count(),
            aws.region()
        ));
    }
    if let Some(path) = &args.out {
        let saved = SavedPlan {
            vpcform_version: env!("CARGO_PKG_VERSION").to_string(),
            topology_file: args.file.file.display().to_string(),
            digest: vpcform_diff::digest(&plan.promise()),
            env: args.file.env.clone(),
            params: args.file.params.clone(),
            param_files: args.file.param_files.clone(),
            plan: plan.clone(),
        };
        std::fs::write(path, serde_json::to_vec_pretty(&saved)?)
            .with_context(|| format!("cannot write the plan to {}", path.display()))?;
        err(&format!(
            "Saved the plan to {} (digest {}). Apply it with: vpcform apply {}\n",
            path.display(),
            saved.digest,
            path.display()
        ));
    }
    let broadening = args.deny_broadening && broadens_access(&plan, output);
    if !plan.errors.is_empty() || breaks_expectations(&plan) || broadening {
        return Ok(ExitCode::from(1));
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `plan --all-envs`: every environment planned concurrently (each its own
/// stack, region and credentials), shown together.
fn run_plan_all_envs(args: &PlanArgs, output: Output) -> anyhow::Result<ExitCode> {
    if args.file.env.is_some() {
        anyhow::bail!("--all-envs plans every environment; leave out --env");
    }
    let envs = load(&args.file)?.environments;
    if envs.is_empty() {
        anyhow::bail!(
            "{} declares no `environments:`; --all-envs needs them",
            args.file.file.display()
        );
    }
    let runtime = crate::runtime()?;
    let made = runtime.block_on(futures::future::join_all(envs.iter().map(|env| {
        let file = args.file.in_env(env);
        async move { make_plan(&file, &args.aws, output).await }
    })));
    let outcomes: Vec<(String, Result<Plan, String>)> = made
        .into_iter()
        .zip(&envs)
        .map(|(m, env)| match m {
            Ok(Some((plan, _))) => (plan.stack.clone(), Ok(plan)),
            Ok(None) => invalid_in(&args.file, env),
            Err(e) => (stack_of(&args.file, env), Err(format!("{e:#}"))),
        })
        .collect();
    let rows: Vec<vpcform_diff::EnvPlan<'_>> = envs
        .iter()
        .zip(&outcomes)
        .map(|(env, (stack, o))| vpcform_diff::EnvPlan {
            env,
            stack,
            outcome: o.as_ref().map_err(Clone::clone),
        })
        .collect();
    print_env_plans(args, output, &rows)?;
    let failed = rows.iter().any(|r| match r.outcome {
        Ok(plan) => {
            !plan.errors.is_empty()
                || breaks_expectations(plan)
                || (args.deny_broadening && broadens_access(plan, output))
        }
        Err(_) => true,
    });
    let changes = rows
        .iter()
        .any(|r| r.outcome.as_ref().is_ok_and(|p| p.has_changes()));
    Ok(match (failed, args.detailed_exitcode && changes) {
        (true, _) => ExitCode::from(1),
        (false, true) => ExitCode::from(2),
        (false, false) => ExitCode::SUCCESS,
    })
}

/// An environment whose topology has errors: its stack and its first error.
fn invalid_in(file: &FileArg, env: &str) -> (String, Result<Plan, String>) {
    let Ok(loaded) = load(&file.in_env(env)) else {
        return (String::new(), Err("the topology cannot be read".into()));
    };
    let stack = loaded
        .environment
        .as_ref()
        .map(|e| e.stack.clone())
        .unwrap_or_default();
    let first = loaded.diagnostics.iter().find(|d| d.is_error());
    let why = match first {
        Some(d) => format!(
            "{} error(s), the first [{}] at {}:{}: {}",
            loaded.error_count(),
            d.code,
            loaded.source.file_name(d.span),
            d.span.line,
            d.message
        ),
        None => "the topology has errors in this environment".into(),
    };
    (stack, Err(why))
}

/// The stack an environment plans, for a comment when its plan failed.
fn stack_of(file: &FileArg, env: &str) -> String {
    load(&file.in_env(env))
        .ok()
        .and_then(|l| l.environment.map(|e| e.stack))
        .unwrap_or_default()
}

fn print_env_plans(
    args: &PlanArgs,
    output: Output,
    rows: &[vpcform_diff::EnvPlan<'_>],
) -> anyhow::Result<()> {
    match args.format {
        PlanFormat::Markdown => out(&vpcform_diff::to_markdown_envs(rows)),
        PlanFormat::Json => {
            let envs: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| match r.outcome {
                    Ok(plan) => serde_json::json!({
                        "environment": r.env,
                        "plan": vpcform_diff::to_json(plan, env!("CARGO_PKG_VERSION")),
                    }),
                    Err(ref why) => serde_json::json!({ "environment": r.env, "error": why }),
                })
                .collect();
            out(&format!(
                "{}\n",
                serde_json::to_string_pretty(&serde_json::json!({ "environments": envs }))?
            ));
        }
        PlanFormat::Text => {
            for r in rows {
                out(&format!("== environment {}\n", r.env));
                match r.outcome {
                    Ok(plan) => out(&vpcform_diff::to_text(plan, &output.stdout_style())),
                    Err(ref why) => out(&format!("No plan was made: {why}\n")),
                }
                out("\n");
            }
        }
    }
    Ok(())
}

/// Whether the plan broadens access (reported; exit 1 with `--deny-broadening`).
fn broadens_access(plan: &Plan, output: Output) -> bool {
    let broadening = vpcform_diff::security_changes(plan)
        .iter()
        .filter(|c| c.broadening())
        .count();
    if broadening > 0 {
        err(&format!(
            "{} the plan broadens access ({broadening} change(s) marked broadening under Security changes); --deny-broadening requires a security review\n",
            output.style().error("error:")
        ));
    }
    broadening > 0
}

/// Whether the plan breaks a connectivity expectation (reported; exit 1).
pub(crate) fn breaks_expectations(plan: &Plan) -> bool {
    let broken = plan.connectivity.as_ref().map_or(0, |c| c.broken().count());
    if broken > 0 {
        err(&format!(
            "the plan breaks {broken} connectivity expectation(s) of the topology; see Connectivity above\n"
        ));
    }
    broken > 0
}
