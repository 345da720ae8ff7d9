//! VPC peering connections by stack tag (gone ones, deleted/rejected/failed, are skipped).

use aws_sdk_ec2::types::VpcPeeringConnectionStateReasonCode as Code;
use serde_json::Value;
use vpcform_topology::ResourceKind;

use crate::read::{Found, ReadCx, address_from_tags, ec2_tags, object, stack_filter, tags_value};
use crate::{Aws, AwsError};

pub(crate) async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let mut pages = aws
        .ec2
        .describe_vpc_peering_connections()
        .filters(stack_filter(cx.stack))
        .into_paginator()
        .send();
    let mut objects = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:DescribeVpcPeeringConnections", e))?;
        for p in page.vpc_peering_connections() {
            let status = p.status().and_then(|s| s.code()).cloned();
            if matches!(
                status,
                Some(
                    Code::Deleted | Code::Deleting | Code::Rejected | Code::Failed | Code::Expired
                )
            ) {
                continue;
            }
            let id = p.vpc_peering_connection_id().unwrap_or_default();
            let tags = ec2_tags(p.tags());
            objects.push(object(
                address_from_tags(ResourceKind::VpcPeering, &tags, id),
                id,
                vec![
                    (
                        "requester_vpc_id",
                        Value::from(
                            p.requester_vpc_info()
                                .and_then(|v| v.vpc_id())
                                .unwrap_or_default(),
                        ),
                    ),
                    (
                        "accepter_vpc_id",
                        Value::from(
                            p.accepter_vpc_info()
                                .and_then(|v| v.vpc_id())
                                .unwrap_or_default(),
                        ),
                    ),
                    (
                        "status",
                        Value::from(status.as_ref().map_or("unknown", |s| s.as_str())),
                    ),
                    ("tags", tags_value(&tags)),
                ],
            ));
        }
    }
    Ok(Found::objects(objects))
}
