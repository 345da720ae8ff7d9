//! Network ACLs: numbered allow/deny entries per direction, evaluated lowest
//! number first, and the subnets they guard. Entries and associations are
//! implicit objects of the ACL. An association cannot be deleted on AWS:
//! removing one moves the subnet back to its VPC's default ACL.

use std::collections::HashMap;

use ipnet::IpNet;
use schemars::JsonSchema;
use serde_json::Value;

use crate::address::{Address, ResourceKind};
use crate::attr::{SUBNET_ID, TAGS, VPC_ID};
use crate::decode::{Cx, Fields, FromNode, common_fields, list_of};
use crate::derived::Direction;
use crate::diagnostic::{Diagnostic, Span};
use crate::emit::{Map, Yaml};
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::model::{At, Named, Protocol, ProtocolSchema, Ref, Tags};
use crate::ports::PortFields;
use crate::registry::Topology;
use crate::validate::{NameIndex, by_name};
use crate::yaml::Node;

pub const NETWORK_ACL_ID: Attr = Attr::new("network_acl_id");
pub const EGRESS: Attr = Attr::new("egress");
pub const RULE_NUMBER: Attr = Attr::new("rule_number");
pub const PROTOCOL: Attr = Attr::new("protocol");
pub const RULE_ACTION: Attr = Attr::new("rule_action");
pub const CIDR_BLOCK: Attr = crate::kinds::vpc::CIDR_BLOCK;
pub const FROM_PORT: Attr = crate::kinds::security_group::FROM_PORT;
pub const TO_PORT: Attr = crate::kinds::security_group::TO_PORT;

/// Rule numbers users may give; 32767 is AWS's final `*` deny.
pub const RULE_NUMBERS: std::ops::RangeInclusive<i64> = 1..=32766;

/// A custom network ACL. A new one denies everything until entries allow it.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NetworkAcl {
    pub vpc: Ref,
    /// Subnets this ACL guards (each subnet has exactly one ACL; others use the VPC's default).
    #[schemars(default)]
    pub subnets: Vec<Ref>,
    #[schemars(default)]
    pub ingress: Vec<AclEntry>,
    #[schemars(default)]
    pub egress: Vec<AclEntry>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`vpcform import` writes it).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

/// One numbered entry: the first entry (lowest number) that matches decides.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AclEntry {
    /// Rule number, 1 to 32766; lower numbers are evaluated first.
    pub rule: At<i64>,
    /// `tcp`, `udp`, `icmp`, `all`, or an IP protocol number.
    #[schemars(with = "ProtocolSchema")]
    pub protocol: At<Protocol>,
    /// A single port (tcp/udp).
    pub port: Option<At<i64>>,
    /// First port of a range (tcp/udp).
    pub from_port: Option<At<i64>>,
    /// Last port of a range (tcp/udp).
    pub to_port: Option<At<i64>>,
    /// ICMP type (8 = echo request, 0 = echo reply); omit for all types.
    pub icmp_type: Option<At<i64>>,
    /// ICMP code; omit for all codes.
    pub icmp_code: Option<At<i64>>,
    #[schemars(with = "String")]
    pub cidr: At<IpNet>,
    /// `allow` or `deny`.
    #[schemars(with = "AclAction")]
    pub action: At<AclAction>,
    #[schemars(skip)]
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AclAction {
    Allow,
    Deny,
}

impl AclAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AclAction::Allow => "allow",
            AclAction::Deny => "deny",
        }
    }
}

impl FromNode for AclAction {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::from_node(node, cx)?;
        let parsed = match text.to_ascii_lowercase().as_str() {
            "allow" => Some(AclAction::Allow),
            "deny" => Some(AclAction::Deny),
            _ => None,
        };
        if parsed.is_none() {
            cx.push(
                Diagnostic::error(
                    "invalid-value",
                    node.span,
                    format!("unknown action `{text}`"),
                )
                .with_help("use allow or deny"),
            );
        }
        parsed
    }
}

/// An entry in AWS's terms: the protocol and range as the API stores them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NormalAclEntry {
    pub direction: Direction,
    pub rule_number: i64,
    pub protocol: Protocol,
    /// Ports for tcp/udp (0..65535 for all), ICMP type and code (-1 for all), -1 otherwise.
    pub from_port: i64,
    pub to_port: i64,
    pub cidr: IpNet,
    pub action: AclAction,
}

impl NormalAclEntry {
    /// The address key: direction and rule number identify an entry.
    pub fn key(&self) -> String {
        format!("{}/{}", self.direction.as_str(), self.rule_number)
    }

    /// Whether every packet this entry matches, `earlier` matches too.
    fn shadowed_by(&self, earlier: &NormalAclEntry) -> bool {
        let protocol = earlier.protocol == Protocol::All || earlier.protocol == self.protocol;
        let ports = earlier.protocol == Protocol::All
            || ((earlier.from_port == -1 || earlier.from_port <= self.from_port)
                && (earlier.to_port == -1 || earlier.to_port >= self.to_port)
                && self.from_port != -1);
        protocol && ports && earlier.cidr.contains(&self.cidr)
    }
}

impl AclEntry {
    pub fn normalise(&self, direction: Direction) -> NormalAclEntry {
        let (from_port, to_port) = self.ports().range();
        NormalAclEntry {
            direction,
            rule_number: self.rule.value,
            protocol: self.protocol.value,
            from_port,
            to_port,
            cidr: self.cidr.value,
            action: self.action.value,
        }
    }

    fn ports(&self) -> PortFields<'_> {
        PortFields {
            protocol: self.protocol.value,
            port: &self.port,
            from_port: &self.from_port,
            to_port: &self.to_port,
            icmp_type: &self.icmp_type,
            icmp_code: &self.icmp_code,
            span: self.span,
        }
    }
}

impl NetworkAcl {
    /// Every entry with its direction.
    pub fn entries(&self) -> impl Iterator<Item = (Direction, &AclEntry)> {
        self.ingress
            .iter()
            .map(|e| (Direction::Ingress, e))
            .chain(self.egress.iter().map(|e| (Direction::Egress, e)))
    }
}

impl Kind for NetworkAcl {
    const KIND: ResourceKind = ResourceKind::NetworkAcl;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(VPC_ID, Compare::Exact),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let acl = cx.index.network_acls.get(a.name.as_str())?;
        Some(DesiredAttrs::from([
            (VPC_ID, Desired::id_of(ResourceKind::Vpc, &acl.vpc.value)),
            (TAGS, cx.tags(a, &acl.tags)),
        ]))
    }
}

impl Declared for NetworkAcl {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let vpc = f.required("vpc", cx);
        let subnets = f.maybe("subnets", cx);
        let ingress = f
            .take("ingress")
            .map(|n| list_of(n, cx, |n, cx| decode_entry(n, what, "ingress", cx)));
        let egress = f
            .take("egress")
            .map(|n| list_of(n, cx, |n, cx| decode_entry(n, what, "egress", cx)));
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(NetworkAcl {
            vpc: vpc?,
            subnets: subnets.ok()?.unwrap_or_default(),
            ingress: ingress.unwrap_or(Some(Vec::new()))?,
            egress: egress.unwrap_or(Some(Vec::new()))?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let subnets = by_name(&t.subnets);
        let mut acl_of_subnet: HashMap<&str, &str> = HashMap::new();
        for acl in items {
            if index.check(&acl.spec.vpc, ResourceKind::Vpc, "vpc", cx) {
                check_associations(acl, &subnets, index, &mut acl_of_subnet, cx);
            }
            check_entries(acl, cx);
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        use ResourceKind as K;
        for r in items {
            let name = &r.name.value;
            let acl = b.node(Address::new(K::NetworkAcl, name), r.name.span);
            b.edge(acl, Address::new(K::Vpc, &r.spec.vpc.value));
            for s in &r.spec.subnets {
                let a = b.node(
                    Address::keyed(K::NetworkAclAssociation, name, &s.value),
                    s.span,
                );
                b.edge(a, Address::new(K::NetworkAcl, name));
                b.edge(a, Address::new(K::Subnet, &s.value));
            }
            for (direction, entry) in r.spec.entries() {
                let key = entry.normalise(direction).key();
                let e = b.node(Address::keyed(K::NetworkAclEntry, name, key), entry.span);
                b.edge(e, Address::new(K::NetworkAcl, name));
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("acl-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        if !cx.vpc_and_subnets(o, ResourceKind::NetworkAclAssociation, &mut m) {
            return None;
        }
        let mut ingress = Vec::new();
        let mut egress = Vec::new();
        for e in o.children_of(ResourceKind::NetworkAclEntry) {
            let Some((number, written)) = export_entry(e) else {
                continue;
            };
            if EGRESS.get(e) == Some(&Value::Bool(true)) {
                egress.push((number, written));
            } else {
                ingress.push((number, written));
            }
        }
        for (key, mut entries) in [("ingress", ingress), ("egress", egress)] {
            entries.sort_by_key(|(n, _)| *n);
            m.list(key, entries.into_iter().map(|(_, e)| e).collect());
        }
        Some(m)
    }
}

/// One entry of an ACL (address key: `ingress/100`). Its content changes in
/// place (ReplaceNetworkAclEntry); its number and direction name it.
#[derive(Debug)]
pub struct EntryKind;

impl Kind for EntryKind {
    const KIND: ResourceKind = ResourceKind::NetworkAclEntry;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(NETWORK_ACL_ID, Compare::Exact),
        AttrSpec::replace(EGRESS, Compare::Exact),
        AttrSpec::replace(RULE_NUMBER, Compare::Exact),
        AttrSpec::update(PROTOCOL, Compare::Exact),
        AttrSpec::update(RULE_ACTION, Compare::Exact),
        AttrSpec::update(CIDR_BLOCK, Compare::Cidr),
        AttrSpec::update(FROM_PORT, Compare::Exact),
        AttrSpec::update(TO_PORT, Compare::Exact),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let key = a.key.as_deref()?;
        let acl = cx.index.network_acls.get(a.name.as_str())?;
        let e = acl
            .entries()
            .map(|(direction, e)| e.normalise(direction))
            .find(|e| e.key() == key)?;
        Some(DesiredAttrs::from([
            (
                NETWORK_ACL_ID,
                Desired::id_of(ResourceKind::NetworkAcl, &a.name),
            ),
            (EGRESS, Desired::known(e.direction == Direction::Egress)),
            (RULE_NUMBER, Desired::known(e.rule_number)),
            (PROTOCOL, Desired::known(e.protocol.number_text())),
            (RULE_ACTION, Desired::known(e.action.as_str())),
            (CIDR_BLOCK, Desired::known(e.cidr.to_string())),
            (FROM_PORT, Desired::known(e.from_port)),
            (TO_PORT, Desired::known(e.to_port)),
        ]))
    }
}

/// A subnet guarded by an ACL (address key: the subnet's name).
#[derive(Debug)]
pub struct AssociationKind;

impl Kind for AssociationKind {
    const KIND: ResourceKind = ResourceKind::NetworkAclAssociation;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(NETWORK_ACL_ID, Compare::Exact),
        AttrSpec::replace(SUBNET_ID, Compare::Id),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let subnet = a.key.as_deref()?;
        let acl = cx.index.network_acls.get(a.name.as_str())?;
        if !acl.subnets.iter().any(|s| s.value == subnet) {
            return None;
        }
        Some(DesiredAttrs::from([
            (
                NETWORK_ACL_ID,
                Desired::id_of(ResourceKind::NetworkAcl, &a.name),
            ),
            (SUBNET_ID, Desired::id_of(ResourceKind::Subnet, subnet)),
        ]))
    }
}

fn decode_entry(node: &Node, acl: &str, direction: &str, cx: &mut Cx) -> Option<AclEntry> {
    let mut f = Fields::new(node, format!("an {direction} entry of {acl}"), cx)?;
    let rule = f.required("rule", cx);
    let protocol = f.required("protocol", cx);
    let port = f.maybe("port", cx);
    let from_port = f.maybe("from-port", cx);
    let to_port = f.maybe("to-port", cx);
    let icmp_type = f.maybe("icmp-type", cx);
    let icmp_code = f.maybe("icmp-code", cx);
    let cidr = f.required("cidr", cx);
    let action = f.required("action", cx);
    let span = f.span();
    f.finish(cx);
    Some(AclEntry {
        rule: rule?,
        protocol: protocol?,
        port: port.ok()?,
        from_port: from_port.ok()?,
        to_port: to_port.ok()?,
        icmp_type: icmp_type.ok()?,
        icmp_code: icmp_code.ok()?,
        cidr: cidr?,
        action: action?,
        span,
    })
}

/// Subnets of the ACL's own VPC, each guarded by one ACL.
fn check_associations<'t>(
    acl: &'t Named<NetworkAcl>,
    subnets: &HashMap<&str, &Named<crate::kinds::subnet::Subnet>>,
    index: &NameIndex<'_>,
    acl_of_subnet: &mut HashMap<&'t str, &'t str>,
    cx: &mut Cx,
) {
    for subnet_ref in &acl.spec.subnets {
        if !index.check(subnet_ref, ResourceKind::Subnet, "subnets", cx) {
            continue;
        }
        if let Some(subnet) = subnets.get(subnet_ref.value.as_str())
            && subnet.spec.vpc.value != acl.spec.vpc.value
        {
            cx.push(
                Diagnostic::error(
                    "acl-subnet-other-vpc",
                    subnet_ref.span,
                    format!(
                        "subnet `{}` is in VPC `{}`, but network ACL `{}` is in VPC `{}`",
                        subnet_ref.value, subnet.spec.vpc.value, acl.name.value, acl.spec.vpc.value
                    ),
                )
                .with_help("an ACL guards only subnets of its own VPC"),
            );
        }
        if let Some(first) = acl_of_subnet.insert(&subnet_ref.value, &acl.name.value) {
            cx.push(
                Diagnostic::error(
                    "duplicate-acl-association",
                    subnet_ref.span,
                    format!(
                        "subnet `{}` is already guarded by network ACL `{first}`",
                        subnet_ref.value
                    ),
                )
                .with_help("a subnet has exactly one network ACL; remove one association"),
            );
        }
    }
}

/// Rule numbers in range and unique per direction, ports valid, and a
/// warning for an entry an earlier one makes unreachable.
fn check_entries(acl: &Named<NetworkAcl>, cx: &mut Cx) {
    for (direction, entries) in [
        (Direction::Ingress, &acl.spec.ingress),
        (Direction::Egress, &acl.spec.egress),
    ] {
        let mut numbers: HashMap<i64, Span> = HashMap::new();
        let mut valid: Vec<(&AclEntry, NormalAclEntry)> = Vec::new();
        for entry in entries {
            let rule = &entry.rule;
            let mut ok = crate::ports::check(&entry.ports(), cx);
            crate::ports::check_family(entry.protocol.value, &entry.cidr, cx);
            if !RULE_NUMBERS.contains(&rule.value) {
                ok = false;
                cx.push(
                    Diagnostic::error(
                        "invalid-rule-number",
                        rule.span,
                        format!("rule number {} is out of range", rule.value),
                    )
                    .with_help("use 1 to 32766 (32767 is AWS's final deny-all entry)"),
                );
            } else if let Some(first) = numbers.insert(rule.value, rule.span) {
                ok = false;
                cx.push(
                    Diagnostic::error(
                        "duplicate-rule-number",
                        rule.span,
                        format!(
                            "network ACL `{}` already has {} rule {}",
                            acl.name.value,
                            direction.as_str(),
                            rule.value
                        ),
                    )
                    .with_related(first, "the first entry")
                    .with_help("rule numbers are unique per direction; renumber one entry"),
                );
            }
            if ok {
                valid.push((entry, entry.normalise(direction)));
            }
        }
        warn_shadowed(acl, &mut valid, cx);
    }
}

/// An entry whose every packet a lower-numbered entry matches first never applies.
fn warn_shadowed(acl: &Named<NetworkAcl>, valid: &mut [(&AclEntry, NormalAclEntry)], cx: &mut Cx) {
    valid.sort_by_key(|(_, n)| n.rule_number);
    for (i, (entry, normal)) in valid.iter().enumerate() {
        let Some((earlier, by)) = valid[..i].iter().find(|(_, e)| normal.shadowed_by(e)) else {
            continue;
        };
        cx.push(
            Diagnostic::warning(
                "shadowed-acl-entry",
                entry.rule.span,
                format!(
                    "{} rule {} of network ACL `{}` never applies: rule {} ({} {} from {}) matches all of its traffic first",
                    normal.direction.as_str(),
                    normal.rule_number,
                    acl.name.value,
                    by.rule_number,
                    by.action.as_str(),
                    crate::ports::protocol_label(by.protocol),
                    by.cidr
                ),
            )
            .with_related(earlier.rule.span, "the earlier entry")
            .with_help("give it a lower number than the entry that covers it, or remove it"),
        );
    }
}

/// One observed entry as the topology writes it, with its rule number.
fn export_entry(e: &std::collections::BTreeMap<String, Value>) -> Option<(i64, Yaml)> {
    let number = RULE_NUMBER.get(e)?.as_i64()?;
    let protocol = Protocol::from_aws(PROTOCOL.str(e)?)?;
    let port = |a: Attr| a.get(e).and_then(Value::as_i64).unwrap_or(-1);
    let mut m = Map::new();
    m.set("rule", number);
    crate::ports::export(&mut m, protocol, port(FROM_PORT), port(TO_PORT));
    m.set("cidr", CIDR_BLOCK.str(e)?);
    m.set("action", RULE_ACTION.str(e)?);
    Some((number, m.into()))
}
