//! Route tables, with their routes and subnet associations (implicit objects
//! owned by the table: a route or association added by hand is planned for removal).

use aws_sdk_ec2::types::RouteOrigin;
use serde_json::Value;
use vpcform_topology::{Address, ResourceKind};

use crate::read::{
    Found, ID_REF, ReadCx, address_from_tags, ec2_tags, object, opt_str, stack_filter, tags_value,
};
use crate::{Aws, AwsError};

pub(crate) async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let mut pages = aws
        .ec2
        .describe_route_tables()
        .filters(stack_filter(cx.stack))
        .into_paginator()
        .send();
    let mut objects = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:DescribeRouteTables", e))?;
        for t in page.route_tables() {
            let id = t.route_table_id().unwrap_or_default();
            let tags = ec2_tags(t.tags());
            let address = address_from_tags(ResourceKind::RouteTable, &tags, id);
            for route in t.routes() {
                // The local route belongs to AWS; IPv6 and prefix-list routes are not vpcform's.
                if route.origin() == Some(&RouteOrigin::CreateRouteTable) {
                    continue;
                }
                let Some(destination) = route.destination_cidr_block() else {
                    continue;
                };
                if route.gateway_id() == Some("local") {
                    continue;
                }
                objects.push(object(
                    Address::keyed(ResourceKind::Route, address.name.clone(), destination),
                    format!("{id}|{destination}"),
                    vec![
                        ("route_table_id", Value::from(id)),
                        ("destination_cidr_block", Value::from(destination)),
                        ("gateway_id", opt_str(route.gateway_id())),
                        (
                            "vpc_peering_connection_id",
                            opt_str(route.vpc_peering_connection_id()),
                        ),
                    ],
                ));
            }
            for association in t.associations() {
                if association.main() == Some(true) {
                    continue;
                }
                let Some(subnet) = association.subnet_id() else {
                    continue;
                };
                objects.push(object(
                    Address::keyed(
                        ResourceKind::RouteTableAssociation,
                        address.name.clone(),
                        format!("{ID_REF}{subnet}"),
                    ),
                    association.route_table_association_id().unwrap_or_default(),
                    vec![
                        ("route_table_id", Value::from(id)),
                        ("subnet_id", Value::from(subnet)),
                    ],
                ));
            }
            objects.push(object(
                address,
                id,
                vec![
                    ("vpc_id", Value::from(t.vpc_id().unwrap_or_default())),
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
    use aws_sdk_ec2::types::ResourceType;
    use vpcform_exec::Verb;

    use crate::apply::{attr, ec2_tag_spec, id, outcome};
    match op.verb {
        Verb::Create => {
            let created = aws
                .ec2
                .create_route_table()
                .vpc_id(attr(op, "vpc_id").unwrap_or_default())
                .tag_specifications(ec2_tag_spec(ResourceType::RouteTable, op))
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateRouteTable", e))?;
            Ok(outcome(
                created
                    .route_table()
                    .and_then(|t| t.route_table_id())
                    .unwrap_or_default(),
            ))
        }
        Verb::Update | Verb::Retag => crate::apply::update_tags_only(aws, op).await,
        Verb::Delete => {
            let table = id(op)?;
            crate::apply::delete("route table", table, || async {
                aws.ec2
                    .delete_route_table()
                    .route_table_id(table)
                    .send()
                    .await
                    .map_err(|e| aws.error("ec2:DeleteRouteTable", e))
            })
            .await
        }
    }
}

pub(crate) async fn apply_association(
    aws: &Aws,
    op: &vpcform_exec::Operation,
) -> Result<vpcform_exec::Outcome, AwsError> {
    use vpcform_exec::Verb;

    use crate::apply::{attr, id, outcome};
    match op.verb {
        Verb::Create => {
            let created = aws
                .ec2
                .associate_route_table()
                .route_table_id(attr(op, "route_table_id").unwrap_or_default())
                .subnet_id(attr(op, "subnet_id").unwrap_or_default())
                .send()
                .await
                .map_err(|e| aws.error("ec2:AssociateRouteTable", e))?;
            Ok(outcome(created.association_id().unwrap_or_default()))
        }
        Verb::Update | Verb::Retag => Ok(outcome(id(op)?)),
        Verb::Delete => {
            let association = id(op)?;
            crate::apply::unless_gone(
                aws.ec2
                    .disassociate_route_table()
                    .association_id(association)
                    .send()
                    .await
                    .map_err(|e| aws.error("ec2:DisassociateRouteTable", e)),
                association,
            )
        }
    }
}

pub(crate) async fn apply_route(
    aws: &Aws,
    op: &vpcform_exec::Operation,
) -> Result<vpcform_exec::Outcome, AwsError> {
    use std::time::Duration;

    use vpcform_exec::Verb;

    use crate::apply::{attr, before_str, is_code, outcome, retry};
    let table = attr(op, "route_table_id")
        .or_else(|| before_str(op, "route_table_id"))
        .unwrap_or_default()
        .to_string();
    let destination = attr(op, "destination_cidr_block")
        .or_else(|| before_str(op, "destination_cidr_block"))
        .unwrap_or_default()
        .to_string();
    let route_id = format!("{table}|{destination}");
    // A route to a peering fails until the peering is active.
    let not_ready = |e: &AwsError| {
        is_code(
            e,
            &[
                "InvalidParameterValue",
                "InvalidVpcPeeringConnectionID.NotFound",
                "OperationNotPermitted",
            ],
        ) && (e.message().contains("different networks")
            || e.message().contains("not active")
            || e.code() != Some("InvalidParameterValue"))
    };
    let gateway = attr(op, "gateway_id").map(str::to_string);
    let peering = attr(op, "vpc_peering_connection_id").map(str::to_string);
    let replace = || async {
        let mut call = aws
            .ec2
            .replace_route()
            .route_table_id(&table)
            .destination_cidr_block(&destination);
        call = match (&gateway, &peering) {
            (Some(g), _) => call.gateway_id(g),
            (None, Some(p)) => call.vpc_peering_connection_id(p),
            (None, None) => call,
        };
        call.send()
            .await
            .map_err(|e| aws.error("ec2:ReplaceRoute", e))
            .map(|_| ())
    };
    match op.verb {
        Verb::Create => {
            let create = || async {
                let mut call = aws
                    .ec2
                    .create_route()
                    .route_table_id(&table)
                    .destination_cidr_block(&destination);
                call = match (&gateway, &peering) {
                    (Some(g), _) => call.gateway_id(g),
                    (None, Some(p)) => call.vpc_peering_connection_id(p),
                    (None, None) => call,
                };
                call.send()
                    .await
                    .map_err(|e| aws.error("ec2:CreateRoute", e))
                    .map(|_| ())
            };
            match retry(
                &format!("route {destination} in {table}"),
                Duration::from_secs(120),
                not_ready,
                create,
            )
            .await
            {
                // Left by an interrupted run: point it where the plan says.
                Err(e) if is_code(&e, &["RouteAlreadyExists"]) => replace().await?,
                other => other?,
            }
            Ok(outcome(route_id))
        }
        Verb::Update => {
            retry(
                &format!("route {destination} in {table}"),
                Duration::from_secs(120),
                not_ready,
                replace,
            )
            .await?;
            Ok(outcome(route_id))
        }
        Verb::Retag => Ok(outcome(route_id)),
        Verb::Delete => crate::apply::unless_gone(
            aws.ec2
                .delete_route()
                .route_table_id(&table)
                .destination_cidr_block(&destination)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteRoute", e)),
            route_id,
        ),
    }
}
