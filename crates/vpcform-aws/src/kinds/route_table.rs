//! Route tables, with their routes and subnet associations (implicit objects
//! owned by the table: a route or association added by hand is planned for removal).

use std::time::Duration;

use aws_sdk_ec2::types::{ResourceType, RouteOrigin};
use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::attr::{SUBNET_ID, TAGS, VPC_ID};
use vpcform_topology::kinds::route_table::{
    DESTINATION_CIDR_BLOCK, GATEWAY_ID, ROUTE_TABLE_ID, VPC_PEERING_CONNECTION_ID,
};
use vpcform_topology::{Address, ResourceKind};

use crate::apply::{
    attr, client_token, delete, desired_or_before, ec2_tag_spec, id, is_code, outcome, retry,
    unless_gone, update_tags_only,
};
use crate::kind::{AwsKind, Read, Scan, Scanned};
use crate::read::in_vpcs;
use crate::read::{
    Found, ID_REF, ReadCx, Select, describe_ec2, ec2_tags, object, opt_str, placed, tags_value,
};
use crate::{Aws, AwsError};

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let items = cx
        .select(
            ResourceKind::RouteTable,
            |x: &aws_sdk_ec2::types::RouteTable| x.route_table_id(),
            |select| describe(aws, select),
        )
        .await?;
    let mut found = Found::default();
    for t in &items {
        let id = t.route_table_id().unwrap_or_default();
        let tags = ec2_tags(t.tags());
        let Some(place) = cx.place(ResourceKind::RouteTable, &tags, id, &mut found.conflicts)
        else {
            continue;
        };
        let address = place.0.clone();
        for route in t.routes() {
            // The local route belongs to AWS; IPv6 and prefix-list routes are not vpcform's.
            if route.origin() == Some(&RouteOrigin::CreateRouteTable) {
                continue;
            }
            let Some(destination) = route.destination_cidr_block() else {
                continue;
            };
            if route.gateway_id() == Some("local") || expressible_target(route).is_none() {
                continue;
            }
            found.objects.push(object(
                Address::keyed(ResourceKind::Route, address.name.clone(), destination),
                format!("{id}|{destination}"),
                vec![
                    (ROUTE_TABLE_ID, Value::from(id)),
                    (DESTINATION_CIDR_BLOCK, Value::from(destination)),
                    (GATEWAY_ID, opt_str(route.gateway_id())),
                    (
                        VPC_PEERING_CONNECTION_ID,
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
            found.objects.push(object(
                Address::keyed(
                    ResourceKind::RouteTableAssociation,
                    address.name.clone(),
                    format!("{ID_REF}{subnet}"),
                ),
                association.route_table_association_id().unwrap_or_default(),
                vec![
                    (ROUTE_TABLE_ID, Value::from(id)),
                    (SUBNET_ID, Value::from(subnet)),
                ],
            ));
        }
        found.objects.push(placed(
            place,
            id,
            vec![
                (VPC_ID, Value::from(t.vpc_id().unwrap_or_default())),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    Ok(found)
}

/// The route's target, if the topology can declare it (an internet
/// gateway or a peering). Routes through anything else (NAT gateways,
/// instances, transit gateways…) are not vpcform's: never read, never changed.
fn expressible_target(route: &aws_sdk_ec2::types::Route) -> Option<&str> {
    route
        .gateway_id()
        .filter(|g| g.starts_with("igw-"))
        .or_else(|| route.vpc_peering_connection_id())
}

/// What a route goes through, whatever it is.
fn any_target(route: &aws_sdk_ec2::types::Route) -> &str {
    [
        route.gateway_id(),
        route.vpc_peering_connection_id(),
        route.nat_gateway_id(),
        route.transit_gateway_id(),
        route.network_interface_id(),
        route.instance_id(),
        route.egress_only_internet_gateway_id(),
        route.local_gateway_id(),
        route.carrier_gateway_id(),
        route.core_network_arn(),
    ]
    .into_iter()
    .flatten()
    .next()
    .unwrap_or("an unknown target")
}

/// The VPCs' route tables but the main ones (AWS's: vpcform leaves them
/// alone), and the routes the topology cannot declare.
async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let mut out = Scanned::default();
    for t in describe(aws, Select::Filter(in_vpcs("vpc-id", vpcs))).await? {
        let id = t.route_table_id().unwrap_or_default();
        let main = t.associations().iter().any(|a| a.main() == Some(true));
        let by_hand: Vec<&aws_sdk_ec2::types::Route> = t
            .routes()
            .iter()
            .filter(|r| r.origin() != Some(&RouteOrigin::CreateRouteTable))
            .collect();
        if main {
            if !by_hand.is_empty() {
                let vpc = t.vpc_id().unwrap_or_default();
                out.leave_out(id, format!("the main route table of {vpc}, with {} route(s) added to it", by_hand.len()), "vpcform does not manage main route tables; subnets without a table of their own keep using it as it is");
            }
            continue;
        }
        for r in by_hand {
            let destination = r
                .destination_cidr_block()
                .or(r.destination_ipv6_cidr_block())
                .or(r.destination_prefix_list_id())
                .unwrap_or_default();
            if r.destination_cidr_block().is_none() || expressible_target(r).is_none() {
                out.leave_out(id, format!("the route to {destination} through {}", any_target(r)), "vpcform declares IPv4 routes to internet gateways and peerings only; the route stays as it is");
            }
        }
        out.ids.push(id.to_string());
    }
    Ok(out)
}

pub(crate) async fn describe(
    aws: &Aws,
    select: Select,
) -> Result<Vec<aws_sdk_ec2::types::RouteTable>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_route_tables,
        filters,
        set_route_table_ids,
        route_tables,
        "ec2:DescribeRouteTables"
    )
}

/// A route table.
pub(crate) struct RouteTable;

impl AwsKind for RouteTable {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan(aws, vpcs)));

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let created = aws
            .ec2
            .create_route_table()
            .vpc_id(attr(op, VPC_ID).unwrap_or_default())
            .tag_specifications(ec2_tag_spec(ResourceType::RouteTable, op))
            // A retried call (an answer lost) makes no second object.
            .client_token(client_token(op))
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

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let table = id(op)?;
        delete("route table", table, || async {
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

/// A subnet's association with a table (id: the association id).
pub(crate) struct Association;

impl AwsKind for Association {
    const READ: Read = Read::With(ResourceKind::RouteTable);
    const SCAN: Scan = Scan::WithContainer;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let created = aws
            .ec2
            .associate_route_table()
            .route_table_id(attr(op, ROUTE_TABLE_ID).unwrap_or_default())
            .subnet_id(attr(op, SUBNET_ID).unwrap_or_default())
            .send()
            .await
            .map_err(|e| aws.error("ec2:AssociateRouteTable", e))?;
        Ok(outcome(created.association_id().unwrap_or_default()))
    }

    async fn update(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(id(op)?))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(id(op)?))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let association = id(op)?;
        unless_gone(
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

/// One route (id `table|destination`).
pub(crate) struct RouteKind;

impl AwsKind for RouteKind {
    const READ: Read = Read::With(ResourceKind::RouteTable);
    const SCAN: Scan = Scan::WithContainer;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let route = RouteCall::of(op);
        match route.until_peering_active(|| route.send(aws, false)).await {
            // Left by an interrupted run: point it where the plan says.
            Err(e) if is_code(&e, &["RouteAlreadyExists"]) => route.send(aws, true).await?,
            other => other?,
        }
        Ok(outcome(route.id()))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let route = RouteCall::of(op);
        route.until_peering_active(|| route.send(aws, true)).await?;
        Ok(outcome(route.id()))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(RouteCall::of(op).id()))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let route = RouteCall::of(op);
        unless_gone(
            aws.ec2
                .delete_route()
                .route_table_id(&route.table)
                .destination_cidr_block(&route.destination)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteRoute", e)),
            route.id(),
        )
    }
}

/// What CreateRoute, ReplaceRoute and DeleteRoute need.
struct RouteCall {
    table: String,
    destination: String,
    gateway: Option<String>,
    peering: Option<String>,
}

impl RouteCall {
    fn of(op: &Operation) -> Self {
        RouteCall {
            table: desired_or_before(op, ROUTE_TABLE_ID),
            destination: desired_or_before(op, DESTINATION_CIDR_BLOCK),
            gateway: attr(op, GATEWAY_ID).map(str::to_string),
            peering: attr(op, VPC_PEERING_CONNECTION_ID).map(str::to_string),
        }
    }

    fn id(&self) -> String {
        format!("{}|{}", self.table, self.destination)
    }

    /// CreateRoute, or ReplaceRoute when `replace`.
    async fn send(&self, aws: &Aws, replace: bool) -> Result<(), AwsError> {
        macro_rules! target {
            ($call:expr) => {
                match (&self.gateway, &self.peering) {
                    (Some(g), _) => $call.gateway_id(g),
                    (None, Some(p)) => $call.vpc_peering_connection_id(p),
                    (None, None) => $call,
                }
            };
        }
        if replace {
            let call = aws
                .ec2
                .replace_route()
                .route_table_id(&self.table)
                .destination_cidr_block(&self.destination);
            target!(call)
                .send()
                .await
                .map_err(|e| aws.error("ec2:ReplaceRoute", e))?;
        } else {
            let call = aws
                .ec2
                .create_route()
                .route_table_id(&self.table)
                .destination_cidr_block(&self.destination);
            target!(call)
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateRoute", e))?;
        }
        Ok(())
    }

    /// A route to a peering fails until the peering is active: retry for two minutes.
    async fn until_peering_active<F, Fut>(&self, call: F) -> Result<(), AwsError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), AwsError>>,
    {
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
        retry(
            &format!("route {} in {}", self.destination, self.table),
            Duration::from_secs(120),
            not_ready,
            call,
        )
        .await
    }
}
