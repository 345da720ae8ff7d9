//! Security groups and their rules. Rules are implicit objects owned by the
//! group, keyed by content (direction, protocol, ports, peer) exactly as the
//! topology keys them, with AWS's shapes normalised (`icmp` = 1, `-1` = all).

use aws_sdk_ec2::types::IpPermission;
use serde_json::Value;
use vpcform_topology::{Address, Direction, NormalRule, Peer, Protocol, ResourceKind};

use crate::read::{
    Found, ID_REF, ReadCx, address_from_tags, ec2_tags, object, opt_str, stack_filter, tags_value,
};
use crate::{Aws, AwsError};

pub(crate) async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let mut pages = aws
        .ec2
        .describe_security_groups()
        .filters(stack_filter(cx.stack))
        .into_paginator()
        .send();
    let mut objects = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:DescribeSecurityGroups", e))?;
        for g in page.security_groups() {
            let id = g.group_id().unwrap_or_default();
            let tags = ec2_tags(g.tags());
            let address = address_from_tags(ResourceKind::SecurityGroup, &tags, id);
            let permissions = g
                .ip_permissions()
                .iter()
                .map(|p| (Direction::Ingress, p))
                .chain(
                    g.ip_permissions_egress()
                        .iter()
                        .map(|p| (Direction::Egress, p)),
                );
            for (direction, permission) in permissions {
                for (rule, peer_id) in rules_of(direction, permission) {
                    let mut key = rule.key();
                    if let Some(peer_id) = &peer_id {
                        // Resolved to the peer group's logical name once all groups are read.
                        key =
                            key.replace(&format!("sg:{peer_id}"), &format!("sg:{ID_REF}{peer_id}"));
                    }
                    let cidr = match &rule.peer {
                        Peer::Cidr(c) => Value::from(c.to_string()),
                        Peer::SecurityGroup(_) => Value::Null,
                    };
                    objects.push(object(
                        Address::keyed(
                            ResourceKind::SecurityGroupRule,
                            address.name.clone(),
                            key.clone(),
                        ),
                        format!("{id}|{key}"),
                        vec![
                            ("group_id", Value::from(id)),
                            ("direction", Value::from(direction.as_str())),
                            ("ip_protocol", Value::from(rule.protocol.aws_name())),
                            ("from_port", Value::from(rule.from_port)),
                            ("to_port", Value::from(rule.to_port)),
                            ("cidr_ipv4", cidr),
                            ("referenced_group_id", opt_str(peer_id.as_deref())),
                            ("description", opt_str(rule.description.as_deref())),
                        ],
                    ));
                }
            }
            objects.push(object(
                address,
                id,
                vec![
                    (
                        "group_name",
                        Value::from(g.group_name().unwrap_or_default()),
                    ),
                    (
                        "description",
                        Value::from(g.description().unwrap_or_default()),
                    ),
                    ("vpc_id", Value::from(g.vpc_id().unwrap_or_default())),
                    ("tags", tags_value(&tags)),
                ],
            ));
        }
    }
    Ok(Found::objects(objects))
}

/// One `IpPermission` holds several peers; vpcform's rules have one each.
/// Returns each rule with the peer group's id, if its peer is a group.
pub(crate) fn rules_of(
    direction: Direction,
    p: &IpPermission,
) -> Vec<(NormalRule, Option<String>)> {
    let Some(protocol) = p.ip_protocol().and_then(Protocol::from_aws) else {
        return Vec::new();
    };
    let (from_port, to_port) = match protocol {
        Protocol::Tcp | Protocol::Udp => (
            i64::from(p.from_port().unwrap_or(0)),
            i64::from(p.to_port().unwrap_or(65535)),
        ),
        Protocol::Icmp => (
            i64::from(p.from_port().unwrap_or(-1)),
            i64::from(p.to_port().unwrap_or(-1)),
        ),
        Protocol::All | Protocol::Number(_) => (-1, -1),
    };
    let mut out = Vec::new();
    let rule = |peer: Peer, description: Option<&str>| NormalRule {
        direction,
        protocol,
        from_port,
        to_port,
        peer,
        description: description.filter(|d| !d.is_empty()).map(str::to_string),
    };
    for range in p.ip_ranges() {
        if let Some(cidr) = range.cidr_ip().and_then(|c| c.parse().ok()) {
            out.push((rule(Peer::Cidr(cidr), range.description()), None));
        }
    }
    for pair in p.user_id_group_pairs() {
        if let Some(group) = pair.group_id() {
            out.push((
                rule(Peer::SecurityGroup(group.to_string()), pair.description()),
                Some(group.to_string()),
            ));
        }
    }
    out
}
