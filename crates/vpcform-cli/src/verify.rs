//! `vpcform verify`: after apply, each `expect:` entry checked against the
//! live configuration (reachability) and against what the flow logs saw in
//! a time window (ACCEPT and REJECT records between the endpoints).

use std::process::ExitCode;
use vpcform_topology::escape::terminal;

use clap::{Args, ValueEnum};
use serde::Serialize;
use vpcform_reach::{EndpointSpec, Network};
use vpcform_topology::{ExpectProtocol, Expectation, Topology};

use crate::plan::{AwsArgs, connect};
use crate::validate::{load, report};
use crate::{FileArg, Output, out};

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// How far back to look for flow-log records, e.g. 15m, 1h.
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    since: String,
    /// aws: Logs Insights; local: vpcform's engine over the events (works against moto).
    #[arg(long, value_enum, default_value_t = VerifyEngine::Aws)]
    engine: VerifyEngine,
    #[arg(long, value_enum, default_value_t = VerifyFormat::Text)]
    format: VerifyFormat,
    #[command(flatten)]
    file: FileArg,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum VerifyEngine {
    Aws,
    Local,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum VerifyFormat {
    Text,
    Json,
}

/// One expectation's verdict.
#[derive(Debug, Serialize)]
struct Check {
    expectation: String,
    reachable: bool,
    configuration_allows: bool,
    accepted: u64,
    rejected: u64,
    /// Interfaces with REJECT records.
    rejected_at: Vec<String>,
    held: bool,
    /// Neither held nor broken: the configuration crosses a target vpcform
    /// does not model and no record decides it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    unverifiable: bool,
    verdict: String,
}

pub(crate) fn run_verify(args: &VerifyArgs, output: Output) -> anyhow::Result<ExitCode> {
    let loaded = load(&args.file)?;
    let Some((topology, _)) = loaded.valid() else {
        report(&loaded, output, false);
        return Ok(ExitCode::from(1));
    };
    if topology.expect.is_empty() {
        anyhow::bail!("the topology has no `expect:` entries to verify");
    }
    let since = humantime::parse_duration(&args.since)?;
    let checks = crate::runtime()?.block_on(async {
        let aws = connect(&args.aws, topology).await?;
        let network = vpcform_aws::read_network(&aws, topology).await?;
        let end = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis() as i64;
        let window = vpcform_aws::Window {
            start_ms: end - since.as_millis() as i64,
            end_ms: end,
        };
        let mut checks = Vec::new();
        // Group expectations (segmentation) are promises about many flows:
        // `validate` and `plan` check them; flow logs answer single flows.
        for e in topology
            .expect
            .iter()
            .filter(|e| !vpcform_reach::is_group_expectation(e))
        {
            checks.push(check(&aws, topology, &network, e, window, args.engine).await?);
        }
        anyhow::Ok(checks)
    })?;
    match args.format {
        VerifyFormat::Json => out(&format!("{}\n", serde_json::to_string_pretty(&checks)?)),
        VerifyFormat::Text => {
            let mut text = String::new();
            for c in &checks {
                let mark = match (c.held, c.unverifiable) {
                    (true, _) => "✓",
                    (false, true) => "?",
                    (false, false) => "✗",
                };
                text.push_str(&format!(
                    "{mark} {}: {}\n",
                    terminal(&c.expectation),
                    terminal(&c.verdict)
                ));
            }
            let held = checks.iter().filter(|c| c.held).count();
            text.push_str(&format!("\n{held} of {} expectations hold\n", checks.len()));
            out(&text);
        }
    }
    Ok(ExitCode::from(
        if checks.iter().all(|c| c.held || c.unverifiable) {
            0
        } else {
            2
        },
    ))
}

/// The address an endpoint has in the live network, for the flow-log filter.
fn address(network: &Network, spec: &EndpointSpec, ipv6: bool) -> Option<String> {
    let e = vpcform_reach::resolve(network, spec, ipv6).ok()?;
    (!e.is_internet() && e.addr.prefix_len() == e.addr.max_prefix_len())
        .then(|| e.addr.addr().to_string())
}

/// The flow-log records of the expectation's requests in the window:
/// how many were accepted and rejected, and where the rejections were.
async fn records(
    aws: &vpcform_aws::Aws,
    topology: &Topology,
    network: &Network,
    e: &Expectation,
    (from, to): (&EndpointSpec, &EndpointSpec),
    window: vpcform_aws::Window,
    engine: VerifyEngine,
) -> anyhow::Result<Seen> {
    // The requests' records: from the source's address (any, from the internet) to the destination's.
    let mut conditions = Vec::new();
    let ipv6 = e.over_ipv6() || from.is_ipv6() == Some(true) || to.is_ipv6() == Some(true);
    if let Some(a) = address(network, from, ipv6) {
        conditions.push(format!("srcAddr = '{a}'"));
    }
    if let Some(b) = address(network, to, ipv6) {
        conditions.push(format!("dstAddr = '{b}'"));
    }
    let protocol = match e.protocol.value {
        ExpectProtocol::Icmp if ipv6 => Some(58),
        ExpectProtocol::Icmp => Some(1),
        ExpectProtocol::Tcp => Some(6),
        ExpectProtocol::Udp => Some(17),
        ExpectProtocol::Any => None,
    };
    if let Some(protocol) = protocol {
        conditions.push(format!("protocol = {protocol}"));
    }
    if let Some(p) = &e.port {
        conditions.push(format!("dstPort = {}", p.value));
    }
    let query = format!(
        "filter {} | stats count(*) as n by action, interfaceId, srcAddr, dstAddr, srcPort, dstPort, protocol",
        conditions.join(" and ")
    );
    let groups: Vec<String> = {
        let mut g: Vec<String> = topology
            .flow_logs
            .iter()
            .filter_map(|f| {
                topology
                    .log_groups
                    .iter()
                    .find(|l| l.name.value == f.spec.log_group.value)
            })
            .map(|l| l.spec.name.value.clone())
            .collect();
        g.sort();
        g.dedup();
        g
    };
    let result = match engine {
        VerifyEngine::Aws => {
            vpcform_aws::run_insights_query(
                aws,
                &groups,
                &query,
                window,
                |_| {},
                std::future::pending(),
            )
            .await?
        }
        VerifyEngine::Local => crate::query::run_locally(aws, &groups, &query, window).await?,
    };
    let mut seen = Seen::default();
    for row in &result.rows {
        let get = |k: &str| row.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
        let n: u64 = get("n").and_then(|n| n.parse().ok()).unwrap_or(0);
        match get("action") {
            Some("ACCEPT") => seen.accepted += n,
            Some("REJECT") => {
                seen.rejected += n;
                let at = get("interfaceId").map(str::to_string);
                if let Some(at) = at.filter(|a| !seen.rejected_at.contains(a)) {
                    seen.rejected_at.push(at);
                }
                seen.why_rejected = seen.why_rejected.or_else(|| why_rejected(network, &get));
            }
            _ => {}
        }
    }
    Ok(seen)
}

/// What the flow logs saw of an expectation's traffic.
#[derive(Debug, Default)]
struct Seen {
    accepted: u64,
    rejected: u64,
    rejected_at: Vec<String>,
    /// What dropped the first REJECT record (`vpcform explain`).
    why_rejected: Option<String>,
}

/// `vpcform explain`'s answer for one REJECT row, in a line.
fn why_rejected<'r>(network: &Network, get: &dyn Fn(&str) -> Option<&'r str>) -> Option<String> {
    let record = vpcform_reach::FlowRecord {
        src: get("srcAddr")?.parse().ok()?,
        dst: get("dstAddr")?.parse().ok()?,
        src_port: get("srcPort")?.parse().ok()?,
        dst_port: get("dstPort")?.parse().ok()?,
        protocol: get("protocol")?.parse().ok()?,
        interface: None,
    };
    Some(match vpcform_reach::explain(network, &record).cause {
        vpcform_reach::Cause::Blocked { blocks, .. } => {
            let by: Vec<String> = blocks
                .iter()
                .map(|b| format!("[{}] {}", b.code, b.component))
                .collect();
            format!("dropped by {}", by.join(", "))
        }
        vpcform_reach::Cause::Allowed { .. } => {
            "the configuration now lets them through: they may predate a change".into()
        }
        vpcform_reach::Cause::Unknown { .. } | vpcform_reach::Cause::NotModelled { .. } => {
            "why is unknown to vpcform".into()
        }
    })
}

async fn check(
    aws: &vpcform_aws::Aws,
    topology: &Topology,
    network: &Network,
    e: &Expectation,
    window: vpcform_aws::Window,
    engine: VerifyEngine,
) -> anyhow::Result<Check> {
    let (from, to) = (
        e.from
            .value
            .parse::<EndpointSpec>()
            .map_err(anyhow::Error::msg)?,
        e.to.value
            .parse::<EndpointSpec>()
            .map_err(anyhow::Error::msg)?,
    );
    let service = vpcform_reach::service_of(e);
    let verdict =
        vpcform_reach::evaluate(network, &from, &to, service).map_err(anyhow::Error::msg)?;
    let seen = records(aws, topology, network, e, (&from, &to), window, engine).await?;
    let (accepted, rejected, rejected_at) =
        (seen.accepted, seen.rejected, seen.rejected_at.clone());
    let why = seen.why_rejected.clone().unwrap_or_default();
    let allows = verdict.reachable;
    let want = e.reachable.value;
    let what = e.protocol.value.as_str().to_uppercase();
    if verdict.answer == vpcform_reach::Answer::Unknown {
        return Ok(unverifiable_check(
            e,
            &verdict,
            accepted,
            rejected,
            rejected_at,
        ));
    }
    let blocks = || {
        verdict
            .blocked
            .iter()
            .map(|b| format!("[{}] {}", b.code, b.component))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (held, text) = match (want, allows, accepted, rejected) {
        (true, true, a, _) if a > 0 => (
            true,
            format!("configuration allows {what}, and {a} ACCEPT record(s) show it"),
        ),
        (true, true, 0, r) if r > 0 => (
            false,
            format!(
                "configuration allows {what}, but only REJECT records were seen at {}: {why}",
                rejected_at.join(", ")
            ),
        ),
        (true, true, _, _) => (
            true,
            format!(
                "configuration allows {what}; no traffic was recorded in the window (send some, or widen --since)"
            ),
        ),
        (true, false, a, _) => (
            false,
            format!(
                "configuration blocks {what}: {}{}",
                blocks(),
                if a > 0 {
                    format!(" (yet {a} ACCEPT record(s) were seen)")
                } else {
                    String::new()
                }
            ),
        ),
        (false, false, 0, _) => (
            true,
            format!(
                "configuration blocks {what} ({}), and no ACCEPT record shows it passing",
                blocks()
            ),
        ),
        (false, false, a, _) => (
            false,
            format!("configuration blocks {what}, but {a} ACCEPT record(s) show it passing"),
        ),
        (false, true, _, _) => (
            false,
            format!("expected blocked, but configuration allows {what}"),
        ),
    };
    Ok(Check {
        expectation: e.label(),
        reachable: want,
        configuration_allows: allows,
        accepted,
        rejected,
        rejected_at,
        held,
        unverifiable: false,
        verdict: text,
    })
}

/// The configuration cannot decide (a target vpcform does not model);
/// ACCEPT records can: traffic seen passing settles both kinds of promise.
fn unverifiable_check(
    e: &vpcform_topology::Expectation,
    verdict: &vpcform_reach::Verdict,
    accepted: u64,
    rejected: u64,
    rejected_at: Vec<String>,
) -> Check {
    let want = e.reachable.value;
    let targets = verdict
        .unknown
        .iter()
        .map(|u| u.component.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let (held, unverifiable, text) = match (want, accepted) {
        (true, a) if a > 0 => (
            true,
            false,
            format!(
                "the path crosses {targets}, which vpcform does not model, and {a} ACCEPT record(s) show the traffic passing"
            ),
        ),
        (false, a) if a > 0 => (
            false,
            false,
            format!(
                "expected blocked, and {a} ACCEPT record(s) show the traffic passing (through {targets})"
            ),
        ),
        _ => (
            false,
            true,
            format!(
                "unverifiable: the path crosses {targets}, which vpcform does not model, and no ACCEPT record decides it"
            ),
        ),
    };
    Check {
        expectation: e.label(),
        reachable: want,
        configuration_allows: false,
        accepted,
        rejected,
        rejected_at,
        held,
        unverifiable,
        verdict: text,
    }
}
