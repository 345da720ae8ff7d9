//! EC2 instances (not terminated) by stack tag, and the SSM parameters that name AMIs.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ec2::types::{AttributeValue, Filter, InstanceType, ResourceType};
use serde_json::Value;
use vpcform_exec::{Lookup, Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::attr::{SUBNET_ID, TAGS};
use vpcform_topology::kinds::instance::{
    AMI, INSTANCE_TYPE, IPV6_ADDRESS_COUNT, KEY_NAME, NETWORK_INTERFACE_ID, PRIVATE_IP_ADDRESS,
    SECURITY_GROUP_IDS, STATE,
};

use crate::apply::{
    attr, changed, client_token, ec2_tag_spec, gone, id, outcome, required, update_ec2_tags,
    update_tags_only,
};
use crate::kind::{AwsKind, Read, Scan, Scanned};
use crate::read::in_vpcs;
use crate::read::{Found, ReadCx, Select, ec2_tags, opt_str, placed, tags_value};
use crate::{Aws, AwsError};

/// Instance states that still hold resources (and a name).
const LIVE_STATES: [&str; 4] = ["pending", "running", "stopping", "stopped"];

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let instances = cx
        .select(
            ResourceKind::Instance,
            |i: &aws_sdk_ec2::types::Instance| i.instance_id(),
            |select| describe(aws, select),
        )
        .await?;
    let mut found = Found::default();
    for i in &instances {
        let id = i.instance_id().unwrap_or_default();
        let tags = ec2_tags(i.tags());
        let Some(place) = cx.place(ResourceKind::Instance, &tags, id, &mut found.conflicts) else {
            continue;
        };
        let mut groups: Vec<Value> = i
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id())
            .map(Value::from)
            .collect();
        groups.sort_by_key(|v| v.to_string());
        found.objects.push(placed(
            place,
            id,
            vec![
                (AMI, Value::from(i.image_id().unwrap_or_default())),
                (
                    INSTANCE_TYPE,
                    Value::from(i.instance_type().map(|t| t.as_str()).unwrap_or_default()),
                ),
                (SUBNET_ID, Value::from(i.subnet_id().unwrap_or_default())),
                (SECURITY_GROUP_IDS, Value::Array(groups)),
                (KEY_NAME, opt_str(i.key_name())),
                (
                    STATE,
                    opt_str(i.state().and_then(|s| s.name()).map(|n| n.as_str())),
                ),
                (PRIVATE_IP_ADDRESS, opt_str(i.private_ip_address())),
                (NETWORK_INTERFACE_ID, opt_str(primary_interface(i))),
                (
                    IPV6_ADDRESS_COUNT,
                    Value::from(
                        i.network_interfaces()
                            .iter()
                            .map(|n| n.ipv6_addresses().len())
                            .sum::<usize>(),
                    ),
                ),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    Ok(found)
}

/// The VPCs' instances, and what of them the topology cannot declare.
async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let mut out = Scanned::default();
    for i in describe(aws, Select::Filter(in_vpcs("vpc-id", vpcs))).await? {
        let id = i.instance_id().unwrap_or_default();
        if let Some(profile) = i.iam_instance_profile().and_then(|p| p.arn()) {
            out.leave_out(
                id,
                format!("the instance profile {profile}"),
                "vpcform does not declare instance profiles; the instance keeps it",
            );
        }
        if i.network_interfaces().len() > 1 {
            out.leave_out(
                id,
                format!("{} network interfaces", i.network_interfaces().len()),
                "vpcform declares an instance's primary interface only; the others stay attached",
            );
        }
        out.ids.push(id.to_string());
    }
    Ok(out)
}

/// Instances in a live state (terminated ones linger in DescribeInstances).
pub(crate) async fn describe(
    aws: &Aws,
    select: Select,
) -> Result<Vec<aws_sdk_ec2::types::Instance>, AwsError> {
    let state = Filter::builder()
        .name("instance-state-name")
        .set_values(Some(LIVE_STATES.map(String::from).to_vec()))
        .build();
    let call = aws.ec2.describe_instances().filters(state);
    let call = match select {
        Select::Filter(f) => call.filters(f),
        Select::Ids(ids) => call.set_instance_ids(Some(ids)),
    };
    let mut pages = call.into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:DescribeInstances", e))?;
        for reservation in page.reservations.unwrap_or_default() {
            out.extend(reservation.instances.unwrap_or_default());
        }
    }
    Ok(out)
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

async fn wait_state(
    aws: &Aws,
    instance: &str,
    wanted: &[&str],
    limit: std::time::Duration,
) -> Result<aws_sdk_ec2::types::Instance, AwsError> {
    crate::apply::wait_for(
        &format!("instance {instance} to be {}", wanted.join(" or ")),
        limit,
        || async {
            let r = aws
                .ec2
                .describe_instances()
                .instance_ids(instance)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DescribeInstances", e))?;
            let found = r
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .next()
                .cloned();
            Ok(found.filter(|i| {
                i.state()
                    .and_then(|s| s.name())
                    .is_some_and(|n| wanted.contains(&n.as_str()))
            }))
        },
    )
    .await
}

/// An EC2 instance.
pub(crate) struct Instance;

impl AwsKind for Instance {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan(aws, vpcs)));

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let ami = match (attr(op, AMI), op.lookups.get(AMI.as_str())) {
            (Some(ami), _) => ami.to_string(),
            (None, Some(Lookup::SsmParameter(parameter))) => {
                let p = aws
                    .ssm
                    .get_parameter()
                    .name(parameter)
                    .send()
                    .await
                    .map_err(|e| aws.error("ssm:GetParameter", e))?;
                p.parameter()
                    .and_then(|p| p.value())
                    .unwrap_or_default()
                    .to_string()
            }
            (None, None) => String::new(),
        };
        let mut call = aws
            .ec2
            .run_instances()
            .image_id(ami)
            .instance_type(InstanceType::from(
                attr(op, INSTANCE_TYPE).unwrap_or("t3.micro"),
            ))
            .subnet_id(required(op, SUBNET_ID)?)
            .set_security_group_ids(Some(groups(op)))
            .min_count(1)
            .max_count(1)
            // The SDK resends the same token when it retries: a lost answer cannot launch twice.
            .client_token(client_token(op))
            .tag_specifications(ec2_tag_spec(ResourceType::Instance, op));
        if let Some(key) = attr(op, KEY_NAME) {
            call = call.key_name(key);
        }
        if let Some(count) = crate::apply::attr_i64(op, IPV6_ADDRESS_COUNT).filter(|c| *c > 0) {
            call = call.ipv6_address_count(count as i32);
        }
        let ran = call
            .send()
            .await
            .map_err(|e| aws.error("ec2:RunInstances", e))?;
        let instance = ran
            .instances()
            .first()
            .and_then(|i| i.instance_id())
            .unwrap_or_default()
            .to_string();
        let running = wait_state(aws, &instance, &["running"], WAIT).await?;
        let mut out = outcome(instance);
        out.attrs.insert(
            NETWORK_INTERFACE_ID.into(),
            primary_interface(&running).map_or(Value::Null, Value::from),
        );
        out.attrs.insert(
            PRIVATE_IP_ADDRESS.into(),
            running
                .private_ip_address()
                .map_or(Value::Null, Value::from),
        );
        Ok(out)
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let instance = id(op)?;
        if changed(op, SECURITY_GROUP_IDS) {
            aws.ec2
                .modify_instance_attribute()
                .instance_id(instance)
                .set_groups(Some(groups(op)))
                .send()
                .await
                .map_err(|e| aws.error("ec2:ModifyInstanceAttribute", e))?;
        }
        if changed(op, INSTANCE_TYPE) {
            change_type(aws, instance, required(op, INSTANCE_TYPE)?).await?;
        }
        update_ec2_tags(aws, instance, op).await?;
        Ok(outcome(instance))
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let instance = id(op)?;
        match aws
            .ec2
            .terminate_instances()
            .instance_ids(instance)
            .send()
            .await
            .map_err(|e| aws.error("ec2:TerminateInstances", e))
        {
            Err(e) if gone(&e) => return Ok(outcome(instance)),
            other => other?,
        };
        wait_state(aws, instance, &["terminated"], WAIT).await?;
        Ok(outcome(instance))
    }
}

/// How long an instance may take to reach a state.
const WAIT: Duration = Duration::from_secs(600);

fn groups(op: &Operation) -> Vec<String> {
    SECURITY_GROUP_IDS
        .get(&op.attrs)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The type changes only while the instance is stopped.
async fn change_type(aws: &Aws, instance: &str, instance_type: &str) -> Result<(), AwsError> {
    aws.ec2
        .stop_instances()
        .instance_ids(instance)
        .send()
        .await
        .map_err(|e| aws.error("ec2:StopInstances", e))?;
    wait_state(aws, instance, &["stopped"], WAIT).await?;
    aws.ec2
        .modify_instance_attribute()
        .instance_id(instance)
        .instance_type(AttributeValue::builder().value(instance_type).build())
        .send()
        .await
        .map_err(|e| aws.error("ec2:ModifyInstanceAttribute", e))?;
    aws.ec2
        .start_instances()
        .instance_ids(instance)
        .send()
        .await
        .map_err(|e| aws.error("ec2:StartInstances", e))?;
    wait_state(aws, instance, &["running"], WAIT).await?;
    Ok(())
}

/// The instance's primary network interface (device 0): flow-log records name it.
fn primary_interface(i: &aws_sdk_ec2::types::Instance) -> Option<&str> {
    i.network_interfaces()
        .iter()
        .find(|n| n.attachment().and_then(|a| a.device_index()) == Some(0))
        .or_else(|| i.network_interfaces().first())
        .and_then(|n| n.network_interface_id())
}
