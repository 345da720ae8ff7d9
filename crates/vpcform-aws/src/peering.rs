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

async fn accept_and_wait(aws: &Aws, peering: &str) -> Result<(), AwsError> {
    use std::time::Duration;
    let accepted = aws
        .ec2
        .accept_vpc_peering_connection()
        .vpc_peering_connection_id(peering)
        .send()
        .await
        .map_err(|e| aws.error("ec2:AcceptVpcPeeringConnection", e));
    match accepted {
        // Accepted already: a retried accept whose first answer was lost.
        Err(e) if !crate::apply::is_code(&e, &["InvalidStateTransition"]) => return Err(e),
        _ => {}
    }
    crate::apply::wait_for(
        &format!("peering {peering} to become active"),
        Duration::from_secs(300),
        || async {
            let r = aws
                .ec2
                .describe_vpc_peering_connections()
                .vpc_peering_connection_ids(peering)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DescribeVpcPeeringConnections", e))?;
            let status = r
                .vpc_peering_connections()
                .first()
                .and_then(|p| p.status())
                .and_then(|s| s.code())
                .cloned();
            match status {
                Some(Code::Active) => Ok(Some(())),
                Some(Code::Failed | Code::Rejected | Code::Expired) => Err(AwsError::Api {
                    operation: "ec2:AcceptVpcPeeringConnection".into(),
                    code: "PeeringFailed".into(),
                    message: format!(
                        "peering {peering} became {}",
                        status.map(|s| s.as_str().to_string()).unwrap_or_default()
                    ),
                }),
                _ => Ok(None),
            }
        },
    )
    .await
}

pub(crate) async fn apply(
    aws: &Aws,
    op: &vpcform_exec::Operation,
) -> Result<vpcform_exec::Outcome, AwsError> {
    use aws_sdk_ec2::types::ResourceType;
    use vpcform_exec::Verb;

    use crate::apply::{attr, changed, ec2_tag_spec, id, outcome, update_ec2_tags};
    match op.verb {
        Verb::Create => {
            let created = aws
                .ec2
                .create_vpc_peering_connection()
                .vpc_id(attr(op, "requester_vpc_id").unwrap_or_default())
                .peer_vpc_id(attr(op, "accepter_vpc_id").unwrap_or_default())
                .tag_specifications(ec2_tag_spec(ResourceType::VpcPeeringConnection, op))
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateVpcPeeringConnection", e))?;
            let peering = created
                .vpc_peering_connection()
                .and_then(|p| p.vpc_peering_connection_id())
                .unwrap_or_default()
                .to_string();
            // Same account and region: vpcform accepts its own request.
            accept_and_wait(aws, &peering).await?;
            Ok(outcome(peering))
        }
        Verb::Update | Verb::Retag => {
            let peering = id(op)?.to_string();
            if op.verb == Verb::Update && changed(op, "status") {
                accept_and_wait(aws, &peering).await?;
            }
            update_ec2_tags(aws, &peering, op).await?;
            Ok(outcome(peering))
        }
        Verb::Delete => {
            let peering = id(op)?;
            crate::apply::unless_gone(
                aws.ec2
                    .delete_vpc_peering_connection()
                    .vpc_peering_connection_id(peering)
                    .send()
                    .await
                    .map_err(|e| aws.error("ec2:DeleteVpcPeeringConnection", e)),
                peering,
            )
        }
    }
}
