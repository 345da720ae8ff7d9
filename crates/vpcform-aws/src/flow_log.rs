//! VPC flow logs by stack tag.

use serde_json::Value;
use vpcform_topology::ResourceKind;

use crate::read::{
    Found, ReadCx, address_from_tags, ec2_tags, object, opt_str, stack_filter, tags_value,
};
use crate::{Aws, AwsError};

pub(crate) async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let mut pages = aws
        .ec2
        .describe_flow_logs()
        .filter(stack_filter(cx.stack))
        .into_paginator()
        .send();
    let mut objects = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:DescribeFlowLogs", e))?;
        for f in page.flow_logs() {
            let id = f.flow_log_id().unwrap_or_default();
            let tags = ec2_tags(f.tags());
            let resource = f.resource_id().unwrap_or_default();
            let resource_type = if resource.starts_with("subnet-") {
                "Subnet"
            } else {
                "VPC"
            };
            objects.push(object(
                address_from_tags(ResourceKind::FlowLog, &tags, id),
                id,
                vec![
                    ("resource_id", Value::from(resource)),
                    ("resource_type", Value::from(resource_type)),
                    ("log_group_name", opt_str(f.log_group_name())),
                    (
                        "deliver_logs_permission_arn",
                        opt_str(f.deliver_logs_permission_arn()),
                    ),
                    (
                        "traffic_type",
                        opt_str(f.traffic_type().map(|t| t.as_str())),
                    ),
                    (
                        "max_aggregation_interval",
                        f.max_aggregation_interval()
                            .map_or(Value::from(600), Value::from),
                    ),
                    ("log_format", opt_str(f.log_format())),
                    ("tags", tags_value(&tags)),
                ],
            ));
        }
    }
    Ok(Found::objects(objects))
}
