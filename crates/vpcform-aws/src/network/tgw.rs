//! The transit gateways the stack's VPCs are attached to, for `reach
//! --live`: every attachment of those gateways (their VPCs join the
//! network, so propagated blocks are known), each attachment's association,
//! and each route table's propagations and static routes. Per gateway set
//! one call per kind; per route table one call for propagations and one
//! for static routes (tables are few).

use aws_sdk_ec2::types::{
    Filter, TransitGatewayAttachmentResourceType, TransitGatewayRouteState,
    TransitGatewayRouteType, TransitGatewayVpcAttachment,
};
use vpcform_reach::{TgwAttachment, TgwDestination, TgwRoute, TgwRouteTable, TransitGateway};

use super::{Names, filter};
use crate::{Aws, AwsError};

/// What the gateways hold, as read.
pub(super) struct Gateways {
    pub(super) ids: Vec<String>,
    attachments: Vec<TransitGatewayVpcAttachment>,
    /// Attachment id → its associated table id.
    associations: Vec<(String, String)>,
    tables: Vec<(String, String, Vec<String>, Vec<TgwRouteRead>)>,
    /// Every gateway's and table's id with its tags.
    tags: Vec<(String, Vec<aws_sdk_ec2::types::Tag>)>,
}

/// A static route: destination, attachment id (none: blackhole).
struct TgwRouteRead {
    destination: String,
    attachment: Option<String>,
}

fn live(state: Option<&str>) -> bool {
    !matches!(state, Some("deleted" | "deleting" | "failed" | "rejected"))
}

/// The VPCs of every attachment of the gateways the VPCs `vpc_ids` use.
pub(super) fn vpcs_of(g: &Gateways) -> impl Iterator<Item = &str> {
    g.attachments.iter().filter_map(|a| a.vpc_id())
}

pub(super) async fn read(aws: &Aws, vpc_ids: &[String]) -> Result<Gateways, AwsError> {
    let own = vpc_attachments(aws, filter("vpc-id", vpc_ids)).await?;
    let mut ids: Vec<String> = own
        .iter()
        .filter_map(|a| a.transit_gateway_id())
        .map(str::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    let mut g = Gateways {
        ids,
        attachments: Vec::new(),
        associations: Vec::new(),
        tables: Vec::new(),
        tags: Vec::new(),
    };
    if g.ids.is_empty() {
        return Ok(g);
    }
    let by_gateway = || filter("transit-gateway-id", &g.ids);
    g.attachments = vpc_attachments(aws, by_gateway()).await?;
    g.associations = associations(aws, by_gateway()).await?;
    let gateways = aws
        .ec2
        .describe_transit_gateways()
        .set_transit_gateway_ids(Some(g.ids.clone()))
        .send()
        .await
        .map_err(|e| aws.error("ec2:DescribeTransitGateways", e))?;
    for x in gateways.transit_gateways() {
        let id = x.transit_gateway_id().unwrap_or_default().to_string();
        g.tags.push((id, x.tags().to_vec()));
    }
    let mut pages = aws
        .ec2
        .describe_transit_gateway_route_tables()
        .filters(by_gateway())
        .into_paginator()
        .items()
        .send();
    while let Some(t) = pages.next().await {
        let t = t.map_err(|e| aws.error("ec2:DescribeTransitGatewayRouteTables", e))?;
        if !live(t.state().map(|s| s.as_str())) {
            continue;
        }
        let id = t
            .transit_gateway_route_table_id()
            .unwrap_or_default()
            .to_string();
        let gateway = t.transit_gateway_id().unwrap_or_default().to_string();
        g.tags.push((id.clone(), t.tags().to_vec()));
        let propagations = propagations(aws, &id).await?;
        let routes = static_routes(aws, &id).await?;
        g.tables.push((id, gateway, propagations, routes));
    }
    Ok(g)
}

async fn vpc_attachments(
    aws: &Aws,
    by: Filter,
) -> Result<Vec<TransitGatewayVpcAttachment>, AwsError> {
    let mut out = Vec::new();
    let mut pages = aws
        .ec2
        .describe_transit_gateway_vpc_attachments()
        .filters(by)
        .into_paginator()
        .items()
        .send();
    while let Some(a) = pages.next().await {
        let a = a.map_err(|e| aws.error("ec2:DescribeTransitGatewayVpcAttachments", e))?;
        if live(a.state().map(|s| s.as_str())) {
            out.push(a);
        }
    }
    Ok(out)
}

async fn associations(aws: &Aws, by: Filter) -> Result<Vec<(String, String)>, AwsError> {
    let mut out = Vec::new();
    let mut pages = aws
        .ec2
        .describe_transit_gateway_attachments()
        .filters(by)
        .into_paginator()
        .items()
        .send();
    while let Some(a) = pages.next().await {
        let a = a.map_err(|e| aws.error("ec2:DescribeTransitGatewayAttachments", e))?;
        if a.resource_type() != Some(&TransitGatewayAttachmentResourceType::Vpc) {
            continue;
        }
        let table = a.association().filter(|x| {
            matches!(
                x.state().map(|s| s.as_str()),
                Some("associated" | "associating")
            )
        });
        if let (Some(id), Some(table)) = (
            a.transit_gateway_attachment_id(),
            table.and_then(|t| t.transit_gateway_route_table_id()),
        ) {
            out.push((id.to_string(), table.to_string()));
        }
    }
    Ok(out)
}

async fn propagations(aws: &Aws, table: &str) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut pages = aws
        .ec2
        .get_transit_gateway_route_table_propagations()
        .transit_gateway_route_table_id(table)
        .into_paginator()
        .items()
        .send();
    while let Some(p) = pages.next().await {
        let p = p.map_err(|e| aws.error("ec2:GetTransitGatewayRouteTablePropagations", e))?;
        let enabled = matches!(p.state().map(|s| s.as_str()), Some("enabled" | "enabling"));
        if let (true, Some(id)) = (enabled, p.transit_gateway_attachment_id()) {
            out.push(id.to_string());
        }
    }
    Ok(out)
}

async fn static_routes(aws: &Aws, table: &str) -> Result<Vec<TgwRouteRead>, AwsError> {
    let found = aws
        .ec2
        .search_transit_gateway_routes()
        .transit_gateway_route_table_id(table)
        .filters(filter(
            "type",
            &[TransitGatewayRouteType::Static.as_str().to_string()],
        ))
        .send()
        .await
        .map_err(|e| aws.error("ec2:SearchTransitGatewayRoutes", e))?;
    if found.additional_routes_available() == Some(true) {
        return Err(AwsError::Unsupported {
            operation: format!("reading the static routes of {table}: more than one answer holds"),
        });
    }
    Ok(found
        .routes()
        .iter()
        .filter_map(|r| {
            let destination = r.destination_cidr_block()?.to_string();
            let blackhole = r.state() == Some(&TransitGatewayRouteState::Blackhole);
            let attachment = r
                .transit_gateway_attachments()
                .iter()
                .find_map(|a| a.transit_gateway_attachment_id())
                .filter(|_| !blackhole)
                .map(str::to_string);
            Some(TgwRouteRead {
                destination,
                attachment,
            })
        })
        .collect())
}

/// Names first (the gateways, attachments and tables the stack owns go by address).
pub(super) fn learn(g: &Gateways, names: &mut Names, stack: &str) {
    for (id, tags) in &g.tags {
        names.learn(id, tags, stack);
    }
    for a in &g.attachments {
        names.learn(
            a.transit_gateway_attachment_id().unwrap_or_default(),
            a.tags(),
            stack,
        );
    }
}

pub(super) fn add(net: &mut vpcform_reach::Network, names: &Names, g: &Gateways) {
    for id in &g.ids {
        net.transit_gateways.push(TransitGateway {
            key: names.of(id),
            id: Some(id.clone()),
        });
    }
    for a in &g.attachments {
        let id = a.transit_gateway_attachment_id().unwrap_or_default();
        let table = g
            .associations
            .iter()
            .find(|(x, _)| x == id)
            .map(|(_, t)| names.of(t));
        let ipv6 = a
            .options()
            .and_then(|o| o.ipv6_support())
            .is_some_and(|s| s.as_str() == "enable");
        net.tgw_attachments.push(TgwAttachment {
            key: names.of(id),
            id: Some(id.to_string()),
            gateway: names.of(a.transit_gateway_id().unwrap_or_default()),
            vpc: names.of(a.vpc_id().unwrap_or_default()),
            subnets: a.subnet_ids().iter().map(|s| names.of(s)).collect(),
            route_table: table,
            ipv6,
        });
    }
    for (id, gateway, propagations, routes) in &g.tables {
        net.tgw_route_tables.push(TgwRouteTable {
            key: names.of(id),
            id: Some(id.clone()),
            gateway: names.of(gateway),
            routes: routes
                .iter()
                .filter_map(|r| {
                    Some(TgwRoute {
                        destination: TgwDestination::Cidr(r.destination.parse().ok()?),
                        attachment: r.attachment.as_ref().map(|a| names.of(a)),
                    })
                })
                .collect(),
            propagations: propagations.iter().map(|p| names.of(p)).collect(),
        });
    }
}
