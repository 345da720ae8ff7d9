//! Route tables, their subnet associations and their routes (both implicit
//! objects of the table). Routes include those a peering adds with
//! `add-routes` (see `Topology::effective_routes`).

use std::collections::{HashMap, HashSet};

use ipnet::Ipv4Net;
use schemars::JsonSchema;
use serde_json::Value;

use crate::address::{Address, ResourceKind};
use crate::attr::{SUBNET_ID, TAGS, VPC_ID};
use crate::decode::{Cx, Fields, common_fields, list_of};
use crate::derived::{EffectiveRoute, RouteTarget};
use crate::diagnostic::{Diagnostic, Span};
use crate::emit::{Map, Yaml};
use crate::export::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::model::{At, Named, Ref, Tags, Topology};
use crate::validate::{NameIndex, by_name};
use crate::yaml::Node;

pub const ROUTE_TABLE_ID: Attr = Attr::new("route_table_id");
pub const DESTINATION_CIDR_BLOCK: Attr = Attr::new("destination_cidr_block");
pub const GATEWAY_ID: Attr = Attr::new("gateway_id");
pub const VPC_PEERING_CONNECTION_ID: Attr = Attr::new("vpc_peering_connection_id");

#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RouteTable {
    pub vpc: Ref,
    /// Subnets associated with this table.
    #[schemars(default)]
    pub subnets: Vec<Ref>,
    #[schemars(default)]
    pub routes: Vec<Route>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`vpcform import` writes it).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

/// A route: a destination and exactly one target.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Route {
    #[schemars(with = "String")]
    pub destination: At<Ipv4Net>,
    /// Logical name of an internet gateway attached to this table's VPC.
    pub internet_gateway: Option<Ref>,
    /// Logical name of a peering that connects this table's VPC.
    pub peering: Option<Ref>,
    #[schemars(skip)]
    pub span: Span,
}

impl Kind for RouteTable {
    const KIND: ResourceKind = ResourceKind::RouteTable;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(VPC_ID, Compare::Exact),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let t = cx.index.route_tables.get(a.name.as_str())?;
        Some(DesiredAttrs::from([
            (VPC_ID, Desired::id_of(ResourceKind::Vpc, &t.vpc.value)),
            (TAGS, cx.tags(a, &t.tags)),
        ]))
    }
}

impl Declared for RouteTable {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let vpc = f.required("vpc", cx);
        let subnets = f.maybe("subnets", cx);
        let routes = f
            .take("routes")
            .map(|n| list_of(n, cx, |n, cx| decode_route(n, what, cx)));
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(RouteTable {
            vpc: vpc?,
            subnets: subnets.ok()?.unwrap_or_default(),
            routes: routes.unwrap_or(Some(Vec::new()))?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let mut tables_ok: HashSet<&str> = HashSet::new();
        let mut table_of_subnet: HashMap<&str, &str> = HashMap::new();
        let subnets = by_name(&t.subnets);
        for table in items {
            if !index.check(&table.spec.vpc, ResourceKind::Vpc, "vpc", cx) {
                continue;
            }
            tables_ok.insert(table.name.value.as_str());
            check_associations(table, &subnets, index, &mut table_of_subnet, cx);
            for route in &table.spec.routes {
                if let Some(g) = &route.internet_gateway {
                    index.check(g, ResourceKind::InternetGateway, "internet-gateway", cx);
                }
                if let Some(p) = &route.peering {
                    index.check(p, ResourceKind::VpcPeering, "peering", cx);
                }
            }
        }
        check_routes(t, index, &tables_ok, cx);
    }

    fn add_to_graph(items: &[Named<Self>], t: &Topology, b: &mut Builder) {
        use ResourceKind as K;
        for r in items {
            let a = b.node(Address::new(K::RouteTable, &r.name.value), r.name.span);
            b.edge(a, Address::new(K::Vpc, &r.spec.vpc.value));
            for s in &r.spec.subnets {
                let assoc = b.node(
                    Address::keyed(K::RouteTableAssociation, &r.name.value, &s.value),
                    s.span,
                );
                b.edge(assoc, Address::new(K::RouteTable, &r.name.value));
                b.edge(assoc, Address::new(K::Subnet, &s.value));
            }
        }
        for route in t.effective_routes() {
            let a = b.node(
                Address::keyed(K::Route, &route.table, route.destination.to_string()),
                route.span,
            );
            b.edge(a, Address::new(K::RouteTable, &route.table));
            match &route.target {
                // The gateway must be attached before a route can use it.
                RouteTarget::InternetGateway(g) => {
                    b.edge(a, Address::new(K::InternetGatewayAttachment, g))
                }
                RouteTarget::Peering(p) => b.edge(a, Address::new(K::VpcPeering, p)),
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("rtb-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        if !cx.vpc_and_subnets(o, ResourceKind::RouteTableAssociation, &mut m) {
            return None;
        }
        let mut routes = Vec::new();
        for r in o.children_of(ResourceKind::Route) {
            let destination = DESTINATION_CIDR_BLOCK.str(r).unwrap_or_default();
            let target = GATEWAY_ID
                .str(r)
                .map(|id| (ResourceKind::InternetGateway, "internet-gateway", id))
                .or_else(|| {
                    VPC_PEERING_CONNECTION_ID
                        .str(r)
                        .map(|id| (ResourceKind::VpcPeering, "peering", id))
                });
            let Some((kind, key, id)) = target else {
                continue;
            };
            let Some(name) = cx.name_of(kind, id) else {
                cx.leave_out(
                    &o.id,
                    format!("the route to {destination} through {id}"),
                    format!("{id} is not declared; the route stays as it is"),
                );
                continue;
            };
            let mut route = Map::new();
            route.set("destination", destination).set(key, name);
            routes.push((destination.to_string(), Yaml::from(route)));
        }
        routes.sort_by(|a, b| a.0.cmp(&b.0));
        m.list("routes", routes.into_iter().map(|(_, r)| r).collect());
        Some(m)
    }
}

/// A subnet's association with a route table (address key: the subnet's name).
#[derive(Debug)]
pub struct Association;

impl Kind for Association {
    const KIND: ResourceKind = ResourceKind::RouteTableAssociation;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(ROUTE_TABLE_ID, Compare::Exact),
        AttrSpec::replace(SUBNET_ID, Compare::Exact),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let subnet = a.key.as_deref()?;
        let t = cx.index.route_tables.get(a.name.as_str())?;
        if !t.subnets.iter().any(|s| s.value == subnet) {
            return None;
        }
        Some(DesiredAttrs::from([
            (
                ROUTE_TABLE_ID,
                Desired::id_of(ResourceKind::RouteTable, &a.name),
            ),
            (SUBNET_ID, Desired::id_of(ResourceKind::Subnet, subnet)),
        ]))
    }
}

/// One route of a table (address key: the destination CIDR).
#[derive(Debug)]
pub struct RouteKind;

impl Kind for RouteKind {
    const KIND: ResourceKind = ResourceKind::Route;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(ROUTE_TABLE_ID, Compare::Exact),
        AttrSpec::replace(DESTINATION_CIDR_BLOCK, Compare::Cidr),
        AttrSpec::update(GATEWAY_ID, Compare::Id),
        AttrSpec::update(VPC_PEERING_CONNECTION_ID, Compare::Id),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let destination = a.key.as_deref()?;
        let target = cx.routes.get(&(a.name.clone(), destination.to_string()))?;
        let (gateway, peering) = match target {
            RouteTarget::InternetGateway(g) => (
                Desired::id_of(ResourceKind::InternetGateway, g.as_str()),
                Desired::Known(Value::Null),
            ),
            RouteTarget::Peering(p) => (
                Desired::Known(Value::Null),
                Desired::id_of(ResourceKind::VpcPeering, p.as_str()),
            ),
        };
        Some(DesiredAttrs::from([
            (
                ROUTE_TABLE_ID,
                Desired::id_of(ResourceKind::RouteTable, &a.name),
            ),
            (DESTINATION_CIDR_BLOCK, Desired::known(destination)),
            (GATEWAY_ID, gateway),
            (VPC_PEERING_CONNECTION_ID, peering),
        ]))
    }
}

fn decode_route(node: &Node, table: &str, cx: &mut Cx) -> Option<Route> {
    let mut f = Fields::new(node, format!("a route of {table}"), cx)?;
    let destination = f.required("destination", cx);
    let igw: Result<Option<Ref>, ()> = f.maybe("internet-gateway", cx);
    let peering: Result<Option<Ref>, ()> = f.maybe("peering", cx);
    let span = f.span();
    f.finish(cx);
    let (igw, peering) = (igw.ok()?, peering.ok()?);
    if igw.is_some() == peering.is_some() {
        cx.push(
            Diagnostic::error(
                "route-target",
                span,
                if igw.is_some() {
                    "a route has both `internet-gateway` and `peering`"
                } else {
                    "a route needs a target"
                },
            )
            .with_help("give exactly one of `internet-gateway: <name>` and `peering: <name>`"),
        );
        return None;
    }
    Some(Route {
        destination: destination?,
        internet_gateway: igw,
        peering,
        span,
    })
}

/// Each subnet in the table's VPC, associated with one table only.
fn check_associations<'t>(
    table: &'t Named<RouteTable>,
    subnets: &HashMap<&str, &Named<crate::kinds::subnet::Subnet>>,
    index: &NameIndex<'_>,
    table_of_subnet: &mut HashMap<&'t str, &'t str>,
    cx: &mut Cx,
) {
    let rt = &table.spec;
    for subnet_ref in &rt.subnets {
        if !index.check(subnet_ref, ResourceKind::Subnet, "subnets", cx) {
            continue;
        }
        let Some(subnet) = subnets.get(subnet_ref.value.as_str()) else {
            continue;
        };
        if subnet.spec.vpc.value != rt.vpc.value {
            cx.push(
                Diagnostic::error(
                    "association-other-vpc",
                    subnet_ref.span,
                    format!(
                        "subnet `{}` is in VPC `{}`, but route table `{}` is in VPC `{}`",
                        subnet_ref.value, subnet.spec.vpc.value, table.name.value, rt.vpc.value
                    ),
                )
                .with_help("associate subnets only with a route table of their own VPC"),
            );
        }
        if let Some(first) =
            table_of_subnet.insert(subnet_ref.value.as_str(), table.name.value.as_str())
        {
            cx.push(
                Diagnostic::error(
                    "duplicate-association",
                    subnet_ref.span,
                    format!(
                        "subnet `{}` is already associated with route table `{first}`",
                        subnet_ref.value
                    ),
                )
                .with_help("a subnet has exactly one route table; remove one association"),
            );
        }
    }
}

/// Every effective route: one per destination, its target in the table's VPC.
fn check_routes(t: &Topology, index: &NameIndex<'_>, tables_ok: &HashSet<&str>, cx: &mut Cx) {
    let tables = by_name(&t.route_tables);
    let maps = Targets {
        igws: by_name(&t.internet_gateways),
        peerings: by_name(&t.peerings),
        vpcs: by_name(&t.vpcs),
    };
    let mut seen: HashMap<(&str, Ipv4Net), Span> = HashMap::new();
    for route in &t.effective_routes() {
        if !tables_ok.contains(route.table.as_str()) {
            continue;
        }
        let table = tables[route.table.as_str()];
        if let Some(first) = seen.insert((table.name.value.as_str(), route.destination), route.span)
        {
            let d = Diagnostic::error(
                "duplicate-route",
                route.span,
                format!(
                    "route table `{}` already has a route to {}",
                    route.table, route.destination
                ),
            )
            .with_related(first, "the first route");
            cx.push(if route.from_peering_option {
                d.with_help("`add-routes: true` adds this route already; remove the explicit route or the option")
            } else {
                d.with_help("a route table holds one route per destination; remove one")
            });
        }
        check_route_target(route, &table.spec.vpc.value, &maps, index, cx);
    }
}

/// What route targets are checked against.
struct Targets<'t> {
    igws: HashMap<&'t str, &'t Named<crate::kinds::internet_gateway::InternetGateway>>,
    peerings: HashMap<&'t str, &'t Named<crate::kinds::peering::Peering>>,
    vpcs: HashMap<&'t str, &'t Named<crate::kinds::vpc::Vpc>>,
}

fn check_route_target(
    route: &EffectiveRoute,
    vpc_name: &str,
    t: &Targets<'_>,
    index: &NameIndex<'_>,
    cx: &mut Cx,
) {
    match &route.target {
        RouteTarget::InternetGateway(g) => {
            if let Some(igw) = t.igws.get(g.as_str())
                && igw.spec.vpc.value != vpc_name
                && index.kind_of(&igw.spec.vpc.value) == Some(ResourceKind::Vpc)
            {
                cx.push(
                    Diagnostic::error(
                        "route-gateway-other-vpc",
                        route.span,
                        format!("internet gateway `{g}` is attached to VPC `{}`, but route table `{}` is in VPC `{vpc_name}`", igw.spec.vpc.value, route.table),
                    )
                    .with_help("route to the internet gateway of the table's own VPC"),
                );
            }
        }
        RouteTarget::Peering(p) => {
            let Some(peering) = t.peerings.get(p.as_str()) else {
                return;
            };
            let (req, acc) = (
                peering.spec.requester.value.as_str(),
                peering.spec.accepter.value.as_str(),
            );
            let peer = if req == vpc_name {
                acc
            } else if acc == vpc_name {
                req
            } else {
                cx.push(
                    Diagnostic::error(
                        "route-peering-other-vpc",
                        route.span,
                        format!("peering `{p}` connects `{req}` and `{acc}`, not route table `{}`'s VPC `{vpc_name}`", route.table),
                    )
                    .with_help("route only through a peering of the table's own VPC"),
                );
                return;
            };
            if let Some(peer_vpc) = t.vpcs.get(peer)
                && !peer_vpc.spec.cidr.value.contains(&route.destination)
            {
                cx.push(
                    Diagnostic::error(
                        "route-outside-peer",
                        route.span,
                        format!("route to {} through peering `{p}` lies outside the peer VPC `{peer}` ({})", route.destination, peer_vpc.spec.cidr.value),
                    )
                    .with_help(format!("use a destination inside {}, usually exactly that", peer_vpc.spec.cidr.value)),
                );
            }
        }
    }
}
