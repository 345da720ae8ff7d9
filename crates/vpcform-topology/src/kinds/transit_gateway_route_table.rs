//! Transit-gateway route tables with their propagations (the attachments
//! whose VPC blocks the table learns) and static routes (to an attachment,
//! or blackhole), both implicit objects of the table keyed so that they
//! compare as the sets they are: order never makes a diff.

use std::collections::{HashMap, HashSet};

use ipnet::IpNet;
use schemars::JsonSchema;

use crate::address::{Address, ResourceKind};
use crate::attr::TAGS;
use crate::decode::{Cx, Fields, common_fields, list_of};
use crate::diagnostic::{Diagnostic, Span};
use crate::emit::{Map, Yaml};
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::kinds::route_table::{DESTINATION_CIDR_BLOCK, DESTINATION_PREFIX_LIST_ID};
use crate::kinds::transit_gateway::{
    ATTACHMENT_ID, TGW_ROUTE_TABLE_ID, TRANSIT_GATEWAY_ID, check_same_gateway,
};
use crate::model::{At, Named, Ref, Tags};
use crate::registry::{Topology, TopologyIndex};
use crate::route::Destination;
use crate::validate::NameIndex;
use crate::yaml::Node;

/// A static route drops what it matches.
pub const BLACKHOLE: Attr = Attr::new("blackhole");

/// A route table of a transit gateway.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TgwRouteTable {
    /// Changing it replaces the table.
    pub transit_gateway: Ref,
    /// Attachments whose VPC blocks this table learns (propagated routes).
    #[schemars(default)]
    pub propagations: Vec<Ref>,
    /// Static routes; for one prefix a static route wins over a propagated one.
    #[schemars(default)]
    pub routes: Vec<TgwRoute>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing table this declaration adopts (`tgw-rtb-…`).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

/// A static route: a destination, and an attachment or `blackhole: true`.
#[derive(Clone, Debug, PartialEq)]
pub struct TgwRoute {
    pub destination: At<Destination>,
    pub target: TgwTarget,
    pub span: Span,
}

/// Where a static route sends what it matches.
#[derive(Clone, Debug, PartialEq)]
pub enum TgwTarget {
    Attachment(Ref),
    /// Dropped (`blackhole: true`).
    Blackhole(Span),
}

impl JsonSchema for TgwRoute {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TransitGatewayRoute".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A static route: a destination, and an attachment or `blackhole: true`.",
            "type": "object",
            "properties": {
                "destination": { "description": "An IPv4 or IPv6 CIDR block.", "type": "string" },
                "destination-prefix-list": { "description": "Logical name of a prefix list (instead of `destination`).", "type": "string" },
                "attachment": { "description": "Logical name of an attachment of the same transit gateway.", "type": "string" },
                "blackhole": { "description": "Drop what the route matches (instead of `attachment`).", "type": "boolean" }
            },
            "additionalProperties": false
        })
    }
}

impl Kind for TgwRouteTable {
    const KIND: ResourceKind = ResourceKind::TransitGatewayRouteTable;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(TRANSIT_GATEWAY_ID, Compare::Id),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let t = cx.index.transit_gateway_route_tables.get(a.name.as_str())?;
        Some(DesiredAttrs::from([
            (
                TRANSIT_GATEWAY_ID,
                Desired::id_of(ResourceKind::TransitGateway, &t.transit_gateway.value),
            ),
            (TAGS, cx.tags(a, &t.tags)),
        ]))
    }
}

impl Declared for TgwRouteTable {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let gateway = f.required("transit-gateway", cx);
        let propagations = f.maybe("propagations", cx);
        let routes = f
            .take("routes")
            .map(|n| list_of(n, cx, |n, cx| decode_route(n, what, cx)));
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(TgwRouteTable {
            transit_gateway: gateway?,
            propagations: propagations.ok()?.unwrap_or_default(),
            routes: routes.unwrap_or(Some(Vec::new()))?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let ti = TopologyIndex::new(t);
        for table in items {
            let s = &table.spec;
            if !index.check(
                &s.transit_gateway,
                ResourceKind::TransitGateway,
                "transit-gateway",
                cx,
            ) {
                continue;
            }
            let gateway = s.transit_gateway.value.as_str();
            let mut seen: HashSet<&str> = HashSet::new();
            for p in &s.propagations {
                if check_same_gateway(p, gateway, "propagations", index, &ti, cx)
                    && !seen.insert(p.value.as_str())
                {
                    cx.push(
                        Diagnostic::error(
                            "duplicate-propagation",
                            p.span,
                            format!("`{}` is already listed in `propagations`", p.value),
                        )
                        .with_help("list each attachment once"),
                    );
                }
            }
            check_routes(table, gateway, index, &ti, cx);
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        use ResourceKind as K;
        for r in items {
            let name = &r.name.value;
            let a = b.node(Address::new(K::TransitGatewayRouteTable, name), r.name.span);
            b.edge(
                a,
                Address::new(K::TransitGateway, &r.spec.transit_gateway.value),
            );
            for p in &r.spec.propagations {
                let prop = b.node(
                    Address::keyed(K::TransitGatewayPropagation, name, &p.value),
                    p.span,
                );
                b.edge(prop, Address::new(K::TransitGatewayRouteTable, name));
                b.edge(prop, Address::new(K::TransitGatewayAttachment, &p.value));
            }
            for route in &r.spec.routes {
                let key = route.destination.value.to_string();
                let at = b.node(
                    Address::keyed(K::TransitGatewayRoute, name, key),
                    route.span,
                );
                b.edge(at, Address::new(K::TransitGatewayRouteTable, name));
                if let TgwTarget::Attachment(x) = &route.target {
                    b.edge(at, Address::new(K::TransitGatewayAttachment, &x.value));
                }
                if let Destination::PrefixList(list) = &route.destination.value {
                    b.edge(at, Address::new(K::PrefixList, list));
                }
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("tgw-rtb-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        let gateway = ResourceKind::TransitGateway;
        if !cx.reference(o, TRANSIT_GATEWAY_ID, gateway, "transit-gateway", &mut m) {
            return None;
        }
        let propagations = cx.names_in_children(
            o,
            ResourceKind::TransitGatewayPropagation,
            ATTACHMENT_ID,
            ResourceKind::TransitGatewayAttachment,
        );
        m.list("propagations", propagations);
        let mut routes: Vec<(String, Yaml)> = o
            .children_of(ResourceKind::TransitGatewayRoute)
            .filter_map(|r| export_route(o, r, cx))
            .collect();
        routes.sort_by(|a, b| a.0.cmp(&b.0));
        m.list("routes", routes.into_iter().map(|(_, r)| r).collect());
        Some(m)
    }
}

/// One static route as the topology writes it; `None`, left out, when
/// its destination list or attachment is not written.
fn export_route(
    o: &Observed,
    r: &std::collections::BTreeMap<String, serde_json::Value>,
    cx: &mut ExportCx,
) -> Option<(String, Yaml)> {
    let mut route = Map::new();
    let destination = if let Some(cidr) = DESTINATION_CIDR_BLOCK.str(r) {
        route.set("destination", cidr);
        cidr.to_string()
    } else {
        let list = DESTINATION_PREFIX_LIST_ID.str(r)?;
        let Some(name) = cx.name_of(ResourceKind::PrefixList, list) else {
            let why = format!("{list} is not declared; the route stays as it is");
            cx.leave_out(&o.id, format!("the route to {list}"), why);
            return None;
        };
        route.set("destination-prefix-list", name);
        list.to_string()
    };
    if BLACKHOLE.get(r).and_then(serde_json::Value::as_bool) == Some(true) {
        route.set("blackhole", true);
        return Some((destination, Yaml::from(route)));
    }
    let attachment = ATTACHMENT_ID.str(r)?;
    let Some(name) = cx.name_of(ResourceKind::TransitGatewayAttachment, attachment) else {
        let why = format!(
            "{attachment} is not declared (another VPC's, a VPN's or a peering's); the route stays as it is"
        );
        cx.leave_out(
            &o.id,
            format!("the route to {destination} through {attachment}"),
            why,
        );
        return None;
    };
    route.set("attachment", name);
    Some((destination, Yaml::from(route)))
}

fn decode_route(node: &Node, table: &str, cx: &mut Cx) -> Option<TgwRoute> {
    let mut f = Fields::new(node, format!("a route of {table}"), cx)?;
    let cidr: Option<At<IpNet>> = f.maybe("destination", cx).ok()?;
    let list: Option<Ref> = f.maybe("destination-prefix-list", cx).ok()?;
    let attachment: Option<Ref> = f.maybe("attachment", cx).ok()?;
    let blackhole: Option<At<bool>> = f.maybe("blackhole", cx).ok()?;
    let span = f.span();
    f.finish(cx);
    let target =
        match (attachment, blackhole) {
            (Some(a), None) => TgwTarget::Attachment(a),
            (Some(a), Some(b)) if !b.value => TgwTarget::Attachment(a),
            (None, Some(b)) if b.value => TgwTarget::Blackhole(b.span),
            (a, _) => {
                let message = if a.is_some() {
                    "a route has both `attachment` and `blackhole: true`"
                } else {
                    "a route needs `attachment: <name>` or `blackhole: true`"
                };
                cx.push(Diagnostic::error("route-target", span, message).with_help(
                    "give exactly one of `attachment: <attachment>` and `blackhole: true`",
                ));
                return None;
            }
        };
    let destination = match (cidr, list) {
        (Some(c), None) => At::new(Destination::Cidr(c.value), c.span),
        (None, Some(l)) => At::new(Destination::PrefixList(l.value), l.span),
        (c, _) => {
            let message = if c.is_some() {
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
    Some(TgwRoute {
        destination,
        target,
        span,
    })
}

/// One route per destination, each to an attachment of the table's gateway.
fn check_routes(
    table: &Named<TgwRouteTable>,
    gateway: &str,
    index: &NameIndex<'_>,
    t: &TopologyIndex<'_>,
    cx: &mut Cx,
) {
    let mut seen: HashMap<&Destination, Span> = HashMap::new();
    for route in &table.spec.routes {
        if let TgwTarget::Attachment(a) = &route.target {
            check_same_gateway(a, gateway, "attachment", index, t, cx);
        }
        if let Destination::PrefixList(list) = &route.destination.value {
            let list: Ref = At::new(list.clone(), route.destination.span);
            index.check(
                &list,
                ResourceKind::PrefixList,
                "destination-prefix-list",
                cx,
            );
        }
        if let Some(first) = seen.insert(&route.destination.value, route.span) {
            cx.push(
                Diagnostic::error(
                    "duplicate-route",
                    route.span,
                    format!(
                        "transit-gateway route table `{}` already has a route to {}",
                        table.name.value,
                        route.destination.value.label()
                    ),
                )
                .with_related(first, "the first route")
                .with_help("a route table holds one static route per destination; remove one"),
            );
        }
    }
}

/// An attachment's propagation into a table (address key: the attachment's name).
#[derive(Debug)]
pub struct Propagation;

impl Kind for Propagation {
    const KIND: ResourceKind = ResourceKind::TransitGatewayPropagation;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(TGW_ROUTE_TABLE_ID, Compare::Exact),
        AttrSpec::replace(ATTACHMENT_ID, Compare::Id),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let attachment = a.key.as_deref()?;
        let t = cx.index.transit_gateway_route_tables.get(a.name.as_str())?;
        if !t.propagations.iter().any(|p| p.value == attachment) {
            return None;
        }
        Some(DesiredAttrs::from([
            (
                TGW_ROUTE_TABLE_ID,
                Desired::id_of(ResourceKind::TransitGatewayRouteTable, &a.name),
            ),
            (
                ATTACHMENT_ID,
                Desired::id_of(ResourceKind::TransitGatewayAttachment, attachment),
            ),
        ]))
    }
}

/// One static route of a table (address key: the destination, as for VPC routes).
#[derive(Debug)]
pub struct RouteKind;

impl Kind for RouteKind {
    const KIND: ResourceKind = ResourceKind::TransitGatewayRoute;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(TGW_ROUTE_TABLE_ID, Compare::Exact),
        AttrSpec::replace(DESTINATION_CIDR_BLOCK, Compare::Cidr),
        AttrSpec::replace(DESTINATION_PREFIX_LIST_ID, Compare::Id),
        AttrSpec::update(ATTACHMENT_ID, Compare::Id),
        AttrSpec::update(BLACKHOLE, Compare::Exact),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let key = a.key.as_deref()?;
        let table = cx.index.transit_gateway_route_tables.get(a.name.as_str())?;
        let route = table
            .routes
            .iter()
            .find(|r| r.destination.value.to_string() == key)?;
        let to = match &route.destination.value {
            Destination::Cidr(c) => (DESTINATION_CIDR_BLOCK, Desired::known(c.to_string())),
            Destination::PrefixList(list) => (
                DESTINATION_PREFIX_LIST_ID,
                Desired::id_of(ResourceKind::PrefixList, list),
            ),
        };
        let (attachment, blackhole) = match &route.target {
            TgwTarget::Attachment(x) => (
                Desired::id_of(ResourceKind::TransitGatewayAttachment, &x.value),
                false,
            ),
            TgwTarget::Blackhole(_) => (Desired::Known(serde_json::Value::Null), true),
        };
        Some(DesiredAttrs::from([
            (
                TGW_ROUTE_TABLE_ID,
                Desired::id_of(ResourceKind::TransitGatewayRouteTable, &a.name),
            ),
            to,
            (ATTACHMENT_ID, attachment),
            (BLACKHOLE, Desired::known(blackhole)),
        ]))
    }
}
