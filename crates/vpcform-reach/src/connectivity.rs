//! Connectivity of a whole network: the topology's expectations checked,
//! and the flows whose reachability a change alters (Batfish's
//! "differential reachability", for a pull request).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use vpcform_topology::{Diagnostic, Direction, ExpectProtocol, Expectation, Protocol};

use crate::eval::{Answer, Block, Undecided, evaluate};
use crate::flow::{EndpointSpec, Service};
use crate::model::Network;

/// What a plan (or `validate`) reports about connectivity.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Connectivity {
    pub expectations: Vec<ExpectationResult>,
    /// Flows reachable before and not after, or the other way round.
    pub changes: Vec<FlowChange>,
}

impl Connectivity {
    pub fn broken(&self) -> impl Iterator<Item = &ExpectationResult> {
        self.expectations
            .iter()
            .filter(|e| e.status == Status::Broken)
    }

    /// Expectations that depend on what the model cannot see.
    pub fn unverifiable(&self) -> impl Iterator<Item = &ExpectationResult> {
        self.expectations
            .iter()
            .filter(|e| e.status == Status::Unverifiable)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExpectationResult {
    /// `instance.a → instance.b icmp`.
    pub expectation: String,
    /// What the topology promises.
    pub reachable: bool,
    /// What the network does (false when unknown).
    pub actual: bool,
    pub held: bool,
    pub status: Status,
    /// Why it is blocked, when it is.
    pub blocked: Vec<Block>,
    /// What the model cannot see through, when the answer is unknown.
    pub unknown: Vec<Undecided>,
    /// For a group expectation that broke: the flow that broke it and its route.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness: Option<String>,
    /// For a group expectation: how many pairs of member subnets (in
    /// different VPCs) the promise covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pairs: Option<usize>,
    /// A broken isolation promise whose witness request arrives while its
    /// reply is blocked (delivered, not a connection).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub arrives_only: bool,
    #[serde(skip)]
    pub span: vpcform_topology::Span,
}

/// Whether an expectation holds, is broken, or cannot be decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Held,
    Broken,
    /// The answer depends on a component the model does not know: neither held nor broken.
    Unverifiable,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FlowChange {
    pub from: String,
    pub to: String,
    pub service: String,
    pub before: bool,
    pub after: bool,
    /// What blocks it afterwards (flows this change cuts).
    pub blocked: Vec<Block>,
}

pub fn service_of(e: &Expectation) -> Service {
    let port = e
        .port
        .as_ref()
        .map_or(0, |p| p.value.clamp(0, 65535) as u16);
    let service = match e.protocol.value {
        // `any` between single endpoints: ping stands for it (groups check every port).
        ExpectProtocol::Icmp | ExpectProtocol::Any => Service::icmp(),
        ExpectProtocol::Tcp => Service::tcp(port),
        ExpectProtocol::Udp => Service::udp(port),
    };
    if e.over_ipv6() {
        service.over_ipv6()
    } else {
        service
    }
}

/// Each expectation against the network.
pub fn check_expectations(
    expectations: &[Expectation],
    network: &Network,
) -> Vec<ExpectationResult> {
    expectations
        .iter()
        .map(|e| {
            if crate::segment::is_group(e) {
                return crate::segment::check(e, network);
            }
            let verdict = match (
                e.from.value.parse::<EndpointSpec>(),
                e.to.value.parse::<EndpointSpec>(),
            ) {
                (Ok(from), Ok(to)) => evaluate(network, &from, &to, service_of(e)).ok(),
                _ => None,
            };
            let (answer, blocked, unknown) = verdict
                .map_or((Answer::NotReachable, Vec::new(), Vec::new()), |v| {
                    (v.answer, v.blocked, v.unknown)
                });
            let actual = answer == Answer::Reachable;
            let status = match answer {
                Answer::Unknown => Status::Unverifiable,
                _ if actual == e.reachable.value => Status::Held,
                _ => Status::Broken,
            };
            ExpectationResult {
                expectation: e.label(),
                reachable: e.reachable.value,
                actual,
                held: status == Status::Held,
                status,
                blocked,
                unknown,
                witness: None,
                pairs: None,
                arrives_only: false,
                span: e.span,
            }
        })
        .collect()
}

/// Broken expectations as located errors (for `validate`).
pub fn expectation_diagnostics(results: &[ExpectationResult]) -> Vec<Diagnostic> {
    results
        .iter()
        .filter(|r| r.status == Status::Broken)
        .map(|r| {
            let witness = r
                .witness
                .as_ref()
                .map(|w| format!(" (for one: {w})"))
                .unwrap_or_default();
            let message = if r.reachable {
                format!(
                    "expected reachable, but the topology blocks it: {}{witness}",
                    r.expectation
                )
            } else {
                format!(
                    "expected blocked, but the topology lets it through: {}{witness}",
                    r.expectation
                )
            };
            let help = if r.blocked.is_empty() && r.witness.is_some() {
                "close the way the flow above takes (its route), or change the expectation"
                    .to_string()
            } else if r.blocked.is_empty() {
                "remove the path, or change the expectation".to_string()
            } else {
                // One line: a help never carries a line break (data is escaped).
                let numbered = r.blocked.len() > 1;
                r.blocked
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        let n = if numbered {
                            format!("({}) ", i + 1)
                        } else {
                            String::new()
                        };
                        format!("{n}[{}] {}; fix: {}", b.code, b.reason, b.fix)
                    })
                    .collect::<Vec<_>>()
                    .join("  ")
            };
            Diagnostic::error("expectation-broken", r.span, message).with_help(help)
        })
        .collect()
}

/// The flows worth comparing: between instances of one VPC, of peered VPCs
/// (either network's peerings), and of VPCs on one transit gateway whose
/// flows the plan may change (`transit_pairs`), and between each instance and the internet,
/// for ICMP and every port a security-group rule or ACL entry names; over
/// IPv6 too where the instances have IPv6 addresses in either network.
fn flows(before: &Network, after: &Network) -> Vec<(EndpointSpec, EndpointSpec, Service)> {
    let mut services = vec![Service::icmp()];
    let mut ports = BTreeSet::new();
    for n in [before, after] {
        for g in &n.security_groups {
            for r in g.rules.iter().filter(|r| r.direction == Direction::Ingress) {
                if matches!(r.protocol, Protocol::Tcp | Protocol::Udp) && r.from == r.to {
                    ports.insert((r.protocol == Protocol::Tcp, r.from));
                }
            }
        }
    }
    services.extend(ports.into_iter().take(32).map(|(tcp, p)| {
        let port = p.clamp(0, 65535) as u16;
        if tcp {
            Service::tcp(port)
        } else {
            Service::udp(port)
        }
    }));
    // Instances by VPC, and which VPCs either network peers.
    let mut by_vpc: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut neighbours: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut dual_stack: BTreeSet<String> = BTreeSet::new();
    for n in [before, after] {
        dual_stack.extend(
            n.instances
                .iter()
                .filter(|i| i.has_ipv6)
                .map(|i| i.key.clone()),
        );
        for i in &n.instances {
            if let Some(s) = n.subnet(&i.subnet) {
                by_vpc
                    .entry(s.vpc.clone())
                    .or_default()
                    .insert(i.key.clone());
            }
        }
        for p in &n.peerings {
            neighbours
                .entry(p.requester.clone())
                .or_default()
                .insert(p.accepter.clone());
            neighbours
                .entry(p.accepter.clone())
                .or_default()
                .insert(p.requester.clone());
        }
    }
    // VPCs joined by a transit gateway: the pairs whose flows the plan may change.
    for (vpc, others) in crate::transit_pairs::changed_neighbours(before, after) {
        neighbours.entry(vpc).or_default().extend(others);
    }
    let spec = |key: &str| -> EndpointSpec { key.parse().unwrap_or(EndpointSpec::Internet) };
    let empty = BTreeSet::new();
    let mut out = Vec::new();
    for (vpc, instances) in &by_vpc {
        let reachable_vpcs = std::iter::once(vpc).chain(neighbours.get(vpc).unwrap_or(&empty));
        let peers: Vec<&String> = reachable_vpcs
            .filter_map(|v| by_vpc.get(v))
            .flatten()
            .collect();
        for a in instances {
            let families = |ipv6: bool| {
                services
                    .iter()
                    .flat_map(move |s| std::iter::once(*s).chain(ipv6.then(|| s.over_ipv6())))
            };
            for s in families(dual_stack.contains(a)) {
                out.push((EndpointSpec::Internet, spec(a), s));
                out.push((spec(a), EndpointSpec::Internet, s));
            }
            for b in peers.iter().filter(|b| **b != a) {
                let both = dual_stack.contains(a) && dual_stack.contains(*b);
                out.extend(families(both).map(|s| (spec(a), spec(b), s)));
            }
        }
    }
    out
}

/// How many flows [`diff`] compares for these networks.
pub fn flows_compared(before: &Network, after: &Network) -> usize {
    flows(before, after).len()
}

/// Flows whose verdict differs between two networks.
pub fn diff(before: &Network, after: &Network) -> Vec<FlowChange> {
    let mut changes = Vec::new();
    for (from, to, service) in flows(before, after) {
        let verdict = |n: &Network| evaluate(n, &from, &to, service).ok();
        let (b, a) = (verdict(before), verdict(after));
        // An IPv6 flow that cannot be asked after the plan (no IPv6 address
        // any more) has nothing to show; one that could not be asked before
        // was not reachable then (an instance gaining IPv6 may be exposed).
        if service.ipv6 && a.is_none() {
            continue;
        }
        let answer = |v: &Option<crate::eval::Verdict>| v.as_ref().map(|v| v.answer);
        let reachable = |v: &Option<crate::eval::Verdict>| v.as_ref().is_some_and(|v| v.reachable);
        // A flow the model cannot decide on either side is no change it can stand behind.
        if reachable(&b) == reachable(&a)
            || [answer(&b), answer(&a)].contains(&Some(Answer::Unknown))
        {
            continue;
        }
        let label = a.as_ref().or(b.as_ref()).expect("one side evaluated");
        changes.push(FlowChange {
            from: label.from.clone(),
            to: label.to.clone(),
            service: service.label(),
            before: reachable(&b),
            after: reachable(&a),
            blocked: a.map(|v| v.blocked).unwrap_or_default(),
        });
    }
    changes
}
