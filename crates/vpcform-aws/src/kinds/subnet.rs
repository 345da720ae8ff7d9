//! Subnets: DescribeSubnets by stack tag.

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::attr::{TAGS, VPC_ID};
use vpcform_topology::kinds::subnet::{
    ASSIGN_IPV6_ADDRESS_ON_CREATION, AVAILABILITY_ZONE, CIDR_BLOCK, IPV6_INDEX,
    MAP_PUBLIC_IP_ON_LAUNCH, ipv6_subnet,
};

use crate::apply::{
    attr, attr_bool, attr_i64, changed, create_once, created_filters, delete, ec2_tag_spec, id,
    no_retries, or_own, outcome, required, update_ec2_tags, update_tags_only,
};
use crate::kind::{AwsKind, Read, Scan, Scanned};
use crate::read::in_vpcs;
use crate::read::{Found, ReadCx, Select, describe_ec2, ec2_tags, placed, tags_value};
use crate::{Aws, AwsError};

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let subnets = cx
        .select(
            ResourceKind::Subnet,
            |s: &aws_sdk_ec2::types::Subnet| s.subnet_id(),
            |select| describe(aws, select),
        )
        .await?;
    let mut found = Found::default();
    for s in &subnets {
        let id = s.subnet_id().unwrap_or_default();
        let tags = ec2_tags(s.tags());
        let Some(place) = cx.place(ResourceKind::Subnet, &tags, id, &mut found.conflicts) else {
            continue;
        };
        found.objects.push(placed(
            place,
            id,
            vec![
                (VPC_ID, Value::from(s.vpc_id().unwrap_or_default())),
                (CIDR_BLOCK, Value::from(s.cidr_block().unwrap_or_default())),
                (
                    AVAILABILITY_ZONE,
                    Value::from(s.availability_zone().unwrap_or_default()),
                ),
                (
                    MAP_PUBLIC_IP_ON_LAUNCH,
                    Value::from(s.map_public_ip_on_launch().unwrap_or(false)),
                ),
                (
                    IPV6_INDEX,
                    ipv6_block(s).map_or(Value::Null, |(_, b)| b.network().octets()[7].into()),
                ),
                (
                    ASSIGN_IPV6_ADDRESS_ON_CREATION,
                    Value::from(s.assign_ipv6_address_on_creation().unwrap_or(false)),
                ),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    Ok(found)
}

async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let mut out = Scanned::default();
    for s in describe(aws, Select::Filter(in_vpcs("vpc-id", vpcs))).await? {
        let id = s.subnet_id().unwrap_or_default();
        out.ids.push(id.to_string());
    }
    Ok(out)
}

pub(crate) async fn describe(
    aws: &Aws,
    select: Select,
) -> Result<Vec<aws_sdk_ec2::types::Subnet>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_subnets,
        filters,
        set_subnet_ids,
        subnets,
        "ec2:DescribeSubnets"
    )
}

/// A subnet.
pub(crate) struct Subnet;

impl AwsKind for Subnet {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan(aws, vpcs)));

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let (vpc, cidr) = (required(op, VPC_ID)?, required(op, CIDR_BLOCK)?);
        let ipv6 = match wanted_index(op) {
            Some(index) => Some(block_at(aws, vpc, index).await?),
            None => None,
        };
        let find = || async {
            let own = aws
                .ec2
                .describe_subnets()
                .set_filters(Some(created_filters(op)))
                .send()
                .await
                .map_err(|e| aws.error("ec2:DescribeSubnets", e))?;
            Ok(own
                .subnets()
                .first()
                .and_then(|s| s.subnet_id())
                .map(str::to_string))
        };
        let send = || async {
            let created = aws
                .ec2
                .create_subnet()
                .vpc_id(vpc)
                .cidr_block(cidr)
                .set_ipv6_cidr_block(ipv6.clone())
                .set_availability_zone(attr(op, AVAILABILITY_ZONE).map(str::to_string))
                .tag_specifications(ec2_tag_spec(ResourceType::Subnet, op))
                .customize()
                .config_override(no_retries())
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateSubnet", e))
                .map(|created| {
                    created
                        .subnet()
                        .and_then(|s| s.subnet_id())
                        .unwrap_or_default()
                        .to_string()
                });
            // A conflict with our own earlier attempt (its answer lost) is that subnet.
            or_own(created, &["InvalidSubnet.Conflict"], find).await
        };
        let subnet = create_once(&format!("creating {}", op.address), send, find).await?;
        if attr_bool(op, MAP_PUBLIC_IP_ON_LAUNCH) == Some(true) {
            set_public(aws, &subnet, true).await?;
        }
        if attr_bool(op, ASSIGN_IPV6_ADDRESS_ON_CREATION) == Some(true) {
            set_assign_ipv6(aws, &subnet, true).await?;
        }
        Ok(outcome(subnet))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let subnet = id(op)?;
        if changed(op, MAP_PUBLIC_IP_ON_LAUNCH) {
            let public = attr_bool(op, MAP_PUBLIC_IP_ON_LAUNCH).unwrap_or(false);
            set_public(aws, subnet, public).await?;
        }
        let assign = changed(op, ASSIGN_IPV6_ADDRESS_ON_CREATION)
            .then(|| attr_bool(op, ASSIGN_IPV6_ADDRESS_ON_CREATION).unwrap_or(false));
        // Stop assigning before the block goes; start once it is there.
        if assign == Some(false) {
            set_assign_ipv6(aws, subnet, false).await?;
        }
        if changed(op, IPV6_INDEX) {
            set_ipv6_block(aws, subnet, required(op, VPC_ID)?, wanted_index(op)).await?;
        }
        if assign == Some(true) {
            set_assign_ipv6(aws, subnet, true).await?;
        }
        update_ec2_tags(aws, subnet, op).await?;
        Ok(outcome(subnet))
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let subnet = id(op)?;
        delete("subnet", subnet, || async {
            aws.ec2
                .delete_subnet()
                .subnet_id(subnet)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteSubnet", e))
        })
        .await
    }
}

/// The subnet's associated IPv6 block: its association id and the /64.
pub(crate) fn ipv6_block(s: &aws_sdk_ec2::types::Subnet) -> Option<(String, ipnet::Ipv6Net)> {
    s.ipv6_cidr_block_association_set()
        .iter()
        .filter(|b| {
            crate::read::ipv6_block_in_use(
                b.ipv6_cidr_block_state()
                    .and_then(|s| s.state())
                    .map(|s| s.as_str()),
            )
        })
        .find_map(|b| {
            let cidr = b.ipv6_cidr_block()?.parse().ok()?;
            Some((b.association_id().unwrap_or_default().to_string(), cidr))
        })
}

/// The /64 index the plan wants (`None`: no IPv6 block).
fn wanted_index(op: &Operation) -> Option<u8> {
    attr_i64(op, IPV6_INDEX).and_then(|i| u8::try_from(i).ok())
}

/// The /64 at `index` of the VPC's IPv6 block, which AWS chose.
async fn block_at(aws: &Aws, vpc: &str, index: u8) -> Result<String, AwsError> {
    let vpcs = crate::kinds::vpc::describe(aws, Select::Ids(vec![vpc.to_string()])).await?;
    let block = vpcs
        .first()
        .and_then(crate::kinds::vpc::ipv6_block)
        .ok_or_else(|| AwsError::PlanMoved {
            operation: format!("giving a subnet of {vpc} an IPv6 block"),
            detail: format!("{vpc} has no IPv6 block"),
        })?;
    Ok(ipv6_subnet(block, index).to_string())
}

/// Before a VPC gives its IPv6 block back: the stack's own subnets in it
/// stop assigning addresses and give their /64s back first (AWS refuses
/// the VPC's otherwise). The plan shows these as the subnets' updates, which
/// wait for the VPC's and then find nothing left to do; subnets the stack
/// does not own are left alone (AWS then refuses, naming them).
pub(crate) async fn release_ipv6_of_vpc(aws: &Aws, vpc: &str, stack: &str) -> Result<(), AwsError> {
    let subnets = describe(
        aws,
        Select::Filter(crate::read::in_vpcs("vpc-id", &[vpc.to_string()])),
    )
    .await?;
    for s in &subnets {
        let owned = ec2_tags(s.tags())
            .get(vpcform_diff::TAG_STACK)
            .map(String::as_str)
            == Some(stack);
        let (Some(id), Some((association, _)), true) = (s.subnet_id(), ipv6_block(s), owned) else {
            continue;
        };
        if s.assign_ipv6_address_on_creation() == Some(true) {
            set_assign_ipv6(aws, id, false).await?;
        }
        aws.ec2
            .disassociate_subnet_cidr_block()
            .association_id(association)
            .send()
            .await
            .map_err(|e| aws.error("ec2:DisassociateSubnetCidrBlock", e))?;
    }
    Ok(())
}

/// Moves the subnet to the /64 at `index` (or none): the old block goes first.
async fn set_ipv6_block(
    aws: &Aws,
    subnet: &str,
    vpc: &str,
    index: Option<u8>,
) -> Result<(), AwsError> {
    let found = describe(aws, Select::Ids(vec![subnet.to_string()])).await?;
    if let Some((association, _)) = found.first().and_then(ipv6_block) {
        aws.ec2
            .disassociate_subnet_cidr_block()
            .association_id(association)
            .send()
            .await
            .map_err(|e| aws.error("ec2:DisassociateSubnetCidrBlock", e))?;
        // A subnet holds one IPv6 block: the old one must be gone first.
        crate::apply::wait_for(
            &format!("the IPv6 block of {subnet} to go"),
            std::time::Duration::from_secs(120),
            || async {
                let now = describe(aws, Select::Ids(vec![subnet.to_string()])).await?;
                let leaving = now
                    .iter()
                    .flat_map(|s| s.ipv6_cidr_block_association_set())
                    .any(|b| {
                        b.ipv6_cidr_block_state()
                            .and_then(|s| s.state())
                            .is_some_and(|s| s.as_str() == "disassociating")
                    });
                let gone = now.first().and_then(ipv6_block).is_none() && !leaving;
                Ok(gone.then_some(()))
            },
        )
        .await?;
    }
    if let Some(index) = index {
        let block = block_at(aws, vpc, index).await?;
        aws.ec2
            .associate_subnet_cidr_block()
            .subnet_id(subnet)
            .ipv6_cidr_block(block)
            .send()
            .await
            .map_err(|e| aws.error("ec2:AssociateSubnetCidrBlock", e))?;
    }
    Ok(())
}

async fn set_assign_ipv6(aws: &Aws, subnet: &str, assign: bool) -> Result<(), AwsError> {
    aws.ec2
        .modify_subnet_attribute()
        .subnet_id(subnet)
        .assign_ipv6_address_on_creation(AttributeBooleanValue::builder().value(assign).build())
        .send()
        .await
        .map_err(|e| aws.error("ec2:ModifySubnetAttribute", e))
        .map(|_| ())
}

async fn set_public(aws: &Aws, subnet: &str, public: bool) -> Result<(), AwsError> {
    aws.ec2
        .modify_subnet_attribute()
        .subnet_id(subnet)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(public).build())
        .send()
        .await
        .map_err(|e| aws.error("ec2:ModifySubnetAttribute", e))
        .map(|_| ())
}
