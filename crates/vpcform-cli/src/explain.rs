//! `vpcform explain`: for each REJECT in the flow logs, the setting that
//! dropped it (security group, network ACL entry and direction, no route),
//! with Reachability Analyzer's codes and the fix; and the accepted flows no
//! expectation covers, as candidates for `expect:`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde::Serialize;
use vpcform_insights::QueryResult;
use vpcform_reach::{Cause, FlowRecord, Network, Reading};
use vpcform_topology::Topology;
use vpcform_topology::escape::terminal;

use crate::plan::{AwsArgs, connect};
use crate::validate::{load, report};
use crate::{FileArg, Output, out};

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// Records from a file (flow-log lines, or `aws logs filter-log-events` JSON) instead of the log groups.
    #[arg(long, value_name = "FILE")]
    input: Option<std::path::PathBuf>,
    /// How far back to read the flow logs, e.g. 15m, 1h.
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    since: String,
    /// aws: Logs Insights; local: vpcform's engine over the events (works against moto).
    #[arg(long, value_enum, default_value_t = Engine::Aws)]
    engine: Engine,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
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
enum Format {
    Text,
    Json,
}

/// Every record's fields an explanation needs, counted.
const QUERY: &str = "filter action = 'REJECT' or action = 'ACCEPT' | stats count(*) as n by action, srcAddr, dstAddr, srcPort, dstPort, protocol, interfaceId";

/// Records that share one explanation.
#[derive(Debug, Serialize)]
struct Explained {
    records: u64,
    interfaces: Vec<String>,
    #[serde(flatten)]
    cause: Cause,
}

/// An accepted flow no expectation covers.
#[derive(Debug, Serialize)]
struct Candidate {
    from: String,
    to: String,
    protocol: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    records: u64,
}

pub(crate) fn run_explain(args: &ExplainArgs, output: Output) -> anyhow::Result<ExitCode> {
    let loaded = load(&args.file)?;
    let Some((topology, _)) = loaded.valid() else {
        report(&loaded, output, false);
        return Ok(ExitCode::from(1));
    };
    let (network, result) = crate::runtime()?.block_on(read(args, topology))?;
    let rows = rows(&result);
    let explained = explain_rejects(&network, &rows);
    let candidates = candidates(&network, topology, &rows);
    match args.format {
        Format::Json => out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({
                "rejects": explained,
                "uncovered_accepts": candidates,
            }))?
        )),
        Format::Text => out(&text(&explained, &candidates)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The live network, and the records counted by action and flow.
async fn read(args: &ExplainArgs, topology: &Topology) -> anyhow::Result<(Network, QueryResult)> {
    let aws = connect(&args.aws, topology).await?;
    let network = vpcform_aws::read_network(&aws, topology).await?;
    let result = match &args.input {
        Some(path) => crate::query::query_file(path, QUERY)?,
        None => {
            let since = humantime::parse_duration(&args.since)?;
            let end = crate::query::now_ms();
            let window = vpcform_aws::Window {
                start_ms: end - since.as_millis() as i64,
                end_ms: end,
            };
            let groups = crate::query::default_groups(topology);
            match args.engine {
                Engine::Aws => {
                    vpcform_aws::run_insights_query(
                        &aws,
                        &groups,
                        QUERY,
                        window,
                        |_| {},
                        std::future::pending(),
                    )
                    .await?
                }
                Engine::Local => crate::query::run_locally(&aws, &groups, QUERY, window).await?,
            }
        }
    };
    Ok((network, result))
}

/// A result row as an action, a record and its count; rows without
/// addresses (NODATA, SKIPDATA) are left out.
fn rows(result: &QueryResult) -> Vec<(String, FlowRecord, u64)> {
    result
        .rows
        .iter()
        .filter_map(|row| {
            let get = |k: &str| row.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
            let record = FlowRecord {
                src: get("srcAddr")?.parse::<IpAddr>().ok()?,
                dst: get("dstAddr")?.parse::<IpAddr>().ok()?,
                src_port: get("srcPort")?.parse().ok()?,
                dst_port: get("dstPort")?.parse().ok()?,
                protocol: get("protocol")?.parse().ok()?,
                interface: get("interfaceId").filter(|i| *i != "-").map(str::to_string),
            };
            Some((get("action")?.to_string(), record, get("n")?.parse().ok()?))
        })
        .collect()
}

/// Every REJECT explained; records with the same explanation together.
fn explain_rejects(network: &Network, rows: &[(String, FlowRecord, u64)]) -> Vec<Explained> {
    let mut by_cause: BTreeMap<String, Explained> = BTreeMap::new();
    for (action, record, n) in rows {
        if action != "REJECT" {
            continue;
        }
        let e = vpcform_reach::explain(network, record);
        let key = serde_json::to_string(&e.cause).unwrap_or_default();
        let entry = by_cause.entry(key).or_insert_with(|| Explained {
            records: 0,
            interfaces: Vec::new(),
            cause: e.cause,
        });
        entry.records += n;
        if let Some(i) = &record.interface
            && !entry.interfaces.contains(i)
        {
            entry.interfaces.push(i.clone());
        }
    }
    let mut out: Vec<Explained> = by_cause.into_values().collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.records));
    out
}

/// Accepted requests that no `expect:` entry covers, by flow.
fn candidates(
    network: &Network,
    topology: &Topology,
    rows: &[(String, FlowRecord, u64)],
) -> Vec<Candidate> {
    let mut flows: BTreeMap<(String, String, u8, Option<u16>), u64> = BTreeMap::new();
    for (action, record, n) in rows {
        if action != "ACCEPT"
            || topology
                .expect
                .iter()
                .any(|e| vpcform_reach::covered_by(network, e, record))
        {
            continue;
        }
        let r = vpcform_reach::as_request(record);
        let name = |ip: IpAddr| {
            vpcform_reach::resolve(network, &vpcform_reach::EndpointSpec::Ip(ip), ip.is_ipv6())
                .ok()
                .and_then(|e| e.instance.map(|i| i.key.clone()))
                .unwrap_or_else(|| ip.to_string())
        };
        let port = matches!(r.protocol, 6 | 17).then_some(r.dst_port);
        *flows
            .entry((name(r.src), name(r.dst), r.protocol, port))
            .or_default() += n;
    }
    flows
        .into_iter()
        .filter_map(|((from, to, protocol, port), records)| {
            let protocol = match protocol {
                6 => "tcp",
                17 => "udp",
                1 | 58 => "icmp",
                _ => return None,
            };
            Some(Candidate {
                from,
                to,
                protocol,
                port,
                records,
            })
        })
        .collect()
}

fn text(explained: &[Explained], candidates: &[Candidate]) -> String {
    use std::fmt::Write as _;
    let t = |s: &str| terminal(s).into_owned();
    let mut out = String::new();
    if explained.is_empty() {
        out.push_str("No REJECT records in the window.\n");
    }
    for e in explained {
        let at = if e.interfaces.is_empty() {
            String::new()
        } else {
            format!(" at {}", t(&e.interfaces.join(", ")))
        };
        match &e.cause {
            Cause::Blocked {
                reading,
                flow,
                blocks,
            } => {
                let what = match reading {
                    Reading::Request => "the request",
                    Reading::Reply => "the reply",
                };
                let _ = writeln!(
                    out,
                    "✗ {} REJECT record(s){at}: {what} of {} was dropped by",
                    e.records,
                    t(flow)
                );
                for b in blocks {
                    let id =
                        b.id.as_ref()
                            .map(|i| format!(" ({})", t(i)))
                            .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "    [{}] {}{id}, {} leg: {}",
                        b.code,
                        t(&b.component),
                        b.leg,
                        t(&b.reason)
                    );
                    let _ = writeln!(out, "        fix: {}", t(&b.fix));
                }
            }
            Cause::Unknown { flow, undecided } => {
                let what: Vec<String> = undecided.iter().map(|u| t(&u.component)).collect();
                let _ = writeln!(
                    out,
                    "? {} REJECT record(s){at} of {}: unknown; the path crosses {}, which vpcform does not model",
                    e.records,
                    t(flow),
                    what.join(", ")
                );
            }
            Cause::Allowed { flow, why } => {
                let _ = writeln!(
                    out,
                    "? {} REJECT record(s){at} of {}: unknown; {}",
                    e.records,
                    t(flow),
                    t(why)
                );
            }
            Cause::NotModelled { why } => {
                let _ = writeln!(
                    out,
                    "? {} REJECT record(s){at}: unknown; {}",
                    e.records,
                    t(why)
                );
            }
        }
    }
    if !candidates.is_empty() {
        out.push_str("\nAccepted flows no expectation covers (candidates for `expect:`):\n");
        for c in candidates {
            let port = c.port.map(|p| format!(", port: {p}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "  - {{ from: \"{}\", to: \"{}\", protocol: {}{port}, reachable: true }}   # {} record(s)",
                t(&c.from),
                t(&c.to),
                c.protocol,
                c.records
            );
        }
    }
    out
}
