//! NAT gateways, with AWS's semantics ("NAT gateway basics"): a connection
//! opened from inside the VPC leaves with the gateway's address (its Elastic
//! IP towards an internet gateway, for a public one), replies come back
//! through it, and nothing from outside can open a connection through it.
//! Its subnet's route table decides where it sends traffic, and its
//! subnet's network ACL applies to both legs. Traffic that entered the VPC
//! over a peering cannot use it (NGW_REQUIRES_SOURCE_IN_VPC).

use super::{Block, Endpoint, Evaluation, Leg, Packet, Reach, RouteTarget, not_in_model};
use crate::Component;
use crate::model::{NatGateway, Subnet};
use vpcform_topology::{Direction, TargetKind};

impl<'n> Evaluation<'n> {
    /// Whether traffic a route in `vpc` sends to NAT gateway `key` gets to `b`.
    pub(super) fn nat_reaches(&self, vpc: &str, key: &str, b: &Endpoint<'n>) -> Reach {
        let Some(nat) = self.net.nat_gateway(key) else {
            return not_in_model("nat-gateway", key);
        };
        let Some(subnet) = self.net.subnet(&nat.subnet) else {
            return Reach::Unknown(
                format!("the subnet of {} is not in the model", nat.component()),
                nat.component(),
            );
        };
        if subnet.vpc != vpc {
            return Reach::No(
                "CANNOT_ROUTE",
                format!("{} is in {}, not in {vpc}", nat.component(), subnet.vpc),
                nat.component(),
            );
        }
        let onward = self.lookup(subnet, b);
        match onward {
            None => Reach::denied(self.nat_no_route(nat, subnet, b)),
            // `b` is in the gateway's own VPC: the local route delivers it.
            Some(None) => Reach::Yes,
            Some(Some(t @ RouteTarget::To(kind, _))) => match kind {
                TargetKind::NatGateway => Reach::denied(self.nat_block(
                    nat,
                    "CANNOT_ROUTE",
                    format!(
                        "the subnet of {} routes {} to another NAT gateway, which does not forward traffic from a NAT gateway",
                        nat.component(),
                        b.label
                    ),
                    format!("route {} from {}'s subnet through an internet gateway", b.label, nat.key),
                )),
                TargetKind::InternetGateway if !nat.public => Reach::denied(self.nat_block(
                    nat,
                    "CANNOT_ROUTE",
                    format!(
                        "{} is a private NAT gateway: it has no Elastic IP and cannot reach the internet",
                        nat.component()
                    ),
                    format!(
                        "route the internet through a public NAT gateway (`connectivity: public` with an `elastic-ip`) instead of {}",
                        nat.key
                    ),
                )),
                TargetKind::InternetGateway
                | TargetKind::Peering
                | TargetKind::EgressOnlyGateway
                | TargetKind::TransitGateway => {
                    self.target_reaches(subnet, Some(t), b)
                }
            },
            Some(Some(
                t @ (RouteTarget::Unmodeled { .. }
                | RouteTarget::Blackhole(_)
                | RouteTarget::GatewayEndpoint(_)),
            )) => {
                self.target_reaches(subnet, Some(t), b)
            }
        }
    }

    /// The winning route of `subnet`'s table for `b` (`Some(None)`: the local route).
    pub(super) fn lookup(
        &self,
        subnet: &Subnet,
        b: &Endpoint<'n>,
    ) -> Option<Option<&'n RouteTarget>> {
        let net = self.net;
        let vpc = net.vpc(&subnet.vpc)?;
        let mut best: Option<(u8, Option<&'n RouteTarget>)> = vpc
            .cidrs()
            .find(|c| c.contains(&b.addr))
            .map(|c| (c.prefix_len(), None));
        for r in net
            .route_table_of(subnet)
            .map_or(&[][..], |t| &t.routes[..])
        {
            if r.destination.contains(&b.addr)
                && best.is_none_or(|(len, _)| r.destination.prefix_len() > len)
            {
                best = Some((r.destination.prefix_len(), Some(&r.target)));
            }
        }
        best.map(|(_, target)| target)
    }

    fn nat_no_route(&self, nat: &NatGateway, subnet: &Subnet, b: &Endpoint<'n>) -> Block {
        let table = self.net.route_table_of(subnet).map_or_else(
            || format!("the main route table of {}", subnet.vpc),
            |t| t.component().to_string(),
        );
        let fix = match self.net.igw_of(&subnet.vpc) {
            Some(g) if b.subnet.is_none() => {
                format!("add a route to 0.0.0.0/0 through {} in {table}", g.key)
            }
            _ => format!("add a route to {} in {table}", b.label),
        };
        self.nat_block(
            nat,
            "NO_ROUTE_TO_DESTINATION",
            format!(
                "{} is in {}, whose route table ({table}) has no route to {}",
                nat.component(),
                subnet.key,
                b.label
            ),
            fix,
        )
    }

    fn nat_block(
        &self,
        nat: &NatGateway,
        code: &'static str,
        reason: String,
        fix: String,
    ) -> Block {
        let c = nat.component();
        Block {
            code,
            component: c.name,
            kind: c.kind,
            id: c.id,
            leg: "forward",
            reason,
            fix,
        }
    }

    /// A request through the gateway: into its subnet, translated, out again.
    pub(super) fn through_nat(&mut self, leg: Leg, key: &str, a: &Endpoint<'n>, b: &Endpoint<'n>) {
        let net = self.net;
        let Some(nat) = net.nat_gateway(key) else {
            return;
        };
        if leg == Leg::Return {
            // Replies a NAT gateway never saw the request of (it came in elsewhere).
            let reason = format!(
                "replies from {} leave through {}, which carries only connections opened from inside the VPC; the reply would not reach {}",
                a.label,
                nat.component(),
                b.label
            );
            self.refused_by_nat(leg, &nat.component(), reason, &b.label);
            return;
        }
        let request = Packet::request(&self.service);
        let subnet = net.subnet(&nat.subnet);
        if let Some(s) = subnet {
            self.acl(leg, s, Direction::Ingress, a.addr, &request);
        }
        let how = if nat.public {
            "its Elastic IP"
        } else {
            "its private address"
        };
        self.hop(
            leg,
            "nat gateway",
            Some(nat.component()),
            format!("source {} translated to {how}", a.addr),
            true,
        );
        if let Some(s) = subnet {
            self.acl(leg, s, Direction::Egress, b.addr, &request);
            if let Some(Some(t @ RouteTarget::To(TargetKind::InternetGateway, g))) =
                self.lookup(s, b)
            {
                let table = net.route_table_of(s).map(|t| t.component());
                self.hop(
                    leg,
                    "route table",
                    table,
                    format!("{} → {}", b.label, super::target_label(net, Some(t))),
                    true,
                );
                if let Some(g) = net.internet_gateway(g) {
                    self.hop(
                        leg,
                        "internet gateway",
                        Some(g.component()),
                        "to the internet".into(),
                        true,
                    );
                }
            }
        }
    }

    /// A NAT gateway carries only connections opened from inside: traffic
    /// `outside` starts is refused there, with the fix for letting it in.
    fn refused_by_nat(&mut self, leg: Leg, nat: &Component, reason: String, outside: &str) {
        self.hop(leg, "nat gateway", Some(nat.clone()), reason.clone(), false);
        self.block(leg, "CANNOT_ROUTE", nat, reason, inbound_fix(outside));
    }

    /// From outside into `b`, whose table sends `a`'s addresses to NAT gateway `key`.
    pub(super) fn entering_through_nat(
        &mut self,
        leg: Leg,
        key: &str,
        a: &Endpoint<'n>,
        b: &Endpoint<'n>,
    ) {
        let net = self.net;
        let Some(nat) = net.nat_gateway(key) else {
            return;
        };
        if leg == Leg::Forward {
            let reason = format!(
                "{} reaches {} through {}, which carries only connections opened from inside the VPC: {} cannot open one",
                b.label,
                a.label,
                nat.component(),
                a.label
            );
            self.refused_by_nat(leg, &nat.component(), reason, &a.label);
            return;
        }
        let reply = Packet::reply(&self.service);
        let subnet = net.subnet(&nat.subnet);
        if let Some(s) = subnet {
            self.acl(leg, s, Direction::Ingress, a.addr, &reply);
        }
        self.hop(
            leg,
            "nat gateway",
            Some(nat.component()),
            format!("reply to a connection it translated, back to {}", b.label),
            true,
        );
        if let Some(s) = subnet {
            self.acl(leg, s, Direction::Egress, b.addr, &reply);
        }
    }
}

/// One fix for both legs of a connection opened from outside through a
/// NAT gateway, so a verdict names it once.
fn inbound_fix(outside: &str) -> String {
    format!(
        "accept connections from {outside} in a subnet whose route table sends it to an internet gateway, on a public address (a load balancer in a public subnet is the usual way)"
    )
}
