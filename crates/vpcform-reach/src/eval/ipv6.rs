//! IPv6 ("IPv6 support for your VPC", "Egress-only internet gateways"):
//! every address AWS gives is global, so an internet gateway carries IPv6
//! both ways without translation; an egress-only gateway carries it out of
//! its VPC and lets replies back in, and nothing opened from outside. No NAT
//! gateway translates IPv6. A VPC's block is AWS's to choose: until it is
//! assigned, the model holds a stand-in (2001:db8::/32), and whatever a
//! narrower IPv6 route or rule would decide about it is unknown.

use ipnet::IpNet;

use super::{Evaluation, Leg, Reach, not_in_model};
use crate::flow::Endpoint;
use crate::model::{Component, RouteTable, Subnet};

impl<'n> Evaluation<'n> {
    /// Out through an egress-only gateway (the route already reached it),
    /// and in again through the gateway of `b`'s VPC when `b` is in one.
    pub(super) fn through_egress_only(
        &mut self,
        leg: Leg,
        key: &str,
        a: &Endpoint<'n>,
        b: &Endpoint<'n>,
    ) {
        let gateway = self.net.egress_only_gateway(key).map(|g| g.component());
        self.out_to_internet(
            leg,
            "egress-only gateway",
            gateway,
            "to the internet (IPv6; replies return, nothing opens inwards)",
            a,
            b,
        );
    }

    /// Whether an egress-only gateway from `vpc` gets to `b`: the internet only.
    pub(super) fn egress_only_reaches(
        &self,
        vpc: &str,
        key: &str,
        b_vpc: Option<&str>,
        b: &Endpoint<'n>,
    ) -> Reach {
        let Some(g) = self.net.egress_only_gateway(key) else {
            return not_in_model("egress-only-gateway", key);
        };
        if g.vpc != vpc {
            return Reach::No(
                "BAD_STATE_ROUTE",
                format!("{} belongs to {}, not {vpc}", g.component(), g.vpc),
                g.component(),
            );
        }
        match b_vpc {
            // Every IPv6 address is global: the internet carries it to another VPC.
            Some(v) if v != vpc => Reach::Yes,
            Some(v) => Reach::No(
                "CANNOT_ROUTE",
                format!(
                    "{} leads to the internet, but {} is in {v}",
                    g.component(),
                    b.label
                ),
                g.component(),
            ),
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
        }
    }

    /// From the internet (`a`) into `b`, whose table sends `a`'s addresses
    /// through the egress-only gateway `key`. True when this decided the hop.
    pub(super) fn entering_through_egress_only(
        &mut self,
        leg: Leg,
        key: &str,
        a: &Endpoint<'n>,
        b: &Endpoint<'n>,
    ) -> bool {
        let net = self.net;
        let (Some(g), Some(subnet)) = (net.egress_only_gateway(key), b.subnet) else {
            return false;
        };
        if leg == Leg::Return {
            let detail = format!("reply to a connection {} opened, back in", b.label);
            self.hop(
                leg,
                "egress-only gateway",
                Some(g.component()),
                detail,
                true,
            );
            self.public_ip(leg, b);
            return true;
        }
        let table = table_name(net.route_table_of(subnet), subnet);
        match net.igw_of(&subnet.vpc) {
            Some(igw) => {
                let reason = format!(
                    "{} enters {} through {}, but {table} sends traffic for {} out through {}, which admits nothing opened from outside: whether AWS lets those replies leave is not documented",
                    a.label,
                    subnet.vpc,
                    igw.component(),
                    a.label,
                    g.component()
                );
                self.undecided(leg, "egress-only gateway", g.component(), reason);
            }
            None => {
                let reason = format!(
                    "{} has no internet gateway, and {} admits only replies to connections opened from inside",
                    subnet.vpc,
                    g.component()
                );
                self.hop(
                    leg,
                    "egress-only gateway",
                    Some(g.component()),
                    reason.clone(),
                    false,
                );
                let fix = format!(
                    "attach an internet gateway to {} and route ::/0 through it in {table} (an egress-only gateway never admits connections from outside)",
                    subnet.vpc
                );
                self.block(leg, "CANNOT_ROUTE", &g.component(), reason, fix);
            }
        }
        true
    }

    /// Why the route to `b` cannot be told: `b`'s IPv6 block is AWS's to
    /// assign, and the table holds a route to an IPv6 prefix that may cover it.
    pub(super) fn ipv6_route_unknown(
        &self,
        table: Option<&RouteTable>,
        b: &Endpoint<'n>,
    ) -> Option<String> {
        if !b.assigned_on_apply {
            return None;
        }
        let narrow = table?
            .routes
            .iter()
            .find(|r| matches!(r.destination, IpNet::V6(d) if d.prefix_len() > 0))?;
        Some(format!(
            "the route to {} may or may not cover {}: AWS assigns its VPC's IPv6 block on apply",
            narrow.destination, b.label
        ))
    }

    /// An address as reports show it: a stand-in for a block AWS has yet
    /// to assign says so.
    pub(super) fn addr_text(&self, addr: IpNet) -> String {
        // Stand-ins are IPv6: an IPv4 address needs no look at the VPCs.
        let stand_in = addr.addr().is_ipv6()
            && self
                .net
                .vpcs
                .iter()
                .filter_map(|v| v.ipv6)
                .any(|b| b.assigned_on_apply && IpNet::V6(b.cidr).contains(&addr));
        if stand_in {
            format!(
                "{addr} (a stand-in: the VPC's IPv6 block is AWS's, known once it exists; read with --live)"
            )
        } else {
            addr.to_string()
        }
    }

    /// The IPv6 route that would carry traffic from `from`'s subnet to `b`
    /// (replies to a connection the internet opened: an internet gateway's).
    pub(super) fn ipv6_route_fix(
        &self,
        table: &Component,
        from: &Subnet,
        b: &Endpoint<'n>,
        opened_outside: bool,
    ) -> String {
        let net = self.net;
        let vpc = from.vpc.as_str();
        if let Some(what) = crate::flow::unroutable_v6(b.addr).filter(|_| b.subnet.is_none()) {
            return format!(
                "none: {} is a {what} address, which no route carries; ask about a global one",
                b.addr
            );
        }
        if let Some(peer) = b.subnet.and_then(|s| net.vpc(&s.vpc)) {
            let block = peer.ipv6.filter(|b| !b.assigned_on_apply).map_or_else(
                || format!("the IPv6 block of {}", peer.key),
                |b| b.cidr.to_string(),
            );
            return match net.peerings.iter().find(|p| {
                (p.requester == vpc && p.accepter == peer.key)
                    || (p.accepter == vpc && p.requester == peer.key)
            }) {
                Some(p) => format!("add a route to {block} through {} in {}", p.key, table.name),
                None => format!(
                    "peer {vpc} with {}, then add a route to {block} through the peering in {}",
                    peer.key, table.name
                ),
            };
        }
        if crate::flow::is_private(b.addr) {
            return format!(
                "add a route to {} in {} through what connects to it (a transit gateway, a VPN, a peering); the internet does not route private addresses",
                b.addr, table.name
            );
        }
        let egress_only = net.egress_only_gateways.iter().find(|g| g.vpc == vpc);
        match (net.igw_of(vpc), egress_only) {
            (Some(g), _) if from.map_public_ip_on_launch || opened_outside => {
                format!("add a route to ::/0 through {} in {}", g.key, table.name)
            }
            (_, Some(g)) => format!(
                "add a route to ::/0 through {} in {} (outbound only)",
                g.key, table.name
            ),
            (Some(g), None) => format!("add a route to ::/0 through {} in {}", g.key, table.name),
            (None, None) => format!(
                "create an egress-only gateway in {vpc} (outbound only) or attach an internet gateway, and route ::/0 through it in {}",
                table.name
            ),
        }
    }
}

fn table_name(table: Option<&RouteTable>, subnet: &Subnet) -> String {
    table.map_or_else(
        || format!("the main route table of {}", subnet.vpc),
        |t| t.component().to_string(),
    )
}
