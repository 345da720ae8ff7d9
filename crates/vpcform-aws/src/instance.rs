//! EC2 instances (not terminated) by stack tag, and the SSM parameters that name AMIs.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::Filter;
use serde_json::Value;
use vpcform_topology::ResourceKind;

use crate::read::{
    Found, ReadCx, address_from_tags, ec2_tags, object, opt_str, stack_filter, tags_value,
};
use crate::{Aws, AwsError};

/// Instance states that still hold resources (and a name).
const LIVE_STATES: [&str; 4] = ["pending", "running", "stopping", "stopped"];

pub(crate) async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let state = Filter::builder()
        .name("instance-state-name")
        .set_values(Some(LIVE_STATES.map(String::from).to_vec()))
        .build();
    let mut pages = aws
        .ec2
        .describe_instances()
        .filters(stack_filter(cx.stack))
        .filters(state)
        .into_paginator()
        .send();
    let mut objects = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:DescribeInstances", e))?;
        for reservation in page.reservations() {
            for i in reservation.instances() {
                let id = i.instance_id().unwrap_or_default();
                let tags = ec2_tags(i.tags());
                let mut groups: Vec<Value> = i
                    .security_groups()
                    .iter()
                    .filter_map(|g| g.group_id())
                    .map(Value::from)
                    .collect();
                groups.sort_by_key(|v| v.to_string());
                objects.push(object(
                    address_from_tags(ResourceKind::Instance, &tags, id),
                    id,
                    vec![
                        ("ami", Value::from(i.image_id().unwrap_or_default())),
                        (
                            "instance_type",
                            Value::from(i.instance_type().map(|t| t.as_str()).unwrap_or_default()),
                        ),
                        ("subnet_id", Value::from(i.subnet_id().unwrap_or_default())),
                        ("security_group_ids", Value::Array(groups)),
                        ("key_name", opt_str(i.key_name())),
                        (
                            "state",
                            opt_str(i.state().and_then(|s| s.name()).map(|n| n.as_str())),
                        ),
                        ("private_ip_address", opt_str(i.private_ip_address())),
                        ("tags", tags_value(&tags)),
                    ],
                ));
            }
        }
    }
    Ok(Found::objects(objects))
}

/// Resolves the SSM parameters the topology's instances name (GetParameters takes 10 at a time).
pub(crate) async fn read_ssm_parameters(
    aws: &Aws,
    cx: &ReadCx<'_>,
) -> Result<BTreeMap<String, String>, AwsError> {
    let mut names: Vec<&str> = cx
        .topology
        .instances
        .iter()
        .filter_map(|i| i.spec.ami_ssm_parameter.as_ref())
        .map(|p| p.value.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut out = BTreeMap::new();
    for chunk in names.chunks(10) {
        let response = aws
            .ssm
            .get_parameters()
            .set_names(Some(chunk.iter().map(|s| s.to_string()).collect()))
            .send()
            .await
            .map_err(|e| aws.error("ssm:GetParameters", e))?;
        for p in response.parameters() {
            if let (Some(name), Some(value)) = (p.name(), p.value()) {
                out.insert(name.to_string(), value.to_string());
            }
        }
    }
    Ok(out)
}
