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

pub(crate) async fn apply(
    aws: &Aws,
    op: &vpcform_exec::Operation,
) -> Result<vpcform_exec::Outcome, AwsError> {
    use std::time::Duration;

    use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType};
    use vpcform_exec::Verb;

    use crate::apply::{attr, attr_i64, ec2_tag_spec, id, outcome, retry};
    match op.verb {
        Verb::Create => {
            let resource = attr(op, "resource_id").unwrap_or_default().to_string();
            let token = crate::apply::client_token(op);
            let create = || async {
                let mut call = aws
                    .ec2
                    .create_flow_logs()
                    .resource_ids(&resource)
                    .resource_type(FlowLogsResourceType::from(
                        attr(op, "resource_type").unwrap_or("VPC"),
                    ))
                    .traffic_type(TrafficType::from(attr(op, "traffic_type").unwrap_or("ALL")))
                    .log_destination_type(LogDestinationType::CloudWatchLogs)
                    .log_group_name(attr(op, "log_group_name").unwrap_or_default())
                    .deliver_logs_permission_arn(
                        attr(op, "deliver_logs_permission_arn").unwrap_or_default(),
                    )
                    .max_aggregation_interval(
                        attr_i64(op, "max_aggregation_interval").unwrap_or(600) as i32,
                    )
                    .tag_specifications(ec2_tag_spec(ResourceType::VpcFlowLog, op))
                    .client_token(&token);
                if let Some(format) = attr(op, "log_format") {
                    call = call.log_format(format);
                }
                let r = call
                    .send()
                    .await
                    .map_err(|e| aws.error("ec2:CreateFlowLogs", e))?;
                // CreateFlowLogs reports per-resource failures in its body.
                if let Some(failure) = r.unsuccessful().first().and_then(|u| u.error()) {
                    return Err(AwsError::Api {
                        operation: "ec2:CreateFlowLogs".into(),
                        code: failure.code().unwrap_or("Unsuccessful").to_string(),
                        message: failure.message().unwrap_or_default().to_string(),
                    });
                }
                Ok(r.flow_log_ids().first().cloned().unwrap_or_default())
            };
            // A role created moments ago is not yet assumable by the flow-logs service.
            let propagating =
                |e: &AwsError| e.message().contains("Unable to assume given IAM role");
            let created = retry(
                &format!("flow log on {resource}"),
                Duration::from_secs(120),
                propagating,
                create,
            )
            .await;
            let flow_log = crate::apply::or_own(created, &["FlowLogAlreadyExists"], || async {
                let own = aws
                    .ec2
                    .describe_flow_logs()
                    .set_filter(Some(crate::apply::own_filters(op)))
                    .send()
                    .await
                    .map_err(|e| aws.error("ec2:DescribeFlowLogs", e))?;
                Ok(own
                    .flow_logs()
                    .first()
                    .and_then(|f| f.flow_log_id())
                    .map(str::to_string))
            })
            .await?;
            Ok(outcome(flow_log))
        }
        Verb::Update | Verb::Retag => crate::apply::update_tags_only(aws, op).await,
        Verb::Delete => {
            let flow_log = id(op)?;
            crate::apply::unless_gone(
                aws.ec2
                    .delete_flow_logs()
                    .flow_log_ids(flow_log)
                    .send()
                    .await
                    .map_err(|e| aws.error("ec2:DeleteFlowLogs", e)),
                flow_log,
            )
        }
    }
}
