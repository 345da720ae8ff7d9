//! Transit gateways, their VPC attachments, and each attachment's
//! association with one transit-gateway route table (an implicit object of
//! the attachment, so moving it to another table is an in-place change).
//! AWS's default association and propagation are explicit, off unless
//! declared: vpcform declares every association and propagation itself.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde_json::Value;

use crate::address::{Address, ResourceKind};
use crate::attr::{TAGS, VPC_ID};
use crate::decode::{Cx, Fields, common_fields};
use crate::diagnostic::Diagnostic;
use crate::emit::{Map, Yaml};
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder, Routable,
};
use crate::kinds::vpc_endpoint::SUBNET_IDS;
use crate::model::{At, Named, Ref, Tags};
use crate::registry::{Topology, TopologyIndex};
use crate::route::EffectiveRoute;
use crate::validate::NameIndex;
use crate::yaml::Node;

pub const TRANSIT_GATEWAY_ID: Attr = Attr::new("transit_gateway_id");
pub const AMAZON_SIDE_ASN: Attr = Attr::new("amazon_side_asn");
pub const DESCRIPTION: Attr = Attr::new("description");
pub const DNS_SUPPORT: Attr = Attr::new("dns_support");
pub const DEFAULT_ASSOCIATION: Attr = Attr::new("default_route_table_association");
pub const DEFAULT_PROPAGATION: Attr = Attr::new("default_route_table_propagation");
pub const APPLIANCE_MODE: Attr = Attr::new("appliance_mode");
pub const IPV6_SUPPORT: Attr = Attr::new("ipv6_support");
pub const ATTACHMENT_ID: Attr = Attr::new("transit_gateway_attachment_id");
pub const TGW_ROUTE_TABLE_ID: Attr = Attr::new("transit_gateway_route_table_id");

/// AWS's default Amazon-side ASN.
pub const DEFAULT_ASN: i64 = 64512;

/// A transit gateway: a regional router between VPC attachments.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TransitGateway {
    /// The Amazon side's private ASN (default 64512).
    #[schemars(with = "Option<i64>")]
    pub amazon_side_asn: Option<At<i64>>,
    #[schemars(with = "Option<String>")]
    pub description: Option<At<String>>,
    /// Resolve public DNS names of attached VPCs' instances to private addresses (default true).
    #[schemars(with = "Option<bool>")]
    pub dns_support: Option<At<bool>>,
    /// AWS associates each new attachment with its default route table (default false:
    /// declare each attachment's `route-table`).
    #[schemars(with = "Option<bool>")]
    pub default_route_table_association: Option<At<bool>>,
    /// AWS propagates each new attachment into its default route table (default false:
    /// declare `propagations` on route tables).
    #[schemars(with = "Option<bool>")]
    pub default_route_table_propagation: Option<At<bool>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`vpcform import` writes it).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

fn flag(v: &Option<At<bool>>, default: bool) -> bool {
    v.as_ref().map_or(default, |x| x.value)
}

impl TransitGateway {
    pub fn asn(&self) -> i64 {
        self.amazon_side_asn
            .as_ref()
            .map_or(DEFAULT_ASN, |a| a.value)
    }
}

impl Kind for TransitGateway {
    const KIND: ResourceKind = ResourceKind::TransitGateway;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::update(AMAZON_SIDE_ASN, Compare::Exact),
        AttrSpec::update(DESCRIPTION, Compare::Exact),
        AttrSpec::update(DNS_SUPPORT, Compare::Exact),
        AttrSpec::update(DEFAULT_ASSOCIATION, Compare::Exact),
        AttrSpec::update(DEFAULT_PROPAGATION, Compare::Exact),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let g = cx.index.transit_gateways.get(a.name.as_str())?;
        Some(DesiredAttrs::from([
            (AMAZON_SIDE_ASN, Desired::known(g.asn())),
            (DESCRIPTION, Desired::optional(g.description.as_ref())),
            (DNS_SUPPORT, Desired::known(flag(&g.dns_support, true))),
            (
                DEFAULT_ASSOCIATION,
                Desired::known(flag(&g.default_route_table_association, false)),
            ),
            (
                DEFAULT_PROPAGATION,
                Desired::known(flag(&g.default_route_table_propagation, false)),
            ),
            (TAGS, cx.tags(a, &g.tags)),
        ]))
    }
}

/// AWS's private ASN ranges for the Amazon side.
fn is_private_asn(asn: i64) -> bool {
    (64512..=65534).contains(&asn) || (4_200_000_000..=4_294_967_294).contains(&asn)
}

impl Declared for TransitGateway {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let asn = f.maybe("amazon-side-asn", cx);
        let description = f.maybe("description", cx);
        let dns = f.maybe("dns-support", cx);
        let association = f.maybe("default-route-table-association", cx);
        let propagation = f.maybe("default-route-table-propagation", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(TransitGateway {
            amazon_side_asn: asn.ok()?,
            description: description.ok()?,
            dns_support: dns.ok()?,
            default_route_table_association: association.ok()?,
            default_route_table_propagation: propagation.ok()?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, _: &NameIndex<'_>, cx: &mut Cx) {
        for g in items {
            if let Some(asn) = &g.spec.amazon_side_asn
                && !is_private_asn(asn.value)
            {
                cx.push(
                    Diagnostic::error(
                        "tgw-asn",
                        asn.span,
                        format!("{} is not a private ASN", asn.value),
                    )
                    .with_help("use 64512–65534 or 4200000000–4294967294"),
                );
            }
            for (field, v) in [
                (
                    "default-route-table-association",
                    &g.spec.default_route_table_association,
                ),
                (
                    "default-route-table-propagation",
                    &g.spec.default_route_table_propagation,
                ),
            ] {
                if let Some(v) = v.as_ref().filter(|v| v.value) {
                    cx.push(
                        Diagnostic::warning(
                            "tgw-default-route-table",
                            v.span,
                            format!("`{field}: true` lets AWS associate or propagate each new attachment by itself"),
                        )
                        .with_help("vpcform declares associations (`route-table:` on attachments) and propagations (`propagations:` on route tables); what AWS adds on its own that the topology does not declare is removed by the next apply"),
                    );
                }
            }
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for g in items {
            b.node(
                Address::new(ResourceKind::TransitGateway, &g.name.value),
                g.name.span,
            );
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("tgw-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, _: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        if let Some(asn) = o.get(AMAZON_SIDE_ASN).and_then(Value::as_i64)
            && asn != DEFAULT_ASN
        {
            m.set("amazon-side-asn", asn);
        }
        if let Some(d) = o.str(DESCRIPTION).filter(|d| !d.is_empty()) {
            m.set("description", d);
        }
        let flags = [
            (DNS_SUPPORT, "dns-support", true),
            (
                DEFAULT_ASSOCIATION,
                "default-route-table-association",
                false,
            ),
            (
                DEFAULT_PROPAGATION,
                "default-route-table-propagation",
                false,
            ),
        ];
        for (attr, key, default) in flags {
            let v = o.get(attr).and_then(Value::as_bool).unwrap_or(default);
            if v != default {
                m.set(key, v);
            }
        }
        Some(m)
    }
}

impl Routable for TransitGateway {
    /// A route through the gateway waits for the VPC's attachment: AWS refuses it before.
    fn route_dependency(name: &str, vpc: &str, t: &Topology) -> Address {
        t.transit_gateway_attachments
            .iter()
            .find(|a| a.spec.transit_gateway.value == name && a.spec.vpc.value == vpc)
            .map_or_else(
                || Address::new(ResourceKind::TransitGateway, name),
                |a| Address::new(ResourceKind::TransitGatewayAttachment, &a.name.value),
            )
    }

    fn check_route(route: &EffectiveRoute, vpc: &str, t: &TopologyIndex<'_>, cx: &mut Cx) {
        let name = &route.target.name;
        let attached = t
            .transit_gateway_attachments
            .values()
            .any(|a| a.transit_gateway.value == *name && a.vpc.value == vpc);
        if !attached {
            cx.push(
                Diagnostic::error(
                    "route-tgw-not-attached",
                    route.span,
                    format!(
                        "route table `{}` routes {} through transit gateway `{name}`, but VPC `{vpc}` has no attachment to it",
                        route.table,
                        route.destination.label()
                    ),
                )
                .with_help(format!("declare a `transit-gateway-attachments:` entry of `{name}` in VPC `{vpc}`")),
            );
        }
    }
}

/// A VPC's attachment to a transit gateway: one subnet per availability
/// zone, where the gateway's interfaces live.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct VpcAttachment {
    /// Changing it replaces the attachment.
    pub transit_gateway: Ref,
    /// Changing it replaces the attachment.
    pub vpc: Ref,
    /// One subnet per availability zone; resources in a zone without one cannot reach the gateway.
    pub subnets: Vec<Ref>,
    /// The transit-gateway route table it is associated with (exactly one;
    /// none: the gateway routes nothing from it). Changing it moves the association in place.
    pub route_table: Option<Ref>,
    /// Keep both directions of a flow in one zone (for appliances). Default false.
    #[schemars(with = "Option<bool>")]
    pub appliance_mode: Option<At<bool>>,
    /// Default true.
    #[schemars(with = "Option<bool>")]
    pub dns_support: Option<At<bool>>,
    /// Carry IPv6 (the VPC and the subnets need IPv6 blocks). Default false.
    #[schemars(with = "Option<bool>")]
    pub ipv6_support: Option<At<bool>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing attachment this declaration adopts (`tgw-attach-…`).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl Kind for VpcAttachment {
    const KIND: ResourceKind = ResourceKind::TransitGatewayAttachment;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(TRANSIT_GATEWAY_ID, Compare::Id),
        AttrSpec::replace(VPC_ID, Compare::Id),
        AttrSpec::update(SUBNET_IDS, Compare::StringSet),
        AttrSpec::update(APPLIANCE_MODE, Compare::Exact),
        AttrSpec::update(DNS_SUPPORT, Compare::Exact),
        AttrSpec::update(IPV6_SUPPORT, Compare::Exact),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let x = cx.index.transit_gateway_attachments.get(a.name.as_str())?;
        let subnets = x
            .subnets
            .iter()
            .map(|s| Address::new(ResourceKind::Subnet, &s.value))
            .collect();
        Some(DesiredAttrs::from([
            (
                TRANSIT_GATEWAY_ID,
                Desired::id_of(ResourceKind::TransitGateway, &x.transit_gateway.value),
            ),
            (VPC_ID, Desired::id_of(ResourceKind::Vpc, &x.vpc.value)),
            (SUBNET_IDS, Desired::RefList(subnets)),
            (
                APPLIANCE_MODE,
                Desired::known(flag(&x.appliance_mode, false)),
            ),
            (DNS_SUPPORT, Desired::known(flag(&x.dns_support, true))),
            (IPV6_SUPPORT, Desired::known(flag(&x.ipv6_support, false))),
            (TAGS, cx.tags(a, &x.tags)),
        ]))
    }
}

impl Declared for VpcAttachment {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let gateway = f.required("transit-gateway", cx);
        let vpc = f.required("vpc", cx);
        let subnets = f.required("subnets", cx);
        let route_table = f.maybe("route-table", cx);
        let appliance = f.maybe("appliance-mode", cx);
        let dns = f.maybe("dns-support", cx);
        let ipv6 = f.maybe("ipv6-support", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(VpcAttachment {
            transit_gateway: gateway?,
            vpc: vpc?,
            subnets: subnets?,
            route_table: route_table.ok()?,
            appliance_mode: appliance.ok()?,
            dns_support: dns.ok()?,
            ipv6_support: ipv6.ok()?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let ti = TopologyIndex::new(t);
        let mut attached: HashMap<(&str, &str), &Named<VpcAttachment>> = HashMap::new();
        for x in items {
            let s = &x.spec;
            let gateway_ok = index.check(
                &s.transit_gateway,
                ResourceKind::TransitGateway,
                "transit-gateway",
                cx,
            );
            if !index.check(&s.vpc, ResourceKind::Vpc, "vpc", cx) {
                continue;
            }
            check_attachment_subnets(x, index, &ti, cx);
            check_ipv6_support(x, &ti, cx);
            if !gateway_ok {
                continue;
            }
            let key = (s.transit_gateway.value.as_str(), s.vpc.value.as_str());
            if let Some(first) = attached.insert(key, x) {
                cx.push(
                    Diagnostic::error(
                        "duplicate-tgw-attachment",
                        s.vpc.span,
                        format!(
                            "VPC `{}` is already attached to transit gateway `{}` by `{}`",
                            s.vpc.value, s.transit_gateway.value, first.name.value
                        ),
                    )
                    .with_related(first.name.span, "the first attachment")
                    .with_help("a VPC has one attachment per transit gateway; list every zone's subnet in it"),
                );
            }
            if let Some(rt) = &s.route_table {
                check_same_gateway(rt, &s.transit_gateway.value, "route-table", index, &ti, cx);
            }
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        use ResourceKind as K;
        for x in items {
            let name = &x.name.value;
            let a = b.node(Address::new(K::TransitGatewayAttachment, name), x.name.span);
            b.edge(
                a,
                Address::new(K::TransitGateway, &x.spec.transit_gateway.value),
            );
            b.edge(a, Address::new(K::Vpc, &x.spec.vpc.value));
            for s in &x.spec.subnets {
                b.edge(a, Address::new(K::Subnet, &s.value));
            }
            if let Some(rt) = &x.spec.route_table {
                let assoc = b.node(Address::new(K::TransitGatewayAssociation, name), rt.span);
                b.edge(assoc, Address::new(K::TransitGatewayAttachment, name));
                b.edge(assoc, Address::new(K::TransitGatewayRouteTable, &rt.value));
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("tgw-attach-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        let gateway = ResourceKind::TransitGateway;
        if !cx.reference(o, TRANSIT_GATEWAY_ID, gateway, "transit-gateway", &mut m)
            || !cx.reference(o, VPC_ID, ResourceKind::Vpc, "vpc", &mut m)
        {
            return None;
        }
        let mut subnets: Vec<&str> = o
            .get(SUBNET_IDS)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|id| cx.name_of(ResourceKind::Subnet, id))
            .collect();
        subnets.sort_unstable();
        m.list("subnets", subnets.into_iter().map(Yaml::from).collect());
        export_association(o, cx, &mut m);
        let flags = [
            (APPLIANCE_MODE, "appliance-mode", false),
            (DNS_SUPPORT, "dns-support", true),
            (IPV6_SUPPORT, "ipv6-support", false),
        ];
        for (attr, key, default) in flags {
            let v = o.get(attr).and_then(Value::as_bool).unwrap_or(default);
            if v != default {
                m.set(key, v);
            }
        }
        Some(m)
    }
}

/// `route-table:` from the attachment's association, if its table is written.
fn export_association(o: &Observed, cx: &mut ExportCx, m: &mut Map) {
    let Some(table) = o
        .children_of(ResourceKind::TransitGatewayAssociation)
        .find_map(|c| TGW_ROUTE_TABLE_ID.str(c))
    else {
        return;
    };
    match cx.name_of(ResourceKind::TransitGatewayRouteTable, table) {
        Some(name) => {
            m.set("route-table", name);
        }
        None => cx.leave_out(
            &o.id,
            format!("its association with {table}"),
            format!(
                "{table} is not declared; the next apply would remove the association unless it is"
            ),
        ),
    }
}

/// Subnets in the attachment's VPC, at most one per availability zone.
fn check_attachment_subnets(
    x: &Named<VpcAttachment>,
    index: &NameIndex<'_>,
    t: &TopologyIndex<'_>,
    cx: &mut Cx,
) {
    let s = &x.spec;
    if s.subnets.is_empty() {
        cx.push(
            Diagnostic::error(
                "tgw-attachment-subnets",
                x.name.span,
                format!("attachment `{}` needs at least one subnet", x.name.value),
            )
            .with_help("list one subnet per availability zone the VPC uses"),
        );
    }
    let mut zones: HashMap<&str, &Ref> = HashMap::new();
    for r in &s.subnets {
        if !index.check(r, ResourceKind::Subnet, "subnets", cx) {
            continue;
        }
        let Some(subnet) = t.subnets.get(r.value.as_str()) else {
            continue;
        };
        if subnet.vpc.value != s.vpc.value {
            cx.push(
                Diagnostic::error(
                    "tgw-attachment-subnets",
                    r.span,
                    format!(
                        "subnet `{}` is in VPC `{}`, not in the attachment's VPC `{}`",
                        r.value, subnet.vpc.value, s.vpc.value
                    ),
                )
                .with_help("an attachment's subnets are in its own VPC"),
            );
            continue;
        }
        let Some(az) = subnet.availability_zone.as_ref() else {
            continue;
        };
        if let Some(first) = zones.insert(az.value.as_str(), r) {
            cx.push(
                Diagnostic::error(
                    "tgw-attachment-subnets",
                    r.span,
                    format!(
                        "`{}` and `{}` are both in {}: an attachment takes one subnet per availability zone",
                        first.value, r.value, az.value
                    ),
                )
                .with_related(first.span, "the first subnet in that zone"),
            );
        }
    }
}

/// IPv6 over the attachment needs the VPC's block and each subnet's /64.
fn check_ipv6_support(x: &Named<VpcAttachment>, t: &TopologyIndex<'_>, cx: &mut Cx) {
    let Some(v) = x.spec.ipv6_support.as_ref().filter(|v| v.value) else {
        return;
    };
    let vpc_v6 = t
        .vpcs
        .get(x.spec.vpc.value.as_str())
        .is_some_and(|vpc| vpc.ipv6.as_ref().is_some_and(|b| b.value));
    let subnets_v6 = x.spec.subnets.iter().all(|s| {
        t.subnets
            .get(s.value.as_str())
            .is_none_or(|s| s.ipv6_index.is_some())
    });
    if !(vpc_v6 && subnets_v6) {
        cx.push(
            Diagnostic::error(
                "tgw-attachment-ipv6",
                v.span,
                format!(
                    "attachment `{}` carries IPv6, but its VPC or subnets have no IPv6 block",
                    x.name.value
                ),
            )
            .with_help("set `ipv6: true` on the VPC and `ipv6-index` on each attachment subnet"),
        );
    }
}

/// `r` names a transit-gateway route table (or, with `Attachment`, an
/// attachment) of the gateway `gateway`.
pub(crate) fn check_same_gateway(
    r: &Ref,
    gateway: &str,
    field: &str,
    index: &NameIndex<'_>,
    t: &TopologyIndex<'_>,
    cx: &mut Cx,
) -> bool {
    let (kind, of) = match field {
        "route-table" => (
            ResourceKind::TransitGatewayRouteTable,
            t.transit_gateway_route_tables
                .get(r.value.as_str())
                .map(|x| &x.transit_gateway.value),
        ),
        _ => (
            ResourceKind::TransitGatewayAttachment,
            t.transit_gateway_attachments
                .get(r.value.as_str())
                .map(|x| &x.transit_gateway.value),
        ),
    };
    if !index.check(r, kind, field, cx) {
        return false;
    }
    match of {
        Some(other) if other != gateway => {
            cx.push(
                Diagnostic::error(
                    "tgw-other-gateway",
                    r.span,
                    format!(
                        "`{}` belongs to transit gateway `{other}`, not to `{gateway}`",
                        r.value
                    ),
                )
                .with_help("associations, propagations and routes stay within one transit gateway"),
            );
            false
        }
        _ => true,
    }
}

/// An attachment's association with its route table (address: the attachment's name).
#[derive(Debug)]
pub struct Association;

impl Kind for Association {
    const KIND: ResourceKind = ResourceKind::TransitGatewayAssociation;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(ATTACHMENT_ID, Compare::Id),
        AttrSpec::update(TGW_ROUTE_TABLE_ID, Compare::Id),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let name = a.name.as_str();
        let x = cx.index.transit_gateway_attachments.get(name)?;
        let table = x.route_table.as_ref()?;
        Some(DesiredAttrs::from([
            (
                ATTACHMENT_ID,
                Desired::id_of(ResourceKind::TransitGatewayAttachment, name),
            ),
            (
                TGW_ROUTE_TABLE_ID,
                Desired::id_of(ResourceKind::TransitGatewayRouteTable, &table.value),
            ),
        ]))
    }
}
