//! VPC flow logs by stack tag.

use std::time::Duration;

use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType};
use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::attr::TAGS;
use vpcform_topology::kinds::flow_log::{
    DELIVER_LOGS_PERMISSION_ARN, LOG_FORMAT, MAX_AGGREGATION_INTERVAL, RESOURCE_ID, RESOURCE_TYPE,
    TRAFFIC_TYPE,
};
use vpcform_topology::kinds::log_group::LOG_GROUP_NAME;

use crate::apply::{
    attr, attr_i64, client_token, ec2_tag_spec, id, or_own, outcome, own_filters, required, retry,
    unless_gone, update_tags_only,
};
use crate::kind::{AwsKind, Read, Scan, Scanned};
use crate::read::in_vpcs;
use crate::read::{Found, ReadCx, Select, describe_ec2, ec2_tags, opt_str, placed, tags_value};
use crate::{Aws, AwsError};

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let items = cx
        .select(
            ResourceKind::FlowLog,
            |x: &aws_sdk_ec2::types::FlowLog| x.flow_log_id(),
            |select| describe(aws, select),
        )
        .await?;
    let mut found = Found::default();
    for f in &items {
        let id = f.flow_log_id().unwrap_or_default();
        let tags = ec2_tags(f.tags());
        let Some(place) = cx.place(ResourceKind::FlowLog, &tags, id, &mut found.conflicts) else {
            continue;
        };
        let resource = f.resource_id().unwrap_or_default();
        let resource_type = if resource.starts_with("subnet-") {
            "Subnet"
        } else {
            "VPC"
        };
        found.objects.push(placed(
            place,
            id,
            vec![
                (RESOURCE_ID, Value::from(resource)),
                (RESOURCE_TYPE, Value::from(resource_type)),
                (LOG_GROUP_NAME, opt_str(f.log_group_name())),
                (
                    DELIVER_LOGS_PERMISSION_ARN,
                    opt_str(f.deliver_logs_permission_arn()),
                ),
                (TRAFFIC_TYPE, opt_str(f.traffic_type().map(|t| t.as_str()))),
                (
                    MAX_AGGREGATION_INTERVAL,
                    f.max_aggregation_interval()
                        .map_or(Value::from(600), Value::from),
                ),
                (LOG_FORMAT, opt_str(f.log_format())),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    Ok(found)
}

/// The flow logs of the VPCs and their subnets into CloudWatch Logs
/// (others go to S3 or Firehose, which vpcform does not declare).
async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let subnets = crate::kinds::subnet::describe(aws, Select::Filter(in_vpcs("vpc-id", vpcs)));
    let mut resources = vpcs.to_vec();
    resources.extend(
        subnets
            .await?
            .iter()
            .filter_map(|s| s.subnet_id())
            .map(str::to_string),
    );
    let mut out = Scanned::default();
    for f in describe(aws, Select::Filter(in_vpcs("resource-id", &resources))).await? {
        let id = f.flow_log_id().unwrap_or_default();
        match f.log_destination_type() {
            None | Some(LogDestinationType::CloudWatchLogs) => out.ids.push(id.to_string()),
            Some(other) => out.leave_out(
                id,
                format!("a flow log into {}", other.as_str()),
                "vpcform declares flow logs into CloudWatch Logs only; it keeps running",
            ),
        }
    }
    Ok(out)
}

pub(crate) async fn describe(
    aws: &Aws,
    select: Select,
) -> Result<Vec<aws_sdk_ec2::types::FlowLog>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_flow_logs,
        filter,
        set_flow_log_ids,
        flow_logs,
        "ec2:DescribeFlowLogs"
    )
}

/// A VPC flow log: nothing but tags changes in place.
pub(crate) struct FlowLog;

impl AwsKind for FlowLog {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan(aws, vpcs)));

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let resource = required(op, RESOURCE_ID)?;
        let token = client_token(op);
        // A role created moments ago is not yet assumable by the flow-logs service.
        let propagating = |e: &AwsError| e.message().contains("Unable to assume given IAM role");
        let created = retry(
            &format!("flow log on {resource}"),
            Duration::from_secs(120),
            propagating,
            || create_flow_log(aws, op, &token),
        )
        .await;
        let flow_log = or_own(created, &["FlowLogAlreadyExists"], || async {
            let own = aws
                .ec2
                .describe_flow_logs()
                .set_filter(Some(own_filters(op)))
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

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let flow_log = id(op)?;
        unless_gone(
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

async fn create_flow_log(aws: &Aws, op: &Operation, token: &str) -> Result<String, AwsError> {
    let mut call = aws
        .ec2
        .create_flow_logs()
        .resource_ids(required(op, RESOURCE_ID)?)
        .resource_type(FlowLogsResourceType::from(
            attr(op, RESOURCE_TYPE).unwrap_or("VPC"),
        ))
        .traffic_type(TrafficType::from(attr(op, TRAFFIC_TYPE).unwrap_or("ALL")))
        .log_destination_type(LogDestinationType::CloudWatchLogs)
        .log_group_name(required(op, LOG_GROUP_NAME)?)
        .deliver_logs_permission_arn(required(op, DELIVER_LOGS_PERMISSION_ARN)?)
        .max_aggregation_interval(attr_i64(op, MAX_AGGREGATION_INTERVAL).unwrap_or(600) as i32)
        .tag_specifications(ec2_tag_spec(ResourceType::VpcFlowLog, op))
        .client_token(token);
    if let Some(format) = attr(op, LOG_FORMAT) {
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
}
