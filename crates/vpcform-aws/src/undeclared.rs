//! The AWS objects in a VPC that no kind of vpcform's declares, each with
//! how `vpcform import` finds them: listed as left out so that nothing in
//! the VPCs is dropped silently. A kind that becomes declarable leaves this
//! list for the registry. Scanned: virtual private gateways and Elastic IPs
//! of interfaces (a NAT gateway's are declared with it). Transit gateway
//! attachments are declared (an attachment to a gateway another account
//! shares is left out by the attachments' own scan).

use std::collections::HashSet;

use vpcform_topology::export::LeftOut;

use crate::read::{Select, in_vpcs};
use crate::{Aws, AwsError};

/// Why each of these is left out.
const WHY: &str = "vpcform has no kind for it yet; it stays as it is";
/// The same, for what routes may point at.
const WHY_ROUTABLE: &str =
    "vpcform has no kind for it yet; it stays as it is, and routes through it are left out too";

/// Every object of an undeclared kind in `vpcs`, one call per kind.
pub(crate) async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Vec<LeftOut>, AwsError> {
    let (vpn, addresses) =
        tokio::try_join!(vpn_gateways(aws, vpcs), interface_addresses(aws, vpcs))?;
    Ok([vpn, addresses].concat())
}

fn left_out(id: &str, what: String) -> LeftOut {
    LeftOut {
        id: id.to_string(),
        what,
        why: WHY.to_string(),
    }
}

fn left_out_routable(id: &str, what: String) -> LeftOut {
    LeftOut {
        why: WHY_ROUTABLE.to_string(),
        ..left_out(id, what)
    }
}

async fn vpn_gateways(aws: &Aws, vpcs: &[String]) -> Result<Vec<LeftOut>, AwsError> {
    let found = aws
        .ec2
        .describe_vpn_gateways()
        .filters(in_vpcs("attachment.vpc-id", vpcs))
        .send()
        .await
        .map_err(|e| aws.error("ec2:DescribeVpnGateways", e))?;
    Ok(found
        .vpn_gateways()
        .iter()
        .filter_map(|g| g.vpn_gateway_id())
        .map(|id| left_out_routable(id, "a virtual private gateway".into()))
        .collect())
}

/// Elastic IPs on interfaces in the VPCs, but those of NAT gateways (declared with them).
async fn interface_addresses(aws: &Aws, vpcs: &[String]) -> Result<Vec<LeftOut>, AwsError> {
    let mut pages = aws
        .ec2
        .describe_network_interfaces()
        .filters(in_vpcs("vpc-id", vpcs))
        .into_paginator()
        .items()
        .send();
    let mut interfaces = HashSet::new();
    while let Some(i) = pages.next().await {
        let i = i.map_err(|e| aws.error("ec2:DescribeNetworkInterfaces", e))?;
        let nat = i.interface_type().map(|t| t.as_str()) == Some("nat_gateway")
            || i.description()
                .is_some_and(|d| d.starts_with("Interface for NAT Gateway"));
        if let (false, Some(id)) = (nat, i.network_interface_id()) {
            interfaces.insert(id.to_string());
        }
    }
    let nats =
        crate::kinds::nat_gateway::describe(aws, Select::Filter(in_vpcs("vpc-id", vpcs))).await?;
    let of_nat: HashSet<&str> = nats
        .iter()
        .flat_map(|n| n.nat_gateway_addresses())
        .filter_map(|a| a.allocation_id())
        .collect();
    let addresses = aws
        .ec2
        .describe_addresses()
        .send()
        .await
        .map_err(|e| aws.error("ec2:DescribeAddresses", e))?;
    Ok(addresses
        .addresses()
        .iter()
        .filter(|a| {
            a.network_interface_id()
                .is_some_and(|i| interfaces.contains(i))
        })
        .filter(|a| a.allocation_id().is_some_and(|id| !of_nat.contains(id)))
        .filter_map(|a| {
            let id = a.allocation_id()?;
            let on = non_empty(a.instance_id()).or(non_empty(a.network_interface_id()))?;
            let ip = a.public_ip().unwrap_or("an address");
            Some(left_out(id, format!("the Elastic IP {ip} of {on}")))
        })
        .collect())
}

/// moto answers "" where AWS leaves a field out.
fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}
