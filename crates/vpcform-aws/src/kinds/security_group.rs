//! Security groups and their rules. Rules are implicit objects owned by the
//! group, keyed by content (direction, protocol, ports, peer) exactly as the
//! topology keys them, with AWS's shapes normalised (`icmp` = 1, `-1` = all).

use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, UserIdGroupPair};
use serde_json::Value;
use vpcform_exec::{Operation, Outcome, Verb};
use vpcform_topology::attr::{DESCRIPTION, TAGS, VPC_ID};
use vpcform_topology::kinds::security_group::{
    CIDR_IPV4, CIDR_IPV6, DIRECTION, FROM_PORT, GROUP_ID, GROUP_NAME, IP_PROTOCOL, PREFIX_LIST_ID,
    REFERENCED_GROUP_ID, REVOKE_DEFAULT_EGRESS, TO_PORT, USED_BY,
};
use vpcform_topology::{Address, Attr, Direction, NormalRule, Peer, Protocol, ResourceKind};

use crate::apply::{
    attr_bool, delete, desired_or_before, ec2_tag_spec, gone, id, is_code, or_own, outcome,
    own_filters, required, update_tags_only,
};
use crate::kind::{AwsKind, Read, Scan, Scanned};
use crate::read::in_vpcs;
use crate::read::{
    Found, ID_REF, ReadCx, Select, describe_ec2, ec2_tags, object, opt_str, placed, tags_value,
};
use crate::{Aws, AwsError};

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let items = cx
        .select(
            ResourceKind::SecurityGroup,
            |x: &aws_sdk_ec2::types::SecurityGroup| x.group_id(),
            |select| describe(aws, select),
        )
        .await?;
    let ids: Vec<String> = items
        .iter()
        .filter_map(|g| g.group_id())
        .map(str::to_string)
        .collect();
    let users = users_of(&interfaces_in(aws, &ids).await?);
    let mut found = Found::default();
    for g in &items {
        let id = g.group_id().unwrap_or_default();
        let tags = ec2_tags(g.tags());
        let Some(place) = cx.place(ResourceKind::SecurityGroup, &tags, id, &mut found.conflicts)
        else {
            continue;
        };
        let address = place.0.clone();
        for (direction, permission) in permissions(g) {
            for (rule, peer_id) in rules_of(direction, permission) {
                let mut key = rule.key();
                if let Some(peer_id) = &peer_id {
                    // Resolved to the peer's logical name once all kinds are read.
                    key = key.replace(&format!(":{peer_id}"), &format!(":{ID_REF}{peer_id}"));
                }
                let (cidr, group, list) = match &rule.peer {
                    Peer::Cidr(c) => (Value::from(c.to_string()), Value::Null, Value::Null),
                    Peer::SecurityGroup(g) => (Value::Null, Value::from(g.as_str()), Value::Null),
                    Peer::PrefixList(p) => (Value::Null, Value::Null, Value::from(p.as_str())),
                };
                // An IPv6 peer is reported under its own attribute, as AWS holds it.
                let (cidr, cidr6) = match &rule.peer {
                    Peer::Cidr(ipnet::IpNet::V6(_)) => (Value::Null, cidr),
                    Peer::Cidr(ipnet::IpNet::V4(_))
                    | Peer::SecurityGroup(_)
                    | Peer::PrefixList(_) => (cidr, Value::Null),
                };
                found.objects.push(object(
                    Address::keyed(
                        ResourceKind::SecurityGroupRule,
                        address.name.clone(),
                        key.clone(),
                    ),
                    format!("{id}|{key}"),
                    vec![
                        (GROUP_ID, Value::from(id)),
                        (DIRECTION, Value::from(direction.as_str())),
                        (IP_PROTOCOL, Value::from(rule.protocol.aws_name())),
                        (FROM_PORT, Value::from(rule.from_port)),
                        (TO_PORT, Value::from(rule.to_port)),
                        (CIDR_IPV4, cidr),
                        (CIDR_IPV6, cidr6),
                        (REFERENCED_GROUP_ID, group),
                        (PREFIX_LIST_ID, list),
                        (DESCRIPTION, opt_str(rule.description.as_deref())),
                    ],
                ));
            }
        }
        found.objects.push(placed(
            place,
            id,
            vec![
                (GROUP_NAME, Value::from(g.group_name().unwrap_or_default())),
                (
                    DESCRIPTION,
                    Value::from(g.description().unwrap_or_default()),
                ),
                (VPC_ID, Value::from(g.vpc_id().unwrap_or_default())),
                (TAGS, tags_value(&tags)),
                (
                    USED_BY,
                    Value::from(users.get(id).cloned().unwrap_or_default()),
                ),
            ],
        ));
    }
    Ok(found)
}

/// The interfaces in any of `groups`: one call (in chunks of AWS's 200 filter values).
async fn interfaces_in(
    aws: &Aws,
    groups: &[String],
) -> Result<Vec<aws_sdk_ec2::types::NetworkInterface>, AwsError> {
    let mut out = Vec::new();
    for chunk in groups.chunks(200) {
        let mut pages = aws
            .ec2
            .describe_network_interfaces()
            .filters(in_vpcs("group-id", chunk))
            .into_paginator()
            .items()
            .send();
        while let Some(interface) = pages.next().await {
            out.push(interface.map_err(|e| aws.error("ec2:DescribeNetworkInterfaces", e))?);
        }
    }
    Ok(out)
}

/// Each group's users: an instance's id, or the interface with what it says it is.
pub(crate) fn users_of(
    interfaces: &[aws_sdk_ec2::types::NetworkInterface],
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut users: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for i in interfaces {
        let instance = i
            .attachment()
            .and_then(|a| a.instance_id())
            .filter(|s| !s.is_empty());
        let user = match (instance, i.network_interface_id()) {
            (Some(instance), _) => instance.to_string(),
            (None, Some(eni)) => match i.description().filter(|d| !d.is_empty()) {
                Some(d) => format!("{eni} ({d})"),
                None => eni.to_string(),
            },
            (None, None) => continue,
        };
        for g in i.groups().iter().filter_map(|g| g.group_id()) {
            let list = users.entry(g.to_string()).or_default();
            if !list.contains(&user) {
                list.push(user.clone());
            }
        }
    }
    users.values_mut().for_each(|l| l.sort());
    users
}

/// The VPCs' security groups but the default ones (AWS's), and the rules
/// the topology cannot declare.
async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let mut out = Scanned::default();
    for g in describe(aws, Select::Filter(in_vpcs("vpc-id", vpcs))).await? {
        let id = g.group_id().unwrap_or_default();
        if g.group_name() == Some("default") {
            if !has_default_rules(&g) {
                let vpc = g.vpc_id().unwrap_or_default();
                out.leave_out(id, format!("the default security group of {vpc}, with rules changed by hand"), "vpcform does not manage default groups; move those rules into a group of their own");
            }
            continue;
        }
        // Every peer is declared: the rule's export says when a group or list is not.
        out.ids.push(id.to_string());
    }
    Ok(out)
}

/// Whether a default group holds only AWS's rules (all traffic from the
/// group itself, all out, to ::/0 too in a VPC with IPv6), or fewer:
/// nothing was added by hand.
fn has_default_rules(g: &aws_sdk_ec2::types::SecurityGroup) -> bool {
    let own = g.group_id().unwrap_or_default();
    let from_itself = NormalRule {
        direction: Direction::Ingress,
        protocol: Protocol::All,
        from_port: -1,
        to_port: -1,
        peer: Peer::SecurityGroup(own.to_string()),
        description: None,
    };
    let all_out = vpcform_topology::default_egress();
    let all_out_v6 = NormalRule {
        peer: Peer::Cidr("::/0".parse().expect("a CIDR")),
        ..all_out.clone()
    };
    permissions(g)
        .flat_map(|(direction, p)| rules_of(direction, p))
        .all(|(rule, _)| [&from_itself, &all_out, &all_out_v6].contains(&&rule))
}

pub(crate) async fn describe(
    aws: &Aws,
    select: Select,
) -> Result<Vec<aws_sdk_ec2::types::SecurityGroup>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_security_groups,
        filters,
        set_group_ids,
        security_groups,
        "ec2:DescribeSecurityGroups"
    )
}

/// A group's permissions, ingress then egress, with their direction.
pub(crate) fn permissions(
    g: &aws_sdk_ec2::types::SecurityGroup,
) -> impl Iterator<Item = (Direction, &IpPermission)> {
    let ingress = g.ip_permissions().iter().map(|p| (Direction::Ingress, p));
    let egress = g
        .ip_permissions_egress()
        .iter()
        .map(|p| (Direction::Egress, p));
    ingress.chain(egress)
}

/// One `IpPermission` holds several peers; vpcform's rules have one each.
/// Returns each rule with its peer's id, if its peer is a group or a prefix list.
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
        Protocol::Icmp | Protocol::Icmpv6 => (
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
    for range in p.ipv6_ranges() {
        if let Some(cidr) = range.cidr_ipv6().and_then(|c| c.parse().ok()) {
            out.push((rule(Peer::Cidr(cidr), range.description()), None));
        }
    }
    for list in p.prefix_list_ids() {
        if let Some(id) = list.prefix_list_id() {
            out.push((
                rule(Peer::PrefixList(id.to_string()), list.description()),
                Some(id.to_string()),
            ));
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

/// The rule of `op` as one `IpPermission` (for deletes, as it was read).
fn permission(op: &Operation) -> IpPermission {
    let from = if op.verb == Verb::Delete {
        &op.before
    } else {
        &op.attrs
    };
    let text = |name: Attr| name.str(from).map(str::to_string);
    let number = |name: Attr| name.get(from).and_then(Value::as_i64).map(|n| n as i32);
    let description = text(DESCRIPTION);
    let protocol = text(IP_PROTOCOL).unwrap_or_else(|| "-1".into());
    let mut p = IpPermission::builder().ip_protocol(&protocol);
    if protocol != "-1" {
        p = p
            .set_from_port(number(FROM_PORT))
            .set_to_port(number(TO_PORT));
    }
    if let Some(cidr) = text(CIDR_IPV4) {
        p = p.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(description.clone())
                .build(),
        );
    }
    if let Some(cidr) = text(CIDR_IPV6) {
        p = p.ipv6_ranges(
            aws_sdk_ec2::types::Ipv6Range::builder()
                .cidr_ipv6(cidr)
                .set_description(description.clone())
                .build(),
        );
    }
    if let Some(list) = text(PREFIX_LIST_ID) {
        p = p.prefix_list_ids(
            aws_sdk_ec2::types::PrefixListId::builder()
                .prefix_list_id(list)
                .set_description(description.clone())
                .build(),
        );
    }
    if let Some(group) = text(REFERENCED_GROUP_ID) {
        p = p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(group)
                .set_description(description)
                .build(),
        );
    }
    p.build()
}

/// Removes AWS's allow-all egress of a new group: to 0.0.0.0/0, and in a
/// VPC with IPv6 to ::/0. One call for both; AWS answers for the ones it
/// holds. Where it refuses a rule it does not hold, IPv4's alone.
async fn revoke_default_egress(aws: &Aws, group: &str) -> Result<(), AwsError> {
    let all = |ipv6: bool| {
        let p = IpPermission::builder()
            .ip_protocol("-1")
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build());
        let p = if ipv6 {
            p.ipv6_ranges(
                aws_sdk_ec2::types::Ipv6Range::builder()
                    .cidr_ipv6("::/0")
                    .build(),
            )
        } else {
            p
        };
        p.build()
    };
    let not_found = |e: &AwsError| is_code(e, &["InvalidPermission.NotFound"]);
    match rule_call(aws, RuleCall::Revoke, Direction::Egress, group, all(true)).await {
        Err(e) if not_found(&e) => {
            match rule_call(aws, RuleCall::Revoke, Direction::Egress, group, all(false)).await {
                Err(e) if !not_found(&e) => Err(e),
                Ok(_) | Err(_) => Ok(()),
            }
        }
        other => other.map(|_| ()),
    }
}

/// A security group.
pub(crate) struct SecurityGroup;

impl AwsKind for SecurityGroup {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan(aws, vpcs)));

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let created = aws
            .ec2
            .create_security_group()
            .group_name(required(op, GROUP_NAME)?)
            .description(required(op, DESCRIPTION)?)
            .vpc_id(required(op, VPC_ID)?)
            .tag_specifications(ec2_tag_spec(ResourceType::SecurityGroup, op))
            .send()
            .await
            .map_err(|e| aws.error("ec2:CreateSecurityGroup", e));
        let group = or_own(
            created.map(|created| created.group_id().unwrap_or_default().to_string()),
            &["InvalidGroup.Duplicate"],
            || async {
                let own = aws
                    .ec2
                    .describe_security_groups()
                    .set_filters(Some(own_filters(op)))
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
        if attr_bool(op, REVOKE_DEFAULT_EGRESS) == Some(true) {
            revoke_default_egress(aws, &group).await?;
        }
        Ok(outcome(group))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    /// A copy of the old group (its rules, itself replaced by the copy in
    /// self-references) takes its place on every network interface that
    /// uses it, so AWS lets it go and no interface goes without its rules.
    async fn stand_in(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let old = id(op)?;
        let users = interfaces_using(aws, old).await?;
        if users.is_empty() {
            return Ok(outcome(old));
        }
        let copy = match find_stand_in(aws, op).await? {
            Some(copy) => copy,
            None => create_stand_in(aws, op, old).await?,
        };
        for interface in &users {
            swap_group(aws, interface, old, &copy).await?;
        }
        Ok(outcome(copy))
    }

    /// Interfaces still on the stand-in (those vpcform does not manage) move
    /// to the new group; then the stand-in goes.
    async fn stand_out(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let new = id(op)?;
        let Some(copy) = find_stand_in(aws, op).await? else {
            return Ok(outcome(new));
        };
        for interface in interfaces_using(aws, &copy).await? {
            swap_group(aws, &interface, &copy, new).await?;
        }
        delete("security group", &copy, || async {
            aws.ec2
                .delete_security_group()
                .group_id(&copy)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteSecurityGroup", e))
        })
        .await?;
        Ok(outcome(new))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let group = id(op)?;
        delete("security group", group, || async {
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

/// One rule of a group (id `group|key`).
pub(crate) struct RuleKind;

impl RuleKind {
    /// The rule's group, direction and id.
    fn target(op: &Operation) -> Result<(String, Direction, String), AwsError> {
        let group = desired_or_before(op, GROUP_ID)?;
        let direction = if desired_or_before(op, DIRECTION)? == Direction::Egress.as_str() {
            Direction::Egress
        } else {
            Direction::Ingress
        };
        let id = format!("{group}|{}", op.address.key.clone().unwrap_or_default());
        Ok((group, direction, id))
    }
}

impl AwsKind for RuleKind {
    const READ: Read = Read::With(ResourceKind::SecurityGroup);
    const SCAN: Scan = Scan::WithContainer;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let (group, direction, rule_id) = RuleKind::target(op)?;
        match rule_call(aws, RuleCall::Authorize, direction, &group, permission(op)).await {
            // Already there (AWS's default egress, or an interrupted run): the rule exists.
            Err(e) if !is_code(&e, &["InvalidPermission.Duplicate"]) => Err(e),
            _ => Ok(outcome(rule_id)),
        }
    }

    /// Only the description changes in place.
    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let (group, direction, rule_id) = RuleKind::target(op)?;
        rule_call(aws, RuleCall::Describe, direction, &group, permission(op)).await?;
        Ok(outcome(rule_id))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(RuleKind::target(op)?.2))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let (group, direction, rule_id) = RuleKind::target(op)?;
        match rule_call(aws, RuleCall::Revoke, direction, &group, permission(op)).await {
            Err(e) if !gone(&e) && !is_code(&e, &["InvalidPermission.NotFound"]) => Err(e),
            _ => Ok(outcome(rule_id)),
        }
    }
}

/// What to do with a rule; AWS has one call per direction for each.
#[derive(Clone, Copy)]
enum RuleCall {
    Authorize,
    Revoke,
    /// Update the description.
    Describe,
}

/// The one place that picks the ingress or egress variant of a rule call.
async fn rule_call(
    aws: &Aws,
    call: RuleCall,
    direction: Direction,
    group: &str,
    p: IpPermission,
) -> Result<(), AwsError> {
    macro_rules! send {
        ($method:ident, $name:literal) => {
            aws.ec2
                .$method()
                .group_id(group)
                .ip_permissions(p)
                .send()
                .await
                .map(drop)
                .map_err(|e| aws.error($name, e))
        };
    }
    use Direction::{Egress, Ingress};
    match (call, direction) {
        (RuleCall::Authorize, Ingress) => send!(
            authorize_security_group_ingress,
            "ec2:AuthorizeSecurityGroupIngress"
        ),
        (RuleCall::Authorize, Egress) => send!(
            authorize_security_group_egress,
            "ec2:AuthorizeSecurityGroupEgress"
        ),
        (RuleCall::Revoke, Ingress) => {
            send!(
                revoke_security_group_ingress,
                "ec2:RevokeSecurityGroupIngress"
            )
        }
        (RuleCall::Revoke, Egress) => {
            send!(
                revoke_security_group_egress,
                "ec2:RevokeSecurityGroupEgress"
            )
        }
        (RuleCall::Describe, Ingress) => send!(
            update_security_group_rule_descriptions_ingress,
            "ec2:UpdateSecurityGroupRuleDescriptionsIngress"
        ),
        (RuleCall::Describe, Egress) => send!(
            update_security_group_rule_descriptions_egress,
            "ec2:UpdateSecurityGroupRuleDescriptionsEgress"
        ),
    }
}

/// The address a group's stand-in records in its tags: no declaration has
/// it, so a stand-in left by an interrupted apply is planned for deletion.
fn stand_in_address(op: &Operation) -> Address {
    Address::new(
        ResourceKind::SecurityGroup,
        format!("{}-vpcform-stand-in", op.address.name),
    )
}

/// The stand-in of `op`'s group, if one exists (an earlier attempt's).
async fn find_stand_in(aws: &Aws, op: &Operation) -> Result<Option<String>, AwsError> {
    let address = stand_in_address(op).tag_value();
    let found = describe(
        aws,
        Select::Filter(crate::read::tag_filter(vpcform_diff::TAG_ADDRESS, address)),
    )
    .await?;
    Ok(found
        .iter()
        .find(|g| ec2_tags(g.tags()).get(vpcform_diff::TAG_STACK) == Some(&op.stack))
        .and_then(|g| g.group_id())
        .map(str::to_string))
}

/// A new group in the old one's VPC with its rules, owned by the stack.
async fn create_stand_in(aws: &Aws, op: &Operation, old: &str) -> Result<String, AwsError> {
    let before = |a: Attr| a.str(&op.before).unwrap_or_default().to_string();
    let original = describe(aws, Select::Ids(vec![old.to_string()])).await?;
    let original = original.first().ok_or_else(|| AwsError::Api {
        operation: "ec2:DescribeSecurityGroups".into(),
        code: "InvalidGroup.NotFound".into(),
        message: format!("security group {old} is gone"),
    })?;
    let tags = aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(ResourceType::SecurityGroup)
        .tags(tag(vpcform_diff::TAG_STACK, &op.stack))
        .tags(tag(
            vpcform_diff::TAG_ADDRESS,
            &stand_in_address(op).tag_value(),
        ))
        .build();
    let name = format!(
        "{}-stand-in-{}",
        before(GROUP_NAME),
        &old[old.len().saturating_sub(8)..]
    );
    let copy = aws
        .ec2
        .create_security_group()
        .group_name(name)
        .description(format!(
            "vpcform: holds the users of {old} while it is replaced"
        ))
        .vpc_id(before(VPC_ID))
        .tag_specifications(tags)
        .send()
        .await
        .map_err(|e| aws.error("ec2:CreateSecurityGroup", e))?
        .group_id()
        .unwrap_or_default()
        .to_string();
    let own = |p: &IpPermission| retarget(p, old, &copy);
    let ingress: Vec<IpPermission> = original.ip_permissions().iter().map(own).collect();
    let egress: Vec<IpPermission> = original.ip_permissions_egress().iter().map(own).collect();
    if !ingress.is_empty() {
        copy_rules(aws, RuleCall::Authorize, Direction::Ingress, &copy, ingress).await?;
    }
    let all = IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    match rule_call(aws, RuleCall::Revoke, Direction::Egress, &copy, all).await {
        Err(e) if !is_code(&e, &["InvalidPermission.NotFound"]) => return Err(e),
        _ => {}
    }
    if !egress.is_empty() {
        copy_rules(aws, RuleCall::Authorize, Direction::Egress, &copy, egress).await?;
    }
    Ok(copy)
}

fn tag(key: &str, value: &str) -> aws_sdk_ec2::types::Tag {
    aws_sdk_ec2::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
}

/// A permission with references to group `from` pointing at `to`.
fn retarget(p: &IpPermission, from: &str, to: &str) -> IpPermission {
    let mut p = p.clone();
    p.user_id_group_pairs = p.user_id_group_pairs.map(|pairs| {
        pairs
            .into_iter()
            .map(|mut pair| {
                if pair.group_id.as_deref() == Some(from) {
                    pair.group_id = Some(to.to_string());
                }
                pair
            })
            .collect()
    });
    p
}

async fn copy_rules(
    aws: &Aws,
    call: RuleCall,
    direction: Direction,
    group: &str,
    permissions: Vec<IpPermission>,
) -> Result<(), AwsError> {
    for p in permissions {
        match rule_call(aws, call, direction, group, p).await {
            Err(e) if !is_code(&e, &["InvalidPermission.Duplicate"]) => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// The network interfaces (of instances and anything else) in group `group`.
async fn interfaces_using(
    aws: &Aws,
    group: &str,
) -> Result<Vec<aws_sdk_ec2::types::NetworkInterface>, AwsError> {
    let mut pages = aws
        .ec2
        .describe_network_interfaces()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .values(group)
                .build(),
        )
        .into_paginator()
        .items()
        .send();
    let mut out = Vec::new();
    while let Some(interface) = pages.next().await {
        out.push(interface.map_err(|e| aws.error("ec2:DescribeNetworkInterfaces", e))?);
    }
    Ok(out)
}

/// Replaces group `from` by `to` among an interface's groups.
async fn swap_group(
    aws: &Aws,
    interface: &aws_sdk_ec2::types::NetworkInterface,
    from: &str,
    to: &str,
) -> Result<(), AwsError> {
    let groups: Vec<String> = interface
        .groups()
        .iter()
        .filter_map(|g| g.group_id())
        .map(|g| if g == from { to } else { g })
        .map(str::to_string)
        .collect();
    aws.ec2
        .modify_network_interface_attribute()
        .network_interface_id(interface.network_interface_id().unwrap_or_default())
        .set_groups(Some(groups))
        .send()
        .await
        .map_err(|e| aws.error("ec2:ModifyNetworkInterfaceAttribute", e))?;
    Ok(())
}

/// The default security group of each of `vpcs`, by VPC id (one call).
pub(crate) async fn default_groups(
    aws: &Aws,
    vpcs: &[String],
) -> Result<std::collections::HashMap<String, aws_sdk_ec2::types::SecurityGroup>, AwsError> {
    if vpcs.is_empty() {
        return Ok(Default::default());
    }
    let name = aws_sdk_ec2::types::Filter::builder()
        .name("group-name")
        .values("default")
        .build();
    let call = aws
        .ec2
        .describe_security_groups()
        .filters(name)
        .filters(crate::read::in_vpcs("vpc-id", vpcs));
    let mut pages = call.into_paginator().items().send();
    let mut out = std::collections::HashMap::new();
    while let Some(g) = pages.next().await {
        let g = g.map_err(|e| aws.error("ec2:DescribeSecurityGroups", e))?;
        out.insert(g.vpc_id().unwrap_or_default().to_string(), g);
    }
    Ok(out)
}

/// Whether a default group holds no rule at all.
pub(crate) fn is_restricted(g: &aws_sdk_ec2::types::SecurityGroup) -> bool {
    g.ip_permissions().is_empty() && g.ip_permissions_egress().is_empty()
}

/// Removes every rule of `vpc`'s default group, or (`restrict` false) puts
/// AWS's back: all traffic from the group itself, all traffic out.
pub(crate) async fn restrict_default_group(
    aws: &Aws,
    vpc: &str,
    restrict: bool,
) -> Result<(), AwsError> {
    let groups = default_groups(aws, &[vpc.to_string()]).await?;
    let Some(group) = groups.get(vpc) else {
        return Ok(());
    };
    let id = group.group_id().unwrap_or_default();
    if restrict {
        for (direction, p) in permissions(group) {
            match rule_call(aws, RuleCall::Revoke, direction, id, p.clone()).await {
                Err(e) if !is_code(&e, &["InvalidPermission.NotFound"]) => return Err(e),
                _ => {}
            }
        }
        return Ok(());
    }
    let from_itself = IpPermission::builder()
        .ip_protocol("-1")
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(id).build())
        .build();
    let out = IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    copy_rules(
        aws,
        RuleCall::Authorize,
        Direction::Ingress,
        id,
        vec![from_itself],
    )
    .await?;
    copy_rules(aws, RuleCall::Authorize, Direction::Egress, id, vec![out]).await
}

#[cfg(test)]
mod users_tests {
    use aws_sdk_ec2::types::{GroupIdentifier, NetworkInterface, NetworkInterfaceAttachment};

    use super::*;

    fn eni(id: &str, groups: &[&str]) -> aws_sdk_ec2::types::builders::NetworkInterfaceBuilder {
        let mut b = NetworkInterface::builder().network_interface_id(id);
        for g in groups {
            b = b.groups(GroupIdentifier::builder().group_id(*g).build());
        }
        b
    }

    #[test]
    fn a_groups_users_are_instances_by_id_and_other_interfaces_by_what_they_say() {
        let interfaces = vec![
            eni("eni-1", &["sg-web"])
                .attachment(
                    NetworkInterfaceAttachment::builder()
                        .instance_id("i-1")
                        .build(),
                )
                .build(),
            eni("eni-2", &["sg-web", "sg-db"])
                .description("VPC Endpoint Interface vpce-0a")
                .build(),
            // moto answers "" where AWS leaves the instance out.
            eni("eni-3", &["sg-db"])
                .attachment(
                    NetworkInterfaceAttachment::builder()
                        .instance_id("")
                        .build(),
                )
                .build(),
        ];
        let users = users_of(&interfaces);
        assert_eq!(
            users["sg-web"],
            ["eni-2 (VPC Endpoint Interface vpce-0a)", "i-1"]
        );
        assert_eq!(
            users["sg-db"],
            ["eni-2 (VPC Endpoint Interface vpce-0a)", "eni-3"]
        );
    }
}
