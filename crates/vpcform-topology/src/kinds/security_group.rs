//! Security groups and their rules (each rule an implicit object of its
//! group, keyed by content so reordering changes nothing).

use std::collections::HashMap;

use schemars::JsonSchema;
use serde_json::Value;

use crate::address::{Address, ResourceKind};
use crate::attr::{DESCRIPTION, TAGS, VPC_ID};
use crate::decode::{Cx, Fields, common_fields, list_of};
use crate::derived::{Direction, NormalRule, Peer};
use crate::diagnostic::{Diagnostic, Span};
use crate::emit::{Map, Yaml};
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::kinds::prefix_list::is_aws_managed;
use crate::model::{At, Named, Protocol, ProtocolSchema, Ref, Tags};
use crate::ports::PortFields;
use crate::registry::Topology;
use crate::validate::{NameIndex, by_name};
use crate::yaml::Node;

pub const GROUP_NAME: Attr = Attr::new("group_name");
pub const REVOKE_DEFAULT_EGRESS: Attr = Attr::new("revoke_default_egress");
pub const GROUP_ID: Attr = Attr::new("group_id");
pub const DIRECTION: Attr = Attr::new("direction");
pub const IP_PROTOCOL: Attr = Attr::new("ip_protocol");
pub const FROM_PORT: Attr = Attr::new("from_port");
pub const TO_PORT: Attr = Attr::new("to_port");
pub const CIDR_IPV4: Attr = Attr::new("cidr_ipv4");
/// An IPv6 peer; in a rule's attributes only when its peer is one.
pub const CIDR_IPV6: Attr = Attr::new("cidr_ipv6");
pub const REFERENCED_GROUP_ID: Attr = Attr::new("referenced_group_id");
pub const PREFIX_LIST_ID: Attr = Attr::new("prefix_list_id");
/// Read only: what uses a group, as `i-…` (an instance's interface) or
/// `eni-… (description)` (an interface of something else: an endpoint, a
/// load balancer, a NAT gateway). Never compared; a plan that deletes the
/// group while something vpcform does not manage uses it is refused.
pub const USED_BY: Attr = Attr::new("used_by");

/// The description AWS requires when the topology gives none.
pub const DEFAULT_DESCRIPTION: &str = "Managed by vpcform";

#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SecurityGroup {
    pub vpc: Ref,
    /// Group name in AWS; defaults to the logical name. Changing it replaces the group.
    pub name: Option<At<String>>,
    /// Defaults to "Managed by vpcform". Changing it replaces the group.
    pub description: Option<At<String>>,
    #[schemars(default)]
    pub ingress: Vec<Rule>,
    /// Omit to leave egress unmanaged (new groups get AWS's allow-all rule); declare it (even `[]`) to manage it.
    pub egress: Option<Vec<Rule>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`vpcform import` writes it).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl Topology {
    /// The names of AWS's prefix lists that security-group rules name
    /// (`com.amazonaws.us-east-1.s3`), once per rule.
    pub fn aws_prefix_lists_in_rules(&self) -> impl Iterator<Item = &Ref> {
        self.security_groups
            .iter()
            .flat_map(|g| g.spec.rules().map(|(_, r)| r))
            .filter_map(|r| r.prefix_list.as_ref())
            .filter(|l| is_aws_managed(&l.value))
    }
}

impl SecurityGroup {
    /// Every declared rule with its direction.
    pub fn rules(&self) -> impl Iterator<Item = (Direction, &Rule)> {
        self.ingress
            .iter()
            .map(|r| (Direction::Ingress, r))
            .chain(self.egress.iter().flatten().map(|r| (Direction::Egress, r)))
    }
}

/// One security-group rule. The peer is `cidr`, `security-group` or `prefix-list`.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Rule {
    /// `tcp`, `udp`, `icmp`, `all`, or an IP protocol number.
    #[schemars(with = "ProtocolSchema")]
    pub protocol: At<Protocol>,
    /// A single port (tcp/udp).
    pub port: Option<At<i64>>,
    /// First port of a range (tcp/udp).
    pub from_port: Option<At<i64>>,
    /// Last port of a range (tcp/udp).
    pub to_port: Option<At<i64>>,
    /// ICMP type (8 = echo request); omit for all types.
    pub icmp_type: Option<At<i64>>,
    /// ICMP code; omit for all codes.
    pub icmp_code: Option<At<i64>>,
    /// An IPv4 or IPv6 CIDR block (`0.0.0.0/0`, `::/0`).
    #[schemars(with = "Option<String>")]
    pub cidr: Option<At<ipnet::IpNet>>,
    /// Logical name of a security group.
    pub security_group: Option<Ref>,
    /// Logical name of a prefix list (every CIDR it holds), or the name of
    /// one AWS manages (`com.amazonaws.us-east-1.s3`).
    pub prefix_list: Option<Ref>,
    pub description: Option<At<String>>,
    #[schemars(skip)]
    pub span: Span,
}

impl Kind for SecurityGroup {
    const KIND: ResourceKind = ResourceKind::SecurityGroup;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(GROUP_NAME, Compare::Exact),
        AttrSpec::replace(DESCRIPTION, Compare::Exact),
        AttrSpec::replace(VPC_ID, Compare::Exact),
        AttrSpec::update(REVOKE_DEFAULT_EGRESS, Compare::Unread),
        crate::attr::TAGS_SPEC,
    ];

    /// Network interfaces hold a copy of the old rules while a group is
    /// replaced under its own name (AWS refuses to delete a group in use).
    const STAND_IN: bool = true;

    /// A new name can exist beside the old one; the same name cannot.
    fn replace_order(reasons: &[Attr]) -> ReplaceOrder {
        if reasons.contains(&GROUP_NAME)
            && reasons
                .iter()
                .all(|r| [GROUP_NAME, DESCRIPTION].contains(r))
        {
            ReplaceOrder::CreateFirst
        } else {
            ReplaceOrder::DeleteFirst
        }
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let g = cx.index.security_groups.get(a.name.as_str())?;
        let group_name = g
            .name
            .as_ref()
            .map_or(a.name.as_str(), |n| n.value.as_str());
        let description = g
            .description
            .as_ref()
            .map_or(DEFAULT_DESCRIPTION, |d| d.value.as_str());
        let mut d = DesiredAttrs::from([
            (GROUP_NAME, Desired::known(group_name)),
            (DESCRIPTION, Desired::known(description)),
            (VPC_ID, Desired::id_of(ResourceKind::Vpc, &g.vpc.value)),
            (TAGS, cx.tags(a, &g.tags)),
        ]);
        if g.egress.is_some() {
            // Declared egress replaces AWS's default allow-all rule.
            d.insert(REVOKE_DEFAULT_EGRESS, Desired::known(true));
        }
        Some(d)
    }
}

impl Declared for SecurityGroup {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let vpc = f.required("vpc", cx);
        let name = f.maybe("name", cx);
        let description = f.maybe("description", cx);
        let ingress = f
            .take("ingress")
            .map(|n| list_of(n, cx, |n, cx| decode_rule(n, what, "ingress", cx)));
        let egress = f
            .take("egress")
            .map(|n| list_of(n, cx, |n, cx| decode_rule(n, what, "egress", cx)));
        let egress = match (egress, f.has("egress")) {
            (Some(rules), _) => Some(rules?),
            // `egress: []` is an explicit empty list; a bare `egress:` means the same.
            (None, true) => Some(Vec::new()),
            (None, false) => None,
        };
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(SecurityGroup {
            vpc: vpc?,
            name: name.ok()?,
            description: description.ok()?,
            ingress: ingress.unwrap_or(Some(Vec::new()))?,
            egress,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let groups = by_name(items);
        let peered = crate::kinds::peering::peered_pairs(t, index);
        let mut group_names: HashMap<(&str, &str), Span> = HashMap::new();
        for sg in items {
            let vpc_ok = index.check(&sg.spec.vpc, ResourceKind::Vpc, "vpc", cx);
            check_group_name(sg, vpc_ok, &mut group_names, cx);
            let adopted = sg.spec.import_id.is_some();
            check_description(
                sg.spec.description.as_ref(),
                "a security group's",
                adopted,
                cx,
            );
            for (_, rule) in sg.spec.rules() {
                check_description(rule.description.as_ref(), "a rule's", adopted, cx);
                check_aws_list_region(rule, t, cx);
            }
            let vpc = vpc_ok.then_some(sg.spec.vpc.value.as_str());
            check_rules(sg, vpc, &groups, &peered, index, cx);
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        use ResourceKind as K;
        for r in items {
            let a = b.node(Address::new(K::SecurityGroup, &r.name.value), r.name.span);
            b.edge(a, Address::new(K::Vpc, &r.spec.vpc.value));
            for (direction, rule) in r.spec.rules() {
                let Some(normal) = rule.normalise(direction) else {
                    continue;
                };
                let rule_node = b.node(
                    Address::keyed(K::SecurityGroupRule, &r.name.value, normal.key()),
                    rule.span,
                );
                b.edge(rule_node, Address::new(K::SecurityGroup, &r.name.value));
                match &normal.peer {
                    Peer::SecurityGroup(other) => {
                        b.edge(rule_node, Address::new(K::SecurityGroup, other));
                    }
                    Peer::PrefixList(list) if !is_aws_managed(list) => {
                        b.edge(rule_node, Address::new(K::PrefixList, list));
                    }
                    Peer::PrefixList(_) => {}
                    Peer::Cidr(_) => {}
                }
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("sg-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = Some(GROUP_NAME);

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        if !cx.reference(o, VPC_ID, ResourceKind::Vpc, "vpc", &mut m) {
            return None;
        }
        m.set("name", o.str(GROUP_NAME)?);
        m.set("description", o.str(DESCRIPTION).unwrap_or_default());
        let mut ingress = Vec::new();
        let mut egress = Vec::new();
        for rule in o.children_of(ResourceKind::SecurityGroupRule) {
            let Some(written) = export_rule(o, rule, cx) else {
                continue;
            };
            if DIRECTION.str(rule) == Some(Direction::Egress.as_str()) {
                egress.push(written);
            } else {
                ingress.push(written);
            }
        }
        m.list("ingress", sorted(ingress));
        // Only AWS's own allow-all egress: left unmanaged, as for new groups.
        let default_egress = crate::default_egress().key();
        let egress_is_default = egress.len() == 1 && egress[0].0 == default_egress;
        if !egress_is_default {
            m.set("egress", Yaml::List(sorted(egress)));
        }
        Some(m)
    }
}

/// One rule of a group (address key: [`crate::NormalRule::key`]).
#[derive(Debug)]
pub struct RuleKind;

impl Kind for RuleKind {
    const KIND: ResourceKind = ResourceKind::SecurityGroupRule;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(GROUP_ID, Compare::Exact),
        AttrSpec::replace(DIRECTION, Compare::Exact),
        AttrSpec::replace(IP_PROTOCOL, Compare::Exact),
        AttrSpec::replace(FROM_PORT, Compare::Exact),
        AttrSpec::replace(TO_PORT, Compare::Exact),
        AttrSpec::replace(CIDR_IPV4, Compare::Cidr),
        AttrSpec::replace(CIDR_IPV6, Compare::Cidr),
        AttrSpec::replace(REFERENCED_GROUP_ID, Compare::Id),
        AttrSpec::replace(PREFIX_LIST_ID, Compare::Id),
        AttrSpec::update(DESCRIPTION, Compare::Exact),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let key = a.key.as_deref()?;
        let g = cx.index.security_groups.get(a.name.as_str())?;
        let rule = g
            .rules()
            .filter_map(|(dir, r)| r.normalise(dir))
            .find(|r| r.key() == key)?;
        let none = || Desired::Known(Value::Null);
        let (cidr, group) = match &rule.peer {
            Peer::Cidr(ipnet::IpNet::V4(c)) => (Desired::known(c.to_string()), none()),
            Peer::Cidr(ipnet::IpNet::V6(_)) => (none(), none()),
            Peer::SecurityGroup(other) => {
                (none(), Desired::id_of(ResourceKind::SecurityGroup, other))
            }
            Peer::PrefixList(_) => (none(), none()),
        };
        let mut d = DesiredAttrs::from([
            (
                GROUP_ID,
                Desired::id_of(ResourceKind::SecurityGroup, &a.name),
            ),
            (DIRECTION, Desired::known(rule.direction.as_str())),
            (IP_PROTOCOL, Desired::known(rule.protocol.aws_name())),
            (FROM_PORT, Desired::known(rule.from_port)),
            (TO_PORT, Desired::known(rule.to_port)),
            (CIDR_IPV4, cidr),
            (REFERENCED_GROUP_ID, group),
            (
                DESCRIPTION,
                Desired::Known(rule.description.clone().map_or(Value::Null, Value::String)),
            ),
        ]);
        // Only where the peer is a list (an IPv6 block), so other rules'
        // hashes stay as they were.
        match &rule.peer {
            // AWS's lists by the id the account resolved their name to
            // (unresolved: the plan refuses the rule, see vpcform-aws).
            Peer::PrefixList(list) if is_aws_managed(list) => {
                let id = cx.lookups.get(list).cloned();
                d.insert(
                    PREFIX_LIST_ID,
                    Desired::Known(id.map_or(Value::Null, Value::String)),
                );
            }
            Peer::PrefixList(list) => {
                d.insert(
                    PREFIX_LIST_ID,
                    Desired::id_of(ResourceKind::PrefixList, list),
                );
            }
            Peer::Cidr(ipnet::IpNet::V6(c)) => {
                d.insert(CIDR_IPV6, Desired::known(c.to_string()));
            }
            Peer::Cidr(ipnet::IpNet::V4(_)) | Peer::SecurityGroup(_) => {}
        }
        Some(d)
    }
}

/// AWS's lists are per region: a rule names one of the topology's region
/// (or a global one).
fn check_aws_list_region(rule: &Rule, t: &Topology, cx: &mut Cx) {
    let Some(list) = rule.prefix_list.as_ref() else {
        return;
    };
    let (Some(region), Some(topology_region)) = (
        crate::kinds::prefix_list::aws_list_region(&list.value),
        t.region.as_ref(),
    ) else {
        return;
    };
    if region != topology_region.value {
        let fixed = list.value.replacen(region, &topology_region.value, 1);
        cx.push(
            Diagnostic::error(
                "prefix-list-region",
                list.span,
                format!(
                    "`{}` is AWS's list in {region}, but the stack is in {}",
                    list.value, topology_region.value
                ),
            )
            .with_help(format!("name the list of the stack's region: `{fixed}`")),
        );
    }
}

/// The characters AWS takes in a group's or rule's description (besides
/// letters, digits and spaces), and how many.
const DESCRIPTION_PUNCTUATION: &str = "._-:/()#,@[]+=&;{}!$*";
const DESCRIPTION_LIMIT: usize = 255;

/// AWS refuses a description with other characters, or longer, at apply:
/// an error. In an adopted group (`import-id`) it is what AWS already holds
/// (older groups may), sent again only if changed: a warning.
fn check_description(description: Option<&At<String>>, whose: &str, adopted: bool, cx: &mut Cx) {
    let Some(d) = description else { return };
    let diagnostic = if adopted {
        Diagnostic::warning
    } else {
        Diagnostic::error
    };
    let bad: String = d
        .value
        .chars()
        .filter(|c| {
            !(c.is_ascii_alphanumeric() || *c == ' ' || DESCRIPTION_PUNCTUATION.contains(*c))
        })
        .collect();
    if !bad.is_empty() {
        let shown = crate::escape::terminal(&bad);
        cx.push(
            diagnostic(
                "invalid-description",
                d.span,
                format!("{whose} description holds characters AWS refuses: {shown}"),
            )
            .with_help(format!(
                "use letters, digits, spaces and {DESCRIPTION_PUNCTUATION}"
            )),
        );
    }
    if d.value.chars().count() > DESCRIPTION_LIMIT {
        cx.push(diagnostic(
            "invalid-description",
            d.span,
            format!("{whose} description is longer than {DESCRIPTION_LIMIT} characters"),
        ));
    }
}

/// AWS's naming rules, and names unique per VPC.
fn check_group_name<'t>(
    sg: &'t Named<SecurityGroup>,
    vpc_ok: bool,
    seen: &mut HashMap<(&'t str, &'t str), Span>,
    cx: &mut Cx,
) {
    let g = &sg.spec;
    let name = g
        .name
        .as_ref()
        .map_or(sg.name.value.as_str(), |n| n.value.as_str());
    let name_span = g.name.as_ref().map_or(sg.name.span, |n| n.span);
    if name.to_ascii_lowercase().starts_with("sg-") || name == "default" {
        cx.push(
            Diagnostic::error(
                "invalid-group-name",
                name_span,
                format!("AWS does not allow the security group name `{name}`"),
            )
            .with_help("names must not start with `sg-` and must not be `default`"),
        );
    }
    if vpc_ok && let Some(first) = seen.insert((g.vpc.value.as_str(), name), name_span) {
        cx.push(
            Diagnostic::error(
                "duplicate-group-name",
                name_span,
                format!(
                    "VPC `{}` already has a security group named `{name}`",
                    g.vpc.value
                ),
            )
            .with_related(first, "the first group")
            .with_help("security group names are unique per VPC; set `name:` to tell them apart"),
        );
    }
}

/// Each rule valid on its own, its peer group reachable, and no rule twice.
fn check_rules(
    sg: &Named<SecurityGroup>,
    vpc: Option<&str>,
    groups: &HashMap<&str, &Named<SecurityGroup>>,
    peered: &crate::kinds::peering::PeeredPairs<'_>,
    index: &NameIndex<'_>,
    cx: &mut Cx,
) {
    let mut keys: HashMap<String, Span> = HashMap::new();
    for (direction, rule) in sg.spec.rules() {
        if !check_rule(rule, index, cx) {
            continue;
        }
        if let Some(other) = &rule.security_group
            && let Some(vpc) = vpc
            && let Some(other_sg) = groups.get(other.value.as_str())
            && other_sg.spec.vpc.value != vpc
            && !peered.contains(&other_sg.spec.vpc.value, vpc)
        {
            cx.push(
                Diagnostic::error(
                    "rule-group-other-vpc",
                    other.span,
                    format!("security group `{}` is in VPC `{}`, which is neither `{vpc}` nor peered with it", other.value, other_sg.spec.vpc.value),
                )
                .with_help("reference groups of the same VPC or of a peered VPC, or use a CIDR"),
            );
        }
        let Some(normal) = rule.normalise(direction) else {
            continue;
        };
        if let Some(first) = keys.insert(normal.key(), rule.span) {
            cx.push(
                Diagnostic::error(
                    "duplicate-rule",
                    rule.span,
                    format!(
                        "security group `{}` already has this {} rule",
                        sg.name.value,
                        direction.as_str()
                    ),
                )
                .with_related(first, "the first rule")
                .with_help("AWS rejects duplicate rules; remove one"),
            );
        }
    }
}

fn decode_rule(node: &Node, group: &str, direction: &str, cx: &mut Cx) -> Option<Rule> {
    let mut f = Fields::new(node, format!("an {direction} rule of {group}"), cx)?;
    let protocol = f.required("protocol", cx);
    let port = f.maybe("port", cx);
    let from_port = f.maybe("from-port", cx);
    let to_port = f.maybe("to-port", cx);
    let icmp_type = f.maybe("icmp-type", cx);
    let icmp_code = f.maybe("icmp-code", cx);
    let cidr = f.maybe("cidr", cx);
    let security_group = f.maybe("security-group", cx);
    let prefix_list = f.maybe("prefix-list", cx);
    let description = f.maybe("description", cx);
    let span = f.span();
    f.finish(cx);
    Some(Rule {
        protocol: protocol?,
        port: port.ok()?,
        from_port: from_port.ok()?,
        to_port: to_port.ok()?,
        icmp_type: icmp_type.ok()?,
        icmp_code: icmp_code.ok()?,
        cidr: cidr.ok()?,
        security_group: security_group.ok()?,
        prefix_list: prefix_list.ok()?,
        description: description.ok()?,
        span,
    })
}

/// A rule's own fields: one peer, ports only for tcp/udp and in range, ICMP
/// type and code only for icmp. Reports every problem; false if any.
fn check_rule(rule: &Rule, index: &NameIndex<'_>, cx: &mut Cx) -> bool {
    let mut ok = true;
    let peers = [
        rule.cidr.is_some(),
        rule.security_group.is_some(),
        rule.prefix_list.is_some(),
    ];
    if peers.iter().filter(|p| **p).count() != 1 {
        cx.push(
            Diagnostic::error(
                "rule-peer",
                rule.span,
                "a rule needs exactly one of `cidr`, `security-group` and `prefix-list`",
            )
            .with_help("e.g. `cidr: 0.0.0.0/0`, `security-group: <logical name>` or `prefix-list: <logical name>`"),
        );
        ok = false;
    }
    if let Some(g) = &rule.security_group {
        ok &= index.check(g, ResourceKind::SecurityGroup, "security-group", cx);
    }
    if let Some(cidr) = &rule.cidr {
        crate::ports::check_family(rule.protocol.value, cidr, cx);
    }
    if let Some(p) = rule
        .prefix_list
        .as_ref()
        .filter(|p| !is_aws_managed(&p.value))
    {
        ok &= index.check(p, ResourceKind::PrefixList, "prefix-list", cx);
    }
    ok & crate::ports::check(&rule.ports(), cx)
}

impl Rule {
    /// The rule's protocol and port fields.
    pub(crate) fn ports(&self) -> PortFields<'_> {
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

/// Rules in a stable order: by their normal key.
fn sorted(mut rules: Vec<(String, Yaml)>) -> Vec<Yaml> {
    rules.sort_by(|a, b| a.0.cmp(&b.0));
    rules.into_iter().map(|(_, r)| r).collect()
}

/// The logical name of a rule's peer `id`; `None` (and left out) when it is not written.
fn declared_peer(
    group: &Observed,
    rule: &std::collections::BTreeMap<String, Value>,
    kind: ResourceKind,
    id: &str,
    unwritten: &str,
    cx: &mut ExportCx,
) -> Option<String> {
    if let Some(name) = cx.name_of(kind, id) {
        return Some(name.to_string());
    }
    cx.leave_out(
        &group.id,
        format!(
            "the {} rule with {id}",
            DIRECTION.str(rule).unwrap_or("ingress")
        ),
        format!("{id} is not declared ({unwritten}); the rule stays as it is"),
    );
    None
}

/// One observed rule as the topology writes it, with its normal key; `None`
/// (and left out) when its peer group is not written.
fn export_rule(
    group: &Observed,
    rule: &std::collections::BTreeMap<String, Value>,
    cx: &mut ExportCx,
) -> Option<(String, Yaml)> {
    let protocol = Protocol::from_aws(IP_PROTOCOL.str(rule)?)?;
    let number = |a: Attr| a.get(rule).and_then(Value::as_i64).unwrap_or(-1);
    let (from, to) = (number(FROM_PORT), number(TO_PORT));
    let description = DESCRIPTION.str(rule).filter(|d| !d.is_empty());
    let cidr = CIDR_IPV4.str(rule).or_else(|| CIDR_IPV6.str(rule));
    let peer = match (
        cidr,
        REFERENCED_GROUP_ID.str(rule),
        PREFIX_LIST_ID.str(rule),
    ) {
        (Some(cidr), _, _) => Peer::Cidr(cidr.parse().ok()?),
        (None, Some(id), _) => Peer::SecurityGroup(declared_peer(
            group,
            rule,
            ResourceKind::SecurityGroup,
            id,
            "a default group, or one outside the imported VPCs",
            cx,
        )?),
        (None, None, Some(id)) => match cx.aws_prefix_list(id) {
            Some(name) => Peer::PrefixList(name.to_string()),
            None => Peer::PrefixList(declared_peer(
                group,
                rule,
                ResourceKind::PrefixList,
                id,
                "a list of another account, or one outside the imported VPCs' rules",
                cx,
            )?),
        },
        (None, None, None) => return None,
    };
    let direction = if DIRECTION.str(rule) == Some(Direction::Egress.as_str()) {
        Direction::Egress
    } else {
        Direction::Ingress
    };
    let normal = crate::NormalRule {
        direction,
        protocol,
        from_port: from,
        to_port: to,
        peer: peer.clone(),
        description: description.map(str::to_string),
    };
    let mut m = Map::new();
    crate::ports::export(&mut m, protocol, from, to);
    match peer {
        Peer::Cidr(c) => m.set("cidr", c.to_string()),
        Peer::SecurityGroup(g) => m.set("security-group", g),
        Peer::PrefixList(p) => m.set("prefix-list", p),
    };
    m.maybe("description", description);
    Some((normal.key(), m.into()))
}

impl Rule {
    /// Normalises a validated rule; `None` if it lacks a peer.
    pub fn normalise(&self, direction: Direction) -> Option<NormalRule> {
        let peer = match (&self.cidr, &self.security_group, &self.prefix_list) {
            (Some(c), None, None) => Peer::Cidr(c.value),
            (None, Some(g), None) => Peer::SecurityGroup(g.value.clone()),
            (None, None, Some(p)) => Peer::PrefixList(p.value.clone()),
            _ => return None,
        };
        let (from_port, to_port) = self.ports().range();
        Some(NormalRule {
            direction,
            protocol: self.protocol.value,
            from_port,
            to_port,
            peer,
            description: self.description.as_ref().map(|d| d.value.clone()),
        })
    }
}
