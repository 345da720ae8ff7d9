//! VPCs: DescribeVpcs by stack tag. DNS attributes have no batched read:
//! DescribeVpcAttribute is called twice per owned VPC (the one per-object read).

use aws_sdk_ec2::types::VpcAttributeName;
use serde_json::Value;
use vpcform_topology::ResourceKind;

use crate::read::{
    Found, ReadCx, address_from_tags, concurrently, ec2_tags, object, stack_filter, tags_value,
};
use crate::{Aws, AwsError};

pub(crate) async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let mut pages = aws
        .ec2
        .describe_vpcs()
        .filters(stack_filter(cx.stack))
        .into_paginator()
        .send();
    let mut vpcs = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:DescribeVpcs", e))?;
        vpcs.extend(page.vpcs.unwrap_or_default());
    }
    let reads = vpcs.iter().map(|vpc| async move {
        let id = vpc.vpc_id().unwrap_or_default();
        let attr = |name: VpcAttributeName| async move {
            aws.ec2
                .describe_vpc_attribute()
                .vpc_id(id)
                .attribute(name)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DescribeVpcAttribute", e))
        };
        let (support, hostnames) = tokio::try_join!(
            attr(VpcAttributeName::EnableDnsSupport),
            attr(VpcAttributeName::EnableDnsHostnames)
        )?;
        let tags = ec2_tags(vpc.tags());
        Ok::<_, AwsError>(object(
            address_from_tags(ResourceKind::Vpc, &tags, id),
            id,
            vec![
                (
                    "cidr_block",
                    Value::from(vpc.cidr_block().unwrap_or_default()),
                ),
                (
                    "enable_dns_support",
                    Value::from(
                        support
                            .enable_dns_support()
                            .and_then(|a| a.value())
                            .unwrap_or(true),
                    ),
                ),
                (
                    "enable_dns_hostnames",
                    Value::from(
                        hostnames
                            .enable_dns_hostnames()
                            .and_then(|a| a.value())
                            .unwrap_or(false),
                    ),
                ),
                ("tags", tags_value(&tags)),
            ],
        ))
    });
    let objects = concurrently(reads).await?;
    Ok(Found::objects(objects))
}
