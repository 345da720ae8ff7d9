//! Policy checks: the rules teams run beside plans (checkov, trivy), kept
//! in one registry ([`POLICY_RULES`]) and evaluated on **facts**: each
//! object's attributes under its kind's attribute names, references as
//! addresses. Facts come from the topology (what apply will build,
//! [`desired_facts`]) or from the account (vpcform-diff builds them from
//! live state), so a plan can tell which findings a change introduces,
//! resolves or leaves.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::address::{Address, ResourceKind};
use crate::attr::DESCRIPTION;
use crate::graph::DependencyGraph;
use crate::kind::{Attr, Desired, DesiredCx};
use crate::kinds::flow_log::RESOURCE_ID;
use crate::kinds::log_group::RETENTION_IN_DAYS;
use crate::kinds::prefix_list::ENTRIES;
use crate::kinds::security_group::{
    CIDR_IPV4, CIDR_IPV6, DEFAULT_DESCRIPTION, DIRECTION, FROM_PORT, GROUP_ID, IP_PROTOCOL,
    PREFIX_LIST_ID, REVOKE_DEFAULT_EGRESS, TO_PORT,
};
use crate::kinds::vpc_endpoint;
use crate::registry::Topology;

/// One object as the checks see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Fact {
    pub kind: ResourceKind,
    pub attrs: BTreeMap<String, Value>,
}

impl Fact {
    pub fn get(&self, attr: Attr) -> Option<&Value> {
        self.attrs.get(attr.as_str())
    }

    fn str(&self, attr: Attr) -> Option<&str> {
        self.get(attr).and_then(Value::as_str)
    }

    fn int(&self, attr: Attr) -> Option<i64> {
        self.get(attr).and_then(Value::as_i64)
    }
}

/// Every object of a topology or an account, by address.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts(pub BTreeMap<Address, Fact>);

impl Facts {
    fn of(&self, kind: ResourceKind) -> impl Iterator<Item = (&Address, &Fact)> {
        self.0.iter().filter(move |(_, f)| f.kind == kind)
    }
}

/// A check of the registry.
#[derive(Debug)]
pub struct PolicyRule {
    /// The id findings and waivers use (checkov's where it has one).
    pub id: &'static str,
    /// The same check's ids in other tools (trivy's `AVD-…`), accepted by waivers.
    pub aliases: &'static [&'static str],
    pub title: &'static str,
    /// How to comply.
    pub fix: &'static str,
    check: fn(&Facts, &mut Vec<(Address, String)>),
}

/// What a rule found on one object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RawFinding {
    pub rule: &'static str,
    pub address: Address,
    pub message: String,
}

/// The registry: every policy check vpcform runs, in report order.
pub static POLICY_RULES: &[PolicyRule] = &[
    PolicyRule {
        id: "CKV_AWS_24",
        aliases: &["AVD-AWS-0107"],
        title: "no security-group ingress from 0.0.0.0/0 or ::/0 to port 22",
        fix: "allow SSH from the addresses that need it, or reach instances through SSM Session Manager",
        check: |f, out| world_ingress_to_port(f, 22, "SSH", out),
    },
    PolicyRule {
        id: "CKV_AWS_25",
        aliases: &["AVD-AWS-0107"],
        title: "no security-group ingress from 0.0.0.0/0 or ::/0 to port 3389",
        fix: "allow RDP from the addresses that need it, or use Fleet Manager",
        check: |f, out| world_ingress_to_port(f, 3389, "RDP", out),
    },
    PolicyRule {
        id: "CKV_AWS_277",
        aliases: &[],
        title: "no security-group ingress from 0.0.0.0/0 or ::/0 to all ports",
        fix: "allow only the protocols and ports the service needs",
        check: world_ingress_to_all_ports,
    },
    PolicyRule {
        id: "CKV_AWS_23",
        aliases: &["AVD-AWS-0099", "AVD-AWS-0124"],
        title: "every security group and rule has a description",
        fix: "say in `description:` why the group or rule exists",
        check: undescribed,
    },
    PolicyRule {
        id: "AVD-AWS-0104",
        aliases: &["CKV_AWS_382"],
        title: "no unrestricted security-group egress to 0.0.0.0/0 or ::/0",
        fix: "declare `egress:` with the destinations the instances need (omitting it keeps AWS's allow-all rule)",
        check: unrestricted_egress,
    },
    PolicyRule {
        id: "CKV2_AWS_12",
        aliases: &[],
        title: "a VPC's default security group restricts all traffic",
        fix: "set `restrict-default-security-group: true` on the VPC",
        check: open_default_group,
    },
    PolicyRule {
        id: "CKV_AWS_66",
        aliases: &[],
        title: "a log group specifies its retention",
        fix: "set `retention-days:` (logs are otherwise kept, and paid for, forever)",
        check: |f, out| retention(f, None, out),
    },
    PolicyRule {
        id: "CKV_AWS_338",
        aliases: &[],
        title: "a log group keeps its logs at least a year",
        fix: "set `retention-days: 365` or more",
        check: |f, out| retention(f, Some(365), out),
    },
    PolicyRule {
        id: "CKV_AWS_158",
        aliases: &["AVD-AWS-0017"],
        title: "a log group is encrypted with a KMS key",
        fix: "set `kms-key-id:` to a KMS key the CloudWatch Logs service may use",
        check: unencrypted_logs,
    },
    PolicyRule {
        id: "vpcform-endpoint-full-access",
        aliases: &[],
        title: "a VPC endpoint's policy grants less than full access",
        fix: "declare `policy:` with the actions and resources the VPC needs (AWS's default lets anyone do anything through the endpoint)",
        check: full_access_endpoints,
    },
    PolicyRule {
        id: "vpcform-endpoint-private-dns",
        aliases: &[],
        title: "an interface endpoint resolves its service's name (private DNS)",
        fix: "set `private-dns: true` (and `enable-dns-hostnames: true` on the VPC), so clients use the endpoint instead of the internet",
        check: endpoints_without_private_dns,
    },
    PolicyRule {
        id: "CKV2_AWS_11",
        aliases: &["AVD-AWS-0178"],
        title: "every VPC has flow logs",
        fix: "declare a flow log of the VPC under `flow-logs:`",
        check: vpc_without_flow_logs,
    },
];

/// The rule whose id or alias is `id`.
pub fn rule(id: &str) -> Option<&'static PolicyRule> {
    POLICY_RULES
        .iter()
        .find(|r| r.id == id || r.aliases.contains(&id))
}

/// Every finding of every rule on `facts`, sorted by rule then address.
pub fn findings(facts: &Facts) -> Vec<RawFinding> {
    let mut out = Vec::new();
    for rule in POLICY_RULES {
        let mut found = Vec::new();
        (rule.check)(facts, &mut found);
        out.extend(found.into_iter().map(|(address, message)| RawFinding {
            rule: rule.id,
            address,
            message,
        }));
    }
    out.sort();
    out.dedup();
    out
}

/// What apply will build: each node's desired attributes (references as
/// the addresses they name), and AWS's allow-all egress rule of every
/// group whose egress the topology leaves unmanaged.
pub fn desired_facts(t: &Topology, graph: &DependencyGraph) -> Facts {
    let ssm = BTreeMap::new();
    let cx = DesiredCx::new(t, &ssm);
    let mut facts = BTreeMap::new();
    for (_, node) in graph.nodes() {
        let Some(desired) = crate::desired(&node.address, &cx) else {
            continue;
        };
        let attrs = desired
            .into_iter()
            .filter_map(|(attr, d)| {
                let value = match d {
                    Desired::Known(v) => v,
                    Desired::Ref(address, _) => Value::String(address.to_string()),
                    Desired::RefList(list) => {
                        Value::Array(list.iter().map(|a| Value::String(a.to_string())).collect())
                    }
                    Desired::Ssm(_) => return None,
                };
                Some((attr.as_str().to_string(), value))
            })
            .collect();
        let fact = Fact {
            kind: node.address.kind,
            attrs,
        };
        if fact.kind == ResourceKind::SecurityGroup && fact.get(REVOKE_DEFAULT_EGRESS).is_none() {
            // A group in a VPC with IPv6 gets AWS's ::/0 egress rule too.
            let ipv6 = t
                .security_groups
                .iter()
                .find(|g| g.name.value == node.address.name)
                .and_then(|g| t.vpcs.iter().find(|v| v.name.value == g.spec.vpc.value))
                .is_some_and(|v| v.spec.has_ipv6());
            for world in std::iter::once(WORLD).chain(ipv6.then_some(WORLD6)) {
                let (address, rule) = default_egress_fact(&node.address, world);
                facts.insert(address, rule);
            }
        }
        facts.insert(node.address.clone(), fact);
    }
    Facts(facts)
}

/// AWS's egress rule of a new group to `world` (0.0.0.0/0, or ::/0 in a
/// VPC with IPv6), as the reader reports it.
fn default_egress_fact(group: &Address, world: &str) -> (Address, Fact) {
    let mut rule = crate::default_egress();
    let cidr = world.parse().expect("a CIDR");
    rule.peer = crate::Peer::Cidr(cidr);
    let family = match cidr {
        ipnet::IpNet::V4(_) => CIDR_IPV4,
        ipnet::IpNet::V6(_) => CIDR_IPV6,
    };
    let attrs = [
        (GROUP_ID, Value::String(group.to_string())),
        (DIRECTION, Value::from("egress")),
        (IP_PROTOCOL, Value::from("-1")),
        (FROM_PORT, Value::from(-1)),
        (TO_PORT, Value::from(-1)),
        (family, Value::from(world)),
    ]
    .into_iter()
    .map(|(a, v)| (a.as_str().to_string(), v))
    .collect();
    (
        Address::keyed(
            ResourceKind::SecurityGroupRule,
            group.name.clone(),
            rule.key(),
        ),
        Fact {
            kind: ResourceKind::SecurityGroupRule,
            attrs,
        },
    )
}

// ---- The checks ---------------------------------------------------------------------

const WORLD: &str = "0.0.0.0/0";
const WORLD6: &str = "::/0";

/// What of the whole internet a rule names: its CIDR, or the list holding it.
fn world_of(r: &Fact) -> String {
    match (r.str(CIDR_IPV4).or(r.str(CIDR_IPV6)), r.str(PREFIX_LIST_ID)) {
        (Some(cidr), _) => cidr.to_string(),
        (None, Some(list)) => format!("prefix list {list}, which holds it"),
        (None, None) => WORLD.to_string(),
    }
}

/// Security-group rules of `direction` open to the whole internet: by their CIDR, or by a prefix list
/// that holds 0.0.0.0/0 or ::/0 (a list's entries are what its rules grant).
fn world_rules<'f>(
    facts: &'f Facts,
    direction: &'f str,
) -> impl Iterator<Item = (&'f Address, &'f Fact)> {
    let world = |c: &str| c.parse::<ipnet::IpNet>().is_ok_and(|c| c.prefix_len() == 0);
    let list_holds_world = move |list: &str| {
        let address = Address::parse(list);
        address
            .and_then(|a| facts.0.get(&a))
            .and_then(|f| f.get(ENTRIES))
            .and_then(Value::as_object)
            .is_some_and(|entries| entries.keys().any(|c| world(c)))
    };
    facts
        .of(ResourceKind::SecurityGroupRule)
        .filter(move |(_, r)| {
            r.str(DIRECTION) == Some(direction)
                && (r.str(CIDR_IPV4).is_some_and(world)
                    || r.str(CIDR_IPV6).is_some_and(world)
                    || r.str(PREFIX_LIST_ID).is_some_and(list_holds_world))
        })
}

fn full_access_endpoints(facts: &Facts, out: &mut Vec<(Address, String)>) {
    for (address, e) in facts.of(ResourceKind::VpcEndpoint) {
        let policy = e
            .get(vpc_endpoint::POLICY_DOCUMENT)
            .filter(|p| !p.is_null())
            .map(crate::decode_policy_document);
        match policy {
            None => out.push((
                address.clone(),
                "no policy is declared: AWS's default lets anyone do anything through it".into(),
            )),
            Some(p) if vpc_endpoint::is_full_access(&p) => out.push((
                address.clone(),
                "its policy allows every action on every resource to everyone".into(),
            )),
            Some(_) => {}
        }
    }
}

fn endpoints_without_private_dns(facts: &Facts, out: &mut Vec<(Address, String)>) {
    for (address, e) in facts.of(ResourceKind::VpcEndpoint) {
        let interface = e.str(vpc_endpoint::ENDPOINT_TYPE) == Some("interface");
        if interface && e.get(vpc_endpoint::PRIVATE_DNS_ENABLED) == Some(&Value::Bool(false)) {
            out.push((
                address.clone(),
                "private DNS is off: clients resolve the service's public name and go around the endpoint".into(),
            ));
        }
    }
}

fn all_traffic(r: &Fact) -> bool {
    match r.str(IP_PROTOCOL) {
        Some("-1" | "all") => true,
        Some("tcp" | "6") => (r.int(FROM_PORT), r.int(TO_PORT)) == (Some(0), Some(65535)),
        _ => false,
    }
}

fn world_ingress_to_port(facts: &Facts, port: i64, what: &str, out: &mut Vec<(Address, String)>) {
    for (address, r) in world_rules(facts, "ingress") {
        let tcp = matches!(r.str(IP_PROTOCOL), Some("tcp" | "6"));
        let reaches = all_traffic(r)
            || (tcp
                && r.int(FROM_PORT).unwrap_or(0) <= port
                && port <= r.int(TO_PORT).unwrap_or(65535));
        if reaches {
            out.push((
                address.clone(),
                format!(
                    "{what} (port {port}) is open to the whole internet ({})",
                    world_of(r)
                ),
            ));
        }
    }
}

fn world_ingress_to_all_ports(facts: &Facts, out: &mut Vec<(Address, String)>) {
    for (address, r) in world_rules(facts, "ingress").filter(|(_, r)| all_traffic(r)) {
        out.push((
            address.clone(),
            format!("every port is open to the whole internet ({})", world_of(r)),
        ));
    }
}

fn unrestricted_egress(facts: &Facts, out: &mut Vec<(Address, String)>) {
    for (address, r) in world_rules(facts, "egress").filter(|(_, r)| all_traffic(r)) {
        out.push((
            address.clone(),
            format!("all traffic may leave to anywhere ({})", world_of(r)),
        ));
    }
}

fn undescribed(facts: &Facts, out: &mut Vec<(Address, String)>) {
    for (address, g) in facts.of(ResourceKind::SecurityGroup) {
        let d = g.str(DESCRIPTION).unwrap_or_default();
        if d.trim().is_empty() || d == DEFAULT_DESCRIPTION {
            out.push((
                address.clone(),
                "the group has no description of its own".into(),
            ));
        }
    }
    // AWS's own egress rule carries no description; it is reported as egress.
    let aws_egress = crate::default_egress().key();
    for (address, r) in facts.of(ResourceKind::SecurityGroupRule) {
        let described = r.str(DESCRIPTION).is_some_and(|d| !d.trim().is_empty());
        if !described && address.key.as_deref() != Some(aws_egress.as_str()) {
            out.push((address.clone(), "the rule has no description".into()));
        }
    }
}

fn retention(facts: &Facts, at_least: Option<i64>, out: &mut Vec<(Address, String)>) {
    for (address, g) in facts.of(ResourceKind::LogGroup) {
        match (g.int(RETENTION_IN_DAYS), at_least) {
            (None, None) => out.push((address.clone(), "logs are kept forever".into())),
            (Some(days), Some(min)) if days < min => out.push((
                address.clone(),
                format!("logs are kept {days} days, less than {min}"),
            )),
            _ => {}
        }
    }
}

fn unencrypted_logs(facts: &Facts, out: &mut Vec<(Address, String)>) {
    for (address, g) in facts.of(ResourceKind::LogGroup) {
        let key = g
            .str(crate::kinds::log_group::KMS_KEY_ID)
            .filter(|k| !k.is_empty());
        if key.is_none() {
            out.push((
                address.clone(),
                "logs are encrypted with CloudWatch's own key, not a KMS key".into(),
            ));
        }
    }
}

fn open_default_group(facts: &Facts, out: &mut Vec<(Address, String)>) {
    use crate::kinds::vpc::RESTRICT_DEFAULT_SECURITY_GROUP;
    for (address, v) in facts.of(ResourceKind::Vpc) {
        if v.get(RESTRICT_DEFAULT_SECURITY_GROUP) != Some(&Value::Bool(true)) {
            out.push((
                address.clone(),
                "its default security group keeps AWS's rules (all traffic from itself, all out)"
                    .into(),
            ));
        }
    }
}

fn vpc_without_flow_logs(facts: &Facts, out: &mut Vec<(Address, String)>) {
    for (address, _) in facts.of(ResourceKind::Vpc) {
        let name = address.to_string();
        let logged = facts
            .of(ResourceKind::FlowLog)
            .any(|(_, f)| f.str(RESOURCE_ID) == Some(name.as_str()));
        if !logged {
            out.push((address.clone(), "the VPC's traffic is not logged".into()));
        }
    }
}
