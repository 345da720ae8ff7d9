//! VPC peering connections by stack tag (gone ones, deleted/rejected/failed, are skipped).

use aws_sdk_ec2::types::ResourceType;
use aws_sdk_ec2::types::VpcPeeringConnectionStateReasonCode as Code;
use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::attr::TAGS;
use vpcform_topology::kinds::peering::{ACCEPTER_VPC_ID, REQUESTER_VPC_ID, STATUS};

use crate::apply::{
    changed, create_once, created_filters, ec2_tag_spec, id, no_retries, outcome, required,
    unless_gone, update_ec2_tags, update_tags_only,
};
use crate::kind::{AwsKind, Read, Scan, Scanned};
use crate::read::in_vpcs;
use crate::read::{Found, ReadCx, Select, describe_ec2, ec2_tags, placed, tags_value};
use crate::{Aws, AwsError};

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let items = cx
        .select(
            ResourceKind::VpcPeering,
            |x: &aws_sdk_ec2::types::VpcPeeringConnection| x.vpc_peering_connection_id(),
            |select| describe(aws, select),
        )
        .await?;
    let mut found = Found::default();
    for p in items.iter().filter(|p| !is_gone(p)) {
        let status = p.status().and_then(|s| s.code()).cloned();
        let id = p.vpc_peering_connection_id().unwrap_or_default();
        let tags = ec2_tags(p.tags());
        let Some(place) = cx.place(ResourceKind::VpcPeering, &tags, id, &mut found.conflicts)
        else {
            continue;
        };
        found.objects.push(placed(
            place,
            id,
            vec![
                (
                    REQUESTER_VPC_ID,
                    Value::from(
                        p.requester_vpc_info()
                            .and_then(|v| v.vpc_id())
                            .unwrap_or_default(),
                    ),
                ),
                (
                    ACCEPTER_VPC_ID,
                    Value::from(
                        p.accepter_vpc_info()
                            .and_then(|v| v.vpc_id())
                            .unwrap_or_default(),
                    ),
                ),
                (
                    STATUS,
                    Value::from(status.as_ref().map_or("unknown", |s| s.as_str())),
                ),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    Ok(found)
}

/// Deleted, rejected, failed or expired: only a record of what was.
fn is_gone(p: &aws_sdk_ec2::types::VpcPeeringConnection) -> bool {
    matches!(
        p.status().and_then(|s| s.code()),
        Some(Code::Deleted | Code::Deleting | Code::Rejected | Code::Failed | Code::Expired)
    )
}

/// Peerings requested or accepted by the VPCs (one call per side).
async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let (requested, accepted) = tokio::try_join!(
        describe(
            aws,
            Select::Filter(in_vpcs("requester-vpc-info.vpc-id", vpcs))
        ),
        describe(
            aws,
            Select::Filter(in_vpcs("accepter-vpc-info.vpc-id", vpcs))
        ),
    )?;
    let mut ids: Vec<String> = requested
        .iter()
        .chain(&accepted)
        .filter(|p| !is_gone(p))
        .filter_map(|p| p.vpc_peering_connection_id())
        .map(str::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    Ok(Scanned {
        ids,
        left_out: Vec::new(),
    })
}

pub(crate) async fn describe(
    aws: &Aws,
    select: Select,
) -> Result<Vec<aws_sdk_ec2::types::VpcPeeringConnection>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_vpc_peering_connections,
        filters,
        set_vpc_peering_connection_ids,
        vpc_peering_connections,
        "ec2:DescribeVpcPeeringConnections"
    )
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

/// A VPC peering connection, accepted by vpcform itself.
pub(crate) struct Peering;

impl AwsKind for Peering {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan(aws, vpcs)));

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let (requester, accepter) = (
            required(op, REQUESTER_VPC_ID)?,
            required(op, ACCEPTER_VPC_ID)?,
        );
        let send = || async {
            let created = aws
                .ec2
                .create_vpc_peering_connection()
                .vpc_id(requester)
                .peer_vpc_id(accepter)
                .tag_specifications(ec2_tag_spec(ResourceType::VpcPeeringConnection, op))
                .customize()
                .config_override(no_retries())
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateVpcPeeringConnection", e))?;
            Ok(created
                .vpc_peering_connection()
                .and_then(|p| p.vpc_peering_connection_id())
                .unwrap_or_default()
                .to_string())
        };
        let find = || async {
            let found = aws
                .ec2
                .describe_vpc_peering_connections()
                .set_filters(Some(created_filters(op)))
                .send()
                .await
                .map_err(|e| aws.error("ec2:DescribeVpcPeeringConnections", e))?;
            Ok(found
                .vpc_peering_connections()
                .iter()
                .filter(|p| {
                    !matches!(
                        p.status().and_then(|s| s.code()).map(|c| c.as_str()),
                        Some("deleted" | "rejected" | "failed")
                    )
                })
                .find_map(|p| p.vpc_peering_connection_id())
                .map(str::to_string))
        };
        let peering = create_once(&format!("creating {}", op.address), send, find).await?;
        // Same account and region: vpcform accepts its own request.
        accept_and_wait(aws, &peering).await?;
        Ok(outcome(peering))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let peering = id(op)?;
        if changed(op, STATUS) {
            accept_and_wait(aws, peering).await?;
        }
        update_ec2_tags(aws, peering, op).await?;
        Ok(outcome(peering))
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let peering = id(op)?;
        unless_gone(
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

impl crate::kind::AwsRoutable for Peering {
    fn create_route(
        call: aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder,
        id: &str,
    ) -> aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder {
        call.vpc_peering_connection_id(id)
    }

    fn replace_route(
        call: aws_sdk_ec2::operation::replace_route::builders::ReplaceRouteFluentBuilder,
        id: &str,
    ) -> aws_sdk_ec2::operation::replace_route::builders::ReplaceRouteFluentBuilder {
        call.vpc_peering_connection_id(id)
    }
}
