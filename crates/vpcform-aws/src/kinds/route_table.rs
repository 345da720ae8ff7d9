//! Route tables, with their routes and subnet associations (implicit objects
//! owned by the table: a route or association added by hand is planned for removal).

use std::time::Duration;

use aws_sdk_ec2::types::{ResourceType, RouteOrigin};
use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::attr::{SUBNET_ID, TAGS, VPC_ID};
use vpcform_topology::kinds::route_table::{
    DESTINATION_CIDR_BLOCK, DESTINATION_PREFIX_LIST_ID, ROUTE_TABLE_ID, TARGET,
};
use vpcform_topology::{Address, ResourceKind, TargetKind};

use crate::apply::{
    client_token, delete, desired_or_before, ec2_tag_spec, id, is_code, outcome, required, retry,
    unless_gone, update_tags_only,
};
use crate::kind::{AwsKind, Read, Scan, Scanned};
use crate::read::in_vpcs;
use crate::read::{
    Found, ID_REF, ReadCx, Select, describe_ec2, ec2_tags, object, opt_str, placed, tags_value,
};
use crate::{Aws, AwsError};
use vpcform_diff::LiveObject;

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
        found.objects.extend(routes_of(t, &address.name));
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

/// A table's IPv4 and IPv6 routes but AWS's local routes, whatever they point at:
/// a route through a target no kind declares (an interface, an instance)
/// is read so that the plan sees what a declared route to the
/// same destination would replace; it is never deleted (its `target` names
/// nothing the stack owns).
pub(crate) fn routes_of(t: &aws_sdk_ec2::types::RouteTable, table: &str) -> Vec<LiveObject> {
    let id = t.route_table_id().unwrap_or_default();
    t.routes()
        .iter()
        .filter(|r| r.origin() != Some(&RouteOrigin::CreateRouteTable))
        .filter(|r| r.gateway_id() != Some("local"))
        .filter(|r| !is_gateway_endpoint_route(r))
        .filter_map(|route| {
            let (key, destination) =
                match (destination_of(route), route.destination_prefix_list_id()) {
                    (Some(cidr), _) => (cidr.to_string(), (DESTINATION_CIDR_BLOCK, cidr)),
                    // Keyed by the list's logical name once all kinds are read.
                    (None, Some(list)) => (
                        format!("pl:{}{list}", crate::read::ID_REF),
                        (DESTINATION_PREFIX_LIST_ID, list),
                    ),
                    (None, None) => return None,
                };
            Some(object(
                Address::keyed(ResourceKind::Route, table, key),
                format!("{id}|{}", destination.1),
                vec![
                    (ROUTE_TABLE_ID, Value::from(id)),
                    (destination.0, Value::from(destination.1)),
                    (TARGET, opt_str(target_id(route))),
                ],
            ))
        })
        .collect()
}

/// A gateway endpoint's route to its service's list: the endpoint's own.
pub(crate) fn is_gateway_endpoint_route(r: &aws_sdk_ec2::types::Route) -> bool {
    r.destination_prefix_list_id().is_some()
        && r.gateway_id().is_some_and(|g| g.starts_with("vpce-"))
}

/// A route's destination block, IPv4 or IPv6 (`None`: a prefix list's).
pub(crate) fn destination_of(route: &aws_sdk_ec2::types::Route) -> Option<&str> {
    route
        .destination_cidr_block()
        .or(route.destination_ipv6_cidr_block())
}

/// The id of what a route goes through, whichever field AWS holds it in.
pub(crate) fn target_id(route: &aws_sdk_ec2::types::Route) -> Option<&str> {
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
        // Routes through what no kind declares are listed by the table's
        // export; a gateway endpoint's routes to its service's list are the
        // endpoint's own.
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
            .vpc_id(required(op, VPC_ID)?)
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
            .route_table_id(required(op, ROUTE_TABLE_ID)?)
            .subnet_id(required(op, SUBNET_ID)?)
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
        let route = RouteCall::of(op)?;
        match route.until_peering_active(|| route.send(aws, false)).await {
            // Our own earlier attempt (an answer lost) holds the route: fine.
            // Anything else holds it too: never replaced unless the plan showed it.
            Err(e) if is_code(&e, &["RouteAlreadyExists"]) => route.already_there(aws).await?,
            other => other?,
        }
        Ok(outcome(route.id()))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let route = RouteCall::of(op)?;
        route.until_peering_active(|| route.send(aws, true)).await?;
        Ok(outcome(route.id()))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(RouteCall::of(op)?.id()))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let route = RouteCall::of(op)?;
        unless_gone(
            aws.ec2
                .delete_route()
                .route_table_id(&route.table)
                .set_destination_cidr_block(route.ipv4())
                .set_destination_ipv6_cidr_block(route.ipv6())
                .set_destination_prefix_list_id(route.list())
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteRoute", e)),
            route.id(),
        )
    }
}

/// What CreateRoute, ReplaceRoute and DeleteRoute need.
struct RouteCall {
    operation: String,
    table: String,
    destination: String,
    /// The target's id and kind (none for a delete).
    target: Option<(TargetKind, String)>,
}

impl RouteCall {
    fn of(op: &Operation) -> Result<Self, AwsError> {
        let target = match op.verb {
            vpcform_exec::Verb::Delete => None,
            _ => {
                let id = required(op, TARGET)?;
                let kind = TargetKind::from_id(id).ok_or_else(|| AwsError::PlanMoved {
                    operation: format!("{} {}", op.verb, op.address),
                    detail: format!("vpcform declares no route target like {id}"),
                })?;
                Some((kind, id.to_string()))
            }
        };
        Ok(RouteCall {
            operation: format!("{} {}", op.verb, op.address),
            table: desired_or_before(op, ROUTE_TABLE_ID)?,
            destination: match desired_or_before(op, DESTINATION_PREFIX_LIST_ID) {
                Ok(list) => list,
                Err(_) => desired_or_before(op, DESTINATION_CIDR_BLOCK)?,
            },
            target,
        })
    }

    fn id(&self) -> String {
        format!("{}|{}", self.table, self.destination)
    }

    fn is_list(&self) -> bool {
        self.destination.starts_with("pl-")
    }

    fn is_ipv6(&self) -> bool {
        self.destination.contains(':')
    }

    /// The destination for AWS's IPv4 field, if it is IPv4.
    fn ipv4(&self) -> Option<String> {
        (!self.is_ipv6() && !self.is_list()).then(|| self.destination.clone())
    }

    /// The destination for AWS's IPv6 field, if it is IPv6.
    fn ipv6(&self) -> Option<String> {
        self.is_ipv6().then(|| self.destination.clone())
    }

    /// The destination for AWS's prefix-list field, if it is a list.
    fn list(&self) -> Option<String> {
        self.is_list().then(|| self.destination.clone())
    }

    /// Whether `r` is the route to this destination.
    fn is(&self, r: &aws_sdk_ec2::types::Route) -> bool {
        destination_of(r).or(r.destination_prefix_list_id()) == Some(self.destination.as_str())
    }

    /// CreateRoute, or ReplaceRoute when `replace`; the target's field
    /// comes from its kind (`AwsRoutable`, through the registry).
    async fn send(&self, aws: &Aws, replace: bool) -> Result<(), AwsError> {
        let Some((kind, target)) = &self.target else {
            return Ok(());
        };
        if replace {
            let call = aws
                .ec2
                .replace_route()
                .route_table_id(&self.table)
                .set_destination_cidr_block(self.ipv4())
                .set_destination_ipv6_cidr_block(self.ipv6())
                .set_destination_prefix_list_id(self.list());
            crate::registry::replace_route_to(*kind, call, target)
                .send()
                .await
                .map_err(|e| aws.error("ec2:ReplaceRoute", e))?;
        } else {
            let call = aws
                .ec2
                .create_route()
                .route_table_id(&self.table)
                .set_destination_cidr_block(self.ipv4())
                .set_destination_ipv6_cidr_block(self.ipv6())
                .set_destination_prefix_list_id(self.list());
            crate::registry::create_route_to(*kind, call, target)
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateRoute", e))?;
        }
        Ok(())
    }

    /// After RouteAlreadyExists: fine if the route already goes where the
    /// plan says (an earlier attempt whose answer was lost), else refused.
    async fn already_there(&self, aws: &Aws) -> Result<(), AwsError> {
        let tables = describe(aws, Select::Ids(vec![self.table.clone()])).await?;
        let current = tables
            .iter()
            .flat_map(|t| t.routes())
            .find(|r| self.is(r))
            .and_then(target_id);
        let planned = self.target.as_ref().map(|(_, id)| id.as_str());
        if current.is_some() && current == planned {
            return Ok(());
        }
        Err(AwsError::PlanMoved {
            operation: self.operation.clone(),
            detail: format!(
                "{} already routes {} through {}, which the plan did not show",
                self.table,
                self.destination,
                current.unwrap_or("another target")
            ),
        })
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

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::{Route, RouteOrigin, RouteState, RouteTable as Table};

    use super::*;

    /// A table as DescribeRouteTables returns it after the console added
    /// routes through every kind of target.
    fn table() -> Table {
        let route = |dest: &str| {
            Route::builder()
                .destination_cidr_block(dest)
                .origin(RouteOrigin::CreateRoute)
                .state(RouteState::Active)
        };
        Table::builder()
            .route_table_id("rtb-0a")
            .vpc_id("vpc-0a")
            .routes(
                Route::builder()
                    .destination_cidr_block("10.0.0.0/16")
                    .gateway_id("local")
                    .origin(RouteOrigin::CreateRouteTable)
                    .build(),
            )
            .routes(route("0.0.0.0/0").nat_gateway_id("nat-0a").build())
            .routes(route("10.9.0.0/16").transit_gateway_id("tgw-0a").build())
            .routes(
                route("10.2.0.0/16")
                    .vpc_peering_connection_id("pcx-0a")
                    .build(),
            )
            .routes(
                route("192.0.2.0/24")
                    .gateway_id("igw-0gone")
                    .state(RouteState::Blackhole)
                    .build(),
            )
            .routes(
                Route::builder()
                    .destination_ipv6_cidr_block("::/0")
                    .egress_only_internet_gateway_id("eigw-0a")
                    .origin(RouteOrigin::CreateRoute)
                    .build(),
            )
            .routes(
                Route::builder()
                    .destination_prefix_list_id("pl-0a")
                    .gateway_id("vpce-0a")
                    .origin(RouteOrigin::CreateRoute)
                    .build(),
            )
            .build()
    }

    #[test]
    fn every_cidr_route_is_read_with_one_target_whatever_it_points_at() {
        let lines: Vec<String> = routes_of(&table(), "private")
            .iter()
            .map(|o| {
                format!(
                    "{} {} target={}",
                    o.address,
                    o.id,
                    TARGET.str(&o.attrs).unwrap_or("-")
                )
            })
            .collect();
        insta::assert_snapshot!(lines.join("\n"), @r"
        route.private[0.0.0.0/0] rtb-0a|0.0.0.0/0 target=nat-0a
        route.private[10.9.0.0/16] rtb-0a|10.9.0.0/16 target=tgw-0a
        route.private[10.2.0.0/16] rtb-0a|10.2.0.0/16 target=pcx-0a
        route.private[192.0.2.0/24] rtb-0a|192.0.2.0/24 target=igw-0gone
        route.private[::/0] rtb-0a|::/0 target=eigw-0a
        ");
    }

    #[test]
    fn a_target_id_is_found_in_whichever_field_aws_holds_it() {
        let t = table();
        let targets: Vec<Option<&str>> = t.routes().iter().map(target_id).collect();
        assert_eq!(
            targets,
            [
                Some("local"),
                Some("nat-0a"),
                Some("tgw-0a"),
                Some("pcx-0a"),
                Some("igw-0gone"),
                Some("eigw-0a"),
                Some("vpce-0a")
            ]
        );
        assert_eq!(TargetKind::from_id("nat-0a"), Some(TargetKind::NatGateway));
        assert_eq!(
            TargetKind::from_id("tgw-0a"),
            Some(TargetKind::TransitGateway)
        );
        assert_eq!(TargetKind::from_id("eni-0a"), None);
    }
}
