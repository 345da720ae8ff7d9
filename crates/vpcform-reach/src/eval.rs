//! Evaluating one flow forward and back, hop by hop, with AWS's semantics:
//! security groups stateful (allow rules only, replies pass), network ACLs
//! stateless (first matching entry by number, final deny), routes by longest
//! prefix with the VPC's local route, peerings only when active and never
//! transitive, the internet only through an attached gateway with a public IP.
//! Every setting that blocks the flow is reported, not only the first: each
//! hop is judged as if the earlier ones were fixed.

use ipnet::IpNet;
use serde::Serialize;
use vpcform_topology::escape::terminal;
use vpcform_topology::{Direction, Protocol, TargetKind};

use crate::flow::{EPHEMERAL, Endpoint, EndpointSpec, Guard, Packet, Service, resolve};
use crate::model::{Component, Network, RouteTarget, SgPeer, Subnet};

/// The answer to "can FROM reach TO with SERVICE?".
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub from: String,
    pub to: String,
    pub service: String,
    /// True only when the answer is `reachable`.
    pub reachable: bool,
    pub answer: Answer,
    pub forward: Vec<Hop>,
    #[serde(rename = "return")]
    pub back: Vec<Hop>,
    pub blocked: Vec<Block>,
    /// What the model cannot see through; with nothing blocked, the answer is `unknown`.
    pub unknown: Vec<Undecided>,
}

/// Reachable, not, or not decidable from what the model knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    Reachable,
    NotReachable,
    Unknown,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Reachable => "reachable",
            Answer::NotReachable => "NOT reachable",
            Answer::Unknown => "unknown",
        }
    }
}

/// A component the model cannot see through (a target of a kind it does not model).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Undecided {
    /// The component's vpcform address, or its AWS id.
    pub component: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub leg: &'static str,
    pub reason: String,
}

/// One step of a path and what it decided.
#[derive(Clone, Debug, Serialize)]
pub struct Hop {
    pub step: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<Component>,
    pub detail: String,
    pub passes: bool,
    /// The model cannot tell what happens here (then `passes` is false).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unknown: bool,
}

/// A setting that blocks the flow, in Reachability Analyzer's vocabulary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Block {
    pub code: &'static str,
    /// The component's vpcform address, or its AWS id.
    pub component: String,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `forward` (the request) or `return` (the reply).
    pub leg: &'static str,
    pub reason: String,
    /// The change that would let the flow pass.
    pub fix: String,
}

mod endpoint;
mod ipv6;
mod nat;
mod tgw;

/// A route target AWS reports active that the network read does not hold
/// (another account's, or one the read missed): unknown, never a blackhole,
/// which only AWS's own route state decides.
fn not_in_model(kind: &'static str, key: &str) -> Reach {
    Reach::Unknown(
        format!(
            "{key} ({kind}) is not in the network vpcform read: what lies beyond it is unknown"
        ),
        not_in_model_component(kind, key),
    )
}

/// A component the network read does not hold, named by its key.
fn not_in_model_component(kind: &'static str, key: &str) -> Component {
    Component {
        kind,
        name: key.to_string(),
        id: None,
    }
}

/// What a route target does for a packet bound for `b`.
enum Reach {
    Yes,
    /// Blocked: Reachability Analyzer's code, why, and the component to blame.
    No(&'static str, String, Component),
    /// Blocked, with the one fix that applies (the route is right, what lies beyond is not).
    Denied(Box<Block>),
    /// The model cannot see beyond this component.
    Unknown(String, Component),
}

impl Reach {
    fn denied(block: Block) -> Reach {
        Reach::Denied(Box::new(block))
    }
}

/// The route a table chose for a packet, and how the report names it.
struct Chosen<'c, 'n> {
    destination: IpNet,
    target: Option<&'n RouteTarget>,
    detail: String,
    table: &'c Component,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Leg {
    Forward,
    Return,
}

impl Leg {
    fn as_str(self) -> &'static str {
        match self {
            Leg::Forward => "forward",
            Leg::Return => "return",
        }
    }
}

/// Evaluates one flow. `Err` when an endpoint is not in the network.
pub fn evaluate(
    network: &Network,
    from: &EndpointSpec,
    to: &EndpointSpec,
    service: Service,
) -> Result<Verdict, String> {
    let ipv6 = match (from.is_ipv6(), to.is_ipv6()) {
        (Some(a), Some(b)) if a != b => {
            return Err("FROM and TO are of different IP versions: a flow is IPv4 or IPv6".into());
        }
        (Some(v), _) | (None, Some(v)) if service.ipv6 && !v => {
            return Err(
                "the flow is IPv6 (`--ipv6`, `ipv6: true`), but an endpoint is an IPv4 address or block"
                    .into(),
            );
        }
        (Some(v), _) | (None, Some(v)) => v,
        (None, None) => service.ipv6,
    };
    let service = if ipv6 { service.over_ipv6() } else { service };
    let src = resolve(network, from, ipv6)?;
    let dst = resolve(network, to, ipv6)?;
    if src.is_internet() && dst.is_internet() {
        return Err("at least one endpoint must be inside a VPC of the topology".into());
    }
    let mut e = Evaluation {
        net: network,
        service,
        verdict: Verdict {
            from: src.label.clone(),
            to: dst.label.clone(),
            service: service.label(),
            reachable: false,
            answer: Answer::Unknown,
            forward: Vec::new(),
            back: Vec::new(),
            blocked: Vec::new(),
            unknown: Vec::new(),
        },
        forward_tgw: None,
        tgw_delivered: Vec::new(),
    };
    e.forward(&src, &dst);
    e.back(&src, &dst);
    // A setting that blocks is certain whatever lies beyond what the model cannot see.
    e.verdict.answer = match (e.verdict.blocked.is_empty(), e.verdict.unknown.is_empty()) {
        (false, _) => Answer::NotReachable,
        (true, false) => Answer::Unknown,
        (true, true) => Answer::Reachable,
    };
    e.verdict.reachable = e.verdict.answer == Answer::Reachable;
    Ok(e.verdict)
}

struct Evaluation<'n> {
    net: &'n Network,
    service: Service,
    verdict: Verdict,
    /// The transit gateway the request crosses (its reply must come back
    /// through one; security-group references do not cross it).
    forward_tgw: Option<String>,
    /// Subnets a transit gateway delivered into directly (an attachment
    /// subnet): their ACL is not evaluated for that leg.
    tgw_delivered: Vec<(Leg, String)>,
}

impl<'n> Evaluation<'n> {
    fn forward(&mut self, src: &Endpoint<'n>, dst: &Endpoint<'n>) {
        let request = Packet::request(&self.service);
        self.forward_tgw = src.subnet.and_then(|s| self.tgw_of_route(s, dst));
        self.hop(Leg::Forward, "source", None, src.label.clone(), true);
        if let Some(g) = &src.guard {
            self.security_groups(Leg::Forward, g, Direction::Egress, dst, &request);
        }
        if let Some(s) = src.subnet {
            self.acl_towards(Leg::Forward, s, Direction::Egress, dst, &request);
        }
        self.route(Leg::Forward, src, dst);
        if let Some(s) = dst.subnet.filter(|s| !self.delivered(Leg::Forward, s)) {
            self.acl_towards(Leg::Forward, s, Direction::Ingress, src, &request);
        }
        if let Some(g) = &dst.guard {
            self.security_groups(Leg::Forward, g, Direction::Ingress, src, &request);
        }
        self.hop(Leg::Forward, "destination", None, dst.label.clone(), true);
    }

    fn back(&mut self, src: &Endpoint<'n>, dst: &Endpoint<'n>) {
        let reply = Packet::reply(&self.service);
        if dst.guard.is_some() || src.guard.is_some() {
            self.hop(
                Leg::Return,
                "security groups",
                None,
                "stateful: the reply to an allowed request passes".into(),
                true,
            );
        }
        if let Some(s) = dst.subnet {
            self.acl_towards(Leg::Return, s, Direction::Egress, src, &reply);
        }
        self.route(Leg::Return, dst, src);
        if let Some(s) = src.subnet.filter(|s| !self.delivered(Leg::Return, s)) {
            self.acl_towards(Leg::Return, s, Direction::Ingress, dst, &reply);
        }
    }

    /// The transit gateway `s`'s table sends traffic for `b` to, if any.
    fn tgw_of_route(&self, s: &Subnet, b: &Endpoint<'n>) -> Option<String> {
        // Only a route to a transit gateway answers; every other target is no gateway.
        if let Some(Some(RouteTarget::To(TargetKind::TransitGateway, key))) = self.lookup(s, b) {
            return Some(key.clone());
        }
        None
    }

    /// Whether a transit gateway delivered this leg straight into `s`.
    fn delivered(&self, leg: Leg, s: &Subnet) -> bool {
        self.tgw_delivered
            .iter()
            .any(|(l, key)| *l == leg && *key == s.key)
    }

    fn hop(
        &mut self,
        leg: Leg,
        step: &'static str,
        component: Option<Component>,
        detail: String,
        passes: bool,
    ) {
        let hop = Hop {
            step,
            component,
            detail,
            passes,
            unknown: false,
        };
        match leg {
            Leg::Forward => self.verdict.forward.push(hop),
            Leg::Return => self.verdict.back.push(hop),
        }
    }

    /// A hop the model cannot judge: named, with no fix.
    fn undecided(&mut self, leg: Leg, step: &'static str, c: Component, reason: String) {
        let hops = match leg {
            Leg::Forward => &mut self.verdict.forward,
            Leg::Return => &mut self.verdict.back,
        };
        hops.push(Hop {
            step,
            component: Some(c.clone()),
            detail: reason.clone(),
            passes: false,
            unknown: true,
        });
        let undecided = Undecided {
            component: c.name,
            kind: c.kind.to_string(),
            id: c.id,
            leg: leg.as_str(),
            reason,
        };
        if !self
            .verdict
            .unknown
            .iter()
            .any(|u| u.component == undecided.component)
        {
            self.verdict.unknown.push(undecided);
        }
    }

    fn block(&mut self, leg: Leg, code: &'static str, c: &Component, reason: String, fix: String) {
        let block = Block {
            code,
            component: c.name.clone(),
            kind: c.kind,
            id: c.id.clone(),
            leg: leg.as_str(),
            reason,
            fix,
        };
        // One setting blocking both legs (a missing public IP) is one change.
        if !self
            .verdict
            .blocked
            .iter()
            .any(|b| b.code == block.code && b.component == block.component && b.fix == block.fix)
        {
            self.verdict.blocked.push(block);
        }
    }

    /// A rule's peer as reports name it (a list by its name and id).
    fn peer_label(&self, peer: &SgPeer) -> String {
        match peer {
            SgPeer::Cidr(c) => format!("with {c}"),
            SgPeer::Group(g) => format!("with members of {g}"),
            SgPeer::PrefixList(p) => format!("with prefix list {}", self.list_component(p)),
        }
    }

    /// Security groups of an interface: any allow rule of any of its groups
    /// admits. A rule naming a prefix list whose addresses are not known
    /// may admit: with nothing else admitting, the answer is unknown.
    fn security_groups(
        &mut self,
        leg: Leg,
        guard: &Guard<'n>,
        direction: Direction,
        remote: &Endpoint<'n>,
        packet: &Packet,
    ) {
        let step = match direction {
            Direction::Egress => "security group egress",
            Direction::Ingress => "security group ingress",
        };
        let groups: Vec<_> = guard
            .groups
            .iter()
            .filter_map(|g| self.net.group(g))
            .collect();
        let mut maybe = None;
        let allowing = groups.iter().find_map(|g| {
            g.rules
                .iter()
                .filter(|r| r.direction == direction && packet.matched_by(r.protocol, r.from, r.to))
                .find(|r| match self.peer_holds(&r.peer, remote) {
                    Some(holds) => holds,
                    None => {
                        maybe.get_or_insert_with(|| r.peer.clone());
                        false
                    }
                })
                .map(|r| (g, r))
        });
        let names = groups
            .iter()
            .map(|g| g.component().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let what = format!(
            "{} {} {}",
            packet_label(packet),
            to_from(direction),
            remote.label
        );
        match allowing {
            Some((g, r)) => self.hop(
                leg,
                step,
                Some(g.component()),
                format!(
                    "{what}: allowed by {}",
                    rule_label(r.protocol, r.from, r.to, &self.peer_label(&r.peer))
                ),
                true,
            ),
            None if maybe.is_some() => {
                let (c, reason) = match maybe {
                    Some(SgPeer::PrefixList(key)) => {
                        let c = self.list_component(&key);
                        let reason = format!(
                            "{what}: only a rule naming {c} could allow it, and its addresses are not known here"
                        );
                        (c, reason)
                    }
                    _ => {
                        let c = groups
                            .first()
                            .map(|g| g.component())
                            .unwrap_or_else(|| guard.owner.clone());
                        let reason = format!(
                            "{what}: only a rule of {names} for a narrower IPv6 range could allow it, and AWS assigns the VPC's IPv6 block on apply"
                        );
                        (c, reason)
                    }
                };
                self.undecided(leg, step, c, reason);
            }
            None => {
                let target = groups
                    .first()
                    .map(|g| g.component())
                    .unwrap_or_else(|| guard.owner.clone());
                let by_reference = self.forward_tgw.as_ref().and_then(|tgw| {
                    groups.iter().flat_map(|g| &g.rules).find_map(|r| match &r.peer {
                        SgPeer::Group(g)
                            if r.direction == direction
                                && packet.matched_by(r.protocol, r.from, r.to)
                                && remote.in_group(g) =>
                        {
                            Some(format!("{what}: a rule naming {g} would allow it, but security-group references do not cross transit gateway {tgw}"))
                        }
                        _ => None,
                    })
                });
                if let Some(reason) = by_reference {
                    self.hop(leg, step, Some(target.clone()), reason.clone(), false);
                    let fix = format!(
                        "allow {} {} {} by address in {} instead of by group",
                        service_rule(&self.service),
                        to_from(direction),
                        remote_cidr(remote),
                        target.name
                    );
                    self.block(leg, "SG_REFERENCING_SUPPORT", &target, reason, fix);
                    return;
                }
                self.hop(
                    leg,
                    step,
                    Some(target.clone()),
                    format!("{what}: no rule of {names} allows it"),
                    false,
                );
                let fix = format!(
                    "add an {} rule to {} allowing {} {} {}",
                    direction.as_str(),
                    target.name,
                    service_rule(&self.service),
                    to_from(direction),
                    remote_cidr(remote)
                );
                self.block(
                    leg,
                    "ENI_SG_RULES_MISMATCH",
                    &target,
                    format!("{what}: no rule of {names} allows it"),
                    fix,
                );
            }
        }
    }

    /// The subnet's network ACL: the lowest-numbered matching entry decides;
    /// for a range of ports every port must be allowed.
    fn acl(
        &mut self,
        leg: Leg,
        subnet: &Subnet,
        direction: Direction,
        remote: IpNet,
        packet: &Packet,
    ) {
        let step = match direction {
            Direction::Egress => "network ACL outbound",
            Direction::Ingress => "network ACL inbound",
        };
        let Some(acl) = self.net.acl_of(subnet) else {
            // A topology alone: the VPC's default ACL allows everything.
            self.hop(
                leg,
                step,
                None,
                format!("the default network ACL of {} allows all", subnet.vpc),
                true,
            );
            return;
        };
        let mut entries: Vec<_> = acl
            .entries
            .iter()
            .filter(|e| e.direction == direction)
            .collect();
        entries.sort_by_key(|e| e.number);
        let shown = self.addr_text(remote);
        let what = format!("{} {} {shown}", packet_label(packet), to_from(direction));
        let mut denied = None;
        let mut allowed_by = Vec::new();
        for port in sub_ranges(packet, &entries) {
            let p = Packet {
                ports: (port, port),
                ..*packet
            };
            let first = entries.iter().find(|e| {
                p.matched_by(e.protocol, e.from, e.to)
                    && if e.allow {
                        e.cidr.contains(&remote)
                    } else {
                        overlaps(e.cidr, remote)
                    }
            });
            match first {
                Some(e) if e.allow => allowed_by.push(e.number),
                other => {
                    denied = Some((other.map(|e| e.number), port));
                    break;
                }
            }
        }
        match denied {
            None => {
                allowed_by.dedup();
                let rules = allowed_by
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                self.hop(
                    leg,
                    step,
                    Some(acl.component()),
                    format!("{what}: allowed by rule {rules}"),
                    true,
                );
            }
            Some((rule, port)) => {
                let by = match rule {
                    Some(n) => format!("denied by rule {n}"),
                    None => "no entry matches, so the final `*` entry denies it".to_string(),
                };
                let at = if packet.ports.0 != packet.ports.1 {
                    format!(" (port {port})")
                } else {
                    String::new()
                };
                let reason = format!("{what}{at}: {by}");
                self.hop(leg, step, Some(acl.component()), reason.clone(), false);
                let below = rule
                    .map(|n| format!(" numbered below {n}"))
                    .unwrap_or_default();
                let fix = format!(
                    "add an {} entry to {}{below} allowing {} {} {shown}",
                    direction.as_str(),
                    acl.component().name,
                    acl_rule_text(packet),
                    to_from(direction),
                );
                self.block(leg, "SUBNET_ACL_RESTRICTION", &acl.component(), reason, fix);
            }
        }
    }

    /// From `a` towards `b`: the route `a`'s subnet uses, or (from the
    /// internet) the gateway into `b`'s VPC.
    fn route(&mut self, leg: Leg, a: &Endpoint<'n>, b: &Endpoint<'n>) {
        match a.subnet {
            Some(subnet) => self.route_from(leg, subnet, a, b),
            None => self.entering_vpc(leg, a, b),
        }
    }

    /// From outside every VPC into `b`'s: through the internet gateway,
    /// unless `b`'s table sends `a`'s addresses through a target the model
    /// does not know (a transit gateway): then the way in is unknown too.
    fn entering_vpc(&mut self, leg: Leg, a: &Endpoint<'n>, b: &Endpoint<'n>) {
        let Some(subnet) = b.subnet else { return };
        let Some(vpc) = self.net.vpc(&subnet.vpc) else {
            return;
        };
        if self.entering_through_endpoint(leg, a, b) {
            return;
        }
        let towards_a = match self.route_towards(subnet, a) {
            Ok(target) => target,
            Err((c, reason)) => {
                self.undecided(leg, "route table", c, reason);
                return;
            }
        };
        if towards_a.is_none() && leg == Leg::Return {
            // No way out for the replies either: the forward leg names the
            // missing route, and its fix serves both legs.
            let reason = format!("{} has no route back to {}", subnet.key, a.label);
            self.hop(leg, "route table", None, reason, false);
            return;
        }
        if let Some(RouteTarget::To(TargetKind::NatGateway, nat)) = towards_a {
            self.entering_through_nat(leg, nat, a, b);
            return;
        }
        if let Some(RouteTarget::To(TargetKind::EgressOnlyGateway, g)) = towards_a
            && self.entering_through_egress_only(leg, g, a, b)
        {
            return;
        }
        // Traffic from outside comes back in through the gateway from
        // another VPC (centralized egress): that VPC's forwarding (a NAT
        // gateway's translation) is not followed.
        if let Some(RouteTarget::To(TargetKind::TransitGateway, g)) = towards_a {
            let c = self.net.transit_gateway(g).map_or_else(
                || not_in_model_component("transit-gateway", g),
                |x| x.component(),
            );
            let reason = format!(
                "{} sends traffic for {} to {c}: it comes back in from another VPC behind the gateway (an egress VPC's NAT gateway), which vpcform does not follow",
                vpc.component(),
                a.label
            );
            self.undecided(leg, "route target", c, reason);
            return;
        }
        if let Some(RouteTarget::Unmodeled { what, id }) = towards_a {
            let c = Component {
                kind: "route-target",
                name: id.clone(),
                id: Some(id.clone()),
            };
            let reason = format!(
                "{} reaches {} through {what} {id}, which vpcform does not model: how traffic comes back in is unknown",
                vpc.component(),
                a.label
            );
            self.undecided(leg, "route target", c, reason);
            return;
        }
        match self.net.igw_of(&vpc.key) {
            Some(igw) => self.hop(
                leg,
                "internet gateway",
                Some(igw.component()),
                format!("into {}", vpc.component()),
                true,
            ),
            None => {
                let reason = format!("{} has no internet gateway attached", vpc.component());
                self.hop(
                    leg,
                    "internet gateway",
                    Some(vpc.component()),
                    reason.clone(),
                    false,
                );
                self.block(
                    leg,
                    "CANNOT_ROUTE",
                    &vpc.component(),
                    reason,
                    format!("attach an internet gateway to {}", vpc.key),
                );
            }
        }
        self.public_ip(leg, b);
    }

    /// Traffic through an internet gateway needs a public address on the VPC's side.
    fn public_ip(&mut self, leg: Leg, e: &Endpoint<'n>) {
        if self.service.ipv6 {
            // Every IPv6 address AWS gives is global: having one (resolving did) is enough.
            if let Some(c) = e
                .instance
                .map(|i| i.component())
                .or(e.subnet.map(|s| s.component()))
            {
                let detail = format!("{} is a global address", self.addr_text(e.addr));
                self.hop(leg, "IPv6 address", Some(c), detail, true);
            }
            return;
        }
        let (has, c) = match (e.instance, e.subnet) {
            (Some(i), _) => (i.public_ip, i.component()),
            (None, Some(s)) => (s.map_public_ip_on_launch, s.component()),
            (None, None) => return,
        };
        if has {
            self.hop(
                leg,
                "public IP",
                Some(c),
                "has a public IPv4 address".into(),
                true,
            );
        } else {
            let reason = format!("{c} has no public IPv4 address");
            self.hop(leg, "public IP", Some(c.clone()), reason.clone(), false);
            let fix = match (e.instance, e.subnet) {
                (Some(_), Some(s)) => format!(
                    "set `map-public-ip-on-launch: true` on {} (instances launched after get one) or give {} an Elastic IP",
                    s.key, c.name
                ),
                (None, Some(s)) => format!(
                    "set `map-public-ip-on-launch: true` on {} (instances launched after get one), or give its instances Elastic IPs",
                    s.key
                ),
                (_, None) => format!("give {} a public IP", c.name),
            };
            self.block(leg, "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS", &c, reason, fix);
        }
    }

    fn route_from(&mut self, leg: Leg, subnet: &Subnet, a: &Endpoint<'n>, b: &Endpoint<'n>) {
        let net = self.net;
        let Some(vpc) = net.vpc(&subnet.vpc) else {
            return;
        };
        let table = net.route_table_of(subnet);
        let table_c = table.map(|t| t.component()).unwrap_or_else(|| Component {
            kind: "route-table",
            name: format!("main route table of {}", vpc.key),
            id: None,
        });
        // Candidates: the local route and the table's routes containing every address of `b`.
        let mut candidates: Vec<(IpNet, Option<&RouteTarget>)> =
            vpc.cidrs().map(|c| (c, None)).collect();
        if let Some(t) = table {
            candidates.extend(t.routes.iter().map(|r| (r.destination, Some(&r.target))));
        }
        let mut matching: Vec<(IpNet, Option<&RouteTarget>)> = candidates
            .into_iter()
            .filter(|(d, _)| d.contains(&b.addr))
            .collect();
        matching.sort_by_key(|(d, _)| std::cmp::Reverse(d.prefix_len()));
        // A prefix-list route (a gateway endpoint's) wins with a longer prefix.
        match self.list_route(table, b, matching.first().map(|(d, _)| *d)) {
            Ok(Some(list_route)) => matching.insert(0, list_route),
            Ok(None) => {}
            Err((c, reason)) => {
                self.undecided(leg, "route table", c, reason);
                return;
            }
        }
        if let Some(reason) = self.ipv6_route_unknown(table, b) {
            self.undecided(leg, "route table", table_c, reason);
            return;
        }
        let Some(&(destination, target)) = matching.first() else {
            self.no_route(leg, subnet, &table_c, b);
            return;
        };
        let reaches = |t: Option<&RouteTarget>| self.target_reaches(subnet, t, b);
        let detail = format!(
            "{} → {}",
            self.destination_label(table, destination, target),
            target_label(net, target)
        );
        match reaches(target) {
            Reach::Yes => {
                self.hop(leg, "route table", Some(table_c), detail, true);
                self.through(leg, target, a, b);
            }
            Reach::Unknown(reason, component) => {
                self.hop(leg, "route table", Some(table_c), detail, true);
                self.undecided(leg, "route target", component, reason);
            }
            Reach::Denied(block) => {
                self.hop(leg, "route table", Some(table_c), detail, true);
                self.route_denied(leg, subnet, target, a, *block);
            }
            Reach::No(code, reason, component) => {
                let route = Chosen {
                    destination,
                    target,
                    detail,
                    table: &table_c,
                };
                self.route_refused(
                    leg,
                    subnet,
                    b,
                    route,
                    &matching[1..],
                    (code, reason, component),
                );
            }
        }
    }

    /// No route in the table holds `b`: on the reply leg through a transit
    /// gateway, the response table lacks the way back.
    fn no_route(&mut self, leg: Leg, subnet: &Subnet, table_c: &Component, b: &Endpoint<'n>) {
        let reason = format!("{table_c} has no route to {}", b.label);
        self.hop(
            leg,
            "route table",
            Some(table_c.clone()),
            reason.clone(),
            false,
        );
        match (leg, self.response_fix(table_c, b)) {
            (Leg::Return, Some(fix)) => {
                let code = "RESPONSE_RTB_HAS_NO_ROUTE_TO_TRANSIT_GATEWAY";
                self.block(leg, code, table_c, reason, fix);
            }
            _ => {
                let fix = self.route_fix(leg, table_c, subnet, b);
                self.block(leg, "NO_ROUTE_TO_DESTINATION", table_c, reason, fix);
            }
        }
    }

    /// The route's target refuses `b` with the one fix that applies (a
    /// transit gateway's table or attachment): its hops, then the block.
    fn route_denied(
        &mut self,
        leg: Leg,
        subnet: &Subnet,
        target: Option<&RouteTarget>,
        a: &Endpoint<'n>,
        block: Block,
    ) {
        let c = Component {
            kind: block.kind,
            name: block.component.clone(),
            id: block.id.clone(),
        };
        if let Some(RouteTarget::To(TargetKind::TransitGateway, key)) = target {
            self.tgw_entry_hops(leg, subnet, key, a);
        }
        let step = match block.kind {
            "transit-gateway-route-table" => "transit gateway route table",
            "transit-gateway-attachment" => "transit gateway attachment",
            _ => "route target",
        };
        self.hop(leg, step, Some(c.clone()), block.reason.clone(), false);
        self.block(leg, block.code, &c, block.reason, block.fix);
    }

    /// The chosen route cannot carry `b`: a wider route that could makes it
    /// the wrong route; otherwise the target's own code and fix.
    fn route_refused(
        &mut self,
        leg: Leg,
        subnet: &Subnet,
        b: &Endpoint<'n>,
        route: Chosen<'_, 'n>,
        wider_routes: &[(IpNet, Option<&'n RouteTarget>)],
        (code, reason, component): (&'static str, String, Component),
    ) {
        let net = self.net;
        let Some(vpc) = net.vpc(&subnet.vpc) else {
            return;
        };
        let Chosen {
            destination,
            target,
            detail,
            table: table_c,
        } = route;
        let table_c = table_c.clone();

        // A less specific route that would have reached `b` makes this the wrong route.
        let better = wider_routes
            .iter()
            .find(|(_, t)| matches!(self.target_reaches(subnet, *t, b), Reach::Yes));
        self.hop(
            leg,
            "route table",
            Some(table_c.clone()),
            format!("{detail}: {reason}"),
            false,
        );
        match better {
            Some((wider, t))
                if !["BAD_STATE_ROUTE", "VPCE_GATEWAY_PROTOCOL_RESTRICTION"].contains(&code) =>
            {
                let fix = format!(
                    "remove the route to {destination} from {}, or point it at {} like the route to {wider}",
                    table_c.name,
                    target_label(net, *t)
                );
                self.block(
                    leg,
                    "MORE_SPECIFIC_ROUTE",
                    &table_c,
                    format!(
                        "the route to {destination} ({}) wins over the route to {wider}: {reason}",
                        target_label(net, target)
                    ),
                    fix,
                );
            }
            _ if code == "CANNOT_ROUTE" => {
                // The only matching route leads elsewhere: the table lacks the route to `b`.
                let fix = self.route_fix(leg, &table_c, subnet, b);
                let reason = format!(
                    "{table_c} has no route to {}; its route to {destination} leads elsewhere ({reason})",
                    b.label
                );
                self.block(leg, "NO_ROUTE_TO_DESTINATION", &table_c, reason, fix);
            }
            _ => {
                let fix = match code {
                    "BAD_STATE_ROUTE" => match net.peering(&component.name) {
                        Some(p) => format!(
                            "accept {} so that it becomes active (it is {})",
                            p.key, p.status
                        ),
                        None => format!(
                            "point the routes through {} at a target that exists and is attached",
                            component.name
                        ),
                    },
                    "VPCE_GATEWAY_PROTOCOL_RESTRICTION" => format!(
                        "{} carries only TCP and ICMP to its service: use TCP (the service's HTTPS API)",
                        component.name
                    ),
                    "NGW_REQUIRES_SOURCE_IN_VPC" => format!(
                        "give {} a NAT gateway of its own (in a public subnet) and route {destination} through it in {}",
                        vpc.key, table_c.name
                    ),
                    _ => format!(
                        "peering is not transitive: peer {} with {} directly and route through that peering",
                        vpc.key,
                        b.subnet.map_or("the destination's VPC", |s| s.vpc.as_str())
                    ),
                };
                self.block(leg, code, &component, reason, fix);
            }
        }
    }

    /// What lies beyond a route that reaches `b`: a peering, or the internet gateway.
    fn through(
        &mut self,
        leg: Leg,
        target: Option<&RouteTarget>,
        a: &Endpoint<'n>,
        b: &Endpoint<'n>,
    ) {
        if let Some(RouteTarget::GatewayEndpoint(key)) = target {
            self.through_gateway_endpoint(leg, key, b);
            return;
        }
        let Some(RouteTarget::To(kind, key)) = target else {
            return; // local, or a route that does not reach `b`
        };
        match kind {
            TargetKind::NatGateway => self.through_nat(leg, key, a, b),
            TargetKind::Peering => {
                if let Some(p) = self.net.peering(key) {
                    self.hop(
                        leg,
                        "vpc peering",
                        Some(p.component()),
                        format!("{} (active)", p.component()),
                        true,
                    );
                }
            }
            TargetKind::InternetGateway => {
                let gateway = self.net.internet_gateway(key).map(|g| g.component());
                self.out_to_internet(leg, "internet gateway", gateway, "to the internet", a, b);
            }
            TargetKind::EgressOnlyGateway => self.through_egress_only(leg, key, a, b),
            TargetKind::TransitGateway => {
                if let Some(from) = a.subnet {
                    self.through_tgw(leg, from, key, a, b);
                }
            }
        }
    }

    /// Out through a gateway to the internet: `a` needs an address the
    /// internet routes, and over IPv6 a `b` in another VPC is entered again
    /// through that VPC's gateway.
    fn out_to_internet(
        &mut self,
        leg: Leg,
        step: &'static str,
        gateway: Option<Component>,
        detail: &str,
        a: &Endpoint<'n>,
        b: &Endpoint<'n>,
    ) {
        if let Some(c) = gateway {
            self.hop(leg, step, Some(c), detail.into(), true);
        }
        self.public_ip(leg, a);
        if b.subnet.is_some() {
            self.entering_vpc(leg, a, b);
        }
    }

    /// Whether a route target (None: local) from `vpc` gets to `b`; else the
    /// code, reason and component to blame, or what the model cannot see.
    fn target_reaches(
        &self,
        from: &Subnet,
        target: Option<&RouteTarget>,
        b: &Endpoint<'n>,
    ) -> Reach {
        let vpc = from.vpc.as_str();
        let b_vpc = b.subnet.map(|s| s.vpc.as_str());
        match target {
            None if b_vpc == Some(vpc) => Reach::Yes,
            None => {
                let vpc_c = self.net.vpc(vpc).map_or_else(
                    || Component {
                        kind: "vpc",
                        name: vpc.into(),
                        id: None,
                    },
                    |v| v.component(),
                );
                Reach::No(
                    "CANNOT_ROUTE",
                    format!("{} is not in {vpc}", b.label),
                    vpc_c,
                )
            }
            Some(RouteTarget::Blackhole(id)) => Reach::No(
                "BAD_STATE_ROUTE",
                format!("AWS reports the route through {id} as a blackhole (its target is gone)"),
                Component {
                    kind: "route-target",
                    name: id.clone(),
                    id: Some(id.clone()),
                },
            ),
            Some(RouteTarget::Unmodeled { what, id }) => Reach::Unknown(
                format!(
                    "the route goes through {what} {id}, which vpcform does not model: what lies beyond it is unknown"
                ),
                Component {
                    kind: "route-target",
                    name: id.clone(),
                    id: Some(id.clone()),
                },
            ),
            Some(RouteTarget::GatewayEndpoint(key)) => self.gateway_endpoint_reaches(vpc, key),
            Some(RouteTarget::To(kind, key)) => match kind {
                TargetKind::Peering => self.peering_reaches(vpc, key, b_vpc, b),
                TargetKind::InternetGateway => self.gateway_reaches(vpc, key, b_vpc, b),
                TargetKind::NatGateway => self.nat_reaches(vpc, key, b),
                TargetKind::EgressOnlyGateway => self.egress_only_reaches(vpc, key, b_vpc, b),
                TargetKind::TransitGateway => self.tgw_reaches(from, key, b),
            },
        }
    }

    fn peering_reaches(
        &self,
        vpc: &str,
        key: &str,
        b_vpc: Option<&str>,
        b: &Endpoint<'n>,
    ) -> Reach {
        let Some(p) = self.net.peering(key) else {
            return not_in_model("vpc-peering", key);
        };
        if p.status != "active" {
            return Reach::No(
                "BAD_STATE_ROUTE",
                format!("{} is {}, not active", p.component(), p.status),
                p.component(),
            );
        }
        let peer = if p.requester == vpc {
            &p.accepter
        } else if p.accepter == vpc {
            &p.requester
        } else {
            return Reach::No(
                "CANNOT_ROUTE",
                format!("{} does not connect {vpc}", p.component()),
                p.component(),
            );
        };
        match b_vpc {
            Some(v) if v == peer => Reach::Yes,
            Some(v) => Reach::No(
                "PCX_REQUIRES_ADDRESS_IN_VPC_CIDR",
                format!(
                    "{} leads to {peer}, and {} is in {v}: peering is not transitive",
                    p.component(),
                    b.label
                ),
                p.component(),
            ),
            None if self.has_nat_gateway(peer) => Reach::No(
                "NGW_REQUIRES_SOURCE_IN_VPC",
                format!(
                    "{} leads to {peer} only: a NAT gateway there does not forward traffic that arrived over a peering",
                    p.component()
                ),
                p.component(),
            ),
            None => Reach::No(
                "PCX_REQUIRES_ADDRESS_IN_VPC_CIDR",
                format!(
                    "{} leads to {peer} only, not to the internet",
                    p.component()
                ),
                p.component(),
            ),
        }
    }

    fn has_nat_gateway(&self, vpc: &str) -> bool {
        let net = self.net;
        net.nat_gateways
            .iter()
            .any(|n| net.subnet(&n.subnet).is_some_and(|s| s.vpc == vpc))
    }

    fn gateway_reaches(
        &self,
        vpc: &str,
        key: &str,
        b_vpc: Option<&str>,
        b: &Endpoint<'n>,
    ) -> Reach {
        match self.net.internet_gateway(key) {
            Some(g) if g.vpc.as_deref() == Some(vpc) => match b_vpc {
                None if crate::flow::is_private(b.addr) => Reach::No(
                    "CANNOT_ROUTE",
                    format!(
                        "{} leads to the internet, which does not route {}",
                        g.component(),
                        b.label
                    ),
                    g.component(),
                ),
                None => Reach::Yes,
                // Every IPv6 address is global: the internet carries it to another VPC.
                Some(v) if self.service.ipv6 && v != vpc => Reach::Yes,
                Some(v) => Reach::No(
                    "CANNOT_ROUTE",
                    format!(
                        "{} leads to the internet, but {} is in {v}",
                        g.component(),
                        b.label
                    ),
                    g.component(),
                ),
            },
            Some(g) => Reach::No(
                "BAD_STATE_ROUTE",
                format!("{} is not attached to {vpc} (blackhole)", g.component()),
                g.component(),
            ),
            None => not_in_model("internet-gateway", key),
        }
    }

    /// The route that would carry traffic from `vpc` to `b`.
    /// On the return leg towards the internet, the connection was opened
    /// from outside: only an internet gateway carries its replies.
    fn route_fix(&self, leg: Leg, table: &Component, from: &Subnet, b: &Endpoint<'n>) -> String {
        let opened_outside = leg == Leg::Return && b.subnet.is_none();
        if self.service.ipv6 {
            return self.ipv6_route_fix(table, from, b, opened_outside);
        }
        let vpc = from.vpc.as_str();
        if let Some(fix) = self.endpoint_fix(table, vpc, b) {
            return fix;
        }
        // A private subnet reaches the internet through a NAT gateway of its VPC.
        let nat = (!from.map_public_ip_on_launch && !opened_outside)
            .then(|| {
                self.net
                    .nat_gateways
                    .iter()
                    .find(|n| n.public && self.net.subnet(&n.subnet).is_some_and(|s| s.vpc == vpc))
            })
            .flatten();
        if b.subnet.is_none() && crate::flow::is_private(b.addr) {
            return format!(
                "add a route to {} in {} through what connects to it (a transit gateway, a VPN, a peering); the internet does not route private addresses",
                b.addr, table.name
            );
        }
        match b.subnet.and_then(|s| self.net.vpc(&s.vpc)) {
            Some(peer_vpc) => {
                let peering = self.net.peerings.iter().find(|p| {
                    (p.requester == vpc && p.accepter == peer_vpc.key)
                        || (p.accepter == vpc && p.requester == peer_vpc.key)
                });
                match peering {
                    Some(p) => format!(
                        "add a route to {} through {} in {}",
                        peer_vpc.cidr, p.key, table.name
                    ),
                    None => format!(
                        "peer {vpc} with {}, then add a route to {} through the peering in {}",
                        peer_vpc.key, peer_vpc.cidr, table.name
                    ),
                }
            }
            None if nat.is_some() => format!(
                "add a route to 0.0.0.0/0 through {} in {}",
                nat.map_or("a NAT gateway", |n| n.key.as_str()),
                table.name
            ),
            None => match self.net.igw_of(vpc) {
                Some(g) => format!(
                    "add a route to 0.0.0.0/0 through {} in {}",
                    g.key, table.name
                ),
                None => format!(
                    "attach an internet gateway to {vpc} and add a route to 0.0.0.0/0 through it in {}",
                    table.name
                ),
            },
        }
    }
}

/// Port sub-ranges over which every entry matches uniformly (one point each).
fn sub_ranges(packet: &Packet, entries: &[&crate::model::AclEntry]) -> Vec<i64> {
    if !matches!(packet.protocol, Protocol::Tcp | Protocol::Udp) || packet.ports.0 == packet.ports.1
    {
        return vec![packet.ports.0];
    }
    let (lo, hi) = packet.ports;
    let mut points = vec![lo];
    for e in entries.iter().filter(|e| e.protocol == packet.protocol) {
        for p in [e.from, e.to + 1] {
            if p > lo && p <= hi {
                points.push(p);
            }
        }
    }
    points.sort_unstable();
    points.dedup();
    points
}

fn overlaps(a: IpNet, b: IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn to_from(direction: Direction) -> &'static str {
    match direction {
        Direction::Egress => "to",
        Direction::Ingress => "from",
    }
}

fn packet_label(p: &Packet) -> String {
    match p.protocol {
        Protocol::Icmp if p.icmp == crate::flow::ECHO_REPLY => "icmp echo reply".into(),
        Protocol::Icmp => "icmp echo request".into(),
        Protocol::Icmpv6 if p.icmp == crate::flow::ECHO6_REPLY => "icmpv6 echo reply".into(),
        Protocol::Icmpv6 => "icmpv6 echo request".into(),
        Protocol::Tcp | Protocol::Udp if p.ports == EPHEMERAL => {
            format!(
                "{} reply to ports {}-{}",
                p.protocol.aws_name(),
                p.ports.0,
                p.ports.1
            )
        }
        Protocol::Tcp | Protocol::Udp => format!("{} port {}", p.protocol.aws_name(), p.ports.0),
        other => other.aws_name(),
    }
}

fn rule_label(protocol: Protocol, from: i64, to: i64, peer: &str) -> String {
    let what = match protocol {
        Protocol::All => "all traffic".to_string(),
        Protocol::Icmp if from == -1 => "all icmp".to_string(),
        Protocol::Icmp => format!("icmp type {from}"),
        Protocol::Icmpv6 if from == -1 => "all icmpv6".to_string(),
        Protocol::Icmpv6 => format!("icmpv6 type {from}"),
        Protocol::Tcp | Protocol::Udp if from == to => format!("{} {from}", protocol.aws_name()),
        Protocol::Tcp | Protocol::Udp => format!("{} {from}-{to}", protocol.aws_name()),
        other => other.aws_name(),
    };
    format!("{what} {peer}")
}

/// The rule text of a fix for the service asked about.
fn service_rule(s: &Service) -> String {
    match s.protocol {
        Protocol::Icmp => "icmp (echo request, type 8)".into(),
        Protocol::Icmpv6 => "icmpv6 (echo request, type 128)".into(),
        p => format!("{} port {}", p.aws_name(), s.port),
    }
}

/// The entry a fix suggests: replies need the whole ephemeral range.
fn acl_rule_text(p: &Packet) -> String {
    match p.protocol {
        Protocol::Icmp if p.icmp == crate::flow::ECHO_REPLY => "icmp echo reply (type 0)".into(),
        Protocol::Icmp => "icmp echo request (type 8)".into(),
        Protocol::Icmpv6 if p.icmp == crate::flow::ECHO6_REPLY => {
            "icmpv6 echo reply (type 129)".into()
        }
        Protocol::Icmpv6 => "icmpv6 echo request (type 128)".into(),
        Protocol::Tcp | Protocol::Udp if p.ports == EPHEMERAL => {
            format!("{} ports 1024-65535 (replies)", p.protocol.aws_name())
        }
        Protocol::Tcp | Protocol::Udp => format!("{} port {}", p.protocol.aws_name(), p.ports.0),
        other => other.aws_name(),
    }
}

/// The CIDR a rule for this endpoint would name.
fn remote_cidr(e: &Endpoint<'_>) -> String {
    e.addr.to_string()
}

fn target_label(net: &Network, target: Option<&RouteTarget>) -> String {
    match target {
        None => "local".into(),
        Some(RouteTarget::To(kind, key)) => match kind {
            TargetKind::InternetGateway => net
                .internet_gateway(key)
                .map_or(key.clone(), |x| x.component().to_string()),
            TargetKind::Peering => net
                .peering(key)
                .map_or(key.clone(), |x| x.component().to_string()),
            TargetKind::NatGateway => net
                .nat_gateway(key)
                .map_or(key.clone(), |x| x.component().to_string()),
            TargetKind::EgressOnlyGateway => net
                .egress_only_gateway(key)
                .map_or(key.clone(), |x| x.component().to_string()),
            TargetKind::TransitGateway => net
                .transit_gateway(key)
                .map_or(key.clone(), |x| x.component().to_string()),
        },
        Some(RouteTarget::Unmodeled { what, id }) => format!("{id} ({what}, not modelled)"),
        Some(RouteTarget::Blackhole(id)) => format!("{id} (blackhole)"),
        Some(RouteTarget::GatewayEndpoint(key)) => net
            .vpc_endpoint(key)
            .map_or(key.clone(), |x| x.component().to_string()),
    }
}

impl Verdict {
    /// The verdict for a terminal: the answer, both paths, and what blocks.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let answer = self.answer.as_str();
        // Names and reasons quote the account: one safe line each.
        let t = |s: &str| terminal(s).into_owned();
        let _ = writeln!(
            out,
            "{} → {} ({}): {answer}",
            t(&self.from),
            t(&self.to),
            self.service
        );
        // Steps in one column: 22 wide, wider when a step's name is longer.
        let width = self
            .forward
            .iter()
            .chain(&self.back)
            .map(|h| h.step.len())
            .max()
            .unwrap_or(0)
            .max(22);
        for (title, hops) in [("forward", &self.forward), ("return", &self.back)] {
            let _ = writeln!(out, "\n{title}:");
            for h in hops {
                let mark = match (h.passes, h.unknown) {
                    (true, _) => "✓",
                    (false, true) => "?",
                    (false, false) => "✗",
                };
                // An ACL's decision names the ACL: a path may cross several.
                let whose = match &h.component {
                    Some(c) if h.step.starts_with("network ACL") => format!(" [{c}]"),
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "  {mark} {:<width$} {}{}",
                    h.step,
                    t(&h.detail),
                    t(&whose)
                );
            }
        }
        if !self.blocked.is_empty() {
            let _ = writeln!(out, "\nblocked by:");
            for b in &self.blocked {
                let id =
                    b.id.as_ref()
                        .map(|i| format!(" ({})", t(i)))
                        .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  [{}] {}{id}, {} leg: {}",
                    b.code,
                    t(&b.component),
                    b.leg,
                    t(&b.reason)
                );
                let _ = writeln!(out, "      fix: {}", t(&b.fix));
            }
        }
        if !self.unknown.is_empty() {
            let _ = writeln!(out, "\ncannot decide (no fix proposed):");
            for u in &self.unknown {
                let id = u.id.as_ref().filter(|i| **i != u.component);
                let id = id.map(|i| format!(" ({})", t(i))).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {}{id}, {} leg: {}",
                    t(&u.component),
                    u.leg,
                    t(&u.reason)
                );
            }
        }
        out
    }
}
