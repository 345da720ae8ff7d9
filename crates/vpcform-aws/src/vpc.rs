//! VPCs: DescribeVpcs by stack tag. DNS attributes have no batched read:
//! DescribeVpcAttribute is called twice per owned VPC (the one per-object read).

use std::time::Duration;

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

pub(crate) async fn apply(
    aws: &Aws,
    op: &vpcform_exec::Operation,
) -> Result<vpcform_exec::Outcome, AwsError> {
    use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
    use vpcform_exec::Verb;

    use crate::apply::{
        attr, attr_bool, changed, ec2_tag_spec, id, outcome, update_ec2_tags, wait_for,
    };

    let set_dns = |vpc: String, support: Option<bool>, hostnames: Option<bool>| async move {
        let bool_value = |b: bool| AttributeBooleanValue::builder().value(b).build();
        if let Some(s) = support {
            aws.ec2
                .modify_vpc_attribute()
                .vpc_id(&vpc)
                .enable_dns_support(bool_value(s))
                .send()
                .await
                .map_err(|e| aws.error("ec2:ModifyVpcAttribute", e))?;
        }
        if let Some(h) = hostnames {
            aws.ec2
                .modify_vpc_attribute()
                .vpc_id(&vpc)
                .enable_dns_hostnames(bool_value(h))
                .send()
                .await
                .map_err(|e| aws.error("ec2:ModifyVpcAttribute", e))?;
        }
        Ok::<_, AwsError>(())
    };
    match op.verb {
        Verb::Create => {
            let created = aws
                .ec2
                .create_vpc()
                .cidr_block(attr(op, "cidr_block").unwrap_or_default())
                .tag_specifications(ec2_tag_spec(ResourceType::Vpc, op))
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateVpc", e))?;
            let vpc = created
                .vpc()
                .and_then(|v| v.vpc_id())
                .unwrap_or_default()
                .to_string();
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
            let support = attr_bool(op, "enable_dns_support").filter(|s| !s);
            let hostnames = attr_bool(op, "enable_dns_hostnames").filter(|h| *h);
            set_dns(vpc.clone(), support, hostnames).await?;
            Ok(outcome(vpc))
        }
        Verb::Update => {
            let vpc = id(op)?.to_string();
            let support = changed(op, "enable_dns_support")
                .then(|| attr_bool(op, "enable_dns_support"))
                .flatten();
            let hostnames = changed(op, "enable_dns_hostnames")
                .then(|| attr_bool(op, "enable_dns_hostnames"))
                .flatten();
            set_dns(vpc.clone(), support, hostnames).await?;
            update_ec2_tags(aws, &vpc, op).await?;
            Ok(outcome(vpc))
        }
        Verb::Retag => crate::apply::update_tags_only(aws, op).await,
        Verb::Delete => {
            let vpc = id(op)?;
            crate::apply::delete("VPC", vpc, || async {
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
}
