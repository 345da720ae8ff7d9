//! Network ACLs by stack tag, with their entries and subnet associations
//! (implicit objects of the ACL). AWS's own entries (rule 32767, the final
//! deny) and IPv6 entries are not vpcform's. An association is never
//! deleted: the subnet moves back to its VPC's default ACL.

use aws_sdk_ec2::types::{Filter, IcmpTypeCode, PortRange, ResourceType, RuleAction};
use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::attr::{SUBNET_ID, TAGS, VPC_ID};
use vpcform_topology::kinds::network_acl::{
    CIDR_BLOCK, EGRESS, FROM_PORT, NETWORK_ACL_ID, PROTOCOL, RULE_ACTION, RULE_NUMBER, TO_PORT,
};
use vpcform_topology::{Address, Direction, ResourceKind};

use crate::apply::{
    attr, attr_bool, attr_i64, before_str, client_token, delete, desired_or_before, ec2_tag_spec,
    id, is_code, outcome, required, unless_gone, update_tags_only,
};
use crate::kind::{AwsKind, Read, Scan, Scanned};
use crate::read::in_vpcs;
use crate::read::{
    Found, ID_REF, ReadCx, Select, describe_ec2, ec2_tags, object, placed, tags_value,
};
use crate::{Aws, AwsError};

/// AWS's final deny-all entry of every ACL.
const DEFAULT_RULE: i32 = 32767;

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let items = cx
        .select(
            ResourceKind::NetworkAcl,
            |x: &aws_sdk_ec2::types::NetworkAcl| x.network_acl_id(),
            |select| describe(aws, select),
        )
        .await?;
    let mut found = Found::default();
    for acl in &items {
        let id = acl.network_acl_id().unwrap_or_default();
        let tags = ec2_tags(acl.tags());
        let Some(place) = cx.place(ResourceKind::NetworkAcl, &tags, id, &mut found.conflicts)
        else {
            continue;
        };
        let address = place.0.clone();
        found.objects.extend(entries_of(acl, &address.name));
        for association in acl.associations() {
            let Some(subnet) = association.subnet_id() else {
                continue;
            };
            found.objects.push(object(
                Address::keyed(
                    ResourceKind::NetworkAclAssociation,
                    address.name.clone(),
                    format!("{ID_REF}{subnet}"),
                ),
                association.network_acl_association_id().unwrap_or_default(),
                vec![
                    (NETWORK_ACL_ID, Value::from(id)),
                    (SUBNET_ID, Value::from(subnet)),
                ],
            ));
        }
        found.objects.push(placed(
            place,
            id,
            vec![
                (VPC_ID, Value::from(acl.vpc_id().unwrap_or_default())),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    Ok(found)
}

/// The VPCs' network ACLs but the default ones (AWS's).
async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let mut out = Scanned::default();
    for acl in describe(aws, Select::Filter(in_vpcs("vpc-id", vpcs))).await? {
        let id = acl.network_acl_id().unwrap_or_default();
        if acl.is_default() == Some(true) {
            if !has_default_entries(&acl) {
                let vpc = acl.vpc_id().unwrap_or_default();
                out.leave_out(id, format!("the default network ACL of {vpc}, with entries changed by hand"), "vpcform does not manage default ACLs; declare an ACL of your own for the subnets that need those entries");
            }
            continue;
        }
        out.ids.push(id.to_string());
    }
    Ok(out)
}

/// AWS's entries of a default ACL: allow all at 100, in and out (and the
/// final denies, which every ACL has).
fn has_default_entries(acl: &aws_sdk_ec2::types::NetworkAcl) -> bool {
    acl.entries().iter().all(|e| {
        let number = e.rule_number().unwrap_or_default();
        number >= DEFAULT_RULE
            || (matches!(number, 100 | 101)
                && e.protocol() == Some("-1")
                && e.rule_action().map(|a| a.as_str()) == Some("allow"))
    })
}

pub(crate) async fn describe(
    aws: &Aws,
    select: Select,
) -> Result<Vec<aws_sdk_ec2::types::NetworkAcl>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_network_acls,
        filters,
        set_network_acl_ids,
        network_acls,
        "ec2:DescribeNetworkAcls"
    )
}

/// The ACL's own entries, keyed `ingress/100` as the topology keys them.
fn entries_of(acl: &aws_sdk_ec2::types::NetworkAcl, name: &str) -> Vec<vpcform_diff::LiveObject> {
    let id = acl.network_acl_id().unwrap_or_default();
    let mut out = Vec::new();
    for e in acl.entries() {
        let cidr = e.cidr_block().or(e.ipv6_cidr_block());
        let (Some(number), Some(cidr)) = (e.rule_number(), cidr) else {
            continue;
        };
        if number == DEFAULT_RULE {
            continue;
        }
        let egress = e.egress().unwrap_or(false);
        let direction = if egress {
            Direction::Egress
        } else {
            Direction::Ingress
        };
        let protocol = e.protocol().unwrap_or("-1");
        let (from, to) = match protocol {
            "1" | "58" => e.icmp_type_code().map_or((-1, -1), |c| {
                (c.r#type().unwrap_or(-1), c.code().unwrap_or(-1))
            }),
            "6" | "17" => e.port_range().map_or((0, 65535), |r| {
                (r.from().unwrap_or(0), r.to().unwrap_or(65535))
            }),
            _ => (-1, -1),
        };
        let key = format!("{}/{number}", direction.as_str());
        out.push(object(
            Address::keyed(ResourceKind::NetworkAclEntry, name, &key),
            format!("{id}|{key}"),
            vec![
                (NETWORK_ACL_ID, Value::from(id)),
                (EGRESS, Value::from(egress)),
                (RULE_NUMBER, Value::from(number)),
                (PROTOCOL, Value::from(protocol)),
                (
                    RULE_ACTION,
                    Value::from(e.rule_action().map_or("deny", |a| a.as_str())),
                ),
                (CIDR_BLOCK, Value::from(cidr)),
                (FROM_PORT, Value::from(from)),
                (TO_PORT, Value::from(to)),
            ],
        ));
    }
    out
}

/// A custom network ACL.
pub(crate) struct NetworkAcl;

impl AwsKind for NetworkAcl {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan(aws, vpcs)));

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let created = aws
            .ec2
            .create_network_acl()
            .vpc_id(required(op, VPC_ID)?)
            .tag_specifications(ec2_tag_spec(ResourceType::NetworkAcl, op))
            // A retried call (an answer lost) makes no second object.
            .client_token(client_token(op))
            .send()
            .await
            .map_err(|e| aws.error("ec2:CreateNetworkAcl", e))?;
        Ok(outcome(
            created
                .network_acl()
                .and_then(|a| a.network_acl_id())
                .unwrap_or_default(),
        ))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let acl = id(op)?;
        delete("network ACL", acl, || async {
            aws.ec2
                .delete_network_acl()
                .network_acl_id(acl)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteNetworkAcl", e))
        })
        .await
    }
}

/// One entry (id `acl|ingress/100`).
pub(crate) struct EntryKind;

impl EntryKind {
    /// CreateNetworkAclEntry, or ReplaceNetworkAclEntry when `replace`.
    async fn send(aws: &Aws, op: &Operation, replace: bool) -> Result<(), AwsError> {
        let protocol = attr(op, PROTOCOL).unwrap_or("-1");
        let (from, to) = (
            attr_i64(op, FROM_PORT).unwrap_or(-1) as i32,
            attr_i64(op, TO_PORT).unwrap_or(-1) as i32,
        );
        let icmp = matches!(protocol, "1" | "58")
            .then(|| IcmpTypeCode::builder().r#type(from).code(to).build());
        // AWS holds IPv4 and IPv6 blocks in fields of their own.
        let cidr = required(op, CIDR_BLOCK)?;
        let (v4, v6) = if cidr.contains(':') {
            (None, Some(cidr.to_string()))
        } else {
            (Some(cidr.to_string()), None)
        };
        let ports =
            matches!(protocol, "6" | "17").then(|| PortRange::builder().from(from).to(to).build());
        macro_rules! fill {
            ($call:expr) => {
                $call
                    .network_acl_id(required(op, NETWORK_ACL_ID)?)
                    .rule_number(attr_i64(op, RULE_NUMBER).unwrap_or_default() as i32)
                    .egress(attr_bool(op, EGRESS).unwrap_or(false))
                    .protocol(protocol)
                    .rule_action(RuleAction::from(attr(op, RULE_ACTION).unwrap_or("deny")))
                    .set_cidr_block(v4.clone())
                    .set_ipv6_cidr_block(v6.clone())
                    .set_icmp_type_code(icmp.clone())
                    .set_port_range(ports)
                    .send()
                    .await
            };
        }
        if replace {
            fill!(aws.ec2.replace_network_acl_entry())
                .map_err(|e| aws.error("ec2:ReplaceNetworkAclEntry", e))?;
        } else {
            fill!(aws.ec2.create_network_acl_entry())
                .map_err(|e| aws.error("ec2:CreateNetworkAclEntry", e))?;
        }
        Ok(())
    }

    fn id(op: &Operation) -> Result<String, AwsError> {
        let acl = desired_or_before(op, NETWORK_ACL_ID)?;
        Ok(format!(
            "{acl}|{}",
            op.address.key.clone().unwrap_or_default()
        ))
    }
}

impl AwsKind for EntryKind {
    const READ: Read = Read::With(ResourceKind::NetworkAcl);
    const SCAN: Scan = Scan::WithContainer;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        match EntryKind::send(aws, op, false).await {
            // Left by an interrupted run: make it what the plan says.
            Err(e) if is_code(&e, &["NetworkAclEntryAlreadyExists"]) => {
                EntryKind::send(aws, op, true).await?
            }
            other => other?,
        }
        Ok(outcome(EntryKind::id(op)?))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        EntryKind::send(aws, op, true).await?;
        Ok(outcome(EntryKind::id(op)?))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(EntryKind::id(op)?))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let number = vpcform_topology::Attr::get(RULE_NUMBER, &op.before)
            .and_then(Value::as_i64)
            .unwrap_or_default();
        let egress = EGRESS
            .get(&op.before)
            .and_then(Value::as_bool)
            .unwrap_or(false);
        unless_gone(
            aws.ec2
                .delete_network_acl_entry()
                .network_acl_id(before_str(op, NETWORK_ACL_ID).unwrap_or_default())
                .rule_number(number as i32)
                .egress(egress)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteNetworkAclEntry", e)),
            EntryKind::id(op)?,
        )
    }
}

/// A subnet guarded by the ACL (id: the association id, which every move changes).
pub(crate) struct AssociationKind;

impl AwsKind for AssociationKind {
    const READ: Read = Read::With(ResourceKind::NetworkAcl);
    const SCAN: Scan = Scan::WithContainer;

    /// Every subnet always has an ACL: moving it is the only way to associate.
    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let subnet = required(op, SUBNET_ID)?;
        let acl = required(op, NETWORK_ACL_ID)?;
        let moved = move_subnet(aws, subnet, acl).await?;
        Ok(outcome(moved))
    }

    async fn update(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(id(op)?))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(id(op)?))
    }

    /// Back to the VPC's default ACL.
    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let subnet = before_str(op, SUBNET_ID).unwrap_or_default();
        let Some(default) = default_acl_of_subnet(aws, subnet).await? else {
            return Ok(outcome(id(op)?)); // the subnet is gone, and its association with it
        };
        match move_subnet(aws, subnet, &default).await {
            Err(e) if is_code(&e, &["InvalidAssociationID.NotFound"]) => Ok(outcome(id(op)?)),
            other => other.map(outcome),
        }
    }
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// Moves `subnet` to `acl`; returns the new association id.
async fn move_subnet(aws: &Aws, subnet: &str, acl: &str) -> Result<String, AwsError> {
    let current = aws
        .ec2
        .describe_network_acls()
        .filters(filter("association.subnet-id", subnet))
        .send()
        .await
        .map_err(|e| aws.error("ec2:DescribeNetworkAcls", e))?;
    let association = current
        .network_acls()
        .iter()
        .flat_map(|a| a.associations())
        .find(|a| a.subnet_id() == Some(subnet))
        .and_then(|a| a.network_acl_association_id())
        .ok_or_else(|| AwsError::Api {
            operation: "ec2:DescribeNetworkAcls".into(),
            code: "InvalidAssociationID.NotFound".into(),
            message: format!("subnet {subnet} has no network ACL association"),
        })?;
    let replaced = aws
        .ec2
        .replace_network_acl_association()
        .association_id(association)
        .network_acl_id(acl)
        .send()
        .await
        .map_err(|e| aws.error("ec2:ReplaceNetworkAclAssociation", e))?;
    Ok(replaced
        .new_association_id()
        .unwrap_or_default()
        .to_string())
}

/// The default ACL of the subnet's VPC; `None` when the subnet is gone.
async fn default_acl_of_subnet(aws: &Aws, subnet: &str) -> Result<Option<String>, AwsError> {
    let subnets = aws
        .ec2
        .describe_subnets()
        .subnet_ids(subnet)
        .send()
        .await
        .map_err(|e| aws.error("ec2:DescribeSubnets", e));
    let vpc = match subnets {
        Ok(s) => s
            .subnets()
            .first()
            .and_then(|s| s.vpc_id())
            .map(str::to_string),
        Err(e) if crate::apply::gone(&e) => None,
        Err(e) => return Err(e),
    };
    let Some(vpc) = vpc else { return Ok(None) };
    let defaults = aws
        .ec2
        .describe_network_acls()
        .filters(filter("vpc-id", &vpc))
        .filters(filter("default", "true"))
        .send()
        .await
        .map_err(|e| aws.error("ec2:DescribeNetworkAcls", e))?;
    Ok(defaults
        .network_acls()
        .first()
        .and_then(|a| a.network_acl_id())
        .map(str::to_string))
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::{NetworkAcl, NetworkAclEntry};

    use super::*;

    fn entry(number: i32, protocol: &str) -> aws_sdk_ec2::types::builders::NetworkAclEntryBuilder {
        NetworkAclEntry::builder()
            .rule_number(number)
            .protocol(protocol)
            .rule_action(RuleAction::Allow)
            .egress(false)
            .cidr_block("10.0.0.0/8")
    }

    #[test]
    fn entries_read_as_the_topology_keys_them() {
        let acl = NetworkAcl::builder()
            .network_acl_id("acl-1")
            .entries(
                entry(110, "1")
                    .icmp_type_code(IcmpTypeCode::builder().r#type(8).code(-1).build())
                    .build(),
            )
            .entries(
                entry(100, "6")
                    .port_range(PortRange::builder().from(22).to(22).build())
                    .build(),
            )
            .entries(
                entry(DEFAULT_RULE, "-1")
                    .rule_action(RuleAction::Deny)
                    .build(),
            )
            .build();
        let read: Vec<(String, Option<Value>, Option<Value>)> = entries_of(&acl, "guard")
            .into_iter()
            .map(|o| {
                (
                    o.address.to_string(),
                    FROM_PORT.get(&o.attrs).cloned(),
                    TO_PORT.get(&o.attrs).cloned(),
                )
            })
            .collect();
        assert_eq!(read.len(), 2, "AWS's rule 32767 is not vpcform's");
        assert_eq!(read[0].0, "network-acl-entry.guard[ingress/110]");
        assert_eq!(read[0].1, Some(Value::from(8)));
        assert_eq!(read[0].2, Some(Value::from(-1)));
        assert_eq!(read[1].1, Some(Value::from(22)));
    }
}
