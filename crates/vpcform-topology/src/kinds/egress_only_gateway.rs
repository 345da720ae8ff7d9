//! Egress-only internet gateways: IPv6 out of one VPC, never in (AWS keeps
//! the connection state, so replies return). AWS creates one already
//! attached to its VPC; changing the VPC replaces it.

use schemars::JsonSchema;

use crate::address::{Address, ResourceKind};
use crate::attr::{TAGS, VPC_ID};
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

/// An egress-only internet gateway of one VPC.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct EgressOnlyGateway {
    /// Logical name of the VPC (changing it replaces the gateway).
    pub vpc: Ref,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`vpcform import` writes it).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl Kind for EgressOnlyGateway {
    const KIND: ResourceKind = ResourceKind::EgressOnlyGateway;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(VPC_ID, Compare::Exact),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let g = cx.index.egress_only_gateways.get(a.name.as_str())?;
        Some(DesiredAttrs::from([
            (VPC_ID, Desired::id_of(ResourceKind::Vpc, &g.vpc.value)),
            (TAGS, cx.tags(a, &g.tags)),
        ]))
    }
}

impl Declared for EgressOnlyGateway {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let vpc = f.required("vpc", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(EgressOnlyGateway {
            vpc: vpc?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        for g in items {
            index.check(&g.spec.vpc, ResourceKind::Vpc, "vpc", cx);
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for r in items {
            let a = b.node(
                Address::new(ResourceKind::EgressOnlyGateway, &r.name.value),
                r.name.span,
            );
            b.edge(a, Address::new(ResourceKind::Vpc, &r.spec.vpc.value));
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("eigw-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        let vpc = cx.name_of(ResourceKind::Vpc, o.str(VPC_ID)?)?;
        m.set("vpc", vpc);
        Some(m)
    }
}

impl Routable for EgressOnlyGateway {
    /// IPv6 destinations only, through the gateway of the table's own VPC.
    fn check_route(route: &EffectiveRoute, vpc: &str, t: &TopologyIndex<'_>, cx: &mut Cx) {
        let name = &route.target.name;
        if route.destination.is_ipv6(t) == Some(false) {
            cx.push(
                Diagnostic::error(
                    "route-family",
                    route.span,
                    format!(
                        "egress-only gateway `{name}` carries IPv6 only, but this route's destination is {}",
                        route.destination.label()
                    ),
                )
                .with_help("route IPv6 destinations (`::/0`) to it; IPv4 leaves through a NAT gateway or an internet gateway"),
            );
        }
        let Some(g) = t.egress_only_gateways.get(name.as_str()) else {
            return;
        };
        if g.vpc.value != vpc && t.vpcs.contains_key(g.vpc.value.as_str()) {
            cx.push(
                Diagnostic::error(
                    "route-gateway-other-vpc",
                    route.span,
                    format!(
                        "egress-only gateway `{name}` belongs to VPC `{}`, but route table `{}` is in VPC `{vpc}`",
                        g.vpc.value, route.table
                    ),
                )
                .with_help("route to the egress-only gateway of the table's own VPC"),
            );
        }
    }
}
