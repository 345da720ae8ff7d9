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

pub(crate) async fn apply(
    aws: &Aws,
    op: &vpcform_exec::Operation,
) -> Result<vpcform_exec::Outcome, AwsError> {
    use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
    use vpcform_exec::Verb;

    use crate::apply::{attr, attr_bool, changed, ec2_tag_spec, id, outcome, update_ec2_tags};

    let set_public = |subnet: String, public: bool| async move {
        aws.ec2
            .modify_subnet_attribute()
            .subnet_id(subnet)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(public).build())
            .send()
            .await
            .map_err(|e| aws.error("ec2:ModifySubnetAttribute", e))
            .map(|_| ())
    };
    match op.verb {
        Verb::Create => {
            let mut call = aws
                .ec2
                .create_subnet()
                .vpc_id(attr(op, "vpc_id").unwrap_or_default())
                .cidr_block(attr(op, "cidr_block").unwrap_or_default())
                .tag_specifications(ec2_tag_spec(ResourceType::Subnet, op));
            if let Some(az) = attr(op, "availability_zone") {
                call = call.availability_zone(az);
            }
            let subnet = crate::apply::or_own(
                call.send()
                    .await
                    .map_err(|e| aws.error("ec2:CreateSubnet", e))
                    .map(|created| {
                        created
                            .subnet()
                            .and_then(|s| s.subnet_id())
                            .unwrap_or_default()
                            .to_string()
                    }),
                &["InvalidSubnet.Conflict"],
                || async {
                    let own = aws
                        .ec2
                        .describe_subnets()
                        .set_filters(Some(crate::apply::own_filters(op)))
                        .send()
                        .await
                        .map_err(|e| aws.error("ec2:DescribeSubnets", e))?;
                    Ok(own
                        .subnets()
                        .first()
                        .and_then(|s| s.subnet_id())
                        .map(str::to_string))
                },
            )
            .await?;
            if attr_bool(op, "map_public_ip_on_launch") == Some(true) {
                set_public(subnet.clone(), true).await?;
            }
            Ok(outcome(subnet))
        }
        Verb::Update | Verb::Retag => {
            let subnet = id(op)?.to_string();
            if changed(op, "map_public_ip_on_launch") {
                set_public(
                    subnet.clone(),
                    attr_bool(op, "map_public_ip_on_launch").unwrap_or(false),
                )
                .await?;
            }
            update_ec2_tags(aws, &subnet, op).await?;
            Ok(outcome(subnet))
        }
        Verb::Delete => {
            let subnet = id(op)?;
            crate::apply::delete("subnet", subnet, || async {
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
}
