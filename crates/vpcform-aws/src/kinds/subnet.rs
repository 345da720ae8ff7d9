//! Subnets: DescribeSubnets by stack tag.

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::attr::{TAGS, VPC_ID};
use vpcform_topology::kinds::subnet::{AVAILABILITY_ZONE, CIDR_BLOCK, MAP_PUBLIC_IP_ON_LAUNCH};

use crate::apply::{
    attr, attr_bool, changed, create_once, created_filters, delete, ec2_tag_spec, id, no_retries,
    or_own, outcome, required, update_ec2_tags, update_tags_only,
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
        for block in s.ipv6_cidr_block_association_set() {
            let cidr = block.ipv6_cidr_block().unwrap_or_default();
            out.leave_out(
                id,
                format!("the IPv6 CIDR block {cidr}"),
                "vpcform manages IPv4 only; it stays associated",
            );
        }
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
        Ok(outcome(subnet))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let subnet = id(op)?;
        if changed(op, MAP_PUBLIC_IP_ON_LAUNCH) {
            let public = attr_bool(op, MAP_PUBLIC_IP_ON_LAUNCH).unwrap_or(false);
            set_public(aws, subnet, public).await?;
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
