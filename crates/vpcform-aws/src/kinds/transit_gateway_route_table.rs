//! Transit-gateway route tables, with their propagations and static routes
//! (implicit objects owned by the table: one added by hand is planned for
//! removal, unless it names an attachment the stack neither owns nor adopts).
//!
//! Reads: one paginated DescribeTransitGatewayRouteTables for the stack's
//! tables; then, for each of them, concurrently (16 at a time), three calls,
//! since AWS has no batched read of a table's contents (tables are few: a
//! handful per gateway): GetTransitGatewayRouteTablePropagations,
//! SearchTransitGatewayRoutes for its static routes (every page; a page that
//! says more routes exist without a token to fetch them fails the read
//! rather than plan from part of the table) and
//! GetTransitGatewayPrefixListReferences for its routes to prefix lists.
//! Propagated routes are AWS's, never read as objects.
//!
//! A static route is keyed by its destination like a VPC route (a CIDR, or
//! `pl:` and the list's logical name); its target is one attachment, or
//! `blackhole`. AWS takes no client token for CreateTransitGatewayRouteTable:
//! it is sent once (`create_once`), waited for until available.

use aws_sdk_ec2::types::{
    Filter, ResourceType, TransitGatewayPrefixListReference as PrefixListReference,
    TransitGatewayRoute, TransitGatewayRouteTable as Table,
    TransitGatewayRouteTablePropagation as TablePropagation,
};
use serde_json::Value;
use vpcform_diff::LiveObject;
use vpcform_exec::{Operation, Outcome, Verb};
use vpcform_topology::attr::TAGS;
use vpcform_topology::kinds::route_table::{DESTINATION_CIDR_BLOCK, DESTINATION_PREFIX_LIST_ID};
use vpcform_topology::kinds::transit_gateway::{
    ATTACHMENT_ID, TGW_ROUTE_TABLE_ID, TRANSIT_GATEWAY_ID,
};
use vpcform_topology::kinds::transit_gateway_route_table::BLACKHOLE;
use vpcform_topology::{Address, ResourceKind};

use crate::apply::{
    attr_bool, create_once, created_filters, delete, desired_or_before, ec2_tag_spec, gone, id,
    is_code, no_retries, outcome, required, unless_gone, update_tags_only, wait_for,
};
use crate::kind::{AwsKind, Read, Scan, Scanned};
use crate::kinds::transit_gateway::{
    ASSOCIATION_WAIT, attachments_in, gateways_of, made_by, wait_for_state,
};
use crate::read::{
    Found, ID_REF, ReadCx, Select, concurrently, describe_ec2, ec2_tags, in_vpcs, object, opt_str,
    placed, tags_value,
};
use crate::{Aws, AwsError};

/// Whether a table still exists as far as plans go.
fn table_exists(t: &Table) -> bool {
    !matches!(t.state().map(|s| s.as_str()), Some("deleting" | "deleted"))
}

/// What one table holds, as AWS answers for it.
#[derive(Debug, Default)]
pub(crate) struct Contents {
    pub(crate) propagations: Vec<TablePropagation>,
    pub(crate) routes: Vec<TransitGatewayRoute>,
    pub(crate) references: Vec<PrefixListReference>,
}

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let items = cx
        .select(
            ResourceKind::TransitGatewayRouteTable,
            |t: &Table| t.transit_gateway_route_table_id(),
            |s| describe(aws, s),
        )
        .await?;
    let mut found = Found::default();
    let mut ours = Vec::new();
    for t in items.iter().filter(|t| table_exists(t)) {
        let Some(id) = t.transit_gateway_route_table_id() else {
            continue;
        };
        let tags = ec2_tags(t.tags());
        let Some(place) = cx.place(
            ResourceKind::TransitGatewayRouteTable,
            &tags,
            id,
            &mut found.conflicts,
        ) else {
            continue;
        };
        ours.push((place, t, tags));
    }
    // Only the stack's tables are asked for their contents. Collected
    // first: a lazy map in the stream trips rustc's Send check (rust-lang/rust#64552).
    let reads: Vec<_> = ours
        .iter()
        .map(|(_, t, _)| contents_of(aws, t.transit_gateway_route_table_id().unwrap_or_default()))
        .collect();
    let contents = concurrently(reads).await?;
    for ((place, t, tags), contents) in ours.into_iter().zip(contents) {
        let id = t.transit_gateway_route_table_id().unwrap_or_default();
        found
            .objects
            .extend(children_found(&place.0.name, id, &contents));
        found.objects.push(placed(
            place,
            id,
            vec![
                (TRANSIT_GATEWAY_ID, opt_str(t.transit_gateway_id())),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    Ok(found)
}

/// A table's propagations, static routes and prefix-list routes: three calls.
async fn contents_of(aws: &Aws, table: &str) -> Result<Contents, AwsError> {
    let (propagations, routes, references) = tokio::try_join!(
        propagations_of(aws, table, None),
        static_routes(aws, table, None),
        references_of(aws, table, None),
    )?;
    Ok(Contents {
        propagations,
        routes,
        references,
    })
}

/// The implicit objects of the table `name` (id `table`), as the plan compares them.
pub(crate) fn children_found(name: &str, table: &str, contents: &Contents) -> Vec<LiveObject> {
    let mut out = Vec::new();
    for p in &contents.propagations {
        let Some(attachment) = p.transit_gateway_attachment_id() else {
            continue;
        };
        if !matches!(p.state().map(|s| s.as_str()), Some("enabled" | "enabling")) {
            continue;
        }
        out.push(object(
            Address::keyed(
                ResourceKind::TransitGatewayPropagation,
                name,
                format!("{ID_REF}{attachment}"),
            ),
            format!("{table}|{attachment}"),
            vec![
                (TGW_ROUTE_TABLE_ID, Value::from(table)),
                (ATTACHMENT_ID, Value::from(attachment)),
            ],
        ));
    }
    for r in contents.routes.iter().filter(|r| is_static_route(r)) {
        let Some(cidr) = r.destination_cidr_block() else {
            continue;
        };
        let (attachment, blackhole) = route_target(r);
        out.push(object(
            Address::keyed(ResourceKind::TransitGatewayRoute, name, cidr),
            format!("{table}|{cidr}"),
            vec![
                (TGW_ROUTE_TABLE_ID, Value::from(table)),
                (DESTINATION_CIDR_BLOCK, Value::from(cidr)),
                (ATTACHMENT_ID, opt_str(attachment)),
                (BLACKHOLE, Value::from(blackhole)),
            ],
        ));
    }
    for reference in &contents.references {
        if reference.state().map(|s| s.as_str()) == Some("deleting") {
            continue;
        }
        let Some(list) = reference.prefix_list_id() else {
            continue;
        };
        let (attachment, blackhole) = reference_target(reference);
        out.push(object(
            // Keyed by the list's logical name once all kinds are read.
            Address::keyed(
                ResourceKind::TransitGatewayRoute,
                name,
                format!("pl:{ID_REF}{list}"),
            ),
            format!("{table}|{list}"),
            vec![
                (TGW_ROUTE_TABLE_ID, Value::from(table)),
                (DESTINATION_PREFIX_LIST_ID, Value::from(list)),
                (ATTACHMENT_ID, opt_str(attachment)),
                (BLACKHOLE, Value::from(blackhole)),
            ],
        ));
    }
    out
}

/// A static route to a CIDR that exists (a prefix list's route is read
/// from its reference; propagated routes are AWS's).
fn is_static_route(r: &TransitGatewayRoute) -> bool {
    r.r#type().map(|t| t.as_str()) == Some("static")
        && r.prefix_list_id().is_none()
        && !matches!(r.state().map(|s| s.as_str()), Some("deleting" | "deleted"))
}

/// A static route's attachment (the first AWS lists), and whether it is a
/// blackhole: AWS's state says so and no attachment is named.
fn route_target(r: &TransitGatewayRoute) -> (Option<&str>, bool) {
    let attachment = r
        .transit_gateway_attachments()
        .iter()
        .find_map(|a| a.transit_gateway_attachment_id());
    let blackhole = r.state().map(|s| s.as_str()) == Some("blackhole") && attachment.is_none();
    (attachment, blackhole)
}

/// A prefix-list reference's attachment, and whether it is a blackhole.
fn reference_target(r: &PrefixListReference) -> (Option<&str>, bool) {
    let blackhole = r.blackhole() == Some(true);
    let attachment = r
        .transit_gateway_attachment()
        .and_then(|a| a.transit_gateway_attachment_id())
        .filter(|_| !blackhole);
    (attachment, blackhole)
}

/// The filter `name = value`.
fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// A table's propagations (of `attachment` only, when given), every page.
async fn propagations_of(
    aws: &Aws,
    table: &str,
    attachment: Option<&str>,
) -> Result<Vec<TablePropagation>, AwsError> {
    let mut pages = aws
        .ec2
        .get_transit_gateway_route_table_propagations()
        .transit_gateway_route_table_id(table)
        .set_filters(attachment.map(|a| vec![filter("transit-gateway-attachment-id", a)]))
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:GetTransitGatewayRouteTablePropagations", e))?;
        out.extend(
            page.transit_gateway_route_table_propagations
                .unwrap_or_default()
                .into_iter()
                .filter(|p| {
                    attachment.is_none_or(|a| p.transit_gateway_attachment_id() == Some(a))
                }),
        );
    }
    Ok(out)
}

/// A table's static routes (to `cidr` only, when given), every page.
async fn static_routes(
    aws: &Aws,
    table: &str,
    cidr: Option<&str>,
) -> Result<Vec<TransitGatewayRoute>, AwsError> {
    let mut filters = vec![filter("type", "static")];
    filters.extend(cidr.map(|c| filter("route-search.exact-match", c)));
    let mut pages = aws
        .ec2
        .search_transit_gateway_routes()
        .transit_gateway_route_table_id(table)
        .set_filters(Some(filters))
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:SearchTransitGatewayRoutes", e))?;
        let cut_short =
            page.additional_routes_available() == Some(true) && page.next_token().is_none();
        out.extend(
            page.routes
                .unwrap_or_default()
                .into_iter()
                .filter(|r| cidr.is_none_or(|c| r.destination_cidr_block() == Some(c))),
        );
        if cut_short {
            return Err(AwsError::Incomplete {
                operation: "ec2:SearchTransitGatewayRoutes".into(),
                detail: format!(
                    "AWS says {table} holds more static routes than it returned ({} so far), and gives no token to fetch the rest",
                    out.len()
                ),
            });
        }
    }
    Ok(out)
}

/// A table's prefix-list references (to `list` only, when given), every page.
async fn references_of(
    aws: &Aws,
    table: &str,
    list: Option<&str>,
) -> Result<Vec<PrefixListReference>, AwsError> {
    let mut pages = aws
        .ec2
        .get_transit_gateway_prefix_list_references()
        .transit_gateway_route_table_id(table)
        .set_filters(list.map(|l| vec![filter("prefix-list-id", l)]))
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:GetTransitGatewayPrefixListReferences", e))?;
        out.extend(
            page.transit_gateway_prefix_list_references
                .unwrap_or_default()
                .into_iter()
                .filter(|r| list.is_none_or(|l| r.prefix_list_id() == Some(l))),
        );
    }
    Ok(out)
}

pub(crate) async fn describe(aws: &Aws, select: Select) -> Result<Vec<Table>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_transit_gateway_route_tables,
        filters,
        set_transit_gateway_route_table_ids,
        transit_gateway_route_tables,
        "ec2:DescribeTransitGatewayRouteTables"
    )
}

/// A table's state (`None`: gone).
async fn table_state(aws: &Aws, table: &str) -> Result<Option<String>, AwsError> {
    let found = describe(aws, Select::Ids(vec![table.to_string()])).await?;
    Ok(found
        .first()
        .and_then(|t| t.state())
        .map(|s| s.as_str().to_string()))
}

/// The tables of the gateways the VPCs' attachments name, AWS's default
/// table of a gateway built with default association or propagation included.
async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let gateways = gateways_of(&attachments_in(aws, vpcs).await?);
    if gateways.is_empty() {
        return Ok(Scanned::default());
    }
    let tables = describe(
        aws,
        Select::Filter(in_vpcs("transit-gateway-id", &gateways)),
    )
    .await?;
    Ok(Scanned {
        ids: tables
            .iter()
            .filter(|t| table_exists(t))
            .filter(|t| {
                t.transit_gateway_id()
                    .is_some_and(|g| gateways.iter().any(|x| x == g))
            })
            .filter_map(|t| t.transit_gateway_route_table_id())
            .map(str::to_string)
            .collect(),
        left_out: Vec::new(),
    })
}

/// A transit-gateway route table.
pub(crate) struct TgwRouteTable;

impl AwsKind for TgwRouteTable {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan(aws, vpcs)));

    /// Creates it and waits until it is available: associations,
    /// propagations and routes are refused before.
    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let tgw = required(op, TRANSIT_GATEWAY_ID)?;
        let send = || async {
            let created = aws
                .ec2
                .create_transit_gateway_route_table()
                .transit_gateway_id(tgw)
                .tag_specifications(ec2_tag_spec(ResourceType::TransitGatewayRouteTable, op))
                .customize()
                .config_override(no_retries())
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateTransitGatewayRouteTable", e))?;
            created
                .transit_gateway_route_table()
                .and_then(|t| t.transit_gateway_route_table_id())
                .map(str::to_string)
                .ok_or_else(|| AwsError::MissingId {
                    operation: format!("{} {}", op.verb, op.address),
                })
        };
        let find = || async {
            let found = aws
                .ec2
                .describe_transit_gateway_route_tables()
                .set_filters(Some(created_filters(op)))
                .send()
                .await
                .map_err(|e| aws.error("ec2:DescribeTransitGatewayRouteTables", e))?;
            Ok(found
                .transit_gateway_route_tables()
                .iter()
                .filter(|t| table_exists(t) && made_by(op, t.tags()))
                .find_map(|t| t.transit_gateway_route_table_id())
                .map(str::to_string))
        };
        let table = create_once(&format!("creating {}", op.address), send, find).await?;
        wait_for_state(
            &format!("transit gateway route table {table}"),
            true,
            || table_state(aws, &table),
        )
        .await?;
        Ok(outcome(table))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    /// Deletes it (its associations, propagations and routes are gone
    /// first: they name it) and waits until it is gone.
    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let table = id(op)?;
        delete("transit gateway route table", table, || async {
            aws.ec2
                .delete_transit_gateway_route_table()
                .transit_gateway_route_table_id(table)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteTransitGatewayRouteTable", e))
        })
        .await?;
        wait_for_state(
            &format!("transit gateway route table {table}"),
            false,
            || table_state(aws, table),
        )
        .await?;
        Ok(outcome(table))
    }
}

/// Waits until `attachment` propagates into `table` (`present`), or no longer does.
async fn wait_for_propagation(
    aws: &Aws,
    table: &str,
    attachment: &str,
    present: bool,
) -> Result<(), AwsError> {
    let what = if present {
        format!("{attachment} to propagate into {table}")
    } else {
        format!("{attachment} to stop propagating into {table}")
    };
    wait_for(&what, ASSOCIATION_WAIT, || async {
        let state = match propagations_of(aws, table, Some(attachment)).await {
            Ok(found) => found
                .first()
                .and_then(|p| p.state())
                .map(|s| s.as_str().to_string()),
            // The table not yet visible, or gone.
            Err(e) if gone(&e) => None,
            Err(e) => return Err(e),
        };
        let done = match state.as_deref() {
            Some("enabled") => present,
            None | Some("disabled") => !present,
            _ => false,
        };
        Ok(done.then_some(()))
    })
    .await
}

/// An attachment's propagation into a table (id `table|attachment`).
pub(crate) struct Propagation;

impl AwsKind for Propagation {
    const READ: Read = Read::With(ResourceKind::TransitGatewayRouteTable);
    const SCAN: Scan = Scan::WithContainer;

    /// Enabled and waited for; one already enabled (an earlier attempt) is fine.
    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let table = required(op, TGW_ROUTE_TABLE_ID)?;
        let attachment = required(op, ATTACHMENT_ID)?;
        let result = aws
            .ec2
            .enable_transit_gateway_route_table_propagation()
            .transit_gateway_route_table_id(table)
            .transit_gateway_attachment_id(attachment)
            .send()
            .await
            .map_err(|e| aws.error("ec2:EnableTransitGatewayRouteTablePropagation", e));
        match result {
            Err(e) if is_code(&e, &["TransitGatewayRouteTablePropagation.Duplicate"]) => {}
            other => {
                other?;
            }
        }
        wait_for_propagation(aws, table, attachment, true).await?;
        Ok(outcome(format!("{table}|{attachment}")))
    }

    /// Both attributes replace it: nothing changes in place.
    async fn update(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(id(op)?))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(id(op)?))
    }

    /// Disabled (gone counts as done) and waited for.
    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let table = desired_or_before(op, TGW_ROUTE_TABLE_ID)?;
        let attachment = desired_or_before(op, ATTACHMENT_ID)?;
        let id = format!("{table}|{attachment}");
        unless_gone(
            aws.ec2
                .disable_transit_gateway_route_table_propagation()
                .transit_gateway_route_table_id(&table)
                .transit_gateway_attachment_id(&attachment)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DisableTransitGatewayRouteTablePropagation", e)),
            &id,
        )?;
        wait_for_propagation(aws, &table, &attachment, false).await?;
        Ok(outcome(id))
    }
}

/// One static route (id `table|destination`): to a CIDR through
/// Create/Replace/DeleteTransitGatewayRoute, to a prefix list through
/// Create/Modify/DeleteTransitGatewayPrefixListReference.
pub(crate) struct RouteKind;

impl AwsKind for RouteKind {
    const READ: Read = Read::With(ResourceKind::TransitGatewayRouteTable);
    const SCAN: Scan = Scan::WithContainer;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let route = TgwRouteCall::of(op)?;
        match route.send(aws, false).await {
            // Our own earlier attempt (an answer lost) holds the route: fine.
            // Anything else holds it too: never replaced unless the plan showed it.
            Err(e) if is_code(&e, &["RouteAlreadyExists"]) => route.already_there(aws).await?,
            other => other?,
        }
        Ok(outcome(route.id()))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let route = TgwRouteCall::of(op)?;
        route.send(aws, true).await?;
        Ok(outcome(route.id()))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(TgwRouteCall::of(op)?.id()))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let route = TgwRouteCall::of(op)?;
        let result = match &route.destination {
            Destination::Cidr(cidr) => aws
                .ec2
                .delete_transit_gateway_route()
                .transit_gateway_route_table_id(&route.table)
                .destination_cidr_block(cidr)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws.error("ec2:DeleteTransitGatewayRoute", e)),
            Destination::List(list) => aws
                .ec2
                .delete_transit_gateway_prefix_list_reference()
                .transit_gateway_route_table_id(&route.table)
                .prefix_list_id(list)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws.error("ec2:DeleteTransitGatewayPrefixListReference", e)),
        };
        unless_gone(result, route.id())
    }
}

/// Where a static route leads: a CIDR block, or a prefix list (its id).
#[derive(Debug, PartialEq)]
enum Destination {
    Cidr(String),
    List(String),
}

/// Where it sends what it matches.
#[derive(Debug, PartialEq)]
enum Target {
    Attachment(String),
    Blackhole,
}

/// What the route calls need.
struct TgwRouteCall {
    operation: String,
    table: String,
    destination: Destination,
    /// None for a delete.
    target: Option<Target>,
}

impl TgwRouteCall {
    fn of(op: &Operation) -> Result<Self, AwsError> {
        let target = match op.verb {
            Verb::Delete => None,
            _ if attr_bool(op, BLACKHOLE) == Some(true) => Some(Target::Blackhole),
            _ => Some(Target::Attachment(required(op, ATTACHMENT_ID)?.to_string())),
        };
        let destination = match desired_or_before(op, DESTINATION_PREFIX_LIST_ID) {
            Ok(list) => Destination::List(list),
            Err(_) => Destination::Cidr(desired_or_before(op, DESTINATION_CIDR_BLOCK)?),
        };
        Ok(TgwRouteCall {
            operation: format!("{} {}", op.verb, op.address),
            table: desired_or_before(op, TGW_ROUTE_TABLE_ID)?,
            destination,
            target,
        })
    }

    fn id(&self) -> String {
        let destination = match &self.destination {
            Destination::Cidr(d) | Destination::List(d) => d,
        };
        format!("{}|{destination}", self.table)
    }

    /// The attachment and blackhole fields of the calls.
    fn target_fields(&self) -> (Option<String>, Option<bool>) {
        match &self.target {
            Some(Target::Attachment(a)) => (Some(a.clone()), None),
            Some(Target::Blackhole) => (None, Some(true)),
            None => (None, None),
        }
    }

    /// Creates the route, or (`replace`) points it elsewhere.
    async fn send(&self, aws: &Aws, replace: bool) -> Result<(), AwsError> {
        let (attachment, blackhole) = self.target_fields();
        let table = &self.table;
        match (&self.destination, replace) {
            (Destination::Cidr(cidr), false) => aws
                .ec2
                .create_transit_gateway_route()
                .transit_gateway_route_table_id(table)
                .destination_cidr_block(cidr)
                .set_transit_gateway_attachment_id(attachment)
                .set_blackhole(blackhole)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws.error("ec2:CreateTransitGatewayRoute", e)),
            (Destination::Cidr(cidr), true) => aws
                .ec2
                .replace_transit_gateway_route()
                .transit_gateway_route_table_id(table)
                .destination_cidr_block(cidr)
                .set_transit_gateway_attachment_id(attachment)
                .set_blackhole(blackhole)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws.error("ec2:ReplaceTransitGatewayRoute", e)),
            (Destination::List(list), false) => aws
                .ec2
                .create_transit_gateway_prefix_list_reference()
                .transit_gateway_route_table_id(table)
                .prefix_list_id(list)
                .set_transit_gateway_attachment_id(attachment)
                .set_blackhole(blackhole)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws.error("ec2:CreateTransitGatewayPrefixListReference", e)),
            (Destination::List(list), true) => aws
                .ec2
                .modify_transit_gateway_prefix_list_reference()
                .transit_gateway_route_table_id(table)
                .prefix_list_id(list)
                .set_transit_gateway_attachment_id(attachment)
                .set_blackhole(blackhole)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws.error("ec2:ModifyTransitGatewayPrefixListReference", e)),
        }
    }

    /// After RouteAlreadyExists: fine if the route already goes where the
    /// plan says (an earlier attempt whose answer was lost), else refused.
    async fn already_there(&self, aws: &Aws) -> Result<(), AwsError> {
        let current = match &self.destination {
            Destination::Cidr(cidr) => static_routes(aws, &self.table, Some(cidr))
                .await?
                .iter()
                .find(|r| is_static_route(r))
                .map(|r| match route_target(r) {
                    (_, true) => Target::Blackhole,
                    (a, false) => Target::Attachment(a.unwrap_or_default().to_string()),
                }),
            Destination::List(list) => references_of(aws, &self.table, Some(list))
                .await?
                .first()
                .map(|r| match reference_target(r) {
                    (_, true) => Target::Blackhole,
                    (a, false) => Target::Attachment(a.unwrap_or_default().to_string()),
                }),
        };
        if current.is_some() && current == self.target {
            return Ok(());
        }
        let via = match &current {
            Some(Target::Attachment(a)) if !a.is_empty() => a.clone(),
            Some(Target::Blackhole) => "a blackhole".to_string(),
            _ => "another target".to_string(),
        };
        let destination = match &self.destination {
            Destination::Cidr(d) | Destination::List(d) => d,
        };
        Err(AwsError::PlanMoved {
            operation: self.operation.clone(),
            detail: format!(
                "{} already routes {destination} through {via}, which the plan did not show",
                self.table
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::{
        TransitGatewayPrefixListAttachment, TransitGatewayPrefixListReferenceState,
        TransitGatewayPropagationState, TransitGatewayRouteAttachment, TransitGatewayRouteState,
        TransitGatewayRouteType,
    };

    use super::*;

    fn route(
        cidr: &str,
        attachment: Option<&str>,
        state: TransitGatewayRouteState,
    ) -> TransitGatewayRoute {
        let mut r = TransitGatewayRoute::builder()
            .destination_cidr_block(cidr)
            .r#type(TransitGatewayRouteType::Static)
            .state(state);
        if let Some(a) = attachment {
            r = r.transit_gateway_attachments(
                TransitGatewayRouteAttachment::builder()
                    .transit_gateway_attachment_id(a)
                    .build(),
            );
        }
        r.build()
    }

    /// A table as AWS answers for it: propagations in every state, static
    /// routes to an attachment and to a blackhole, a route AWS propagated,
    /// and routes to prefix lists.
    fn contents() -> Contents {
        let propagation = |a: &str, state| {
            TablePropagation::builder()
                .transit_gateway_attachment_id(a)
                .state(state)
                .build()
        };
        let reference = |list: &str, attachment: Option<&str>, blackhole| {
            PrefixListReference::builder()
                .prefix_list_id(list)
                .blackhole(blackhole)
                .state(TransitGatewayPrefixListReferenceState::Available)
                .set_transit_gateway_attachment(attachment.map(|a| {
                    TransitGatewayPrefixListAttachment::builder()
                        .transit_gateway_attachment_id(a)
                        .build()
                }))
                .build()
        };
        Contents {
            propagations: vec![
                propagation("tgw-attach-a", TransitGatewayPropagationState::Enabled),
                propagation("tgw-attach-b", TransitGatewayPropagationState::Enabling),
                propagation("tgw-attach-c", TransitGatewayPropagationState::Disabling),
            ],
            routes: vec![
                route(
                    "10.20.0.0/16",
                    Some("tgw-attach-a"),
                    TransitGatewayRouteState::Active,
                ),
                route("10.99.0.0/16", None, TransitGatewayRouteState::Blackhole),
                // Its attachment went: AWS blackholes it, but it still names one.
                route(
                    "10.30.0.0/16",
                    Some("tgw-attach-gone"),
                    TransitGatewayRouteState::Blackhole,
                ),
                route(
                    "10.40.0.0/16",
                    Some("tgw-attach-a"),
                    TransitGatewayRouteState::Deleted,
                ),
                TransitGatewayRoute::builder()
                    .destination_cidr_block("10.50.0.0/16")
                    .r#type(TransitGatewayRouteType::Propagated)
                    .state(TransitGatewayRouteState::Active)
                    .build(),
            ],
            references: vec![
                reference("pl-0a", Some("tgw-attach-a"), false),
                reference("pl-0b", Some("tgw-attach-a"), true),
            ],
        }
    }

    #[test]
    fn propagations_static_routes_and_prefix_list_routes_are_read_as_keyed_children() {
        let lines: Vec<String> = children_found("hub-rt", "tgw-rtb-0a", &contents())
            .iter()
            .map(|o| {
                format!(
                    "{} {} {}",
                    o.address,
                    o.id,
                    serde_json::to_string(&o.attrs).unwrap()
                )
            })
            .collect();
        insta::assert_snapshot!(lines.join("\n"), @r#"
        transit-gateway-propagation.hub-rt[id:tgw-attach-a] tgw-rtb-0a|tgw-attach-a {"transit_gateway_attachment_id":"tgw-attach-a","transit_gateway_route_table_id":"tgw-rtb-0a"}
        transit-gateway-propagation.hub-rt[id:tgw-attach-b] tgw-rtb-0a|tgw-attach-b {"transit_gateway_attachment_id":"tgw-attach-b","transit_gateway_route_table_id":"tgw-rtb-0a"}
        transit-gateway-route.hub-rt[10.20.0.0/16] tgw-rtb-0a|10.20.0.0/16 {"blackhole":false,"destination_cidr_block":"10.20.0.0/16","transit_gateway_attachment_id":"tgw-attach-a","transit_gateway_route_table_id":"tgw-rtb-0a"}
        transit-gateway-route.hub-rt[10.99.0.0/16] tgw-rtb-0a|10.99.0.0/16 {"blackhole":true,"destination_cidr_block":"10.99.0.0/16","transit_gateway_attachment_id":null,"transit_gateway_route_table_id":"tgw-rtb-0a"}
        transit-gateway-route.hub-rt[10.30.0.0/16] tgw-rtb-0a|10.30.0.0/16 {"blackhole":false,"destination_cidr_block":"10.30.0.0/16","transit_gateway_attachment_id":"tgw-attach-gone","transit_gateway_route_table_id":"tgw-rtb-0a"}
        transit-gateway-route.hub-rt[pl:id:pl-0a] tgw-rtb-0a|pl-0a {"blackhole":false,"destination_prefix_list_id":"pl-0a","transit_gateway_attachment_id":"tgw-attach-a","transit_gateway_route_table_id":"tgw-rtb-0a"}
        transit-gateway-route.hub-rt[pl:id:pl-0b] tgw-rtb-0a|pl-0b {"blackhole":true,"destination_prefix_list_id":"pl-0b","transit_gateway_attachment_id":null,"transit_gateway_route_table_id":"tgw-rtb-0a"}
        "#);
    }

    fn operation(verb: Verb, attrs: serde_json::Value) -> Operation {
        let attrs = attrs.as_object().unwrap().clone().into_iter().collect();
        Operation {
            stack: "s".into(),
            address: Address::keyed(ResourceKind::TransitGatewayRoute, "hub-rt", "10.0.0.0/8"),
            kind: ResourceKind::TransitGatewayRoute,
            verb,
            id: None,
            attrs,
            before: Default::default(),
            changed: Vec::new(),
            lookups: Default::default(),
            config_hash: None,
        }
    }

    #[test]
    fn a_route_call_takes_its_target_and_destination_from_the_plan() {
        let to = TgwRouteCall::of(&operation(
            Verb::Create,
            serde_json::json!({
                "transit_gateway_route_table_id": "tgw-rtb-1",
                "destination_cidr_block": "10.0.0.0/8",
                "transit_gateway_attachment_id": "tgw-attach-1",
                "blackhole": false
            }),
        ))
        .unwrap();
        assert_eq!(to.destination, Destination::Cidr("10.0.0.0/8".into()));
        assert_eq!(to.target_fields(), (Some("tgw-attach-1".into()), None));
        assert_eq!(to.id(), "tgw-rtb-1|10.0.0.0/8");
        let drop = TgwRouteCall::of(&operation(
            Verb::Create,
            serde_json::json!({
                "transit_gateway_route_table_id": "tgw-rtb-1",
                "destination_prefix_list_id": "pl-1",
                "transit_gateway_attachment_id": null,
                "blackhole": true
            }),
        ))
        .unwrap();
        assert_eq!(drop.destination, Destination::List("pl-1".into()));
        assert_eq!(drop.target_fields(), (None, Some(true)));
        // A route to an attachment with no attachment in the plan sends nothing.
        let missing = TgwRouteCall::of(&operation(
            Verb::Create,
            serde_json::json!({
                "transit_gateway_route_table_id": "tgw-rtb-1",
                "destination_cidr_block": "10.0.0.0/8",
                "blackhole": false
            }),
        ));
        assert!(matches!(missing, Err(AwsError::MissingAttr { .. })));
    }
}
