//! Internet gateways and their attachment (an implicit object owned by the gateway).

use serde_json::Value;
use vpcform_topology::{Address, ResourceKind};

use crate::read::{Found, ReadCx, address_from_tags, ec2_tags, object, stack_filter, tags_value};
use crate::{Aws, AwsError};

pub(crate) async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let mut pages = aws
        .ec2
        .describe_internet_gateways()
        .filters(stack_filter(cx.stack))
        .into_paginator()
        .send();
    let mut objects = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:DescribeInternetGateways", e))?;
        for g in page.internet_gateways() {
            let id = g.internet_gateway_id().unwrap_or_default();
            let tags = ec2_tags(g.tags());
            let address = address_from_tags(ResourceKind::InternetGateway, &tags, id);
            for attachment in g.attachments() {
                let Some(vpc) = attachment.vpc_id() else {
                    continue;
                };
                objects.push(object(
                    Address::new(
                        ResourceKind::InternetGatewayAttachment,
                        address.name.clone(),
                    ),
                    format!("{id}|{vpc}"),
                    vec![
                        ("internet_gateway_id", Value::from(id)),
                        ("vpc_id", Value::from(vpc)),
                    ],
                ));
            }
            objects.push(object(address, id, vec![("tags", tags_value(&tags))]));
        }
    }
    Ok(Found::objects(objects))
}

pub(crate) async fn apply(
    aws: &Aws,
    op: &vpcform_exec::Operation,
) -> Result<vpcform_exec::Outcome, AwsError> {
    use aws_sdk_ec2::types::ResourceType;
    use vpcform_exec::Verb;

    use crate::apply::{ec2_tag_spec, id, outcome};
    match op.verb {
        Verb::Create => {
            let created = aws
                .ec2
                .create_internet_gateway()
                .tag_specifications(ec2_tag_spec(ResourceType::InternetGateway, op))
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateInternetGateway", e))?;
            Ok(outcome(
                created
                    .internet_gateway()
                    .and_then(|g| g.internet_gateway_id())
                    .unwrap_or_default(),
            ))
        }
        Verb::Update | Verb::Retag => crate::apply::update_tags_only(aws, op).await,
        Verb::Delete => {
            let igw = id(op)?;
            crate::apply::delete("internet gateway", igw, || async {
                aws.ec2
                    .delete_internet_gateway()
                    .internet_gateway_id(igw)
                    .send()
                    .await
                    .map_err(|e| aws.error("ec2:DeleteInternetGateway", e))
            })
            .await
        }
    }
}

pub(crate) async fn apply_attachment(
    aws: &Aws,
    op: &vpcform_exec::Operation,
) -> Result<vpcform_exec::Outcome, AwsError> {
    use vpcform_exec::Verb;

    use crate::apply::{
        DELETE_RETRY, attr, before_str, dependency_violation, gone, is_code, outcome, retry,
    };
    match op.verb {
        Verb::Create => {
            let (igw, vpc) = (
                attr(op, "internet_gateway_id").unwrap_or_default(),
                attr(op, "vpc_id").unwrap_or_default(),
            );
            let result = aws
                .ec2
                .attach_internet_gateway()
                .internet_gateway_id(igw)
                .vpc_id(vpc)
                .send()
                .await
                .map_err(|e| aws.error("ec2:AttachInternetGateway", e));
            match result {
                Err(e) if !is_code(&e, &["Resource.AlreadyAssociated"]) => Err(e),
                _ => Ok(outcome(format!("{igw}|{vpc}"))),
            }
        }
        Verb::Update | Verb::Retag => Ok(outcome(op.id.clone().unwrap_or_default())),
        Verb::Delete => {
            let (igw, vpc) = (
                before_str(op, "internet_gateway_id").unwrap_or_default(),
                before_str(op, "vpc_id").unwrap_or_default(),
            );
            let result = retry(
                &format!("detaching {igw} from {vpc}"),
                DELETE_RETRY,
                dependency_violation,
                || async {
                    aws.ec2
                        .detach_internet_gateway()
                        .internet_gateway_id(igw)
                        .vpc_id(vpc)
                        .send()
                        .await
                        .map_err(|e| aws.error("ec2:DetachInternetGateway", e))
                },
            )
            .await;
            match result {
                Err(e) if !gone(&e) && !is_code(&e, &["Gateway.NotAttached"]) => Err(e),
                _ => Ok(outcome(format!("{igw}|{vpc}"))),
            }
        }
    }
}
