//! Subnets: a CIDR block inside their VPC's, not overlapping their siblings.

use std::collections::BTreeMap;

use ipnet::Ipv4Net;
use schemars::JsonSchema;
use serde_json::Value;

use crate::address::{Address, ResourceKind};
use crate::attr::{TAGS, VPC_ID};
use crate::decode::{Cx, Fields, common_fields};
use crate::diagnostic::Diagnostic;
use crate::emit::Map;
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::model::{At, Named, Ref, Tags};
use crate::registry::Topology;
use crate::validate::{NameIndex, by_name};
use crate::yaml::Node;

pub const CIDR_BLOCK: Attr = crate::kinds::vpc::CIDR_BLOCK;
pub const AVAILABILITY_ZONE: Attr = Attr::new("availability_zone");
pub const MAP_PUBLIC_IP_ON_LAUNCH: Attr = Attr::new("map_public_ip_on_launch");
/// Which /64 of its VPC's IPv6 /56 the subnet has (null: none); compared
/// when the VPC declares `ipv6`.
pub const IPV6_INDEX: Attr = Attr::new("ipv6_index");
pub const ASSIGN_IPV6_ADDRESS_ON_CREATION: Attr = Attr::new("assign_ipv6_address_on_creation");

#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Subnet {
    /// Logical name of the VPC.
    pub vpc: Ref,
    /// IPv4 CIDR block inside the VPC's.
    #[schemars(with = "String")]
    pub cidr: At<Ipv4Net>,
    /// e.g. `us-east-1a`; AWS picks one when omitted.
    pub availability_zone: Option<At<String>>,
    /// Give instances launched here a public IPv4 address. Default false.
    pub map_public_ip_on_launch: Option<At<bool>>,
    /// Which /64 of the VPC's IPv6 block the subnet takes (0 to 255; the
    /// VPC needs `ipv6: true`); changed in place.
    pub ipv6_index: Option<At<i64>>,
    /// Give each interface launched here an IPv6 address. Default false.
    pub assign_ipv6_on_creation: Option<At<bool>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`vpcform import` writes it).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl Kind for Subnet {
    const KIND: ResourceKind = ResourceKind::Subnet;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(VPC_ID, Compare::Exact),
        AttrSpec::replace(CIDR_BLOCK, Compare::Cidr),
        AttrSpec::replace(AVAILABILITY_ZONE, Compare::Exact),
        AttrSpec::update(MAP_PUBLIC_IP_ON_LAUNCH, Compare::Exact),
        AttrSpec::update(IPV6_INDEX, Compare::Exact),
        AttrSpec::update(ASSIGN_IPV6_ADDRESS_ON_CREATION, Compare::Exact),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let s = cx.index.subnets.get(a.name.as_str())?;
        let mut d = DesiredAttrs::from([
            (VPC_ID, Desired::id_of(ResourceKind::Vpc, &s.vpc.value)),
            (CIDR_BLOCK, Desired::known(s.cidr.value.to_string())),
            (
                MAP_PUBLIC_IP_ON_LAUNCH,
                Desired::known(s.map_public_ip_on_launch.as_ref().is_some_and(|x| x.value)),
            ),
            (TAGS, cx.tags(a, &s.tags)),
        ]);
        if let Some(az) = &s.availability_zone {
            d.insert(AVAILABILITY_ZONE, Desired::known(az.value.clone()));
        }
        // Only where the VPC manages IPv6, so other subnets' hashes stay as they were.
        let vpc = cx.index.vpcs.get(s.vpc.value.as_str());
        if vpc.is_some_and(|v| v.ipv6.is_some()) {
            let index = s
                .ipv6_index
                .as_ref()
                .map_or(Value::Null, |i| i.value.into());
            d.insert(IPV6_INDEX, Desired::Known(index));
            d.insert(
                ASSIGN_IPV6_ADDRESS_ON_CREATION,
                Desired::known(s.assigns_ipv6()),
            );
        }
        Some(d)
    }
}

impl Declared for Subnet {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let vpc = f.required("vpc", cx);
        let cidr = f.required("cidr", cx);
        let az = f.maybe("availability-zone", cx);
        let public = f.maybe("map-public-ip-on-launch", cx);
        let ipv6_index = f.maybe("ipv6-index", cx);
        let assign_ipv6 = f.maybe("assign-ipv6-on-creation", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(Subnet {
            vpc: vpc?,
            cidr: cidr?,
            availability_zone: az.ok()?,
            map_public_ip_on_launch: public.ok()?,
            ipv6_index: ipv6_index.ok()?,
            assign_ipv6_on_creation: assign_ipv6.ok()?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let vpcs = by_name(&t.vpcs);
        let mut by_vpc: BTreeMap<&str, Vec<&Named<Subnet>>> = BTreeMap::new();
        for subnet in items {
            let s = &subnet.spec;
            crate::kinds::vpc::check_cidr_size(&s.cidr, "a subnet", cx);
            if !index.check(&s.vpc, ResourceKind::Vpc, "vpc", cx) {
                continue;
            }
            let Some(vpc) = vpcs.get(s.vpc.value.as_str()) else {
                continue;
            };
            if !vpc.spec.cidrs().any(|b| b.contains(&s.cidr.value)) {
                cx.push(
                    Diagnostic::error(
                        "subnet-outside-vpc",
                        s.cidr.span,
                        format!(
                            "subnet `{}` ({}) is not inside its VPC `{}` ({})",
                            subnet.name.value, s.cidr.value, vpc.name.value, vpc.spec.cidr.value
                        ),
                    )
                    .with_related(
                        vpc.spec.cidr.span,
                        format!(
                            "VPC `{}` is declared with {}",
                            vpc.name.value, vpc.spec.cidr.value
                        ),
                    )
                    .with_help(format!(
                        "choose a CIDR block inside {}, or add a block to the VPC's `secondary-cidrs`",
                        vpc.spec.cidr.value
                    )),
                );
            }
            check_ipv6(subnet, vpc, cx);
            by_vpc.entry(s.vpc.value.as_str()).or_default().push(subnet);
        }
        for list in by_vpc.values_mut() {
            check_overlaps(list, cx);
            check_ipv6_indexes(list, cx);
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for r in items {
            let a = b.node(
                Address::new(ResourceKind::Subnet, &r.name.value),
                r.name.span,
            );
            b.edge(a, Address::new(ResourceKind::Vpc, &r.spec.vpc.value));
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("subnet-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        if !cx.reference(o, VPC_ID, ResourceKind::Vpc, "vpc", &mut m) {
            return None;
        }
        let cidr = o.str(CIDR_BLOCK)?;
        if !in_a_block(o, cidr, cx) {
            cx.leave_out(
                &o.id,
                format!("subnet {} ({cidr}), outside its VPC's associated blocks", o.id),
                "its block is not associated with the VPC; the subnet and what is in it stay as they are",
            );
            return None;
        }
        m.set("cidr", cidr);
        // Written even where AWS chose it: changing it replaces the subnet.
        m.maybe("availability-zone", o.str(AVAILABILITY_ZONE));
        if o.get(MAP_PUBLIC_IP_ON_LAUNCH) == Some(&Value::Bool(true)) {
            m.set("map-public-ip-on-launch", true);
        }
        if let Some(index) = o.get(IPV6_INDEX).and_then(Value::as_i64) {
            m.set("ipv6-index", index);
        }
        if o.get(ASSIGN_IPV6_ADDRESS_ON_CREATION) == Some(&Value::Bool(true)) {
            m.set("assign-ipv6-on-creation", true);
        }
        Some(m)
    }
}

impl Subnet {
    /// Whether interfaces launched here get an IPv6 address.
    pub fn assigns_ipv6(&self) -> bool {
        self.assign_ipv6_on_creation
            .as_ref()
            .is_some_and(|x| x.value)
    }
}

/// The /64 of the subnet at `index` in the VPC's /56 (AWS's scheme: the
/// index is the block's eighth byte).
pub fn ipv6_subnet(vpc_block: ipnet::Ipv6Net, index: u8) -> ipnet::Ipv6Net {
    let mut octets = vpc_block.network().octets();
    octets[7] = index;
    ipnet::Ipv6Net::new(octets.into(), 64).expect("a /64")
}

/// A subnet's IPv6 settings need its VPC's block, and an index AWS takes.
fn check_ipv6(subnet: &Named<Subnet>, vpc: &Named<crate::kinds::vpc::Vpc>, cx: &mut Cx) {
    let s = &subnet.spec;
    if let Some(index) = &s.ipv6_index {
        if !(0..=255).contains(&index.value) {
            cx.push(
                Diagnostic::error(
                    "ipv6-index",
                    index.span,
                    format!(
                        "`ipv6-index` is {}, but a VPC's /56 holds /64s 0 to 255",
                        index.value
                    ),
                )
                .with_help("choose an index from 0 to 255"),
            );
        }
        if !vpc.spec.has_ipv6() {
            cx.push(
                Diagnostic::error(
                    "subnet-ipv6-without-vpc-block",
                    index.span,
                    format!(
                        "subnet `{}` takes IPv6 /64 number {}, but VPC `{}` does not declare `ipv6: true`",
                        subnet.name.value, index.value, vpc.name.value
                    ),
                )
                .with_help(format!("set `ipv6: true` on VPC `{}`", vpc.name.value)),
            );
        }
    }
    if let Some(assign) = s.assign_ipv6_on_creation.as_ref().filter(|a| a.value)
        && s.ipv6_index.is_none()
    {
        cx.push(
            Diagnostic::error(
                "subnet-ipv6-without-vpc-block",
                assign.span,
                format!(
                    "subnet `{}` assigns IPv6 addresses but has no IPv6 block",
                    subnet.name.value
                ),
            )
            .with_help("give the subnet an `ipv6-index` (its /64 of the VPC's block)"),
        );
    }
}

/// Two subnets of one VPC cannot take the same /64.
fn check_ipv6_indexes(list: &[&Named<Subnet>], cx: &mut Cx) {
    let mut seen: BTreeMap<i64, &Named<Subnet>> = BTreeMap::new();
    for subnet in list {
        let Some(index) = &subnet.spec.ipv6_index else {
            continue;
        };
        if let Some(first) = seen.insert(index.value, subnet) {
            cx.push(
                Diagnostic::error(
                    "overlapping-subnets",
                    index.span,
                    format!(
                        "subnet `{}` takes IPv6 /64 number {}, like subnet `{}`",
                        subnet.name.value, index.value, first.name.value
                    ),
                )
                .with_related(
                    first.name.span,
                    format!("`{}` is declared here", first.name.value),
                )
                .with_help("give each subnet of a VPC its own `ipv6-index`"),
            );
        }
    }
}

/// Whether a subnet lies in its VPC's primary CIDR block (the one a VPC declares).
fn in_a_block(o: &Observed, cidr: &str, cx: &ExportCx) -> bool {
    let blocks = o.str(VPC_ID).map(|v| cx.vpc_cidrs(v)).unwrap_or_default();
    match cidr.parse::<Ipv4Net>() {
        Ok(subnet) if !blocks.is_empty() => blocks.iter().any(|b| b.contains(&subnet)),
        _ => true,
    }
}

/// Subnets of one VPC must not share addresses: sorted by start, each is
/// compared with the widest reaching block before it.
fn check_overlaps(list: &mut [&Named<Subnet>], cx: &mut Cx) {
    list.sort_by_key(|s| (s.spec.cidr.value.network(), s.spec.cidr.value.prefix_len()));
    let mut widest: Option<&Named<Subnet>> = None;
    for subnet in list.iter() {
        let Some(prev) = widest else {
            widest = Some(subnet);
            continue;
        };
        if prev
            .spec
            .cidr
            .value
            .contains(&subnet.spec.cidr.value.network())
        {
            cx.push(
                Diagnostic::error(
                    "overlapping-subnets",
                    subnet.spec.cidr.span,
                    format!(
                        "subnet `{}` ({}) overlaps subnet `{}` ({})",
                        subnet.name.value,
                        subnet.spec.cidr.value,
                        prev.name.value,
                        prev.spec.cidr.value
                    ),
                )
                .with_related(
                    prev.spec.cidr.span,
                    format!("`{}` is declared here", prev.name.value),
                )
                .with_help("subnets of one VPC must not share addresses; choose a free range"),
            );
        }
        if subnet.spec.cidr.value.broadcast() > prev.spec.cidr.value.broadcast() {
            widest = Some(subnet);
        }
    }
}
