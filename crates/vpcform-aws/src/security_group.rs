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

fn permission(op: &vpcform_exec::Operation, from_before: bool) -> aws_sdk_ec2::types::IpPermission {
    use aws_sdk_ec2::types::{IpPermission, IpRange, UserIdGroupPair};
    let get = |name: &str| {
        if from_before {
            op.before.get(name)
        } else {
            op.attrs.get(name)
        }
    };
    let text = |name: &str| {
        get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    let number = |name: &str| {
        get(name)
            .and_then(serde_json::Value::as_i64)
            .map(|n| n as i32)
    };
    let description = text("description");
    let mut p =
        IpPermission::builder().ip_protocol(text("ip_protocol").unwrap_or_else(|| "-1".into()));
    if text("ip_protocol").as_deref() != Some("-1") {
        p = p
            .set_from_port(number("from_port"))
            .set_to_port(number("to_port"));
    }
    if let Some(cidr) = text("cidr_ipv4") {
        p = p.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(description.clone())
                .build(),
        );
    }
    if let Some(group) = text("referenced_group_id") {
        p = p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(group)
                .set_description(description)
                .build(),
        );
    }
    p.build()
}

pub(crate) async fn apply(
    aws: &Aws,
    op: &vpcform_exec::Operation,
) -> Result<vpcform_exec::Outcome, AwsError> {
    use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType};
    use vpcform_exec::Verb;

    use crate::apply::{attr, attr_bool, ec2_tag_spec, id, is_code, outcome};
    match op.verb {
        Verb::Create => {
            let created = aws
                .ec2
                .create_security_group()
                .group_name(attr(op, "group_name").unwrap_or_default())
                .description(attr(op, "description").unwrap_or_default())
                .vpc_id(attr(op, "vpc_id").unwrap_or_default())
                .tag_specifications(ec2_tag_spec(ResourceType::SecurityGroup, op))
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateSecurityGroup", e));
            let group = crate::apply::or_own(
                created.map(|created| created.group_id().unwrap_or_default().to_string()),
                &["InvalidGroup.Duplicate"],
                || async {
                    let own = aws
                        .ec2
                        .describe_security_groups()
                        .set_filters(Some(crate::apply::own_filters(op)))
                        .send()
                        .await
                        .map_err(|e| aws.error("ec2:DescribeSecurityGroups", e))?;
                    Ok(own
                        .security_groups()
                        .first()
                        .and_then(|g| g.group_id())
                        .map(str::to_string))
                },
            )
            .await?;
            if attr_bool(op, "revoke_default_egress") == Some(true) {
                let all = IpPermission::builder()
                    .ip_protocol("-1")
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build();
                match aws
                    .ec2
                    .revoke_security_group_egress()
                    .group_id(&group)
                    .ip_permissions(all)
                    .send()
                    .await
                    .map_err(|e| aws.error("ec2:RevokeSecurityGroupEgress", e))
                {
                    Err(e) if !is_code(&e, &["InvalidPermission.NotFound"]) => return Err(e),
                    _ => {}
                }
            }
            Ok(outcome(group))
        }
        Verb::Update | Verb::Retag => crate::apply::update_tags_only(aws, op).await,
        Verb::Delete => {
            let group = id(op)?;
            crate::apply::delete("security group", group, || async {
                aws.ec2
                    .delete_security_group()
                    .group_id(group)
                    .send()
                    .await
                    .map_err(|e| aws.error("ec2:DeleteSecurityGroup", e))
            })
            .await
        }
    }
}

pub(crate) async fn apply_rule(
    aws: &Aws,
    op: &vpcform_exec::Operation,
) -> Result<vpcform_exec::Outcome, AwsError> {
    use vpcform_exec::Verb;

    use crate::apply::{attr, before_str, gone, is_code, outcome};
    let from_before = op.verb == Verb::Delete;
    let group = if from_before {
        before_str(op, "group_id")
    } else {
        attr(op, "group_id")
    }
    .unwrap_or_default()
    .to_string();
    let egress = if from_before {
        before_str(op, "direction")
    } else {
        attr(op, "direction")
    } == Some("egress");
    let rule_id = format!("{group}|{}", op.address.key.clone().unwrap_or_default());
    let p = permission(op, from_before);
    match op.verb {
        Verb::Create => {
            let result = if egress {
                aws.ec2
                    .authorize_security_group_egress()
                    .group_id(&group)
                    .ip_permissions(p)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| aws.error("ec2:AuthorizeSecurityGroupEgress", e))
            } else {
                aws.ec2
                    .authorize_security_group_ingress()
                    .group_id(&group)
                    .ip_permissions(p)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| aws.error("ec2:AuthorizeSecurityGroupIngress", e))
            };
            match result {
                // Already there (AWS's default egress, or an interrupted run): the rule exists.
                Err(e) if !is_code(&e, &["InvalidPermission.Duplicate"]) => Err(e),
                _ => Ok(outcome(rule_id)),
            }
        }
        Verb::Update => {
            // Only the description changes in place.
            if egress {
                aws.ec2
                    .update_security_group_rule_descriptions_egress()
                    .group_id(&group)
                    .ip_permissions(p)
                    .send()
                    .await
                    .map_err(|e| aws.error("ec2:UpdateSecurityGroupRuleDescriptionsEgress", e))?;
            } else {
                aws.ec2
                    .update_security_group_rule_descriptions_ingress()
                    .group_id(&group)
                    .ip_permissions(p)
                    .send()
                    .await
                    .map_err(|e| aws.error("ec2:UpdateSecurityGroupRuleDescriptionsIngress", e))?;
            }
            Ok(outcome(rule_id))
        }
        Verb::Retag => Ok(outcome(rule_id)),
        Verb::Delete => {
            let result = if egress {
                aws.ec2
                    .revoke_security_group_egress()
                    .group_id(&group)
                    .ip_permissions(p)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| aws.error("ec2:RevokeSecurityGroupEgress", e))
            } else {
                aws.ec2
                    .revoke_security_group_ingress()
                    .group_id(&group)
                    .ip_permissions(p)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| aws.error("ec2:RevokeSecurityGroupIngress", e))
            };
            match result {
                Err(e) if !gone(&e) && !is_code(&e, &["InvalidPermission.NotFound"]) => Err(e),
                _ => Ok(outcome(rule_id)),
            }
        }
    }
}
