//! Subnets: DescribeSubnets by stack tag.

use serde_json::Value;
use vpcform_topology::ResourceKind;

use crate::read::{Found, ReadCx, address_from_tags, ec2_tags, object, stack_filter, tags_value};
use crate::{Aws, AwsError};

pub(crate) async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let mut pages = aws
        .ec2
        .describe_subnets()
        .filters(stack_filter(cx.stack))
        .into_paginator()
        .send();
    let mut objects = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:DescribeSubnets", e))?;
        for s in page.subnets() {
            let id = s.subnet_id().unwrap_or_default();
            let tags = ec2_tags(s.tags());
            objects.push(object(
                address_from_tags(ResourceKind::Subnet, &tags, id),
                id,
                vec![
                    ("vpc_id", Value::from(s.vpc_id().unwrap_or_default())),
                    (
                        "cidr_block",
                        Value::from(s.cidr_block().unwrap_or_default()),
                    ),
                    (
                        "availability_zone",
                        Value::from(s.availability_zone().unwrap_or_default()),
                    ),
                    (
                        "map_public_ip_on_launch",
                        Value::from(s.map_public_ip_on_launch().unwrap_or(false)),
                    ),
                    ("tags", tags_value(&tags)),
                ],
            ));
        }
    }
    Ok(Found::objects(objects))
}
