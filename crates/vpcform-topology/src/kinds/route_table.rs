//! Route tables, their subnet associations and their routes (both implicit
//! objects of the table). Routes include those a peering adds with
//! `add-routes` (see `Topology::effective_routes`).

use std::collections::{HashMap, HashSet};

use ipnet::IpNet;
use schemars::JsonSchema;

use crate::address::TargetKind;
use crate::address::{Address, ResourceKind};
use crate::attr::{SUBNET_ID, TAGS, VPC_ID};
use crate::decode::{Cx, Fields, common_fields, list_of};
use crate::diagnostic::{Diagnostic, Span};
use crate::emit::{Map, Yaml};
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::model::{At, Named, Ref, Tags};
use crate::registry::Topology;
use crate::registry::TopologyIndex;
use crate::route::{Destination, EffectiveRoute, RouteTarget};
use crate::validate::{NameIndex, by_name};
use crate::yaml::Node;

pub const ROUTE_TABLE_ID: Attr = Attr::new("route_table_id");
/// A route's destination block, IPv4 or IPv6 (a CIDR route's only).
pub const DESTINATION_CIDR_BLOCK: Attr = Attr::new("destination_cidr_block");
/// A route's destination list (`pl-…`; a prefix-list route's only).
pub const DESTINATION_PREFIX_LIST_ID: Attr = Attr::new("destination_prefix_list_id");
/// The id of what a route points at (`igw-…`, `pcx-…`, `nat-…`, or a
/// target no kind declares, `tgw-…`), whatever AWS field holds it.
pub const TARGET: Attr = Attr::new("target");

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

/// A route: a destination and exactly one target, a key per [`TargetKind`]
/// (`internet-gateway: NAME`, `peering: NAME`, …).
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// A CIDR (`destination`) or a declared prefix list (`destination-prefix-list`).
    pub destination: At<Destination>,
    pub target: At<RouteTarget>,
    /// The id of a target vpcform does not manage (`nat-0abc…`) whose route
    /// to this destination this one may replace; without it such a
    /// replacement is a plan error.
    pub replaces: Option<At<String>>,
    pub span: Span,
}

/// The route's keys come from the registry's route targets.
impl JsonSchema for Route {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Route".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut properties = serde_json::Map::new();
        properties.insert(
            "destination".into(),
            serde_json::json!({ "description": "An IPv4 or IPv6 CIDR block.", "type": "string" }),
        );
        properties.insert(
            "destination-prefix-list".into(),
            serde_json::json!({ "description": "Logical name of a prefix list: the route covers every CIDR it holds (instead of `destination`).", "type": "string" }),
        );
        for kind in TargetKind::ALL {
            properties.insert(
                kind.key().into(),
                serde_json::json!({
                    "description": format!("Logical name of {} (exactly one target per route).", kind.resource_kind().article_name()),
                    "type": "string"
                }),
            );
        }
        properties.insert(
            "replaces".into(),
            serde_json::json!({
                "description": "The id of a target vpcform does not manage whose route to this destination this route may replace.",
                "type": "string"
            }),
        );
        schemars::json_schema!({
            "description": "A route: a destination and exactly one target.",
            "type": "object",
            "properties": properties,
            "additionalProperties": false
        })
    }
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
                let target = &route.target;
                let reference: Ref = At::new(target.value.name.clone(), target.span);
                let kind = target.value.kind;
                index.check(&reference, kind.resource_kind(), kind.key(), cx);
                if let Destination::PrefixList(list) = &route.destination.value {
                    let list: Ref = At::new(list.clone(), route.destination.span);
                    index.check(
                        &list,
                        ResourceKind::PrefixList,
                        "destination-prefix-list",
                        cx,
                    );
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
        let vpc_of: HashMap<&str, &str> = items
            .iter()
            .map(|r| (r.name.value.as_str(), r.spec.vpc.value.as_str()))
            .collect();
        for route in t.effective_routes() {
            let vpc = vpc_of
                .get(route.table.as_str())
                .copied()
                .unwrap_or_default();
            let a = b.node(
                Address::keyed(K::Route, &route.table, route.destination.to_string()),
                route.span,
            );
            b.edge(a, Address::new(K::RouteTable, &route.table));
            b.edge(
                a,
                route
                    .target
                    .kind
                    .route_dependency(&route.target.name, vpc, t),
            );
            if let Destination::PrefixList(list) = &route.destination {
                b.edge(a, Address::new(K::PrefixList, list));
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
            let Some((key, destination)) = export_destination(o, r, cx) else {
                continue;
            };
            let id = TARGET.str(r).unwrap_or_default();
            let Some(kind) = TargetKind::from_id(id) else {
                cx.leave_out(
                    &o.id,
                    format!("the route to {destination} through {id}"),
                    format!("vpcform declares no kind for {id}; the route stays as it is"),
                );
                continue;
            };
            let Some(name) = cx.name_of(kind.resource_kind(), id) else {
                cx.leave_out(
                    &o.id,
                    format!("the route to {destination} through {id}"),
                    format!("{id} is not declared; the route stays as it is"),
                );
                continue;
            };
            let mut route = Map::new();
            route.set(key, destination.as_str()).set(kind.key(), name);
            routes.push((destination.clone(), Yaml::from(route)));
        }
        routes.sort_by(|a, b| a.0.cmp(&b.0));
        m.list("routes", routes.into_iter().map(|(_, r)| r).collect());
        Some(m)
    }
}

/// A route's destination as the topology writes it: `destination` (a CIDR)
/// or `destination-prefix-list` (a written list); `None`, left out, when
/// it names a list that is not written.
fn export_destination(
    o: &Observed,
    r: &std::collections::BTreeMap<String, serde_json::Value>,
    cx: &mut ExportCx,
) -> Option<(&'static str, String)> {
    if let Some(cidr) = DESTINATION_CIDR_BLOCK.str(r) {
        return Some(("destination", cidr.to_string()));
    }
    let list = DESTINATION_PREFIX_LIST_ID.str(r)?;
    match cx.name_of(ResourceKind::PrefixList, list) {
        Some(name) => Some(("destination-prefix-list", name.to_string())),
        None => {
            let target = TARGET.str(r).unwrap_or("an unknown target");
            cx.leave_out(
                &o.id,
                format!("the route to {list} through {target}"),
                format!("{list} is not declared (one of AWS's lists?); the route stays as it is"),
            );
            None
        }
    }
}

/// A subnet's association with a route table (address key: the subnet's name).
#[derive(Debug)]
pub struct Association;

impl Kind for Association {
    const KIND: ResourceKind = ResourceKind::RouteTableAssociation;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(ROUTE_TABLE_ID, Compare::Exact),
        AttrSpec::replace(SUBNET_ID, Compare::Id),
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
        AttrSpec::replace(DESTINATION_PREFIX_LIST_ID, Compare::Id),
        AttrSpec::update(TARGET, Compare::Id),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let destination = a.key.as_deref()?;
        let target = cx.routes.get(&(a.name.clone(), destination.to_string()))?;
        let to = match Destination::parse_key(destination)? {
            Destination::Cidr(c) => (DESTINATION_CIDR_BLOCK, Desired::known(c.to_string())),
            Destination::PrefixList(list) => (
                DESTINATION_PREFIX_LIST_ID,
                Desired::id_of(ResourceKind::PrefixList, &list),
            ),
        };
        Some(DesiredAttrs::from([
            (
                ROUTE_TABLE_ID,
                Desired::id_of(ResourceKind::RouteTable, &a.name),
            ),
            to,
            (
                TARGET,
                Desired::id_of(target.kind.resource_kind(), &target.name),
            ),
        ]))
    }
}

fn decode_route(node: &Node, table: &str, cx: &mut Cx) -> Option<Route> {
    let mut f = Fields::new(node, format!("a route of {table}"), cx)?;
    let cidr: Option<At<IpNet>> = f.maybe("destination", cx).ok()?;
    let list: Option<Ref> = f.maybe("destination-prefix-list", cx).ok()?;
    let mut targets = Vec::new();
    for &kind in TargetKind::ALL {
        let name: Option<Ref> = f.maybe(kind.key(), cx).ok()?;
        if let Some(name) = name {
            targets.push(At::new(RouteTarget::new(kind, name.value), name.span));
        }
    }
    let replaces: Result<Option<At<String>>, _> = f.maybe("replaces", cx);
    let span = f.span();
    f.finish(cx);
    let keys = || {
        TargetKind::ALL
            .iter()
            .map(|k| format!("`{}: <name>`", k.key()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let target = match <[At<RouteTarget>; 1]>::try_from(targets) {
        Ok([target]) => target,
        Err(targets) => {
            let message = match targets.as_slice() {
                [a, b, ..] => format!(
                    "a route has both `{}` and `{}`",
                    a.value.kind.key(),
                    b.value.kind.key()
                ),
                _ => "a route needs a target".to_string(),
            };
            cx.push(
                Diagnostic::error("route-target", span, message)
                    .with_help(format!("give exactly one of {}", keys())),
            );
            return None;
        }
    };
    let destination = match (cidr, list) {
        (Some(c), None) => At::new(Destination::Cidr(c.value), c.span),
        (None, Some(l)) => At::new(Destination::PrefixList(l.value), l.span),
        (c, l) => {
            let message = if c.is_some() && l.is_some() {
                "a route has both `destination` and `destination-prefix-list`"
            } else {
                "a route needs a destination"
            };
            cx.push(
                Diagnostic::error("route-destination", span, message).with_help(
                    "give exactly one of `destination: <CIDR>` and `destination-prefix-list: <prefix list>`",
                ),
            );
            return None;
        }
    };
    Some(Route {
        destination,
        target,
        replaces: replaces.ok()?,
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
    let declared = TopologyIndex::new(t);
    let mut seen: HashMap<(&str, Destination), Span> = HashMap::new();
    for route in &t.effective_routes() {
        if !tables_ok.contains(route.table.as_str()) {
            continue;
        }
        let table = tables[route.table.as_str()];
        if let Some(first) = seen.insert(
            (table.name.value.as_str(), route.destination.clone()),
            route.span,
        ) {
            let d = Diagnostic::error(
                "duplicate-route",
                route.span,
                format!(
                    "route table `{}` already has a route to {}",
                    route.table,
                    route.destination.label()
                ),
            )
            .with_related(first, "the first route");
            cx.push(if route.from_peering_option {
                d.with_help("`add-routes: true` adds this route already; remove the explicit route or the option")
            } else {
                d.with_help("a route table holds one route per destination; remove one")
            });
        }
        if index.kind_of(&route.target.name) == Some(route.target.kind.resource_kind()) {
            let vpc = table.spec.vpc.value.as_str();
            route.target.kind.check_route(route, vpc, &declared, cx);
        }
    }
}

impl Topology {
    /// Explicit routes plus those added by peerings with `add-routes: true`.
    pub fn effective_routes(&self) -> Vec<EffectiveRoute> {
        let mut out = Vec::new();
        for table in &self.route_tables {
            for route in &table.spec.routes {
                out.push(EffectiveRoute {
                    table: table.name.value.clone(),
                    destination: route.destination.value.clone(),
                    target: route.target.value.clone(),
                    span: route.span,
                    from_peering_option: false,
                    replaces: route.replaces.as_ref().map(|r| r.value.clone()),
                });
            }
        }
        for peering in &self.peerings {
            if !peering.spec.add_routes.as_ref().is_some_and(|a| a.value) {
                continue;
            }
            let sides = [
                (&peering.spec.requester.value, &peering.spec.accepter.value),
                (&peering.spec.accepter.value, &peering.spec.requester.value),
            ];
            for (local, remote) in sides {
                let Some(remote_vpc) = self.vpcs.iter().find(|v| &v.name.value == remote) else {
                    continue;
                };
                // A route to every block of the peer, secondary ones included.
                let tables = self
                    .route_tables
                    .iter()
                    .filter(|t| &t.spec.vpc.value == local);
                for (table, destination) in
                    tables.flat_map(|t| remote_vpc.spec.cidrs().map(move |c| (t, IpNet::V4(c))))
                {
                    out.push(EffectiveRoute {
                        table: table.name.value.clone(),
                        destination: Destination::Cidr(destination),
                        target: RouteTarget::new(TargetKind::Peering, &peering.name.value),
                        span: peering
                            .spec
                            .add_routes
                            .as_ref()
                            .map_or(peering.name.span, |a| a.span),
                        from_peering_option: true,
                        replaces: None,
                    });
                }
            }
        }
        out
    }
}
