//! `vpcform reach FROM TO`: can traffic get there and back? From the
//! topology (before anything is built) or from the live account.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use vpcform_reach::{Answer, EndpointSpec, Service};

use crate::plan::{AwsArgs, connect};
use crate::validate::{load, report};
use crate::{FileArg, Output, out};

#[derive(Debug, Args)]
pub(crate) struct ReachArgs {
    /// Where traffic starts: instance.NAME, subnet.NAME, vpc-endpoint.NAME, an id (i-…, subnet-…,
    /// vpce-…, eni-…), an IPv4 or IPv6 address or CIDR, `internet`, or an AWS service (s3).
    from: String,
    /// Where it goes, named the same ways.
    to: String,
    #[arg(long, value_enum, default_value_t = ProtocolArg::Icmp)]
    protocol: ProtocolArg,
    /// Destination port (tcp and udp; required for them).
    #[arg(long, value_name = "N")]
    port: Option<u16>,
    /// Ask about IPv6 (icmp becomes ICMPv6 echo); implied by an IPv6 address or CIDR.
    #[arg(long)]
    ipv6: bool,
    /// Answer from the live account: every object in the stack's VPCs (and
    /// the VPCs they peer with), owned by the stack or not.
    #[arg(long)]
    live: bool,
    #[arg(long, value_enum, default_value_t = ReachFormat::Text)]
    format: ReachFormat,
    #[command(flatten)]
    file: FileArg,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProtocolArg {
    Icmp,
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReachFormat {
    Text,
    Json,
}

/// Exit 0 when reachable, 2 when not, 1 on errors.
pub(crate) fn run_reach(args: &ReachArgs, output: Output) -> anyhow::Result<ExitCode> {
    let service = match (args.protocol, args.port) {
        (ProtocolArg::Icmp, None) => Service::icmp(),
        (ProtocolArg::Icmp, Some(_)) => anyhow::bail!(
            "--port is for tcp and udp; icmp has no ports (vpcform checks echo request and reply)"
        ),
        (ProtocolArg::Tcp, Some(p)) => Service::tcp(p),
        (ProtocolArg::Udp, Some(p)) => Service::udp(p),
        (_, None) => {
            anyhow::bail!("give the destination port with --port, e.g. --protocol tcp --port 22")
        }
    };
    let service = if args.ipv6 {
        service.over_ipv6()
    } else {
        service
    };
    let from: EndpointSpec = args.from.parse().map_err(anyhow::Error::msg)?;
    let to: EndpointSpec = args.to.parse().map_err(anyhow::Error::msg)?;
    let loaded = load(&args.file)?;
    let Some((topology, _)) = loaded.valid() else {
        report(&loaded, output, false);
        return Ok(ExitCode::from(1));
    };
    let network = if args.live {
        crate::runtime()?.block_on(async {
            let aws = connect(&args.aws, topology).await?;
            anyhow::Ok(vpcform_aws::read_network(&aws, topology).await?)
        })?
    } else {
        vpcform_reach::from_topology(topology)
    };
    let verdict =
        vpcform_reach::evaluate(&network, &from, &to, service).map_err(anyhow::Error::msg)?;
    match args.format {
        ReachFormat::Text => out(&verdict.to_text()),
        ReachFormat::Json => out(&format!("{}\n", serde_json::to_string_pretty(&verdict)?)),
    }
    Ok(ExitCode::from(match verdict.answer {
        Answer::Reachable => 0,
        Answer::NotReachable => 2,
        // A target the model does not know decides: not an answer to act on.
        Answer::Unknown => 3,
    }))
}
