//! VPCs: a primary IPv4 CIDR block, secondary blocks, the DNS attributes
//! and the DHCP options set.

use ipnet::Ipv4Net;
use schemars::JsonSchema;
use serde_json::Value;

use crate::address::{Address, ResourceKind};
use crate::attr::TAGS;
use crate::decode::{Cx, Fields, common_fields};
use crate::diagnostic::Diagnostic;
use crate::emit::{Map, Yaml};
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::model::{At, Named, Ref, Tags};
use crate::registry::Topology;
use crate::validate::NameIndex;
use crate::yaml::Node;

pub const CIDR_BLOCK: Attr = Attr::new("cidr_block");
/// Secondary IPv4 blocks, compared as a set; only when declared.
pub const SECONDARY_CIDR_BLOCKS: Attr = Attr::new("secondary_cidr_blocks");
/// Whether the VPC has an Amazon-provided IPv6 block; compared only when declared.
pub const AMAZON_IPV6: Attr = Attr::new("amazon_ipv6");
pub const ENABLE_DNS_SUPPORT: Attr = Attr::new("enable_dns_support");
pub const ENABLE_DNS_HOSTNAMES: Attr = Attr::new("enable_dns_hostnames");
/// The DHCP options set the VPC uses (`dopt-…`); compared only when declared.
pub const DHCP_OPTIONS_ID: Attr = Attr::new("dhcp_options_id");
/// Whether the VPC's default security group holds no rule at all.
pub const RESTRICT_DEFAULT_SECURITY_GROUP: Attr = Attr::new("restrict_default_security_group");

/// A VPC: a primary IPv4 CIDR block and optional secondary ones.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Vpc {
    /// IPv4 CIDR block, e.g. `10.1.0.0/16` (changing it replaces the VPC).
    #[schemars(with = "String")]
    pub cidr: At<Ipv4Net>,
    /// More IPv4 blocks for subnets when the first runs out (associated and
    /// disassociated in place); omit to leave the VPC's as they are.
    #[schemars(with = "Option<Vec<String>>")]
    pub secondary_cidrs: Option<Vec<At<Ipv4Net>>>,
    /// An Amazon-provided IPv6 block (a /56; AWS chooses it), associated
    /// and disassociated in place; subnets take /64s of it by `ipv6-index`.
    /// Omit to leave the VPC's as it is.
    pub ipv6: Option<At<bool>>,
    /// Default true.
    pub enable_dns_support: Option<At<bool>>,
    /// Default false.
    pub enable_dns_hostnames: Option<At<bool>>,
    /// Remove every rule of the VPC's default security group (AWS's allow
    /// from itself and to anywhere), so nothing placed in it by mistake can
    /// talk; `false` puts AWS's rules back. Default false.
    pub restrict_default_security_group: Option<At<bool>>,
    /// The DHCP options set its instances get (logical name); omit to leave the VPC's as it is.
    pub dhcp_options: Option<Ref>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`vpcform import` writes it).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl Kind for Vpc {
    const KIND: ResourceKind = ResourceKind::Vpc;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(CIDR_BLOCK, Compare::Cidr),
        AttrSpec::update(SECONDARY_CIDR_BLOCKS, Compare::StringSet),
        AttrSpec::update(AMAZON_IPV6, Compare::Exact),
        AttrSpec::update(ENABLE_DNS_SUPPORT, Compare::Exact),
        AttrSpec::update(ENABLE_DNS_HOSTNAMES, Compare::Exact),
        AttrSpec::update(RESTRICT_DEFAULT_SECURITY_GROUP, Compare::Exact),
        AttrSpec::update(DHCP_OPTIONS_ID, Compare::Id),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let v = cx.index.vpcs.get(a.name.as_str())?;
        let mut d = DesiredAttrs::from([
            (CIDR_BLOCK, Desired::known(v.cidr.value.to_string())),
            (
                ENABLE_DNS_SUPPORT,
                Desired::known(v.enable_dns_support.as_ref().is_none_or(|x| x.value)),
            ),
            (
                ENABLE_DNS_HOSTNAMES,
                Desired::known(v.enable_dns_hostnames.as_ref().is_some_and(|x| x.value)),
            ),
            (
                RESTRICT_DEFAULT_SECURITY_GROUP,
                Desired::known(
                    v.restrict_default_security_group
                        .as_ref()
                        .is_some_and(|x| x.value),
                ),
            ),
            (TAGS, cx.tags(a, &v.tags)),
        ]);
        if let Some(blocks) = &v.secondary_cidrs {
            let blocks: Vec<String> = blocks.iter().map(|b| b.value.to_string()).collect();
            d.insert(SECONDARY_CIDR_BLOCKS, Desired::known(blocks));
        }
        if let Some(ipv6) = &v.ipv6 {
            d.insert(AMAZON_IPV6, Desired::known(ipv6.value));
        }
        if let Some(set) = &v.dhcp_options {
            d.insert(
                DHCP_OPTIONS_ID,
                Desired::id_of(ResourceKind::DhcpOptions, &set.value),
            );
        }
        Some(d)
    }
}

impl Declared for Vpc {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let cidr = f.required("cidr", cx);
        let secondary = f.maybe("secondary-cidrs", cx);
        let ipv6 = f.maybe("ipv6", cx);
        let dns_support = f.maybe("enable-dns-support", cx);
        let dns_hostnames = f.maybe("enable-dns-hostnames", cx);
        let restrict = f.maybe("restrict-default-security-group", cx);
        let dhcp = f.maybe("dhcp-options", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(Vpc {
            cidr: cidr?,
            secondary_cidrs: secondary.ok()?,
            ipv6: ipv6.ok()?,
            enable_dns_support: dns_support.ok()?,
            enable_dns_hostnames: dns_hostnames.ok()?,
            restrict_default_security_group: restrict.ok()?,
            dhcp_options: dhcp.ok()?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        for vpc in items {
            check_cidr_size(&vpc.spec.cidr, "a VPC", cx);
            check_secondary(vpc, cx);
            if let Some(set) = &vpc.spec.dhcp_options {
                index.check(set, ResourceKind::DhcpOptions, "dhcp-options", cx);
            }
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for r in items {
            let a = b.node(Address::new(ResourceKind::Vpc, &r.name.value), r.name.span);
            if let Some(set) = &r.spec.dhcp_options {
                b.edge(a, Address::new(ResourceKind::DhcpOptions, &set.value));
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("vpc-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        m.set("cidr", o.str(CIDR_BLOCK)?);
        let secondary: Vec<Yaml> = o
            .get(SECONDARY_CIDR_BLOCKS)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(Yaml::from).collect())
            .unwrap_or_default();
        if !secondary.is_empty() {
            m.list("secondary-cidrs", secondary);
        }
        if o.get(AMAZON_IPV6) == Some(&Value::Bool(true)) {
            m.set("ipv6", true);
        }
        // AWS's default set is not declared: the VPC keeps it unmanaged.
        cx.reference(
            o,
            DHCP_OPTIONS_ID,
            ResourceKind::DhcpOptions,
            "dhcp-options",
            &mut m,
        );
        if o.get(ENABLE_DNS_SUPPORT) == Some(&Value::Bool(false)) {
            m.set("enable-dns-support", false);
        }
        if o.get(RESTRICT_DEFAULT_SECURITY_GROUP) == Some(&Value::Bool(true)) {
            m.set("restrict-default-security-group", true);
        }
        if o.get(ENABLE_DNS_HOSTNAMES) == Some(&Value::Bool(true)) {
            m.set("enable-dns-hostnames", true);
        }
        Some(m)
    }
}

impl Vpc {
    /// Whether the topology gives the VPC an IPv6 block.
    pub fn has_ipv6(&self) -> bool {
        self.ipv6.as_ref().is_some_and(|x| x.value)
    }

    /// Every IPv4 block: the primary, then the secondary ones.
    pub fn cidrs(&self) -> impl Iterator<Item = Ipv4Net> + '_ {
        std::iter::once(self.cidr.value)
            .chain(self.secondary_cidrs.iter().flatten().map(|c| c.value))
    }
}

/// Secondary blocks of the right size, apart from each other and the primary.
fn check_secondary(vpc: &Named<Vpc>, cx: &mut Cx) {
    let mut seen = vec![vpc.spec.cidr.value];
    for block in vpc.spec.secondary_cidrs.iter().flatten() {
        check_cidr_size(block, "a VPC", cx);
        if let Some(other) = seen
            .iter()
            .find(|o| o.contains(&block.value) || block.value.contains(*o))
        {
            cx.push(
                Diagnostic::error(
                    "secondary-cidr-overlap",
                    block.span,
                    format!(
                        "{} overlaps {other}, already a block of VPC `{}`",
                        block.value, vpc.name.value
                    ),
                )
                .with_help("a VPC's blocks must not overlap"),
            );
        }
        seen.push(block.value);
    }
}

/// AWS accepts VPC and subnet blocks from /16 to /28.
pub(crate) fn check_cidr_size(cidr: &At<Ipv4Net>, what: &str, cx: &mut Cx) {
    if !(16..=28).contains(&cidr.value.prefix_len()) {
        cx.push(
            Diagnostic::error(
                "cidr-size",
                cidr.span,
                format!(
                    "{what}'s CIDR block must be between /16 and /28, not /{}",
                    cidr.value.prefix_len()
                ),
            )
            .with_help("choose a prefix length from 16 to 28"),
        );
    }
}
