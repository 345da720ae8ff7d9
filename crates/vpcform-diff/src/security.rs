//! The plan's security changes, in the spirit of `cdk diff`'s tables: IAM
//! statements added or removed (policy documents, trust policies, policy
//! attachments) and security-group and network-ACL rules added or removed,
//! each marked **broadening** when it grants access nothing granted before
//! the plan (an Allow statement or allow rule added or widened, a Deny or
//! deny entry removed). A narrowed rule replacing a wider one is not
//! broadening: it is compared with every rule the object had before.

use std::collections::BTreeMap;
use vpcform_topology::escape::{md_cell, terminal};

use ipnet::IpNet;
use serde::Serialize;
use vpcform_topology::kinds::{iam, network_acl, prefix_list, vpc_endpoint};
use vpcform_topology::{Address, ResourceKind, iam_matches, statements, string_or_list};

use crate::normalize::normalize;
use crate::{Action, Compare, Plan, ResourceChange, Value};

/// Added or removed by the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Sign {
    #[serde(rename = "+")]
    Added,
    #[serde(rename = "-")]
    Removed,
}

impl Sign {
    pub fn symbol(self) -> &'static str {
        match self {
            Sign::Added => "+",
            Sign::Removed => "-",
        }
    }
}

/// One security-relevant change.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum SecurityChange {
    /// A statement of an IAM policy document or a role's trust policy.
    IamStatement {
        sign: Sign,
        /// The policy or role whose document holds it.
        address: Address,
        effect: String,
        actions: Vec<String>,
        resources: Vec<String>,
        principal: Option<String>,
        condition: Option<String>,
        broadening: bool,
    },
    /// A policy attached to or detached from a role.
    IamAttachment {
        sign: Sign,
        address: Address,
        policy: String,
        broadening: bool,
    },
    /// An SNS subscription: alarm notifications (the network's names, its
    /// rejected traffic) delivered to an email address or an HTTPS endpoint.
    Subscription {
        sign: Sign,
        /// The topic.
        address: Address,
        protocol: String,
        endpoint: String,
        /// A new recipient: information leaves to someone it did not reach before.
        broadening: bool,
    },
    /// A security-group rule or a network-ACL entry.
    Rule {
        sign: Sign,
        /// The group or ACL.
        address: Address,
        kind: ResourceKind,
        direction: String,
        protocol: String,
        ports: String,
        peer: String,
        /// `allow` or `deny` (security-group rules always allow).
        action: String,
        broadening: bool,
    },
}

impl SecurityChange {
    pub fn broadening(&self) -> bool {
        match self {
            SecurityChange::IamStatement { broadening, .. }
            | SecurityChange::IamAttachment { broadening, .. }
            | SecurityChange::Subscription { broadening, .. }
            | SecurityChange::Rule { broadening, .. } => *broadening,
        }
    }
}

/// What an object of a kind grants by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Grants {
    /// Statements of a policy document.
    Policy,
    /// Statements of a trust policy.
    Trust,
    /// A policy attached to a role.
    Attachment,
    /// A security-group rule or a network-ACL entry.
    Rule(RuleKind),
    /// Who a topic's notifications reach.
    Subscription,
    /// An endpoint's policy document.
    EndpointPolicy,
    /// A prefix list's entries (what rules naming it grant).
    PrefixListEntries,
    Nothing,
}

/// The kinds of rule a plan can add or remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RuleKind {
    SecurityGroup,
    NetworkAcl,
}

impl Grants {
    /// Every kind, placed knowingly: a new kind does not compile until it is.
    fn of(kind: ResourceKind) -> Grants {
        use ResourceKind as K;
        match kind {
            K::IamPolicy => Grants::Policy,
            K::IamRole => Grants::Trust,
            K::IamRolePolicyAttachment => Grants::Attachment,
            K::SecurityGroupRule => Grants::Rule(RuleKind::SecurityGroup),
            K::NetworkAclEntry => Grants::Rule(RuleKind::NetworkAcl),
            K::VpcEndpoint => Grants::EndpointPolicy,
            K::PrefixList => Grants::PrefixListEntries,
            K::SnsSubscription => Grants::Subscription,
            K::DhcpOptions
            | K::Vpc
            | K::Subnet
            | K::InternetGateway
            | K::InternetGatewayAttachment
            | K::EgressOnlyGateway
            | K::ElasticIp
            | K::NatGateway
            | K::RouteTable
            | K::RouteTableAssociation
            | K::Route
            | K::SecurityGroup
            | K::Instance
            | K::LogGroup
            | K::FlowLog
            | K::VpcPeering
            | K::TransitGateway
            | K::TransitGatewayAttachment
            | K::TransitGatewayRouteTable
            | K::TransitGatewayAssociation
            | K::TransitGatewayPropagation
            | K::TransitGatewayRoute
            | K::NetworkAcl
            | K::NetworkAclAssociation
            | K::SnsTopic
            | K::MetricFilter
            | K::Alarm
            | K::ContributorInsightsRule
            | K::Dashboard
            | K::QueryDefinition => Grants::Nothing,
        }
    }
}

/// Every security change of `plan`, IAM first, in plan order.
pub fn security_changes(plan: &Plan) -> Vec<SecurityChange> {
    let mut iam = Vec::new();
    let mut rules = Vec::new();
    let mut notifications = Vec::new();
    for c in plan.changes.iter().filter(|c| c.action.is_change()) {
        match Grants::of(c.kind) {
            Grants::Policy => iam.extend(statement_changes(c, iam::POLICY_DOCUMENT)),
            Grants::Trust => iam.extend(statement_changes(c, iam::ASSUME_ROLE_POLICY_DOCUMENT)),
            Grants::Attachment => iam.extend(attachment_change(c)),
            Grants::Rule(kind) => rules.extend(rule_changes(plan, c, kind)),
            // Left out of the topology, the policy stays as it is: no change to show.
            Grants::EndpointPolicy
                if c.action == Action::Delete
                    || c.after.contains_key(vpc_endpoint::POLICY_DOCUMENT.as_str()) =>
            {
                iam.extend(statement_changes(c, vpc_endpoint::POLICY_DOCUMENT));
            }
            Grants::EndpointPolicy => {}
            Grants::PrefixListEntries => rules.extend(entry_changes(plan, c)),
            Grants::Subscription => notifications.extend(subscription_change(c)),
            Grants::Nothing => {}
        }
    }
    iam.extend(rules);
    iam.extend(notifications);
    iam
}

/// A subscription created (a new recipient) or deleted; a replacement
/// keeps its endpoint (its key) and reaches no one new.
fn subscription_change(c: &ResourceChange) -> Option<SecurityChange> {
    use vpcform_topology::kinds::sns::{ENDPOINT, PROTOCOL};
    let (sign, attrs) = match c.action {
        Action::Create => (Sign::Added, &c.after),
        Action::Delete => (Sign::Removed, &c.before),
        Action::NoOp | Action::Update | Action::Adopt | Action::Replace { .. } => return None,
    };
    let text = |a: vpcform_topology::Attr| a.str(attrs).unwrap_or_default().to_string();
    Some(SecurityChange::Subscription {
        sign,
        address: vpcform_topology::Address::new(ResourceKind::SnsTopic, &c.address.name),
        protocol: text(PROTOCOL),
        endpoint: text(ENDPOINT),
        broadening: sign == Sign::Added,
    })
}

/// Whether any change of `plan` broadens access.
pub fn broadens(plan: &Plan) -> bool {
    security_changes(plan)
        .iter()
        .any(SecurityChange::broadening)
}

// ---- IAM ----------------------------------------------------------------------------

/// The statements of a document as AWS holds it (canonical, so order and
/// string-or-list spelling make no difference).
fn canonical_statements(document: Option<&Value>) -> Vec<Value> {
    let Some(document) = document.filter(|d| !d.is_null()) else {
        return Vec::new();
    };
    statements(&normalize(Compare::Policy, document))
        .into_iter()
        .cloned()
        .collect()
}

fn statement_changes(c: &ResourceChange, attr: vpcform_topology::Attr) -> Vec<SecurityChange> {
    let before = if matches!(c.action, Action::Create) {
        Vec::new()
    } else {
        canonical_statements(c.before.get(attr.as_str()))
    };
    let after = if matches!(c.action, Action::Delete) {
        Vec::new()
    } else {
        canonical_statements(c.after.get(attr.as_str()))
    };
    let mut out = Vec::new();
    for s in after.iter().filter(|s| !before.contains(s)) {
        let allow = s.get("Effect").and_then(Value::as_str) == Some("Allow");
        let covered = before.iter().any(|b| statement_covers(b, s));
        out.push(statement(Sign::Added, &c.address, s, allow && !covered));
    }
    for s in before.iter().filter(|s| !after.contains(s)) {
        let deny = s.get("Effect").and_then(Value::as_str) == Some("Deny");
        out.push(statement(Sign::Removed, &c.address, s, deny));
    }
    out
}

fn statement(sign: Sign, address: &Address, s: &Value, broadening: bool) -> SecurityChange {
    let list = |key: &str| -> Vec<String> {
        string_or_list(s.get(key))
            .into_iter()
            .map(str::to_string)
            .collect()
    };
    let compact = |key: &str| s.get(key).map(|v| v.to_string());
    SecurityChange::IamStatement {
        sign,
        address: address.clone(),
        effect: s
            .get("Effect")
            .and_then(Value::as_str)
            .unwrap_or("Allow")
            .to_string(),
        actions: [
            list("Action"),
            list("NotAction")
                .into_iter()
                .map(|a| format!("NOT {a}"))
                .collect(),
        ]
        .concat(),
        resources: [
            list("Resource"),
            list("NotResource")
                .into_iter()
                .map(|r| format!("NOT {r}"))
                .collect(),
        ]
        .concat(),
        principal: compact("Principal"),
        condition: compact("Condition"),
        broadening,
    }
}

/// Whether Allow statement `wide` grants everything `narrow` does: same
/// principal and conditions, every action and resource matched.
fn statement_covers(wide: &Value, narrow: &Value) -> bool {
    let same = |key: &str| wide.get(key) == narrow.get(key);
    let matched = |key: &str| {
        let patterns = string_or_list(wide.get(key));
        string_or_list(narrow.get(key))
            .iter()
            .all(|x| patterns.iter().any(|p| iam_matches(p, x)))
    };
    wide.get("Effect") == Some(&Value::from("Allow"))
        && same("Effect")
        && same("Principal")
        && same("Condition")
        && wide.get("NotAction").is_none()
        && wide.get("NotResource").is_none()
        && narrow.get("NotAction").is_none()
        && narrow.get("NotResource").is_none()
        && matched("Action")
        && matched("Resource")
}

fn attachment_change(c: &ResourceChange) -> Option<SecurityChange> {
    let sign = match c.action {
        Action::Create | Action::Adopt => Sign::Added,
        Action::Delete => Sign::Removed,
        Action::NoOp | Action::Update | Action::Replace { .. } => return None,
    };
    Some(SecurityChange::IamAttachment {
        sign,
        address: vpcform_topology::ResourceKind::container_of(&c.address)?,
        policy: c.address.key.clone().unwrap_or_default(),
        broadening: sign == Sign::Added,
    })
}

// ---- Rules --------------------------------------------------------------------------

/// A rule or entry as compared: what it lets through.
#[derive(Clone, Debug, PartialEq)]
struct Grant {
    direction: String,
    protocol: String,
    from: i64,
    to: i64,
    peer: String,
    allow: bool,
}

impl Grant {
    /// Whether `self` (an allow) lets through everything `other` does.
    fn covers(&self, other: &Grant) -> bool {
        let protocol = self.protocol == "all" || self.protocol == other.protocol;
        let ports = self.protocol == "all"
            || (self.from == -1 && self.to == -1)
            || (self.from <= other.from && other.to <= self.to && other.from >= 0);
        let peer = self.peer == other.peer
            || match (self.peer.parse::<IpNet>(), other.peer.parse::<IpNet>()) {
                (Ok(wide), Ok(narrow)) => wide.contains(&narrow),
                _ => false,
            };
        self.allow && other.allow && self.direction == other.direction && protocol && ports && peer
    }
}

/// The rule or entry `attrs` describe, if they are one.
fn grant(kind: RuleKind, key: Option<&str>, attrs: &BTreeMap<String, Value>) -> Option<Grant> {
    match kind {
        RuleKind::SecurityGroup => {
            // direction/protocol/from..to/peer, as the topology keys rules.
            let mut parts = key?.splitn(4, '/');
            let direction = parts.next()?.to_string();
            let protocol = protocol_name(parts.next()?);
            let (from, to) = parts.next()?.split_once("..")?;
            let peer = parts.next()?;
            Some(Grant {
                direction,
                protocol,
                from: from.parse().ok()?,
                to: to.parse().ok()?,
                peer: match (peer.strip_prefix("sg:"), peer.strip_prefix("pl:")) {
                    (Some(g), _) => format!("group {g}"),
                    (None, Some(p)) => format!("prefix list {p}"),
                    (None, None) => peer.to_string(),
                },
                allow: true,
            })
        }
        RuleKind::NetworkAcl => {
            let number = |a: vpcform_topology::Attr| attrs.get(a.as_str()).and_then(Value::as_i64);
            let text = |a: vpcform_topology::Attr| attrs.get(a.as_str()).and_then(Value::as_str);
            let egress = attrs.get(network_acl::EGRESS.as_str()) == Some(&Value::Bool(true));
            Some(Grant {
                direction: if egress { "egress" } else { "ingress" }.into(),
                protocol: protocol_name(text(network_acl::PROTOCOL)?),
                from: number(network_acl::FROM_PORT).unwrap_or(-1),
                to: number(network_acl::TO_PORT).unwrap_or(-1),
                peer: text(network_acl::CIDR_BLOCK)?.to_string(),
                allow: text(network_acl::RULE_ACTION) == Some("allow"),
            })
        }
    }
}

fn protocol_name(text: &str) -> String {
    match vpcform_topology::Protocol::from_aws(text) {
        Some(vpcform_topology::Protocol::All) => "all".into(),
        Some(vpcform_topology::Protocol::Icmpv6) => "icmpv6".into(),
        Some(p) => p.aws_name(),
        None => text.to_string(),
    }
}

/// Every rule or entry of the same group or ACL as it was before the plan.
fn before_grants(plan: &Plan, container: &Address, kind: RuleKind) -> Vec<Grant> {
    plan.changes
        .iter()
        .filter(|c| Grants::of(c.kind) == Grants::Rule(kind))
        .filter(|c| c.id.is_some() && !matches!(c.action, Action::Create))
        .filter(|c| ResourceKind::container_of(&c.address).as_ref() == Some(container))
        .filter_map(|c| grant(kind, c.address.key.as_deref(), &c.before))
        .collect()
}

fn rule_changes(plan: &Plan, c: &ResourceChange, kind: RuleKind) -> Vec<SecurityChange> {
    let Some(container) = ResourceKind::container_of(&c.address) else {
        return Vec::new();
    };
    let key = c.address.key.as_deref();
    let old = (!matches!(c.action, Action::Create | Action::Adopt))
        .then(|| grant(kind, key, &c.before))
        .flatten();
    let new = (!matches!(c.action, Action::Delete))
        .then(|| grant(kind, key, &c.after))
        .flatten();
    if old == new {
        return Vec::new(); // a description changed, or an adoption
    }
    let mut out = Vec::new();
    if let Some(old) = old {
        let broadening = !old.allow;
        out.push(rule(Sign::Removed, &container, c.kind, &old, broadening));
    }
    if let Some(new) = new {
        let before = before_grants(plan, &container, kind);
        let broadening = new.allow && !before.iter().any(|b| b.covers(&new));
        out.push(rule(Sign::Added, &container, c.kind, &new, broadening));
    }
    out
}

/// The rules that name the list `list` (its logical name), as grants of
/// their group; none when no rule names it.
fn rules_naming(plan: &Plan, list: &str) -> Vec<(Address, Grant)> {
    let suffix = format!("/pl:{list}");
    plan.changes
        .iter()
        .filter(|r| Grants::of(r.kind) == Grants::Rule(RuleKind::SecurityGroup))
        .filter(|r| !matches!(r.action, Action::Delete))
        .filter(|r| {
            r.address
                .key
                .as_deref()
                .is_some_and(|k| k.ends_with(&suffix))
        })
        .filter_map(|r| {
            let group = ResourceKind::container_of(&r.address)?;
            Some((
                group,
                grant(RuleKind::SecurityGroup, r.address.key.as_deref(), &r.after)?,
            ))
        })
        .collect()
}

/// A prefix list's entries added and removed, as what each rule naming the
/// list grants (broadening unless an entry before covered it); a list no
/// rule names is one row of its own.
fn entry_changes(plan: &Plan, c: &ResourceChange) -> Vec<SecurityChange> {
    let cidrs = |attrs: &BTreeMap<String, Value>| -> Vec<String> {
        attrs
            .get(prefix_list::ENTRIES.as_str())
            .and_then(Value::as_object)
            .map(|e| e.keys().cloned().collect())
            .unwrap_or_default()
    };
    let before = if matches!(c.action, Action::Create) {
        Vec::new()
    } else {
        cidrs(&c.before)
    };
    let after = if matches!(c.action, Action::Delete) {
        Vec::new()
    } else {
        cidrs(&c.after)
    };
    let users = rules_naming(plan, &c.address.name);
    let entry = |sign: Sign, cidr: &str, broadening: bool| -> Vec<SecurityChange> {
        if users.is_empty() {
            return vec![SecurityChange::Rule {
                sign,
                address: c.address.clone(),
                kind: ResourceKind::PrefixList,
                direction: "entry".into(),
                protocol: "(no rule names it)".into(),
                ports: "-".into(),
                peer: cidr.to_string(),
                action: "allow".into(),
                broadening,
            }];
        }
        users
            .iter()
            .map(|(group, g)| {
                let via = Grant {
                    peer: format!("{cidr} (via {})", c.address),
                    ..g.clone()
                };
                rule(sign, group, ResourceKind::SecurityGroup, &via, broadening)
            })
            .collect()
    };
    let covered = |cidr: &str| {
        before.iter().any(
            |b| match (b.parse::<ipnet::IpNet>(), cidr.parse::<ipnet::IpNet>()) {
                (Ok(wide), Ok(narrow)) => wide.contains(&narrow),
                _ => b == cidr,
            },
        )
    };
    let mut out: Vec<SecurityChange> = after
        .iter()
        .filter(|a| !before.contains(a))
        .flat_map(|a| entry(Sign::Added, a, !covered(a)))
        .collect();
    out.extend(
        before
            .iter()
            .filter(|b| !after.contains(b))
            .flat_map(|b| entry(Sign::Removed, b, false)),
    );
    out
}

fn rule(
    sign: Sign,
    address: &Address,
    kind: ResourceKind,
    g: &Grant,
    broadening: bool,
) -> SecurityChange {
    let ports = match (g.protocol.as_str(), g.from, g.to) {
        ("icmp" | "icmpv6", -1, _) => "all types".to_string(),
        ("icmp" | "icmpv6", t, -1) => format!("type {t}"),
        ("icmp" | "icmpv6", t, c) => format!("type {t} code {c}"),
        (_, -1, -1) | (_, 0, 65535) => "all".to_string(),
        (_, f, t) if f == t => f.to_string(),
        (_, f, t) => format!("{f}-{t}"),
    };
    SecurityChange::Rule {
        sign,
        address: address.clone(),
        kind: kind.container().unwrap_or(kind),
        direction: g.direction.clone(),
        protocol: g.protocol.clone(),
        ports,
        peer: g.peer.clone(),
        action: if g.allow { "allow" } else { "deny" }.into(),
        broadening,
    }
}

// ---- Rendering ----------------------------------------------------------------------

/// The rows of the two tables: IAM (±, object, effect, actions, resources,
/// principal, condition) and rules (±, group or ACL, direction, protocol,
/// ports, peer, action), each with its broadening mark.
fn rows(changes: &[SecurityChange]) -> [Vec<Vec<String>>; 3] {
    let mark = |b: bool| if b { "broadening" } else { "" }.to_string();
    let mut iam = Vec::new();
    let mut rules = Vec::new();
    let mut notifications = Vec::new();
    for c in changes {
        match c {
            SecurityChange::IamStatement {
                sign,
                address,
                effect,
                actions,
                resources,
                principal,
                condition,
                broadening,
            } => iam.push(vec![
                sign.symbol().into(),
                address.to_string(),
                effect.clone(),
                actions.join(", "),
                resources.join(", "),
                principal.clone().unwrap_or_default(),
                condition.clone().unwrap_or_default(),
                mark(*broadening),
            ]),
            SecurityChange::IamAttachment {
                sign,
                address,
                policy,
                broadening,
            } => iam.push(vec![
                sign.symbol().into(),
                address.to_string(),
                "Attach".into(),
                format!("policy {policy}"),
                String::new(),
                String::new(),
                String::new(),
                mark(*broadening),
            ]),
            SecurityChange::Subscription {
                sign,
                address,
                protocol,
                endpoint,
                broadening,
            } => notifications.push(vec![
                sign.symbol().into(),
                address.to_string(),
                protocol.clone(),
                endpoint.clone(),
                mark(*broadening),
            ]),
            SecurityChange::Rule {
                sign,
                address,
                direction,
                protocol,
                ports,
                peer,
                action,
                broadening,
                ..
            } => rules.push(vec![
                sign.symbol().into(),
                address.to_string(),
                direction.clone(),
                protocol.clone(),
                ports.clone(),
                peer.clone(),
                action.clone(),
                mark(*broadening),
            ]),
        }
    }
    [iam, rules, notifications]
}

const IAM_HEADER: [&str; 8] = [
    "±",
    "policy or role",
    "effect",
    "action",
    "resource",
    "principal",
    "condition",
    "",
];
const NOTIFICATION_HEADER: [&str; 5] = ["±", "topic", "protocol", "endpoint", ""];

/// One table: its title, header and rows.
type Table<'h> = (&'static str, &'h [&'static str], Vec<Vec<String>>);

const RULE_HEADER: [&str; 8] = [
    "±",
    "group or ACL",
    "direction",
    "protocol",
    "ports",
    "peer",
    "action",
    "",
];

fn headline(changes: &[SecurityChange]) -> String {
    let broadening = changes.iter().filter(|c| c.broadening()).count();
    format!(
        "Security changes ({}, {broadening} broadening)",
        changes.len()
    )
}

/// The terminal tables, aligned; empty when the plan changes nothing of security.
pub(crate) fn text(plan: &Plan, style: &vpcform_topology::Style) -> String {
    let changes = security_changes(plan);
    if changes.is_empty() {
        return String::new();
    }
    let [iam, rules, notifications] = rows(&changes);
    let mut out = format!("\n{}:\n", style.bold(&headline(&changes)));
    let tables: [Table<'_>; 3] = [
        ("IAM", &IAM_HEADER, iam),
        ("Rules", &RULE_HEADER, rules),
        ("Notifications", &NOTIFICATION_HEADER, notifications),
    ];
    for (title, header, rows) in tables {
        if rows.is_empty() {
            continue;
        }
        out.push_str(&format!("  {title}:\n"));
        let all: Vec<Vec<String>> = std::iter::once(header.iter().map(|h| h.to_string()).collect())
            .chain(rows)
            .collect();
        let widths: Vec<usize> = (0..header.len())
            .map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        for row in &all {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{:<w$}", terminal(cell)))
                .collect();
            let line = format!("    {}", cells.join("  "));
            let line = line.trim_end();
            if row.last().is_some_and(|m| !m.is_empty()) {
                out.push_str(&style.red(line));
            } else {
                out.push_str(line);
            }
            out.push('\n');
        }
    }
    out
}

/// The GitHub tables, for above the fold.
pub(crate) fn markdown(plan: &Plan) -> String {
    let changes = security_changes(plan);
    if changes.is_empty() {
        return String::new();
    }
    // Above the fold, so bounded: broadening changes first.
    let mut shown = changes.clone();
    shown.sort_by_key(|c| !c.broadening());
    let hidden = shown.len().saturating_sub(MARKDOWN_ROWS);
    shown.truncate(MARKDOWN_ROWS);
    let [iam, rules, notifications] = rows(&shown);
    let mut out = format!("#### {}\n\n", headline(&changes));
    let broadening = changes.iter().filter(|c| c.broadening()).count();
    if broadening > 0 {
        out.push_str(&format!(
            "> [!IMPORTANT]\n> This plan broadens access ({broadening} change(s)): it needs a security review.\n\n"
        ));
    }
    let tables: [Table<'_>; 3] = [
        ("IAM", &IAM_HEADER, iam),
        ("Rules", &RULE_HEADER, rules),
        ("Notifications", &NOTIFICATION_HEADER, notifications),
    ];
    for (_, header, rows) in tables {
        if rows.is_empty() {
            continue;
        }
        let last = header.len() - 1;
        out.push_str(&format!("| {} |\n", header.join(" | ")));
        out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
        for row in rows {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, c)| match i {
                    _ if (i == 0 || i == last) && c.is_empty() => String::new(),
                    0 => md_cell(c),
                    _ if i == last => "**broadening**".into(),
                    _ if c.is_empty() => String::new(),
                    _ => md_cell(c),
                })
                .collect();
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        out.push('\n');
    }
    if hidden > 0 {
        out.push_str(&format!(
            "{hidden} more security change(s) are left out here; `vpcform plan` lists them all.\n\n"
        ));
    }
    out
}

/// Rows of the security tables a pull-request comment shows.
const MARKDOWN_ROWS: usize = 40;
