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
    // A group that selects nothing makes every promise about it empty.
    if let Some(empty) = [(&from, &e.from.value), (&to, &e.to.value)]
        .into_iter()
        .find(|(members, _)| members.is_empty())
        .map(|(_, text)| text.clone())
    {
        return selects_nothing(e, &empty);
    }
    // Within one VPC the local route always carries: a group promise is
    // about other VPCs; single endpoints are taken as they are.
    let groups = Group::parse(&e.from.value).is_some() || Group::parse(&e.to.value).is_some();
    let pairs = groups.then(|| pair_count(network, &from, &to));
    let services = services(e, network);
    let ways = Ways::of(network);
    let mut unknown = None;
    let mut broken: Option<Broken> = None;
    'pairs: for a in &from {
        for b in to.iter().filter(|b| !(groups && same_vpc(network, a, b))) {
            // A promise that nothing gets through holds for a pair no route can join.
            if !e.reachable.value && !ways.may_join(network, a, b, e.over_ipv6()) {
                continue;
            }
            for s in &services {
                let v = match evaluate(network, a, b, *s) {
                    Ok(v) => v,
                    // The flow cannot even be asked (no address of the family):
                    // nothing gets through, which breaks a promise that it does.
                    Err(why) if e.reachable.value => {
                        broken = Some(Broken {
                            witness: why,
                            blocked: Vec::new(),
                            arrives_only: false,
                        });
                        break 'pairs;
                    }
                    Err(_) => continue,
                };
                // Isolation is about delivery: a request that arrives breaks it,
                // whatever happens to the reply; one the model cannot follow leaves it open.
                if !e.reachable.value {
                    match forward_leg(&v) {
                        Leg::Blocked => continue,
                        Leg::Unknown => {
                            unknown.get_or_insert(v);
                            continue;
                        }
                        Leg::Arrives if v.answer == Answer::Reachable => {}
                        Leg::Arrives => {
                            broken = Some(Broken {
                                witness: format!(
                                    "{} (the request arrives; only its reply is blocked)",
                                    describe(&v)
                                ),
                                blocked: Vec::new(),
                                arrives_only: true,
                            });
                            break 'pairs;
                        }
                    }
                }
                match v.answer {
                    Answer::Unknown => {
                        unknown.get_or_insert(v);
                    }
                    answer if (answer == Answer::Reachable) != e.reachable.value => {
                        broken = Some(Broken {
                            witness: describe(&v),
                            blocked: v.blocked,
                            arrives_only: false,
                        });
                        break 'pairs;
                    }
                    Answer::Reachable | Answer::NotReachable => {}
                }
            }
        }
    }
    ExpectationResult {
        pairs,
        ..result(e, broken, unknown)
    }
}

/// Pairs of members in different VPCs: every pair, less those within each VPC.
fn pair_count(network: &Network, from: &[EndpointSpec], to: &[EndpointSpec]) -> usize {
    let per_vpc = |side: &[EndpointSpec]| {
        let mut n: HashMap<Option<String>, usize> = HashMap::new();
        for x in side {
            *n.entry(vpc_of(network, x)).or_default() += 1;
        }
        n
    };
    let (a, b) = (per_vpc(from), per_vpc(to));
    let same: usize = a
        .iter()
        .filter(|(v, _)| v.is_some())
        .map(|(v, n)| n * b.get(v).copied().unwrap_or(0))
        .sum();
    from.len() * to.len() - same
}

/// What the forward leg alone says: a setting blocks it, the model cannot
/// follow it, or the request arrives.
enum Leg {
    Blocked,
    Unknown,
    Arrives,
}

fn forward_leg(v: &Verdict) -> Leg {
    if v.blocked.iter().any(|b| b.leg == "forward") {
        Leg::Blocked
    } else if v.unknown.iter().any(|u| u.leg == "forward") {
        Leg::Unknown
    } else {
        Leg::Arrives
    }
}

/// The flow that breaks a promise, and what blocks it (for `reachable: true`).
struct Broken {
    witness: String,
    blocked: Vec<crate::eval::Block>,
    arrives_only: bool,
}

fn result(e: &Expectation, broken: Option<Broken>, unknown: Option<Verdict>) -> ExpectationResult {
    let base = ExpectationResult {
        expectation: e.label(),
        reachable: e.reachable.value,
        actual: e.reachable.value,
        held: true,
        status: Status::Held,
        blocked: Vec::new(),
        unknown: Vec::new(),
        witness: None,
        pairs: None,
        arrives_only: false,
        span: e.span,
    };
    match (broken, unknown) {
        (Some(b), _) => ExpectationResult {
            actual: !e.reachable.value,
            held: false,
            status: Status::Broken,
            blocked: b.blocked,
            witness: Some(b.witness),
            arrives_only: b.arrives_only,
            ..base
        },
        (None, Some(u)) => ExpectationResult {
            actual: false,
            held: false,
            status: Status::Unverifiable,
            unknown: u.unknown,
            ..base
        },
        (None, None) => base,
    }
}

/// A group that selects no subnet (a mistyped tag, a VPC without subnets):
/// the promise cannot be checked, and says so.
fn selects_nothing(e: &Expectation, group: &str) -> ExpectationResult {
    let reason = "it selects no subnet (no VPC with that tag, or none with subnets)".to_string();
    ExpectationResult {
        expectation: e.label(),
        reachable: e.reachable.value,
        actual: false,
        held: false,
        status: Status::Unverifiable,
        blocked: Vec::new(),
        unknown: vec![crate::eval::Undecided {
            component: group.to_string(),
            kind: "group".into(),
            id: None,
            leg: "forward",
            reason,
        }],
        witness: None,
        pairs: None,
        arrives_only: false,
        span: e.span,
    }
}

/// A witness flow and the routes it takes (`subnet.a → subnet.b tcp/22 via …`).
fn describe(v: &Verdict) -> String {
    let path: Vec<String> = v
        .forward
        .iter()
        .filter(|h| h.passes && matches!(h.step, "route table" | "transit gateway route table"))
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
/// (through a peering, a NAT gateway or a target the model does not know;
/// `None` when a prefix-list route could, its entries not compared here),
/// and whether an IPv6 route leaves by an internet or egress-only gateway
/// (every IPv6 address is global: the internet carries it to another VPC).
#[derive(Default)]
struct Way<'n> {
    dests: Option<Vec<IpNet>>,
    /// Routes to transit gateways: the destination and the gateway's key
    /// (the gateway's own tables decide where they lead).
    to_gateways: Vec<(IpNet, &'n str)>,
    ipv6_internet: bool,
}

struct Ways<'n> {
    by_vpc: HashMap<&'n str, Way<'n>>,
    /// Each transit-gateway route table's reach, by key.
    tables: HashMap<&'n str, Deliver<'n>>,
}

impl<'n> Ways<'n> {
    fn of(network: &'n Network) -> Self {
        let mut out: HashMap<&str, Way> = HashMap::new();
        for t in &network.route_tables {
            let way = out.entry(t.vpc.as_str()).or_insert_with(|| Way {
                dests: Some(Vec::new()),
                to_gateways: Vec::new(),
                ipv6_internet: false,
            });
            way.to_gateways.extend(t.routes.iter().filter_map(|r| {
                // Routes to a transit gateway only; other targets are no gateway.
                let RouteTarget::To(vpcform_topology::TargetKind::TransitGateway, g) = &r.target
                else {
                    return None;
                };
                Some((r.destination, g.as_str()))
            }));
            way.ipv6_internet |= t
                .routes
                .iter()
                .any(|r| r.destination.addr().is_ipv6() && to_the_internet(&r.target));
            let lists = t
                .prefix_list_routes
                .iter()
                .any(|(_, target)| leads_to_vpcs(target) || to_the_internet(target));
            match &mut way.dests {
                Some(dests) if !lists => dests.extend(
                    t.routes
                        .iter()
                        .filter(|r| leads_to_vpcs(&r.target))
                        .map(|r| r.destination),
                ),
                Some(_) | None => way.dests = None,
            }
        }
        let tables = network
            .tgw_route_tables
            .iter()
            .map(|t| (t.key.as_str(), Deliver::of(network, t)))
            .collect();
        Ways {
            by_vpc: out,
            tables,
        }
    }

    /// Whether gateway `g` may carry traffic from `vpc` on to `vpc_b`: the
    /// table `vpc`'s attachment is associated with says.
    fn gateway_may_deliver(
        &self,
        network: &Network,
        g: &str,
        vpc: &str,
        vpc_b: &str,
        overlaps_b: &dyn Fn(&IpNet) -> bool,
    ) -> bool {
        let Some(attachment) = network.attachment_of(g, vpc) else {
            return network.transit_gateway(g).is_none();
        };
        let Some(table) = attachment.route_table.as_deref() else {
            return false;
        };
        self.tables
            .get(table)
            .is_none_or(|d| d.may_reach(vpc_b, overlaps_b))
    }

    /// Whether a route of `a`'s VPC may carry traffic to `b`'s VPC (when
    /// in doubt, yes: the flows are then evaluated).
    fn may_join(&self, network: &Network, a: &EndpointSpec, b: &EndpointSpec, ipv6: bool) -> bool {
        let (Some(va), Some(vb)) = (vpc_of(network, a), vpc_of(network, b)) else {
            return true;
        };
        let Some(vpc_b) = network.vpc(&vb) else {
            return true;
        };
        // The local route joins a VPC to itself; a stand-in block is unknown.
        if va == vb || (ipv6 && vpc_b.ipv6.is_some_and(|x| x.assigned_on_apply)) {
            return true;
        }
        let Some(way) = self.by_vpc.get(va.as_str()) else {
            // No table of its own: the main table holds the local route only.
            return false;
        };
        if ipv6 && way.ipv6_internet && vpc_b.ipv6.is_some() {
            return true;
        }
        let overlaps_b = |d: &IpNet| {
            vpc_b
                .cidrs()
                .any(|c| d.contains(&c.network()) || c.contains(&d.network()))
        };
        let through_gateway = way.to_gateways.iter().any(|(d, g)| {
            overlaps_b(d) && self.gateway_may_deliver(network, g, &va, &vb, &overlaps_b)
        });
        if through_gateway {
            return true;
        }
        match &way.dests {
            Some(dests) => dests.iter().any(|d| {
                vpc_b
                    .cidrs()
                    .any(|c| d.contains(&c.network()) || c.contains(&d.network()))
            }),
            None => true,
        }
    }
}

/// Where a transit-gateway route table may send traffic: the VPCs its
/// propagations name, its static routes' blocks, or anywhere (`open`:
/// a list route or a propagation the model cannot resolve).
#[derive(Default)]
struct Deliver<'n> {
    vpcs: std::collections::HashSet<&'n str>,
    statics: Vec<IpNet>,
    open: bool,
}

impl<'n> Deliver<'n> {
    fn of(network: &'n Network, table: &'n crate::model::TgwRouteTable) -> Self {
        use crate::model::TgwDestination;
        let mut d = Deliver::default();
        for r in table.routes.iter().filter(|r| r.attachment.is_some()) {
            match &r.destination {
                TgwDestination::Cidr(c) => d.statics.push(*c),
                TgwDestination::PrefixList(_) => d.open = true,
            }
        }
        for p in &table.propagations {
            match network.tgw_attachment(p) {
                Some(a) => {
                    d.vpcs.insert(a.vpc.as_str());
                }
                None => d.open = true,
            }
        }
        d
    }

    /// Whether it may deliver to `vpc` (whose blocks `overlaps_b` accepts).
    fn may_reach(&self, vpc: &str, overlaps_b: &dyn Fn(&IpNet) -> bool) -> bool {
        self.open || self.vpcs.contains(vpc) || self.statics.iter().any(overlaps_b)
    }
}

/// Whether a route target is an internet or egress-only gateway.
fn to_the_internet(target: &RouteTarget) -> bool {
    matches!(
        target,
        RouteTarget::To(
            vpcform_topology::TargetKind::InternetGateway
                | vpcform_topology::TargetKind::EgressOnlyGateway,
            _
        )
    )
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
            // Where a gateway leads is its route tables' say (`to_gateways`).
            vpcform_topology::TargetKind::TransitGateway => false,
            vpcform_topology::TargetKind::InternetGateway
            | vpcform_topology::TargetKind::EgressOnlyGateway => false,
        },
        RouteTarget::Unmodeled { .. } => true,
        RouteTarget::Blackhole(_) | RouteTarget::GatewayEndpoint(_) => false,
    }
}

/// The VPC an endpoint lies in (`None`: outside every VPC, or not found).
fn vpc_of(network: &Network, e: &EndpointSpec) -> Option<String> {
    crate::flow::resolve(network, e, false)
        .ok()
        .and_then(|x| x.subnet.map(|s| s.vpc.clone()))
}

fn same_vpc(network: &Network, a: &EndpointSpec, b: &EndpointSpec) -> bool {
    let va = vpc_of(network, a);
    va.is_some() && va == vpc_of(network, b)
}

/// The services a group expectation covers: its own, or for `any`, ICMP and
/// every single port a security-group rule or ACL entry names (TCP 22 and
/// 443 at least).
fn services(e: &Expectation, network: &Network) -> Vec<Service> {
    if e.protocol.value != ExpectProtocol::Any {
        return vec![crate::connectivity::service_of(e)];
    }
    // Ports where any rule or entry starts or stops deciding (each range's
    // first port and the one after its last), both protocols, and a few
    // every network serves: between two of them every port is decided alike.
    let mut ports: BTreeSet<(bool, i64)> = [22, 53, 443, 1024]
        .into_iter()
        .flat_map(|p| [(true, p), (false, p)])
        .collect();
    let rules = network.security_groups.iter().flat_map(|g| {
        g.rules
            .iter()
            .filter(|r| r.direction == Direction::Ingress)
            .map(|r| (r.protocol, r.from, r.to))
    });
    let entries = network
        .network_acls
        .iter()
        .flat_map(|a| a.entries.iter().map(|x| (x.protocol, x.from, x.to)));
    for (protocol, from, to) in rules.chain(entries) {
        let both = match protocol {
            Protocol::Tcp => vec![true],
            Protocol::Udp => vec![false],
            Protocol::All | Protocol::Icmp | Protocol::Icmpv6 | Protocol::Number(_) => continue,
        };
        for tcp in both {
            for port in [from, to.saturating_add(1)] {
                if (0..=65535).contains(&port) {
                    ports.insert((tcp, port));
                }
            }
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
