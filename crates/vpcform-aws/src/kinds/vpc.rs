//! VPCs: DescribeVpcs by stack tag. DNS attributes have no batched read:
//! DescribeVpcAttribute is called twice per owned VPC (the one per-object read).

use std::time::Duration;

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, VpcAttributeName};
use serde_json::Value;
use vpcform_diff::LiveObject;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::attr::TAGS;
use vpcform_topology::kinds::vpc::{
    AMAZON_IPV6, CIDR_BLOCK, DHCP_OPTIONS_ID, ENABLE_DNS_HOSTNAMES, ENABLE_DNS_SUPPORT,
    RESTRICT_DEFAULT_SECURITY_GROUP, SECONDARY_CIDR_BLOCKS,
};

use crate::kinds::security_group::restrict_default_group;

use crate::apply::{
    attr, attr_bool, changed, create_once, created_filters, delete, ec2_tag_spec, id, no_retries,
    outcome, required, update_ec2_tags, update_tags_only, wait_for,
};
use crate::kind::{AwsKind, Read, Scan, Scanned};
use crate::read::{
    Found, ReadCx, Select, concurrently, describe_ec2, ec2_tags, opt_str, placed, tags_value,
};
use crate::{Aws, AwsError};

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let vpcs = cx
        .select(
            ResourceKind::Vpc,
            |v: &aws_sdk_ec2::types::Vpc| v.vpc_id(),
            |select| describe(aws, select),
        )
        .await?;
    let mut found = Found::default();
    let mut places = Vec::new();
    for vpc in &vpcs {
        let tags = ec2_tags(vpc.tags());
        let id = vpc.vpc_id().unwrap_or_default();
        if let Some(place) = cx.place(ResourceKind::Vpc, &tags, id, &mut found.conflicts) {
            places.push((vpc, place));
        }
    }
    let ids: Vec<String> = places
        .iter()
        .filter_map(|(vpc, _)| vpc.vpc_id().map(str::to_string))
        .collect();
    let defaults = crate::kinds::security_group::default_groups(aws, &ids).await?;
    // Collected first: a lazy map in the stream trips rustc's Send check (rust-lang/rust#64552).
    let reads: Vec<_> = places
        .into_iter()
        .map(|(vpc, place)| {
            let restricted = defaults
                .get(vpc.vpc_id().unwrap_or_default())
                .is_some_and(crate::kinds::security_group::is_restricted);
            read_one(aws, vpc, place, restricted)
        })
        .collect();
    found.objects = concurrently(reads).await?;
    Ok(found)
}

/// The VPCs themselves (an unknown id is an error), and what of them the topology cannot say.
async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let mut out = Scanned::default();
    for v in describe(aws, Select::Ids(vpcs.to_vec())).await? {
        let id = v.vpc_id().unwrap_or_default();
        // Amazon-provided blocks are declared (`ipv6: true`); others are not.
        for block in v
            .ipv6_cidr_block_association_set()
            .iter()
            .filter(|b| b.ipv6_pool().is_some_and(|p| p != "Amazon"))
        {
            let cidr = block.ipv6_cidr_block().unwrap_or_default();
            out.leave_out(
                id,
                format!(
                    "the IPv6 CIDR block {cidr} from pool {}",
                    block.ipv6_pool().unwrap_or_default()
                ),
                "vpcform declares Amazon-provided IPv6 blocks only; it stays associated",
            );
        }
        if v.instance_tenancy()
            .is_some_and(|t| t.as_str() != "default")
        {
            out.leave_out(
                id,
                "dedicated instance tenancy",
                "vpcform does not declare tenancy; the VPC keeps it",
            );
        }
        out.ids.push(id.to_string());
    }
    Ok(out)
}

pub(crate) async fn describe(
    aws: &Aws,
    select: Select,
) -> Result<Vec<aws_sdk_ec2::types::Vpc>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_vpcs,
        filters,
        set_vpc_ids,
        vpcs,
        "ec2:DescribeVpcs"
    )
}

/// AWS has no batched read of the DNS attributes: two calls per VPC.
async fn read_one(
    aws: &Aws,
    vpc: &aws_sdk_ec2::types::Vpc,
    place: (vpcform_topology::Address, bool),
    restricted: bool,
) -> Result<LiveObject, AwsError> {
    let id = vpc.vpc_id().unwrap_or_default();
    let attribute = |name: VpcAttributeName| {
        aws.ec2
            .describe_vpc_attribute()
            .vpc_id(id)
            .attribute(name)
            .send()
    };
    let (support, hostnames) = tokio::try_join!(
        attribute(VpcAttributeName::EnableDnsSupport),
        attribute(VpcAttributeName::EnableDnsHostnames)
    )
    .map_err(|e| aws.error("ec2:DescribeVpcAttribute", e))?;
    let tags = ec2_tags(vpc.tags());
    Ok(placed(
        place,
        id,
        vec![
            (
                CIDR_BLOCK,
                Value::from(vpc.cidr_block().unwrap_or_default()),
            ),
            (
                ENABLE_DNS_SUPPORT,
                Value::from(
                    support
                        .enable_dns_support()
                        .and_then(|a| a.value())
                        .unwrap_or(true),
                ),
            ),
            (
                ENABLE_DNS_HOSTNAMES,
                Value::from(
                    hostnames
                        .enable_dns_hostnames()
                        .and_then(|a| a.value())
                        .unwrap_or(false),
                ),
            ),
            (RESTRICT_DEFAULT_SECURITY_GROUP, Value::from(restricted)),
            (DHCP_OPTIONS_ID, opt_str(vpc.dhcp_options_id())),
            (SECONDARY_CIDR_BLOCKS, Value::from(secondary_blocks(vpc))),
            (AMAZON_IPV6, Value::from(has_amazon_ipv6(vpc))),
            (TAGS, tags_value(&tags)),
        ],
    ))
}

/// A VPC.
pub(crate) struct Vpc;

impl AwsKind for Vpc {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan(aws, vpcs)));

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let cidr = required(op, CIDR_BLOCK)?;
        let send = || async {
            let created = aws
                .ec2
                .create_vpc()
                .cidr_block(cidr)
                .set_amazon_provided_ipv6_cidr_block(attr_bool(op, AMAZON_IPV6).filter(|b| *b))
                .tag_specifications(ec2_tag_spec(ResourceType::Vpc, op))
                .customize()
                .config_override(no_retries())
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateVpc", e))?;
            Ok(created
                .vpc()
                .and_then(|v| v.vpc_id())
                .unwrap_or_default()
                .to_string())
        };
        let find = || async {
            let found = aws
                .ec2
                .describe_vpcs()
                .set_filters(Some(created_filters(op)))
                .send()
                .await
                .map_err(|e| aws.error("ec2:DescribeVpcs", e))?;
            Ok(found
                .vpcs()
                .first()
                .and_then(|v| v.vpc_id())
                .map(str::to_string))
        };
        let vpc = create_once(&format!("creating {}", op.address), send, find).await?;
        wait_for(
            &format!("VPC {vpc} to become available"),
            Duration::from_secs(120),
            || async {
                let r = aws
                    .ec2
                    .describe_vpcs()
                    .vpc_ids(&vpc)
                    .send()
                    .await
                    .map_err(|e| aws.error("ec2:DescribeVpcs", e))?;
                Ok(r.vpcs()
                    .first()
                    .filter(|v| v.state().is_none_or(|s| s.as_str() == "available"))
                    .map(|_| ()))
            },
        )
        .await?;
        // New VPCs have DNS support on and hostnames off: change only what differs.
        let support = attr_bool(op, ENABLE_DNS_SUPPORT).filter(|s| !s);
        let hostnames = attr_bool(op, ENABLE_DNS_HOSTNAMES).filter(|h| *h);
        set_dns(aws, &vpc, support, hostnames).await?;
        if attr_bool(op, RESTRICT_DEFAULT_SECURITY_GROUP) == Some(true) {
            restrict_default_group(aws, &vpc, true).await?;
        }
        if let Some(set) = attr(op, DHCP_OPTIONS_ID) {
            associate_dhcp_options(aws, &vpc, set).await?;
        }
        if let Some(blocks) = wanted_blocks(op).filter(|b| !b.is_empty()) {
            set_secondary_blocks(aws, &vpc, &blocks).await?;
        }
        if attr_bool(op, AMAZON_IPV6) == Some(true) {
            settle_blocks(aws, &vpc).await?;
        }
        Ok(outcome(vpc))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let vpc = id(op)?;
        let wanted = |a| changed(op, a).then(|| attr_bool(op, a)).flatten();
        set_dns(
            aws,
            vpc,
            wanted(ENABLE_DNS_SUPPORT),
            wanted(ENABLE_DNS_HOSTNAMES),
        )
        .await?;
        if let Some(restrict) = wanted(RESTRICT_DEFAULT_SECURITY_GROUP) {
            restrict_default_group(aws, vpc, restrict).await?;
        }
        if let Some(blocks) = wanted_blocks(op).filter(|_| changed(op, SECONDARY_CIDR_BLOCKS)) {
            set_secondary_blocks(aws, vpc, &blocks).await?;
        }
        if let Some(ipv6) = wanted(AMAZON_IPV6) {
            set_ipv6(aws, vpc, ipv6, &op.stack).await?;
        }
        if let Some(set) = attr(op, DHCP_OPTIONS_ID).filter(|_| changed(op, DHCP_OPTIONS_ID)) {
            associate_dhcp_options(aws, vpc, set).await?;
        }
        update_ec2_tags(aws, vpc, op).await?;
        Ok(outcome(vpc))
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let vpc = id(op)?;
        delete("VPC", vpc, || async {
            aws.ec2
                .delete_vpc()
                .vpc_id(vpc)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteVpc", e))
        })
        .await
    }
}

/// Whether an IPv6 association is the VPC's block (any state but going or gone).
pub(crate) fn ipv6_in_use(b: &aws_sdk_ec2::types::VpcIpv6CidrBlockAssociation) -> bool {
    crate::read::ipv6_block_in_use(
        b.ipv6_cidr_block_state()
            .and_then(|s| s.state())
            .map(|s| s.as_str()),
    )
}

/// The VPC's Amazon-provided IPv6 associations in use (not those of an
/// IPAM or BYOIP pool, which vpcform does not declare).
fn amazon_ipv6(
    v: &aws_sdk_ec2::types::Vpc,
) -> impl Iterator<Item = &aws_sdk_ec2::types::VpcIpv6CidrBlockAssociation> {
    v.ipv6_cidr_block_association_set()
        .iter()
        .filter(|b| b.ipv6_pool().is_none_or(|p| p == "Amazon"))
        .filter(|b| ipv6_in_use(b))
}

/// The VPC's Amazon-provided IPv6 block: subnets take their /64s from it.
pub(crate) fn ipv6_block(v: &aws_sdk_ec2::types::Vpc) -> Option<ipnet::Ipv6Net> {
    amazon_ipv6(v).find_map(|b| b.ipv6_cidr_block()?.parse().ok())
}

/// Whether the VPC holds an Amazon-provided IPv6 block (`ipv6: true`).
fn has_amazon_ipv6(v: &aws_sdk_ec2::types::Vpc) -> bool {
    amazon_ipv6(v).next().is_some()
}

/// Asks AWS for an IPv6 block, or gives the VPC's back (the stack's
/// subnets' /64s first), then waits until it is settled.
async fn set_ipv6(aws: &Aws, vpc: &str, wanted: bool, stack: &str) -> Result<(), AwsError> {
    if wanted {
        aws.ec2
            .associate_vpc_cidr_block()
            .vpc_id(vpc)
            .amazon_provided_ipv6_cidr_block(true)
            .send()
            .await
            .map_err(|e| aws.error("ec2:AssociateVpcCidrBlock", e))?;
    } else {
        crate::kinds::subnet::release_ipv6_of_vpc(aws, vpc, stack).await?;
        let found = describe(aws, Select::Ids(vec![vpc.to_string()])).await?;
        let associations = found
            .iter()
            .flat_map(amazon_ipv6)
            .filter_map(|b| b.association_id());
        for association in associations {
            disassociate_block(aws, vpc, association).await?;
        }
    }
    settle_blocks(aws, vpc).await
}

/// The VPC's associated (or associating) blocks but the primary, sorted.
fn secondary_blocks(v: &aws_sdk_ec2::types::Vpc) -> Vec<String> {
    let mut out: Vec<String> = v
        .cidr_block_association_set()
        .iter()
        .filter(|b| {
            b.cidr_block_state()
                .and_then(|s| s.state())
                .is_some_and(|s| matches!(s.as_str(), "associated" | "associating"))
        })
        .filter_map(|b| b.cidr_block())
        .filter(|c| Some(*c) != v.cidr_block())
        .map(str::to_string)
        .collect();
    out.sort();
    out
}

/// The desired secondary blocks, or `None` when the topology leaves them alone.
fn wanted_blocks(op: &Operation) -> Option<Vec<String>> {
    SECONDARY_CIDR_BLOCKS
        .get(&op.attrs)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
}

/// Associates the blocks the VPC lacks and disassociates those it should
/// not have, then waits until they are settled (subnets need them).
async fn set_secondary_blocks(aws: &Aws, vpc: &str, wanted: &[String]) -> Result<(), AwsError> {
    let found = describe(aws, Select::Ids(vec![vpc.to_string()])).await?;
    let Some(v) = found.first() else {
        return Ok(());
    };
    let have = secondary_blocks(v);
    for block in wanted.iter().filter(|b| !have.contains(b)) {
        aws.ec2
            .associate_vpc_cidr_block()
            .vpc_id(vpc)
            .cidr_block(block)
            .send()
            .await
            .map_err(|e| aws.error("ec2:AssociateVpcCidrBlock", e))?;
    }
    let stale = v
        .cidr_block_association_set()
        .iter()
        .filter(|b| {
            b.cidr_block()
                .is_some_and(|c| have.iter().any(|h| h == c) && !wanted.iter().any(|w| w == c))
        })
        .filter_map(|b| b.association_id());
    for association in stale {
        disassociate_block(aws, vpc, association).await?;
    }
    settle_blocks(aws, vpc).await
}

/// Waits until no block of the VPC, IPv4 or IPv6, is still being
/// associated or disassociated (subnets need them).
async fn settle_blocks(aws: &Aws, vpc: &str) -> Result<(), AwsError> {
    wait_for(
        &format!("the CIDR blocks of {vpc} to settle"),
        Duration::from_secs(120),
        || async {
            let found = describe(aws, Select::Ids(vec![vpc.to_string()])).await?;
            let settled = found.first().is_some_and(|v| {
                let v4 = v.cidr_block_association_set().iter().map(|b| {
                    b.cidr_block_state()
                        .and_then(|s| s.state())
                        .map(|s| s.as_str())
                });
                let v6 = v.ipv6_cidr_block_association_set().iter().map(|b| {
                    b.ipv6_cidr_block_state()
                        .and_then(|s| s.state())
                        .map(|s| s.as_str())
                });
                v4.chain(v6).all(|s| s.is_none_or(|s| !s.ends_with("ing")))
            });
            Ok(settled.then_some(()))
        },
    )
    .await
}

/// Gives a block back. AWS refuses while subnets still lie in it
/// (`InvalidCidrBlock.InUse`): the same apply may be deleting them
/// (subnet deletes do not wait for their VPC's update), so it is retried
/// until they are gone, for as long as a subnet's delete may take.
async fn disassociate_block(aws: &Aws, vpc: &str, association: &str) -> Result<(), AwsError> {
    crate::apply::retry(
        &format!("giving a CIDR block of {vpc} back"),
        Duration::from_secs(300),
        |e| crate::apply::is_code(e, &["InvalidCidrBlock.InUse"]),
        || async {
            aws.ec2
                .disassociate_vpc_cidr_block()
                .association_id(association)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DisassociateVpcCidrBlock", e))
        },
    )
    .await
    .map(|_| ())
}

/// Moves the VPC to the DHCP options set `set` (instances pick it up on renewal).
async fn associate_dhcp_options(aws: &Aws, vpc: &str, set: &str) -> Result<(), AwsError> {
    aws.ec2
        .associate_dhcp_options()
        .vpc_id(vpc)
        .dhcp_options_id(set)
        .send()
        .await
        .map_err(|e| aws.error("ec2:AssociateDhcpOptions", e))?;
    Ok(())
}

/// Sets the DNS attributes given (one ModifyVpcAttribute call each, as AWS requires).
async fn set_dns(
    aws: &Aws,
    vpc: &str,
    support: Option<bool>,
    hostnames: Option<bool>,
) -> Result<(), AwsError> {
    let bool_value = |b: bool| AttributeBooleanValue::builder().value(b).build();
    if let Some(s) = support {
        aws.ec2
            .modify_vpc_attribute()
            .vpc_id(vpc)
            .enable_dns_support(bool_value(s))
            .send()
            .await
            .map_err(|e| aws.error("ec2:ModifyVpcAttribute", e))?;
    }
    if let Some(h) = hostnames {
        aws.ec2
            .modify_vpc_attribute()
            .vpc_id(vpc)
            .enable_dns_hostnames(bool_value(h))
            .send()
            .await
            .map_err(|e| aws.error("ec2:ModifyVpcAttribute", e))?;
    }
    Ok(())
}
