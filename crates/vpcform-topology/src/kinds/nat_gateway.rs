//! Elastic IP addresses and NAT gateways: a public NAT gateway sits in a
//! public subnet with one Elastic IP and carries connections opened from
//! private subnets to the internet; a private one translates to its own
//! private address (towards a transit gateway or a VPN), with no Elastic IP.

use schemars::JsonSchema;

use crate::address::{Address, ResourceKind};
use crate::attr::{SUBNET_ID, TAGS};
use crate::decode::{Cx, Fields, FromNode, common_fields};
use crate::diagnostic::Diagnostic;
use crate::emit::Map;
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder, Routable,
};
use crate::model::{At, Named, Ref, Tags};
use crate::registry::Topology;
use crate::registry::TopologyIndex;
use crate::route::EffectiveRoute;
use crate::validate::NameIndex;
use crate::yaml::Node;

/// An Elastic IP's allocation id (`eipalloc-…`), as a NAT gateway names it.
pub const ALLOCATION_ID: Attr = Attr::new("allocation_id");
pub const CONNECTIVITY_TYPE: Attr = Attr::new("connectivity_type");
/// The address AWS allocated (read only).
pub const PUBLIC_IP: Attr = Attr::new("public_ip");
/// A NAT gateway's private address in its subnet (read only).
pub const PRIVATE_IP: Attr = Attr::new("private_ip");

/// An Elastic IP address (in a VPC), e.g. for a NAT gateway.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ElasticIp {
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The allocation id of an existing address this declaration adopts (`eipalloc-…`).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl Kind for ElasticIp {
    const KIND: ResourceKind = ResourceKind::ElasticIp;
    const ATTRS: &'static [AttrSpec] = &[crate::attr::TAGS_SPEC];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::CreateFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let e = cx.index.elastic_ips.get(a.name.as_str())?;
        Some(DesiredAttrs::from([(TAGS, cx.tags(a, &e.tags))]))
    }
}

impl Declared for ElasticIp {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(ElasticIp {
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(_: &[Named<Self>], _: &Topology, _: &NameIndex<'_>, _: &mut Cx) {}

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for e in items {
            b.node(
                Address::new(ResourceKind::ElasticIp, &e.name.value),
                e.name.span,
            );
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("eipalloc-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(_: &Observed, _: &mut ExportCx) -> Option<Map> {
        Some(Map::new())
    }
}

/// Whether a NAT gateway reaches the internet (with an Elastic IP) or only private networks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Connectivity {
    #[default]
    Public,
    Private,
}

impl Connectivity {
    /// AWS's `ConnectivityType`.
    pub fn as_str(self) -> &'static str {
        match self {
            Connectivity::Public => "public",
            Connectivity::Private => "private",
        }
    }
}

impl FromNode for Connectivity {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::from_node(node, cx)?;
        match text.as_str() {
            "public" => Some(Connectivity::Public),
            "private" => Some(Connectivity::Private),
            _ => {
                cx.push(
                    Diagnostic::error(
                        "invalid-value",
                        node.span,
                        format!("unknown connectivity `{text}`"),
                    )
                    .with_help("use `public` (with an Elastic IP) or `private`"),
                );
                None
            }
        }
    }
}

/// A NAT gateway in one subnet.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NatGateway {
    /// The subnet it lives in: a public subnet (its table routes to an internet gateway) for a public NAT gateway.
    pub subnet: Ref,
    /// `public` (default: needs `elastic-ip`) or `private`.
    #[schemars(with = "Option<Connectivity>")]
    pub connectivity: Option<At<Connectivity>>,
    /// The Elastic IP of a public NAT gateway.
    #[schemars(with = "Option<String>")]
    pub elastic_ip: Option<Ref>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`nat-…`).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl NatGateway {
    pub fn connectivity(&self) -> Connectivity {
        self.connectivity
            .as_ref()
            .map(|c| c.value)
            .unwrap_or_default()
    }
}

impl Kind for NatGateway {
    const KIND: ResourceKind = ResourceKind::NatGateway;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(SUBNET_ID, Compare::Id),
        AttrSpec::replace(CONNECTIVITY_TYPE, Compare::Exact),
        AttrSpec::replace(ALLOCATION_ID, Compare::Id),
        crate::attr::TAGS_SPEC,
    ];

    /// A new gateway before the old one goes, so routes move without a gap;
    /// but an Elastic IP serves one gateway at a time: keeping it, the old
    /// gateway must go first.
    fn replace_order(reasons: &[Attr]) -> ReplaceOrder {
        if reasons.contains(&ALLOCATION_ID) {
            ReplaceOrder::CreateFirst
        } else {
            ReplaceOrder::DeleteFirst
        }
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let n = cx.index.nat_gateways.get(a.name.as_str())?;
        let eip = match &n.elastic_ip {
            Some(e) => Desired::id_of(ResourceKind::ElasticIp, &e.value),
            None => Desired::Known(serde_json::Value::Null),
        };
        Some(DesiredAttrs::from([
            (
                SUBNET_ID,
                Desired::id_of(ResourceKind::Subnet, &n.subnet.value),
            ),
            (CONNECTIVITY_TYPE, Desired::known(n.connectivity().as_str())),
            (ALLOCATION_ID, eip),
            (TAGS, cx.tags(a, &n.tags)),
        ]))
    }
}

impl Declared for NatGateway {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let subnet = f.required("subnet", cx);
        let connectivity = f.maybe("connectivity", cx);
        let elastic_ip = f.maybe("elastic-ip", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(NatGateway {
            subnet: subnet?,
            connectivity: connectivity.ok()?,
            elastic_ip: elastic_ip.ok()?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let mut eip_users: std::collections::HashMap<&str, &str> = Default::default();
        for nat in items {
            let n = &nat.spec;
            index.check(&n.subnet, ResourceKind::Subnet, "subnet", cx);
            let name = nat.name.value.as_str();
            match (n.connectivity(), &n.elastic_ip) {
                (Connectivity::Public, None) => cx.push(
                    Diagnostic::error(
                        "nat-gateway-elastic-ip",
                        nat.name.span,
                        format!("public NAT gateway `{name}` needs an Elastic IP"),
                    )
                    .with_help("add `elastic-ip: <name>` (declared under `elastic-ips:`), or set `connectivity: private`"),
                ),
                (Connectivity::Private, Some(e)) => cx.push(
                    Diagnostic::error(
                        "nat-gateway-elastic-ip",
                        e.span,
                        format!("private NAT gateway `{name}` takes no Elastic IP"),
                    )
                    .with_help("remove `elastic-ip`, or make the gateway `connectivity: public`"),
                ),
                (_, Some(e)) => {
                    if index.check(e, ResourceKind::ElasticIp, "elastic-ip", cx)
                        && let Some(first) = eip_users.insert(e.value.as_str(), name)
                    {
                        cx.push(
                            Diagnostic::error(
                                "duplicate-elastic-ip",
                                e.span,
                                format!("Elastic IP `{}` is already used by NAT gateway `{first}`", e.value),
                            )
                            .with_help("give each NAT gateway its own Elastic IP"),
                        );
                    }
                }
                (Connectivity::Private, None) => {}
            }
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for n in items {
            let a = b.node(
                Address::new(ResourceKind::NatGateway, &n.name.value),
                n.name.span,
            );
            b.edge(a, Address::new(ResourceKind::Subnet, &n.spec.subnet.value));
            if let Some(e) = &n.spec.elastic_ip {
                b.edge(a, Address::new(ResourceKind::ElasticIp, &e.value));
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("nat-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        if !cx.reference(o, SUBNET_ID, ResourceKind::Subnet, "subnet", &mut m) {
            return None;
        }
        if o.str(CONNECTIVITY_TYPE) == Some(Connectivity::Private.as_str()) {
            m.set("connectivity", Connectivity::Private.as_str());
        }
        if o.str(ALLOCATION_ID).is_some()
            && !cx.reference(
                o,
                ALLOCATION_ID,
                ResourceKind::ElasticIp,
                "elastic-ip",
                &mut m,
            )
        {
            return None;
        }
        Some(m)
    }
}

impl Routable for NatGateway {
    fn check_route(route: &EffectiveRoute, vpc: &str, t: &TopologyIndex<'_>, cx: &mut Cx) {
        let name = &route.target.name;
        // NAT64: AWS's NAT gateways translate 64:ff9b::/96 to IPv4; no other IPv6.
        let nat64 = route.destination.to_string() == "64:ff9b::/96";
        if route.destination.is_ipv6(t) == Some(true) && !nat64 {
            let d = route.destination.label();
            cx.push(
                Diagnostic::error(
                    "route-family",
                    route.span,
                    format!("NAT gateway `{name}` does not translate IPv6, but this route's destination is {d}"),
                )
                .with_help("IPv6 leaves through an egress-only gateway (outbound only) or an internet gateway; a NAT gateway takes only NAT64's 64:ff9b::/96"),
            );
        }
        let Some(nat) = t.nat_gateways.get(name.as_str()) else {
            return;
        };
        let Some(subnet) = t.subnets.get(nat.subnet.value.as_str()) else {
            return;
        };
        if subnet.vpc.value != vpc {
            cx.push(
                Diagnostic::error(
                    "route-nat-other-vpc",
                    route.span,
                    format!(
                        "NAT gateway `{name}` is in VPC `{}`, but route table `{}` is in VPC `{vpc}`",
                        subnet.vpc.value, route.table
                    ),
                )
                .with_help("route to a NAT gateway of the table's own VPC; other VPCs reach it through a transit gateway"),
            );
        }
    }
}
