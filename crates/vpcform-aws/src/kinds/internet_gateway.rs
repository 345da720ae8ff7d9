//! Internet gateways and their attachment (an implicit object owned by the gateway).

use aws_sdk_ec2::types::ResourceType;
use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::attr::{TAGS, VPC_ID};
use vpcform_topology::kinds::internet_gateway::INTERNET_GATEWAY_ID;
use vpcform_topology::{Address, ResourceKind};

use crate::apply::{
    DELETE_RETRY, before_str, create_once, created_filters, delete, dependency_violation,
    ec2_tag_spec, gone, id, is_code, no_retries, outcome, required, retry, update_tags_only,
};
use crate::kind::{AwsKind, Read, Scan, Scanned};
use crate::read::in_vpcs;
use crate::read::{Found, ReadCx, Select, describe_ec2, ec2_tags, object, placed, tags_value};
use crate::{Aws, AwsError};

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let items = cx
        .select(
            ResourceKind::InternetGateway,
            |x: &aws_sdk_ec2::types::InternetGateway| x.internet_gateway_id(),
            |select| describe(aws, select),
        )
        .await?;
    let mut found = Found::default();
    for g in &items {
        let id = g.internet_gateway_id().unwrap_or_default();
        let tags = ec2_tags(g.tags());
        let Some(place) = cx.place(
            ResourceKind::InternetGateway,
            &tags,
            id,
            &mut found.conflicts,
        ) else {
            continue;
        };
        let address = place.0.clone();
        for attachment in g.attachments() {
            let Some(vpc) = attachment.vpc_id() else {
                continue;
            };
            found.objects.push(object(
                Address::new(
                    ResourceKind::InternetGatewayAttachment,
                    address.name.clone(),
                ),
                format!("{id}|{vpc}"),
                vec![
                    (INTERNET_GATEWAY_ID, Value::from(id)),
                    (VPC_ID, Value::from(vpc)),
                ],
            ));
        }
        found
            .objects
            .push(placed(place, id, vec![(TAGS, tags_value(&tags))]));
    }
    Ok(found)
}

async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let attached = describe(aws, Select::Filter(in_vpcs("attachment.vpc-id", vpcs))).await?;
    Ok(Scanned {
        ids: attached
            .iter()
            .filter_map(|g| g.internet_gateway_id())
            .map(str::to_string)
            .collect(),
        left_out: Vec::new(),
    })
}

pub(crate) async fn describe(
    aws: &Aws,
    select: Select,
) -> Result<Vec<aws_sdk_ec2::types::InternetGateway>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_internet_gateways,
        filters,
        set_internet_gateway_ids,
        internet_gateways,
        "ec2:DescribeInternetGateways"
    )
}

/// An internet gateway.
pub(crate) struct InternetGateway;

impl AwsKind for InternetGateway {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan(aws, vpcs)));

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let send = || async {
            let created = aws
                .ec2
                .create_internet_gateway()
                .tag_specifications(ec2_tag_spec(ResourceType::InternetGateway, op))
                .customize()
                .config_override(no_retries())
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateInternetGateway", e))?;
            Ok(created
                .internet_gateway()
                .and_then(|g| g.internet_gateway_id())
                .unwrap_or_default()
                .to_string())
        };
        let find = || async {
            let found = aws
                .ec2
                .describe_internet_gateways()
                .set_filters(Some(created_filters(op)))
                .send()
                .await
                .map_err(|e| aws.error("ec2:DescribeInternetGateways", e))?;
            Ok(found
                .internet_gateways()
                .first()
                .and_then(|g| g.internet_gateway_id())
                .map(str::to_string))
        };
        let igw = create_once(&format!("creating {}", op.address), send, find).await?;
        Ok(outcome(igw))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let igw = id(op)?;
        delete("internet gateway", igw, || async {
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

/// A gateway's attachment to its VPC (id `igw|vpc`); it has no attributes
/// that change in place.
pub(crate) struct Attachment;

impl AwsKind for Attachment {
    const READ: Read = Read::With(ResourceKind::InternetGateway);
    const SCAN: Scan = Scan::WithContainer;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let (igw, vpc) = (required(op, INTERNET_GATEWAY_ID)?, required(op, VPC_ID)?);
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

    async fn update(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(op.id.clone().unwrap_or_default()))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(op.id.clone().unwrap_or_default()))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let (igw, vpc) = (
            before_str(op, INTERNET_GATEWAY_ID).unwrap_or_default(),
            before_str(op, VPC_ID).unwrap_or_default(),
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

impl crate::kind::AwsRoutable for InternetGateway {
    fn create_route(
        call: aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder,
        id: &str,
    ) -> aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder {
        call.gateway_id(id)
    }

    fn replace_route(
        call: aws_sdk_ec2::operation::replace_route::builders::ReplaceRouteFluentBuilder,
        id: &str,
    ) -> aws_sdk_ec2::operation::replace_route::builders::ReplaceRouteFluentBuilder {
        call.gateway_id(id)
    }
}
