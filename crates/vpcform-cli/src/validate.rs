//! `vpcform validate` and `vpcform graph`.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use vpcform_topology::{Loaded, Severity};

use crate::{FileArg, Output, err, out};

#[derive(Clone, Debug, Args)]
pub(crate) struct ValidateArgs {
    #[command(flatten)]
    file: FileArg,
    /// Output format of the diagnostics.
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Text)]
    format: DiagnosticFormat,
    /// Treat warnings as errors (exit 1).
    #[arg(long)]
    deny_warnings: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DiagnosticFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    #[command(flatten)]
    file: FileArg,
    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    format: GraphFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

/// Loads the topology file; I/O problems are errors, content problems diagnostics.
pub(crate) fn load(file: &FileArg) -> anyhow::Result<Loaded> {
    let options = expand_options(file)?;
    vpcform_topology::load_file_with(&file.file, &options).with_context(|| {
        format!(
            "cannot read the topology file {}; pass another with -f FILE",
            file.file.display()
        )
    })
}

/// `--env`, `--param` and `--param-file` for the expansion.
fn expand_options(file: &FileArg) -> anyhow::Result<vpcform_topology::ExpandOptions> {
    let mut params = Vec::new();
    for p in &file.params {
        let Some((name, value)) = p.split_once('=') else {
            anyhow::bail!("--param {p}: write --param NAME=VALUE");
        };
        params.push((name.trim().to_string(), value.to_string()));
    }
    let mut param_files = Vec::new();
    for path in &file.param_files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the parameter file {}", path.display()))?;
        param_files.push((path.display().to_string(), text));
    }
    Ok(vpcform_topology::ExpandOptions {
        env: file.env.clone(),
        params,
        param_files,
    })
}

#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    #[command(flatten)]
    file: FileArg,
}

/// `vpcform render`: the plain topology on stdout, diagnostics on stderr.
pub(crate) fn run_render(args: &RenderArgs, output: Output) -> anyhow::Result<ExitCode> {
    let loaded = load(&args.file)?;
    report(&loaded, output, false);
    match loaded.render_plain() {
        Some(text) if !loaded.has_errors() => {
            let mut header = format!(
                "# Rendered by `vpcform render` from {}",
                vpcform_topology::escape::terminal(&loaded.source.name)
            );
            if let Some(env) = &loaded.environment {
                header.push_str(&format!(" for environment {}", env.name));
            }
            out(&format!("{header}.\n{text}"));
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            err(&format!(
                "{}: {} error(s); nothing rendered\n",
                loaded.source.name,
                loaded.error_count()
            ));
            Ok(ExitCode::from(1))
        }
    }
}

/// Prints diagnostics as text on stderr, with a closing count.
pub(crate) fn report(loaded: &Loaded, output: Output, deny_warnings: bool) {
    let style = output.style();
    for d in &loaded.diagnostics {
        let mut d = d.clone();
        if deny_warnings {
            d.severity = Severity::Error;
        }
        err(&loaded.source.render(&d, &style));
        err("\n");
    }
}

/// The JSON of one validation: the counts, every diagnostic and finding.
fn json_doc(loaded: &Loaded, deny_warnings: bool, failed: bool) -> serde_json::Value {
    let records: Vec<_> = loaded
        .diagnostics
        .iter()
        .map(|d| {
            let mut r = loaded.source.record(d);
            if deny_warnings {
                r.severity = Severity::Error;
            }
            r
        })
        .collect();
    serde_json::json!({
        "valid": !failed,
        "errors": records.iter().filter(|r| r.severity == Severity::Error).count(),
        "warnings": records.iter().filter(|r| r.severity == Severity::Warning).count(),
        "diagnostics": records,
        "policy_findings": loaded.findings.iter().map(|f| finding_record(loaded, f)).collect::<Vec<_>>(),
    })
}

/// `validate --format json` of a topology with environments: one document,
/// every environment validated, each diagnostic and finding naming its own.
fn validate_envs_json(args: &ValidateArgs, envs: &[String]) -> anyhow::Result<ExitCode> {
    let (mut valid, mut errors, mut warnings) = (true, 0, 0);
    let (mut diagnostics, mut findings) = (Vec::new(), Vec::new());
    for env in envs {
        let mut loaded = load(&args.file.in_env(env))?;
        check_expectations(&mut loaded);
        let failed = loaded.has_errors() || (args.deny_warnings && loaded.warning_count() > 0);
        let doc = json_doc(&loaded, args.deny_warnings, failed);
        valid &= !failed;
        errors += doc["errors"].as_u64().unwrap_or(0);
        warnings += doc["warnings"].as_u64().unwrap_or(0);
        for (list, key) in [
            (&mut diagnostics, "diagnostics"),
            (&mut findings, "policy_findings"),
        ] {
            for mut record in doc[key].as_array().cloned().unwrap_or_default() {
                record["environment"] = serde_json::Value::String(env.clone());
                list.push(record);
            }
        }
    }
    let doc = serde_json::json!({
        "valid": valid,
        "errors": errors,
        "warnings": warnings,
        "environments": envs,
        "diagnostics": diagnostics,
        "policy_findings": findings,
    });
    out(&format!("{}\n", serde_json::to_string_pretty(&doc)?));
    Ok(ExitCode::from(if valid { 0 } else { 1 }))
}

pub(crate) fn run_validate(args: &ValidateArgs, output: Output) -> anyhow::Result<ExitCode> {
    let mut loaded = load(&args.file)?;
    // Without --env, a topology with environments is validated in each.
    if args.file.env.is_none() && loaded.environment.is_none() && !loaded.environments.is_empty() {
        if matches!(args.format, DiagnosticFormat::Json) {
            return validate_envs_json(args, &loaded.environments);
        }
        let mut worst = ExitCode::SUCCESS;
        for env in &loaded.environments {
            err(&format!("== environment {env}\n"));
            let each = ValidateArgs {
                file: args.file.in_env(env),
                ..args.clone()
            };
            let code = run_validate(&each, output)?;
            if code != ExitCode::SUCCESS {
                worst = code;
            }
        }
        return Ok(worst);
    }
    let expectations = check_expectations(&mut loaded);
    let failed = loaded.has_errors() || (args.deny_warnings && loaded.warning_count() > 0);
    match args.format {
        DiagnosticFormat::Json => {
            let doc = json_doc(&loaded, args.deny_warnings, failed);
            out(&format!("{}\n", serde_json::to_string_pretty(&doc)?));
        }
        DiagnosticFormat::Text => {
            report(&loaded, output, args.deny_warnings);
            let name = &loaded.source.name;
            let (errors, warnings) = if args.deny_warnings {
                (loaded.diagnostics.len(), 0)
            } else {
                (loaded.error_count(), loaded.warning_count())
            };
            let warn_text = match warnings {
                0 => String::new(),
                1 => ", 1 warning".to_string(),
                n => format!(", {n} warnings"),
            };
            if failed {
                let plural = if errors == 1 { "" } else { "s" };
                err(&format!(
                    "{name}: {errors} error{plural}{warn_text}; nothing was changed\n"
                ));
            } else if let Some((t, graph)) = loaded.valid() {
                out(&format!(
                    "{name}: valid{warn_text} (stack `{}`, {} resources, {} dependencies)\n",
                    t.stack.value,
                    graph.len(),
                    graph.edge_count()
                ));
                out(&policy_summary(&loaded));
                out(&expectation_summary(&expectations));
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The policy checks' count, and each waived finding with its reason
/// (the others were reported as warnings).
fn policy_summary(loaded: &Loaded) -> String {
    let waived: Vec<&vpcform_topology::waivers::Finding> = loaded
        .findings
        .iter()
        .filter(|f| f.waiver.is_some())
        .collect();
    let rules = vpcform_topology::policy::POLICY_RULES.len();
    let mut text = format!(
        "Policy checks ({rules} rules): {} finding(s), {} waived\n",
        loaded.findings.len(),
        waived.len()
    );
    for f in waived {
        let Some(w) = &f.waiver else { continue };
        let until = w
            .expires
            .as_ref()
            .map_or(String::new(), |e| format!(", until {}", e.value));
        text.push_str(&format!(
            "  waived {} {}:{}:{} {}: {} ({}{until})\n",
            f.finding.rule,
            loaded.source.name,
            f.span.line,
            f.span.column,
            f.finding.address,
            f.finding.message,
            w.reason.value.trim()
        ));
    }
    text
}

/// A finding as `validate --format json` lists it.
fn finding_record(loaded: &Loaded, f: &vpcform_topology::waivers::Finding) -> serde_json::Value {
    serde_json::json!({
        "rule": f.finding.rule,
        "address": f.finding.address.to_string(),
        "file": loaded.source.name,
        "line": f.span.line,
        "column": f.span.column,
        "message": f.finding.message,
        "waived": f.waiver.is_some(),
        "reason": f.waiver.as_ref().map(|w| w.reason.value.trim().to_string()),
        "expires": f.waiver.as_ref().and_then(|w| w.expires.as_ref()).map(|e| e.value.clone()),
    })
}

pub(crate) fn run_graph(args: &GraphArgs, output: Output) -> anyhow::Result<ExitCode> {
    let loaded = load(&args.file)?;
    let Some((_, graph)) = loaded.valid() else {
        report(&loaded, output, false);
        err(&format!(
            "{}: {} errors; fix them to draw the graph\n",
            loaded.source.name,
            loaded.error_count()
        ));
        return Ok(ExitCode::from(1));
    };
    let text = match args.format {
        GraphFormat::Dot => graph.to_dot(),
        GraphFormat::Mermaid => graph.to_mermaid(),
        GraphFormat::Json => format!("{}\n", serde_json::to_string_pretty(&graph.to_json())?),
    };
    out(&text);
    Ok(ExitCode::SUCCESS)
}

/// How the expectations fared; the unverifiable ones named with what the
/// model cannot decide (an answer too, not a pass).
fn expectation_summary(results: &[vpcform_reach::ExpectationResult]) -> String {
    use vpcform_reach::Status;
    if results.is_empty() {
        return String::new();
    }
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let mut text = format!(
        "Expectations: {} held, {} unverifiable\n",
        count(Status::Held),
        count(Status::Unverifiable)
    );
    for r in results.iter().filter(|r| r.status == Status::Unverifiable) {
        let why: Vec<String> = r
            .unknown
            .iter()
            .map(|u| format!("{}: {}", u.component, u.reason))
            .collect();
        text.push_str(&format!(
            "  ? {}: {}\n",
            vpcform_topology::escape::terminal(&r.expectation),
            vpcform_topology::escape::terminal(&why.join("; "))
        ));
    }
    text
}

/// The topology's `expect:` entries against the network it declares: each
/// broken one is a located error naming the settings that block it.
fn check_expectations(loaded: &mut Loaded) -> Vec<vpcform_reach::ExpectationResult> {
    let Some((topology, _)) = loaded.valid() else {
        return Vec::new();
    };
    let network = vpcform_reach::from_topology(topology);
    let results = vpcform_reach::check_expectations(&topology.expect, &network);
    loaded
        .diagnostics
        .extend(vpcform_reach::expectation_diagnostics(&results));
    loaded
        .diagnostics
        .sort_by_key(|d| (d.span.line, d.span.column, d.severity));
    results
}
