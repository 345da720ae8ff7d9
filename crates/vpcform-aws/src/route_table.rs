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
