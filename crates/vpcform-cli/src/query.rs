//! `vpcform query`: the topology's Logs Insights queries (or one given with
//! --query), on AWS's engine, on the local engine over the groups' events,
//! or offline over a file.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vpcform_topology::escape::{csv_cell, terminal};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use vpcform_insights::{Event, QueryResult};
use vpcform_topology::Topology;

use crate::plan::{AwsArgs, connect};
use crate::validate::{load, report};
use crate::{FileArg, Output, err, out};

#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// A query of the topology's `queries:` (omit to list them).
    name: Option<String>,
    /// A query given here instead of a named one.
    #[arg(long, value_name = "Q", conflicts_with = "name")]
    query: Option<String>,
    /// Log group to read (repeat for several); default: the query's, else the flow logs' groups.
    #[arg(long = "log-group", value_name = "G")]
    log_groups: Vec<String>,
    /// How far back to look, e.g. 15m, 1h, 2d.
    #[arg(long, value_name = "DURATION", default_value = "1h", conflicts_with_all = ["start", "end"])]
    since: String,
    /// Window start (RFC 3339, e.g. 2026-11-26T10:00:00Z); with --end.
    #[arg(long, value_name = "TIME", requires = "end")]
    start: Option<String>,
    #[arg(long, value_name = "TIME", requires = "start")]
    end: Option<String>,
    /// aws: Logs Insights itself (any volume); local: vpcform's engine over the events (FilterLogEvents).
    #[arg(long, value_enum, default_value_t = Engine::Aws)]
    engine: Engine,
    /// Query a file offline: flow-log records one per line, or the JSON of `aws logs filter-log-events`.
    #[arg(long, value_name = "FILE")]
    input: Option<std::path::PathBuf>,
    #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
    format: QueryFormat,
    #[command(flatten)]
    file: FileArg,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Engine {
    Aws,
    Local,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum QueryFormat {
    Table,
    Json,
    Csv,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(crate) fn run_query(args: &QueryArgs, output: Output) -> anyhow::Result<ExitCode> {
    // Offline with an ad-hoc query needs no topology.
    if let (Some(input), Some(query)) = (&args.input, &args.query) {
        let result = query_file(input, query)?;
        print(&result, args.format)?;
        return Ok(ExitCode::SUCCESS);
    }
    let loaded = load(&args.file)?;
    let Some((topology, _)) = loaded.valid() else {
        report(&loaded, output, false);
        return Ok(ExitCode::from(1));
    };
    let (text, groups) = match (&args.name, &args.query) {
        (_, Some(q)) => (q.clone(), default_groups(topology)),
        (Some(name), None) => {
            let q = topology
                .queries
                .iter()
                .find(|q| &q.name.value == name)
                .with_context(|| {
                    let names: Vec<&str> = topology
                        .queries
                        .iter()
                        .map(|q| q.name.value.as_str())
                        .collect();
                    format!(
                        "the topology has no query `{name}`; its queries: {}",
                        names.join(", ")
                    )
                })?;
            let groups = if q.spec.log_groups.is_empty() {
                default_groups(topology)
            } else {
                q.spec
                    .log_groups
                    .iter()
                    .filter_map(|g| group_name(topology, &g.value))
                    .collect()
            };
            (q.spec.query.value.clone(), groups)
        }
        (None, None) => {
            let mut text =
                String::from("The topology's queries (run one with `vpcform query NAME`):\n");
            for q in &topology.queries {
                let about = q.spec.description.as_ref().map_or("", |d| d.value.as_str());
                text.push_str(&format!("  {:<20} {about}\n", q.name.value));
            }
            out(&text);
            return Ok(ExitCode::SUCCESS);
        }
    };
    let groups = if args.log_groups.is_empty() {
        groups
    } else {
        args.log_groups.clone()
    };
    let runtime = crate::runtime()?;
    let result = runtime.block_on(async {
        let needs_live = !vpcform_topology::queries::placeholders(&text).is_empty();
        if let Some(input) = &args.input {
            if needs_live {
                bail!("this query names live addresses (${{…}}); offline, give the query with --query and the addresses written out");
            }
            return query_file(input, &text);
        }
        let aws = connect(&args.aws, topology).await?;
        let text = if needs_live { fill_from_live(&aws, topology, &text).await? } else { text };
        vpcform_insights::compile(&text).map_err(|e| anyhow::anyhow!("{}", e.render(&text)))?;
        let window = window(args)?;
        match args.engine {
            Engine::Aws => run_on_aws(&aws, &groups, &text, window).await,
            Engine::Local => run_locally(&aws, &groups, &text, window).await,
        }
    })?;
    print(&result, args.format)?;
    Ok(ExitCode::SUCCESS)
}

/// The log groups of the topology's flow logs, by AWS name.
pub(crate) fn default_groups(t: &Topology) -> Vec<String> {
    let mut out: Vec<String> = t
        .flow_logs
        .iter()
        .filter_map(|f| group_name(t, &f.spec.log_group.value))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn group_name(t: &Topology, logical: &str) -> Option<String> {
    t.log_groups
        .iter()
        .find(|g| g.name.value == logical)
        .map(|g| g.spec.name.value.clone())
}

fn window(args: &QueryArgs) -> anyhow::Result<vpcform_aws::Window> {
    let parse = |s: &str| -> anyhow::Result<i64> {
        let t = humantime::parse_rfc3339_weak(s)
            .with_context(|| format!("`{s}` is not a time like 2026-11-26T10:00:00Z"))?;
        Ok(t.duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64))
    };
    Ok(match (&args.start, &args.end) {
        (Some(s), Some(e)) => vpcform_aws::Window {
            start_ms: parse(s)?,
            end_ms: parse(e)?,
        },
        _ => {
            let since: Duration = humantime::parse_duration(&args.since)
                .with_context(|| format!("`{}` is not a duration like 15m or 2h", args.since))?;
            let end = now_ms();
            vpcform_aws::Window {
                start_ms: end - since.as_millis() as i64,
                end_ms: end,
            }
        }
    })
}

/// Fills `${instance.NAME.private-ip}` and friends from the live account.
async fn fill_from_live(
    aws: &vpcform_aws::Aws,
    topology: &Topology,
    text: &str,
) -> anyhow::Result<String> {
    use vpcform_topology::kinds::instance::PRIVATE_IP_ADDRESS;
    let live = vpcform_aws::read_live_state(aws, topology).await?;
    let network = vpcform_aws::read_network(aws, topology).await?;
    let filled = vpcform_topology::queries::fill(text, |p| {
        let address =
            vpcform_topology::Address::new(vpcform_topology::ResourceKind::Instance, &p.name);
        let object = live.objects.get(&address)?;
        match p.attribute.as_str() {
            "private-ip" => object
                .get(PRIVATE_IP_ADDRESS)
                .and_then(|v| v.as_str())
                .map(str::to_string),
            "id" => Some(object.id.clone()),
            _ => network
                .instances
                .iter()
                .find(|i| i.id.as_deref() == Some(object.id.as_str()))
                .filter(|i| i.public_ip)
                .map(|_| object.id.clone()),
        }
    });
    filled.map_err(anyhow::Error::msg)
}

pub(crate) fn query_file(path: &std::path::Path, query: &str) -> anyhow::Result<QueryResult> {
    let compiled =
        vpcform_insights::compile(query).map_err(|e| anyhow::anyhow!("{}", e.render(query)))?;
    let name = path
        .file_name()
        .map_or("input".into(), |n| n.to_string_lossy().into_owned());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    vpcform_insights::run_file(&compiled, path, &format!("local:{name}"), now_ms(), threads)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))
}

async fn run_on_aws(
    aws: &vpcform_aws::Aws,
    groups: &[String],
    text: &str,
    window: vpcform_aws::Window,
) -> anyhow::Result<QueryResult> {
    let progress = |p: &vpcform_aws::QueryProgress| {
        err(&format!(
            "\r{}: {} records scanned, {} matched",
            p.status, p.statistics.records_scanned, p.statistics.records_matched
        ));
    };
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let result = vpcform_aws::run_insights_query(aws, groups, text, window, progress, stop).await;
    err("\n");
    Ok(result?)
}

/// The groups' events stream from AWS into the local engine on another thread.
pub(crate) async fn run_locally(
    aws: &vpcform_aws::Aws,
    groups: &[String],
    text: &str,
    window: vpcform_aws::Window,
) -> anyhow::Result<QueryResult> {
    let compiled =
        vpcform_insights::compile(text).map_err(|e| anyhow::anyhow!("{}", e.render(text)))?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Event>(4096);
    let evaluate = tokio::task::spawn_blocking(move || compiled.run(rx.into_iter()));
    let sent = vpcform_aws::send_events(aws, groups, window, tx).await?;
    let result = evaluate.await?;
    debug_assert!(result.statistics.records_scanned as u64 == sent);
    Ok(result)
}

fn print(r: &QueryResult, format: QueryFormat) -> anyhow::Result<()> {
    match format {
        QueryFormat::Json => {
            let rows: Vec<serde_json::Map<String, serde_json::Value>> = r
                .rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect()
                })
                .collect();
            let doc =
                serde_json::json!({ "fields": r.fields, "rows": rows, "statistics": r.statistics });
            out(&format!("{}\n", serde_json::to_string_pretty(&doc)?));
        }
        QueryFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            // Cells a spreadsheet would run as formulas are neutralised.
            // Field names are the query language's identifiers; the cells are data.
            w.write_record(&r.fields)?;
            for row in &r.rows {
                w.write_record(r.fields.iter().map(|f| {
                    csv_cell(
                        row.iter()
                            .find(|(k, _)| k == f)
                            .map_or("", |(_, v)| v.as_str()),
                    )
                    .into_owned()
                }))?;
            }
            out(&String::from_utf8(w.into_inner()?)?);
        }
        QueryFormat::Table => {
            let mut table = comfy_table::Table::new();
            table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
            // Records are data: controls, bidi and line breaks shown as escapes.
            table.set_header(r.fields.iter().map(|f| terminal(f)));
            for row in &r.rows {
                table.add_row(r.fields.iter().map(|f| {
                    terminal(
                        row.iter()
                            .find(|(k, _)| k == f)
                            .map_or("", |(_, v)| v.as_str()),
                    )
                }));
            }
            out(&format!("{table}\n"));
            err(&format!(
                "{} rows; {} records matched, {} scanned ({} bytes)\n",
                r.rows.len(),
                r.statistics.records_matched,
                r.statistics.records_scanned,
                r.statistics.bytes_scanned
            ));
        }
    }
    Ok(())
}
