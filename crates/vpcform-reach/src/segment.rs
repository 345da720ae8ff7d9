//! Expectations over many flows (segmentation): `vpc.NAME` stands for the
//! subnets of a VPC, `tag:KEY=VALUE` for the subnets of every VPC tagged
//! so. A group expectation is every flow between a member of `from` and a
//! member of `to` in another VPC: `reachable: false` holds when none gets
//! through (with `protocol: any`: for ICMP and every port a rule or ACL
//! entry of the network names), `reachable: true` when all do. Subnets
//! stand for any address in them, with no security group: segmentation is
//! a property of routes, peerings and ACLs, not of an instance's groups.
//! A broken one names a witness flow and the routes it takes. `any`
//! between single endpoints is checked the same way, over every service.

use std::collections::{BTreeSet, HashMap};

use ipnet::IpNet;

use vpcform_topology::{Direction, ExpectProtocol, Expectation, Protocol};

use crate::connectivity::{ExpectationResult, Status};
use crate::eval::{Answer, Verdict, evaluate};
use crate::flow::{EndpointSpec, Service};
use crate::model::{Network, RouteTarget, Subnet};

/// A group an expectation names.
enum Group {
    Vpc(String),
    Tag(String, String),
}

impl Group {
    fn parse(text: &str) -> Option<Group> {
        let text = text.trim();
        if let Some((k, v)) = text.strip_prefix("tag:").and_then(|s| s.split_once('=')) {
            return Some(Group::Tag(k.to_string(), v.to_string()));
        }
        text.strip_prefix("vpc.")
            .map(|name| Group::Vpc(format!("vpc.{name}")))
    }

    /// The member subnets.
    fn members<'n>(&self, network: &'n Network) -> Vec<&'n Subnet> {
        let vpcs: BTreeSet<&str> = network
            .vpcs
            .iter()
            .filter(|v| match self {
                Group::Vpc(key) => &v.key == key,
                Group::Tag(k, value) => v.tags.get(k) == Some(value),
            })
            .map(|v| v.key.as_str())
            .collect();
        network
            .subnets
            .iter()
            .filter(|s| vpcs.contains(s.vpc.as_str()))
            .collect()
    }
}

/// Whether an expectation is about many flows: a group on either side,
/// or every protocol and port (`any`).
pub fn is_group(e: &Expectation) -> bool {
    Group::parse(&e.from.value).is_some()
        || Group::parse(&e.to.value).is_some()
        || e.protocol.value == ExpectProtocol::Any
}

/// A group expectation against the network.
pub(crate) fn check(e: &Expectation, network: &Network) -> ExpectationResult {
    let side = |text: &str| -> Vec<EndpointSpec> {
        match Group::parse(text) {
            Some(g) => g
                .members(network)
                .iter()
                .map(|s| EndpointSpec::Address {
                    kind: "subnet".into(),
                    name: s.key.trim_start_matches("subnet.").to_string(),
                })
                .collect(),
            None => text.parse().into_iter().collect(),
        }
    };
    let (from, to) = (side(&e.from.value), side(&e.to.value));
    // Within one VPC the local route always carries: a group promise is
    // about other VPCs; single endpoints are taken as they are.
    let groups = Group::parse(&e.from.value).is_some() || Group::parse(&e.to.value).is_some();
    let services = services(e, network);
    let ways = Ways::of(network);
    let mut unknown = None;
    let mut witness: Option<Verdict> = None;
    'pairs: for a in &from {
        for b in to.iter().filter(|b| !(groups && same_vpc(network, a, b))) {
            // A promise that nothing gets through holds for a pair no route can join.
            if !e.reachable.value && !ways.may_join(network, a, b) {
                continue;
            }
            for s in &services {
                let Ok(v) = evaluate(network, a, b, *s) else {
                    continue;
                };
                match v.answer {
                    Answer::Unknown => {
                        unknown.get_or_insert(v);
                    }
                    answer if (answer == Answer::Reachable) != e.reachable.value => {
                        witness = Some(v);
                        break 'pairs;
                    }
                    Answer::Reachable | Answer::NotReachable => {}
                }
            }
        }
    }
    result(e, witness, unknown)
}

fn result(
    e: &Expectation,
    witness: Option<Verdict>,
    unknown: Option<Verdict>,
) -> ExpectationResult {
    let (status, actual, verdict) = match (witness, unknown) {
        (Some(w), _) => (Status::Broken, !e.reachable.value, Some(w)),
        (None, Some(u)) => (Status::Unverifiable, false, Some(u)),
        (None, None) => (Status::Held, e.reachable.value, None),
    };
    let witness = verdict
        .as_ref()
        .filter(|_| status == Status::Broken)
        .map(describe);
    let (blocked, unknown) = verdict.map_or((Vec::new(), Vec::new()), |v| (v.blocked, v.unknown));
    ExpectationResult {
        expectation: e.label(),
        reachable: e.reachable.value,
        actual,
        held: status == Status::Held,
        status,
        blocked,
        unknown,
        witness,
        span: e.span,
    }
}

/// A witness flow and the routes it takes (`subnet.a → subnet.b tcp/22 via …`).
fn describe(v: &Verdict) -> String {
    let path: Vec<String> = v
        .forward
        .iter()
        .filter(|h| h.passes && h.step == "route table")
        .map(|h| match &h.component {
            Some(c) => format!("{c}: {}", h.detail),
            None => h.detail.clone(),
        })
        .collect();
    let via = if path.is_empty() {
        String::new()
    } else {
        format!(" via {}", path.join(", "))
    };
    format!("{} → {} {}{via}", v.from, v.to, v.service)
}

/// Per VPC, the destinations of its routes that may lead to another VPC
/// (through a peering, or a target the model does not know); `None` when a
/// prefix-list route could (its entries are not compared here). Internet
/// and egress-only gateways and gateway endpoints never lead to a VPC.
struct Ways<'n>(HashMap<&'n str, Option<Vec<IpNet>>>);

impl<'n> Ways<'n> {
    fn of(network: &'n Network) -> Self {
        let mut out: HashMap<&str, Option<Vec<IpNet>>> = HashMap::new();
        for t in &network.route_tables {
            let entry = out
                .entry(t.vpc.as_str())
                .or_insert_with(|| Some(Vec::new()));
            let lists = t
                .prefix_list_routes
                .iter()
                .any(|(_, target)| leads_to_vpcs(target));
            match entry {
                Some(dests) if !lists => dests.extend(
                    t.routes
                        .iter()
                        .filter(|r| leads_to_vpcs(&r.target))
                        .map(|r| r.destination),
                ),
                Some(_) | None => *entry = None,
            }
        }
        Ways(out)
    }

    /// Whether a route of `a`'s VPC may carry traffic to `b`'s VPC.
    fn may_join(&self, network: &Network, a: &EndpointSpec, b: &EndpointSpec) -> bool {
        let vpc_of = |e: &EndpointSpec| {
            crate::flow::resolve(network, e, false)
                .ok()
                .and_then(|x| x.subnet.map(|s| s.vpc.clone()))
        };
        let (Some(va), Some(vb)) = (vpc_of(a), vpc_of(b)) else {
            return true;
        };
        let Some(vpc_b) = network.vpc(&vb) else {
            return true;
        };
        match self.0.get(va.as_str()) {
            Some(Some(dests)) => dests.iter().any(|d| {
                vpc_b
                    .cidrs()
                    .any(|c| d.contains(&c.network()) || c.contains(&d.network()))
            }),
            Some(None) => true,
            // No table of its own: the main table holds the local route only.
            None => false,
        }
    }
}

/// Whether a route target may carry traffic on to another VPC: a peering,
/// a NAT gateway (its own subnet's table routes on), or what the model
/// does not know.
fn leads_to_vpcs(target: &RouteTarget) -> bool {
    match target {
        RouteTarget::To(kind, _) => match kind {
            vpcform_topology::TargetKind::Peering | vpcform_topology::TargetKind::NatGateway => {
                true
            }
            vpcform_topology::TargetKind::InternetGateway
            | vpcform_topology::TargetKind::EgressOnlyGateway => false,
        },
        RouteTarget::Unmodeled { .. } => true,
        RouteTarget::Blackhole(_) | RouteTarget::GatewayEndpoint(_) => false,
    }
}

fn same_vpc(network: &Network, a: &EndpointSpec, b: &EndpointSpec) -> bool {
    let vpc = |e: &EndpointSpec| {
        crate::flow::resolve(network, e, false)
            .ok()
            .and_then(|x| x.subnet.map(|s| s.vpc.clone()))
    };
    let (va, vb) = (vpc(a), vpc(b));
    va.is_some() && va == vb
}

/// The services a group expectation covers: its own, or for `any`, ICMP and
/// every single port a security-group rule or ACL entry names (TCP 22 and
/// 443 at least).
fn services(e: &Expectation, network: &Network) -> Vec<Service> {
    if e.protocol.value != ExpectProtocol::Any {
        return vec![crate::connectivity::service_of(e)];
    }
    let mut ports: BTreeSet<(bool, i64)> = [(true, 22), (true, 443)].into_iter().collect();
    let rules = network.security_groups.iter().flat_map(|g| {
        g.rules
            .iter()
            .filter(|r| r.direction == Direction::Ingress)
            .map(|r| (r.protocol, r.from))
    });
    let entries = network
        .network_acls
        .iter()
        .flat_map(|a| a.entries.iter().map(|x| (x.protocol, x.from)));
    for (protocol, port) in rules.chain(entries) {
        if matches!(protocol, Protocol::Tcp | Protocol::Udp) && (0..=65535).contains(&port) {
            ports.insert((protocol == Protocol::Tcp, port));
        }
    }
    let ipv6 = e.over_ipv6();
    let family = |s: Service| if ipv6 { s.over_ipv6() } else { s };
    std::iter::once(Service::icmp())
        .chain(ports.into_iter().map(|(tcp, p)| {
            let port = p as u16;
            if tcp {
                Service::tcp(port)
            } else {
                Service::udp(port)
            }
        }))
        .map(family)
        .collect()
}
