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
