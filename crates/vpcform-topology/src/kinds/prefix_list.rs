//! Customer-managed prefix lists: a named set of CIDRs with descriptions
//! that security-group rules name as their peer (`prefix-list: NAME`).
//! Entries and the maximum are changed in place, in separate calls (AWS
//! refuses both at once): the maximum grows before entries are added and
//! shrinks after they are removed. The address family cannot change.

use std::collections::{BTreeMap, HashMap};

use ipnet::IpNet;
use schemars::JsonSchema;
use serde_json::Value;

use crate::address::{Address, ResourceKind};
use crate::attr::TAGS;
use crate::decode::{Cx, Fields, FromNode, common_fields, list_of};
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
use crate::validate::NameIndex;
use crate::yaml::Node;

pub const PREFIX_LIST_NAME: Attr = Attr::new("prefix_list_name");
pub const ADDRESS_FAMILY: Attr = Attr::new("address_family");
pub const MAX_ENTRIES: Attr = Attr::new("max_entries");
/// The entries as one object, CIDR (canonical) → description (`""` for none).
pub const ENTRIES: Attr = Attr::new("entries");

/// AWS's limit on a customer-managed list's maximum number of entries.
pub const MAX_ENTRIES_LIMIT: i64 = 1000;

/// Names AWS keeps for its own lists.
const RESERVED_PREFIX: &str = "com.amazonaws";

/// Whether `name` is an AWS-managed list's (`com.amazonaws.us-east-1.s3`,
/// `com.amazonaws.global.cloudfront.origin-facing`): rules name those by
/// AWS's name, not a declaration.
pub fn is_aws_managed(name: &str) -> bool {
    name.starts_with(&format!("{RESERVED_PREFIX}."))
}

/// The service of AWS's list of a service's addresses in `region`
/// (`com.amazonaws.us-east-1.s3` → `s3`).
pub fn aws_service_of<'n>(name: &'n str, region: &str) -> Option<&'n str> {
    name.strip_prefix(&format!("{RESERVED_PREFIX}.{region}."))
}

/// The region an AWS-managed list's name is bound to (`None`: a global list).
pub fn aws_list_region(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(&format!("{RESERVED_PREFIX}."))?;
    let (region, _) = rest.split_once('.')?;
    (region != "global").then_some(region)
}

/// The kind of addresses a list holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum AddressFamily {
    #[default]
    IPv4,
    IPv6,
}

impl AddressFamily {
    /// AWS's `AddressFamily`.
    pub fn as_str(self) -> &'static str {
        match self {
            AddressFamily::IPv4 => "IPv4",
            AddressFamily::IPv6 => "IPv6",
        }
    }

    fn holds(self, net: &IpNet) -> bool {
        match (self, net) {
            (AddressFamily::IPv4, IpNet::V4(_)) | (AddressFamily::IPv6, IpNet::V6(_)) => true,
            (AddressFamily::IPv4, IpNet::V6(_)) | (AddressFamily::IPv6, IpNet::V4(_)) => false,
        }
    }
}

impl FromNode for AddressFamily {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::from_node(node, cx)?;
        match text.as_str() {
            "IPv4" | "ipv4" => Some(AddressFamily::IPv4),
            "IPv6" | "ipv6" => Some(AddressFamily::IPv6),
            _ => {
                cx.push(
                    Diagnostic::error(
                        "invalid-value",
                        node.span,
                        format!("unknown address family `{text}`"),
                    )
                    .with_help("use `IPv4` or `IPv6`"),
                );
                None
            }
        }
    }
}

/// One entry: a CIDR and what it is.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Entry {
    #[schemars(with = "String")]
    pub cidr: At<IpNet>,
    pub description: Option<At<String>>,
}

/// A customer-managed prefix list.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PrefixList {
    /// The list's name in AWS; defaults to the logical name.
    pub name: Option<At<String>>,
    /// `IPv4` (default) or `IPv6`. Changing it replaces the list.
    #[schemars(with = "Option<AddressFamily>")]
    pub address_family: Option<At<AddressFamily>>,
    /// How many entries the list may hold (AWS counts this many rules
    /// against the quota of every group whose rules name the list);
    /// defaults to the number of entries.
    pub max_entries: Option<At<i64>>,
    #[schemars(default)]
    pub entries: Vec<Entry>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The id of an existing list this declaration adopts (`pl-…`).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl PrefixList {
    pub fn address_family(&self) -> AddressFamily {
        self.address_family
            .as_ref()
            .map(|f| f.value)
            .unwrap_or_default()
    }

    /// The declared maximum, else the number of entries (at least one).
    pub fn max_entries(&self) -> i64 {
        self.max_entries
            .as_ref()
            .map_or((self.entries.len() as i64).max(1), |m| m.value)
    }

    /// The entries as the plan compares them.
    pub fn entries_value(&self) -> Value {
        entries_value(self.entries.iter().map(|e| {
            (
                e.cidr.value,
                e.description.as_ref().map(|d| d.value.as_str()),
            )
        }))
    }
}

/// Entries as one comparable object: canonical CIDR → description.
pub fn entries_value<'a>(entries: impl Iterator<Item = (IpNet, Option<&'a str>)>) -> Value {
    let map: BTreeMap<String, Value> = entries
        .map(|(cidr, d)| (cidr.trunc().to_string(), Value::from(d.unwrap_or_default())))
        .collect();
    Value::Object(map.into_iter().collect())
}

impl Kind for PrefixList {
    const KIND: ResourceKind = ResourceKind::PrefixList;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::update(PREFIX_LIST_NAME, Compare::Exact),
        AttrSpec::replace(ADDRESS_FAMILY, Compare::Exact),
        AttrSpec::update(MAX_ENTRIES, Compare::Exact),
        AttrSpec::update(ENTRIES, Compare::Exact),
        crate::attr::TAGS_SPEC,
    ];

    /// Rules name the list by id: the new list exists before they move to it.
    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::CreateFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let p = cx.index.prefix_lists.get(a.name.as_str())?;
        let name = p
            .name
            .as_ref()
            .map_or(a.name.as_str(), |n| n.value.as_str());
        Some(DesiredAttrs::from([
            (PREFIX_LIST_NAME, Desired::known(name)),
            (ADDRESS_FAMILY, Desired::known(p.address_family().as_str())),
            (MAX_ENTRIES, Desired::known(p.max_entries())),
            (ENTRIES, Desired::Known(p.entries_value())),
            (TAGS, cx.tags(a, &p.tags)),
        ]))
    }
}

impl Declared for PrefixList {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let name = f.maybe("name", cx);
        let family = f.maybe("address-family", cx);
        let max = f.maybe("max-entries", cx);
        let entries = f
            .take("entries")
            .map(|n| list_of(n, cx, |n, cx| decode_entry(n, what, cx)));
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(PrefixList {
            name: name.ok()?,
            address_family: family.ok()?,
            max_entries: max.ok()?,
            entries: entries.unwrap_or(Some(Vec::new()))?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, _: &NameIndex<'_>, cx: &mut Cx) {
        let mut names: HashMap<&str, Span> = HashMap::new();
        for list in items {
            let p = &list.spec;
            let (name, span) = p
                .name
                .as_ref()
                .map_or((list.name.value.as_str(), list.name.span), |n| {
                    (n.value.as_str(), n.span)
                });
            if name.starts_with(RESERVED_PREFIX) {
                cx.push(
                    Diagnostic::error(
                        "invalid-prefix-list-name",
                        span,
                        format!("`{name}` is reserved for AWS's own prefix lists"),
                    )
                    .with_help("choose a name that does not start with `com.amazonaws`"),
                );
            }
            if let Some(first) = names.insert(name, span) {
                cx.push(
                    Diagnostic::error(
                        "duplicate-prefix-list-name",
                        span,
                        format!("another prefix list is already named `{name}`"),
                    )
                    .with_related(first, "the first list")
                    .with_help("set `name:` to tell them apart"),
                );
            }
            check_entries(&list.name.value, p, cx);
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for p in items {
            b.node(
                Address::new(ResourceKind::PrefixList, &p.name.value),
                p.name.span,
            );
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("pl-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = Some(PREFIX_LIST_NAME);

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let _ = cx;
        let mut m = Map::new();
        m.set("name", o.str(PREFIX_LIST_NAME)?);
        if o.str(ADDRESS_FAMILY) == Some(AddressFamily::IPv6.as_str()) {
            m.set("address-family", AddressFamily::IPv6.as_str());
        }
        let entries: Vec<(&String, &Value)> = o
            .get(ENTRIES)
            .and_then(Value::as_object)
            .map(|e| e.iter().collect())
            .unwrap_or_default();
        let max = o.get(MAX_ENTRIES).and_then(Value::as_i64);
        if max != Some((entries.len() as i64).max(1)) {
            m.maybe("max-entries", max);
        }
        let written = entries
            .into_iter()
            .map(|(cidr, description)| {
                let mut e = Map::new();
                e.set("cidr", cidr.as_str());
                e.maybe(
                    "description",
                    description.as_str().filter(|d| !d.is_empty()),
                );
                Yaml::from(e)
            })
            .collect();
        m.list("entries", written);
        Some(m)
    }
}

fn decode_entry(node: &Node, list: &str, cx: &mut Cx) -> Option<Entry> {
    let mut f = Fields::new(node, format!("an entry of {list}"), cx)?;
    let cidr = f.required("cidr", cx);
    let description = f.maybe("description", cx);
    f.finish(cx);
    Some(Entry {
        cidr: cidr?,
        description: description.ok()?,
    })
}

/// Entries of the list's family, each once, no more than the maximum allows.
fn check_entries(name: &str, p: &PrefixList, cx: &mut Cx) {
    let family = p.address_family();
    let mut seen: HashMap<IpNet, Span> = HashMap::new();
    for e in &p.entries {
        if !family.holds(&e.cidr.value) {
            cx.push(
                Diagnostic::error(
                    "prefix-list-family",
                    e.cidr.span,
                    format!(
                        "`{}` is not an {} CIDR, and prefix list `{name}` holds {} entries",
                        e.cidr.value,
                        family.as_str(),
                        family.as_str()
                    ),
                )
                .with_help("put IPv4 and IPv6 ranges in separate lists (`address-family: IPv6`)"),
            );
        }
        if let Some(first) = seen.insert(e.cidr.value, e.cidr.span) {
            cx.push(
                Diagnostic::error(
                    "duplicate-prefix-list-entry",
                    e.cidr.span,
                    format!("prefix list `{name}` already has `{}`", e.cidr.value),
                )
                .with_related(first, "the first entry"),
            );
        }
        if let Some(d) = &e.description
            && d.value.chars().count() > 255
        {
            cx.push(Diagnostic::error(
                "prefix-list-description",
                d.span,
                "an entry's description holds at most 255 characters",
            ));
        }
    }
    if let Some(max) = &p.max_entries {
        if !(1..=MAX_ENTRIES_LIMIT).contains(&max.value) {
            cx.push(
                Diagnostic::error(
                    "prefix-list-max-entries",
                    max.span,
                    format!("`max-entries` must be between 1 and {MAX_ENTRIES_LIMIT}"),
                )
                .with_help("AWS counts a list's maximum against the rule quota of every group that uses it"),
            );
        } else if (p.entries.len() as i64) > max.value {
            cx.push(
                Diagnostic::error(
                    "prefix-list-max-entries",
                    max.span,
                    format!(
                        "prefix list `{name}` has {} entries but `max-entries: {}`",
                        p.entries.len(),
                        max.value
                    ),
                )
                .with_help(format!(
                    "raise `max-entries` to at least {}",
                    p.entries.len()
                )),
            );
        }
    }
}
