//! Egress-only internet gateways: created attached to their VPC, so there
//! is no attachment to manage; the VPC cannot change (replace).

use aws_sdk_ec2::types::{EgressOnlyInternetGateway, ResourceType};
use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::attr::{TAGS, VPC_ID};

use crate::apply::{
    create_once, created_filters, delete, ec2_tag_spec, id, no_retries, outcome, required,
    update_tags_only,
};
use crate::kind::{AwsKind, Read, Scan, Scanned};
use crate::read::{Found, ReadCx, Select, describe_ec2, ec2_tags, placed, tags_value};
use crate::{Aws, AwsError};

/// The VPC a gateway is attached to.
pub(crate) fn vpc_of(g: &EgressOnlyInternetGateway) -> Option<&str> {
    g.attachments().iter().find_map(|a| a.vpc_id())
}

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let items = cx
        .select(
            ResourceKind::EgressOnlyGateway,
            |x: &EgressOnlyInternetGateway| x.egress_only_internet_gateway_id(),
            |select| describe(aws, select),
        )
        .await?;
    let mut found = Found::default();
    for g in &items {
        let id = g.egress_only_internet_gateway_id().unwrap_or_default();
        let tags = ec2_tags(g.tags());
        let Some(place) = cx.place(
            ResourceKind::EgressOnlyGateway,
            &tags,
            id,
            &mut found.conflicts,
        ) else {
            continue;
        };
        found.objects.push(placed(
            place,
            id,
            vec![
                (VPC_ID, Value::from(vpc_of(g).unwrap_or_default())),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    Ok(found)
}

/// Every gateway of the account's region: AWS has no VPC filter for them.
pub(crate) async fn all(aws: &Aws) -> Result<Vec<EgressOnlyInternetGateway>, AwsError> {
    let mut all = Vec::new();
    let mut pages = aws
        .ec2
        .describe_egress_only_internet_gateways()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:DescribeEgressOnlyInternetGateways", e))?;
        all.extend(page.egress_only_internet_gateways.unwrap_or_default());
    }
    Ok(all)
}

/// The gateways attached to `vpcs` (their attachment decides).
async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let all = all(aws).await?;
    Ok(Scanned {
        ids: all
            .iter()
            .filter(|g| vpc_of(g).is_some_and(|v| vpcs.iter().any(|x| x == v)))
            .filter_map(|g| g.egress_only_internet_gateway_id())
            .map(str::to_string)
            .collect(),
        left_out: Vec::new(),
    })
}

pub(crate) async fn describe(
    aws: &Aws,
    select: Select,
) -> Result<Vec<EgressOnlyInternetGateway>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_egress_only_internet_gateways,
        filters,
        set_egress_only_internet_gateway_ids,
        egress_only_internet_gateways,
        "ec2:DescribeEgressOnlyInternetGateways"
    )
}

/// An egress-only internet gateway.
pub(crate) struct EgressOnlyGateway;

impl AwsKind for EgressOnlyGateway {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan(aws, vpcs)));

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let vpc = required(op, VPC_ID)?;
        let send = || async {
            let created = aws
                .ec2
                .create_egress_only_internet_gateway()
                .vpc_id(vpc)
                .tag_specifications(ec2_tag_spec(ResourceType::EgressOnlyInternetGateway, op))
                .customize()
                .config_override(no_retries())
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateEgressOnlyInternetGateway", e))?;
            Ok(created
                .egress_only_internet_gateway()
                .and_then(|g| g.egress_only_internet_gateway_id())
                .unwrap_or_default()
                .to_string())
        };
        let find = || async {
            let found = aws
                .ec2
                .describe_egress_only_internet_gateways()
                .set_filters(Some(created_filters(op)))
                .send()
                .await
                .map_err(|e| aws.error("ec2:DescribeEgressOnlyInternetGateways", e))?;
            Ok(found
                .egress_only_internet_gateways()
                .first()
                .and_then(|g| g.egress_only_internet_gateway_id())
                .map(str::to_string))
        };
        let eigw = create_once(&format!("creating {}", op.address), send, find).await?;
        Ok(outcome(eigw))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let eigw = id(op)?;
        delete("egress-only internet gateway", eigw, || async {
            aws.ec2
                .delete_egress_only_internet_gateway()
                .egress_only_internet_gateway_id(eigw)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteEgressOnlyInternetGateway", e))
        })
        .await
    }
}

impl crate::kind::AwsRoutable for EgressOnlyGateway {
    fn create_route(
        call: aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder,
        id: &str,
    ) -> aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder {
        call.egress_only_internet_gateway_id(id)
    }

    fn replace_route(
        call: aws_sdk_ec2::operation::replace_route::builders::ReplaceRouteFluentBuilder,
        id: &str,
    ) -> aws_sdk_ec2::operation::replace_route::builders::ReplaceRouteFluentBuilder {
        call.egress_only_internet_gateway_id(id)
    }
}
