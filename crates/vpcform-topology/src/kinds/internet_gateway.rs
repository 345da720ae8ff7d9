//! Internet gateways and their attachment to one VPC (an implicit object).

use std::collections::HashMap;

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

pub const INTERNET_GATEWAY_ID: Attr = Attr::new("internet_gateway_id");

/// An internet gateway attached to one VPC.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct InternetGateway {
    pub vpc: Ref,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`vpcform import` writes it).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl Kind for InternetGateway {
    const KIND: ResourceKind = ResourceKind::InternetGateway;
    const ATTRS: &'static [AttrSpec] = &[crate::attr::TAGS_SPEC];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let g = cx.index.internet_gateways.get(a.name.as_str())?;
        Some(DesiredAttrs::from([(TAGS, cx.tags(a, &g.tags))]))
    }
}

impl Declared for InternetGateway {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let vpc = f.required("vpc", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(InternetGateway {
            vpc: vpc?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let mut igw_of_vpc: HashMap<&str, &Named<InternetGateway>> = HashMap::new();
        for igw in items {
            if !index.check(&igw.spec.vpc, ResourceKind::Vpc, "vpc", cx) {
                continue;
            }
            if let Some(first) = igw_of_vpc.insert(igw.spec.vpc.value.as_str(), igw) {
                cx.push(
                    Diagnostic::error(
                        "duplicate-internet-gateway",
                        igw.spec.vpc.span,
                        format!(
                            "VPC `{}` already has internet gateway `{}`",
                            igw.spec.vpc.value, first.name.value
                        ),
                    )
                    .with_related(first.name.span, "the first gateway")
                    .with_help("AWS attaches at most one internet gateway to a VPC; remove one"),
                );
            }
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        use ResourceKind as K;
        for r in items {
            b.node(Address::new(K::InternetGateway, &r.name.value), r.name.span);
            let att = b.node(
                Address::new(K::InternetGatewayAttachment, &r.name.value),
                r.spec.vpc.span,
            );
            b.edge(att, Address::new(K::InternetGateway, &r.name.value));
            b.edge(att, Address::new(K::Vpc, &r.spec.vpc.value));
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("igw-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let vpc = o
            .children_of(ResourceKind::InternetGatewayAttachment)
            .find_map(|a| VPC_ID.str(a))
            .and_then(|id| cx.name_of(ResourceKind::Vpc, id))?;
        let mut m = Map::new();
        m.set("vpc", vpc);
        Some(m)
    }
}

/// The gateway's attachment to its VPC: changing the VPC detaches and re-attaches.
#[derive(Debug)]
pub struct Attachment;

impl Kind for Attachment {
    const KIND: ResourceKind = ResourceKind::InternetGatewayAttachment;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(INTERNET_GATEWAY_ID, Compare::Exact),
        AttrSpec::replace(VPC_ID, Compare::Exact),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let name = a.name.as_str();
        let g = cx.index.internet_gateways.get(name)?;
        Some(DesiredAttrs::from([
            (
                INTERNET_GATEWAY_ID,
                Desired::id_of(ResourceKind::InternetGateway, name),
            ),
            (VPC_ID, Desired::id_of(ResourceKind::Vpc, &g.vpc.value)),
        ]))
    }
}

impl Routable for InternetGateway {
    /// The gateway must be attached before a route can use it.
    fn route_dependency(name: &str, _: &str, _: &Topology) -> Address {
        Address::new(ResourceKind::InternetGatewayAttachment, name)
    }

    fn check_route(route: &EffectiveRoute, vpc: &str, t: &TopologyIndex<'_>, cx: &mut Cx) {
        let name = &route.target.name;
        let Some(igw) = t.internet_gateways.get(name.as_str()) else {
            return;
        };
        if igw.vpc.value != vpc && t.vpcs.contains_key(igw.vpc.value.as_str()) {
            cx.push(
                Diagnostic::error(
                    "route-gateway-other-vpc",
                    route.span,
                    format!(
                        "internet gateway `{name}` is attached to VPC `{}`, but route table `{}` is in VPC `{vpc}`",
                        igw.vpc.value, route.table
                    ),
                )
                .with_help("route to the internet gateway of the table's own VPC"),
            );
        }
    }
}
