//! VPC peering connections in one account and region; vpcform accepts them itself.

use std::collections::{HashMap, HashSet};

use schemars::JsonSchema;

use crate::address::{Address, ResourceKind};
use crate::attr::TAGS;
use crate::decode::{Cx, Fields, common_fields};
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

pub const REQUESTER_VPC_ID: Attr = Attr::new("requester_vpc_id");
pub const ACCEPTER_VPC_ID: Attr = Attr::new("accepter_vpc_id");
pub const STATUS: Attr = Attr::new("status");
/// The status of a peering that carries traffic.
pub const ACTIVE: &str = "active";

/// A VPC peering connection in one account and region; vpcform accepts it itself.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Peering {
    /// Logical name of the requester VPC.
    pub requester: Ref,
    /// Logical name of the accepter VPC.
    pub accepter: Ref,
    /// Add a route to the peer's CIDR through this peering in every route table of both VPCs.
    pub add_routes: Option<At<bool>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`vpcform import` writes it).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl Kind for Peering {
    const KIND: ResourceKind = ResourceKind::VpcPeering;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(REQUESTER_VPC_ID, Compare::Exact),
        AttrSpec::replace(ACCEPTER_VPC_ID, Compare::Exact),
        AttrSpec::update(STATUS, Compare::Exact),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let p = cx.index.peerings.get(a.name.as_str())?;
        Some(DesiredAttrs::from([
            (
                REQUESTER_VPC_ID,
                Desired::id_of(ResourceKind::Vpc, &p.requester.value),
            ),
            (
                ACCEPTER_VPC_ID,
                Desired::id_of(ResourceKind::Vpc, &p.accepter.value),
            ),
            (STATUS, Desired::known(ACTIVE)),
            (TAGS, cx.tags(a, &p.tags)),
        ]))
    }
}

impl Declared for Peering {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let requester = f.required("requester", cx);
        let accepter = f.required("accepter", cx);
        let add_routes = f.maybe("add-routes", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(Peering {
            requester: requester?,
            accepter: accepter?,
            add_routes: add_routes.ok()?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let mut pairs: HashMap<(&str, &str), &str> = HashMap::new();
        for peering in items {
            let p = &peering.spec;
            let ok_r = index.check(&p.requester, ResourceKind::Vpc, "requester", cx);
            let ok_a = index.check(&p.accepter, ResourceKind::Vpc, "accepter", cx);
            if !(ok_r && ok_a) {
                continue;
            }
            if p.requester.value == p.accepter.value {
                cx.push(
                    Diagnostic::error(
                        "peering-self",
                        p.accepter.span,
                        "a VPC cannot peer with itself",
                    )
                    .with_help("name two different VPCs as requester and accepter"),
                );
                continue;
            }
            let key = pair(&p.requester.value, &p.accepter.value);
            if let Some(first) = pairs.insert(key, peering.name.value.as_str()) {
                cx.push(
                    Diagnostic::error(
                        "duplicate-peering",
                        peering.name.span,
                        format!(
                            "VPCs `{}` and `{}` are already peered by `{first}`",
                            key.0, key.1
                        ),
                    )
                    .with_help("AWS allows one active peering between two VPCs; remove one"),
                );
            }
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for r in items {
            let a = b.node(
                Address::new(ResourceKind::VpcPeering, &r.name.value),
                r.name.span,
            );
            b.edge(a, Address::new(ResourceKind::Vpc, &r.spec.requester.value));
            b.edge(a, Address::new(ResourceKind::Vpc, &r.spec.accepter.value));
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("pcx-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        for (attr, key) in [
            (REQUESTER_VPC_ID, "requester"),
            (ACCEPTER_VPC_ID, "accepter"),
        ] {
            if !cx.reference(o, attr, ResourceKind::Vpc, key, &mut m) {
                let vpc = o.str(attr).unwrap_or_default();
                cx.leave_out(
                    &o.id,
                    format!("the peering with {vpc}"),
                    format!("{vpc} is not imported; add `--vpc {vpc}` to import the peering"),
                );
                return None;
            }
        }
        Some(m)
    }
}

impl Peering {
    /// Whether both ends name two different declared VPCs.
    pub(crate) fn connects_vpcs(&self, index: &NameIndex<'_>) -> bool {
        index.kind_of(&self.requester.value) == Some(ResourceKind::Vpc)
            && index.kind_of(&self.accepter.value) == Some(ResourceKind::Vpc)
            && self.requester.value != self.accepter.value
    }
}

/// The two VPC names in a canonical order.
fn pair<'a>(x: &'a str, y: &'a str) -> (&'a str, &'a str) {
    if x < y { (x, y) } else { (y, x) }
}

/// Which pairs of VPCs a valid peering connects.
#[derive(Debug, Default)]
pub(crate) struct PeeredPairs<'t>(HashSet<(&'t str, &'t str)>);

impl PeeredPairs<'_> {
    pub(crate) fn contains(&self, x: &str, y: &str) -> bool {
        self.0.contains(&pair(x, y))
    }
}

pub(crate) fn peered_pairs<'t>(t: &'t Topology, index: &NameIndex<'_>) -> PeeredPairs<'t> {
    PeeredPairs(
        t.peerings
            .iter()
            .filter(|p| p.spec.connects_vpcs(index))
            .map(|p| pair(&p.spec.requester.value, &p.spec.accepter.value))
            .collect(),
    )
}

impl Routable for Peering {
    fn check_route(route: &EffectiveRoute, vpc: &str, t: &TopologyIndex<'_>, cx: &mut Cx) {
        let name = &route.target.name;
        let Some(peering) = t.peerings.get(name.as_str()) else {
            return;
        };
        let (req, acc) = (
            peering.requester.value.as_str(),
            peering.accepter.value.as_str(),
        );
        let peer = if req == vpc {
            acc
        } else if acc == vpc {
            req
        } else {
            cx.push(
                Diagnostic::error(
                    "route-peering-other-vpc",
                    route.span,
                    format!("peering `{name}` connects `{req}` and `{acc}`, not route table `{}`'s VPC `{vpc}`", route.table),
                )
                .with_help("route only through a peering of the table's own VPC"),
            );
            return;
        };
        let Some(peer_vpc) = t.vpcs.get(peer) else {
            return;
        };
        let inside = match &route.destination {
            crate::route::Destination::Cidr(ipnet::IpNet::V4(d)) => {
                peer_vpc.cidrs().any(|c| c.contains(d))
            }
            // The peer's IPv6 block is Amazon's to choose: known only once it exists.
            crate::route::Destination::Cidr(ipnet::IpNet::V6(_)) => peer_vpc.has_ipv6(),
            // A list's entries may lie anywhere: AWS routes them through the peering as they are.
            crate::route::Destination::PrefixList(_) => true,
        };
        if !inside && route.destination.is_ipv6(t) == Some(true) {
            cx.push(
                Diagnostic::error(
                    "route-outside-peer",
                    route.span,
                    format!("route to {} through peering `{name}`: the peer VPC `{peer}` has no IPv6 block", route.destination),
                )
                .with_help(format!("set `ipv6: true` on VPC `{peer}`, or route only IPv4 through the peering")),
            );
        } else if !inside {
            cx.push(
                Diagnostic::error(
                    "route-outside-peer",
                    route.span,
                    format!("route to {} through peering `{name}` lies outside the peer VPC `{peer}` ({})", route.destination, peer_vpc.cidr.value),
                )
                .with_help(format!("use a destination inside {}, usually exactly that", peer_vpc.cidr.value)),
            );
        }
    }
}
