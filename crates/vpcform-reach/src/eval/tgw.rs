//! Transit gateways, with AWS's semantics ("How transit gateways work",
//! "Transit gateway route tables", "Network ACLs for transit gateways"):
//! a VPC route sends the packet to the gateway through the VPC's
//! attachment, which has a subnet in the source's zone or carries nothing
//! from it (TGW_ATTACH_VPC_AZ_RESTRICTION); the route table the attachment
//! is associated with decides (longest prefix; for one prefix a static
//! route, then a prefix-list route, then a propagated one; a blackhole
//! drops); the destination attachment delivers into its VPC. The reply is
//! routed by the tables of its own side, so asymmetric paths show.
//! Attachment subnets' ACLs: inbound (source address) on the way to the
//! gateway, outbound (destination address) on the way out of it, and an
//! endpoint in the attachment subnet itself has no ACL evaluated for what
//! the gateway delivers.

use ipnet::IpNet;
use vpcform_topology::Direction;

use super::{Block, Endpoint, Evaluation, Leg, Packet, Reach, not_in_model};
use crate::Component;
use crate::model::{Subnet, TgwAttachment, TgwDestination, TgwRouteTable};

/// How a transit-gateway route came to be, in AWS's order of preference for one prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Origin {
    Static,
    PrefixList,
    Propagated,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Static => "static",
            Origin::PrefixList => "prefix list",
            Origin::Propagated => "propagated",
        }
    }
}

/// The route a transit-gateway table takes for a packet.
struct TgwChoice<'n> {
    destination: String,
    origin: Origin,
    /// `None`: a blackhole.
    attachment: Option<&'n str>,
}

/// The gateway's path for one leg: in through `entry`, routed by
/// `table`, out through `exit`.
pub(super) struct TgwPath<'n> {
    entry: &'n TgwAttachment,
    /// The attachment subnet in the source's zone.
    entry_subnet: &'n Subnet,
    table: &'n TgwRouteTable,
    choice: TgwChoice<'n>,
    exit: &'n TgwAttachment,
}

impl<'n> Evaluation<'n> {
    /// Whether the transit gateway `key` carries a packet from `from` to `b`.
    pub(super) fn tgw_reaches(&self, from: &Subnet, key: &str, b: &Endpoint<'n>) -> Reach {
        match self.tgw_path(from, key, b) {
            Ok(_) => Reach::Yes,
            Err(reach) => reach,
        }
    }

    /// The path through the gateway, or why there is none.
    pub(super) fn tgw_path(
        &self,
        from: &Subnet,
        key: &str,
        b: &Endpoint<'n>,
    ) -> Result<TgwPath<'n>, Reach> {
        let net = self.net;
        let Some(gateway) = net.transit_gateway(key) else {
            return Err(not_in_model("transit-gateway", key));
        };
        let Some(entry) = net.attachment_of(key, &from.vpc) else {
            let reason = format!(
                "{} has no attachment to {}: AWS holds the route as a blackhole",
                from.vpc,
                gateway.component()
            );
            let fix = format!("attach {} to {}", from.vpc, gateway.key);
            return Err(Reach::denied(block(
                "BAD_STATE_ROUTE",
                gateway.component(),
                reason,
                fix,
            )));
        };
        let entry_subnet = self.entry_subnet(entry, from)?;
        let Some(table_key) = &entry.route_table else {
            let reason = format!(
                "{} is associated with no route table: the gateway routes nothing from it",
                entry.component()
            );
            let fix = format!(
                "associate {} with a route table of {} (`route-table:`)",
                entry.key, gateway.key
            );
            return Err(Reach::denied(block(
                "TGW_ATTACH_MISSING_TGW_RTB_ASSOCIATION",
                entry.component(),
                reason,
                fix,
            )));
        };
        let Some(table) = net.tgw_route_table(table_key) else {
            return Err(not_in_model("transit-gateway-route-table", table_key));
        };
        let choice = self.tgw_route(table, b)?;
        let exit = self.tgw_exit(table, &choice, b)?;
        Ok(TgwPath {
            entry,
            entry_subnet,
            table,
            choice,
            exit,
        })
    }

    /// The attachment's subnet in `from`'s zone: traffic from a zone
    /// without one never reaches the gateway.
    fn entry_subnet(&self, entry: &'n TgwAttachment, from: &Subnet) -> Result<&'n Subnet, Reach> {
        let subnets: Vec<&'n Subnet> = entry
            .subnets
            .iter()
            .filter_map(|s| self.net.subnet(s))
            .collect();
        if let Some(s) = subnets.iter().find(|s| s.key == from.key) {
            return Ok(s);
        }
        let Some(zone) = &from.az else {
            return Err(Reach::Unknown(
                format!(
                    "the availability zone of {} is chosen by AWS on apply: whether {} has a subnet there is not known",
                    from.key,
                    entry.component()
                ),
                entry.component(),
            ));
        };
        if let Some(s) = subnets.iter().find(|s| s.az.as_ref() == Some(zone)) {
            return Ok(s);
        }
        if subnets.iter().any(|s| s.az.is_none()) {
            return Err(Reach::Unknown(
                format!(
                    "a subnet of {} is in a zone AWS chooses on apply: whether it is {zone} is not known",
                    entry.component()
                ),
                entry.component(),
            ));
        }
        let reason = format!(
            "{} has no subnet in {zone}, the zone of {}: resources there cannot reach the transit gateway",
            entry.component(),
            from.key
        );
        let fix = format!(
            "add a subnet of {} in {zone} to {}'s `subnets`",
            from.vpc, entry.key
        );
        Err(Reach::denied(block(
            "TGW_ATTACH_VPC_AZ_RESTRICTION",
            entry.component(),
            reason,
            fix,
        )))
    }

    /// The table's route for `b`: longest prefix, then static before
    /// prefix list before propagated.
    fn tgw_route(
        &self,
        table: &'n TgwRouteTable,
        b: &Endpoint<'n>,
    ) -> Result<TgwChoice<'n>, Reach> {
        let mut candidates: Vec<(u8, TgwChoice<'n>)> = Vec::new();
        for r in &table.routes {
            let attachment = r.attachment.as_deref();
            match &r.destination {
                TgwDestination::Cidr(c) if c.contains(&b.addr) => candidates.push((
                    c.prefix_len(),
                    TgwChoice {
                        destination: c.to_string(),
                        origin: Origin::Static,
                        attachment,
                    },
                )),
                TgwDestination::Cidr(_) => {}
                TgwDestination::PrefixList(key) => {
                    if let Some(len) = self.tgw_list_match(table, key, b)? {
                        let destination = self.list_component(key).to_string();
                        let origin = Origin::PrefixList;
                        candidates.push((
                            len,
                            TgwChoice {
                                destination,
                                origin,
                                attachment,
                            },
                        ));
                    }
                }
            }
        }
        for p in &table.propagations {
            for c in self.propagated_blocks(table, p)? {
                if c.contains(&b.addr) {
                    let choice = TgwChoice {
                        destination: c.to_string(),
                        origin: Origin::Propagated,
                        attachment: Some(p.as_str()),
                    };
                    candidates.push((c.prefix_len(), choice));
                }
            }
        }
        candidates.sort_by_key(|(len, c)| (std::cmp::Reverse(*len), c.origin));
        match candidates.into_iter().next() {
            Some((_, choice)) => Ok(choice),
            None => Err(Reach::denied(self.tgw_no_route(table, b))),
        }
    }

    /// The longest entry of the list `key` holding `b`, if any.
    fn tgw_list_match(
        &self,
        table: &TgwRouteTable,
        key: &str,
        b: &Endpoint<'n>,
    ) -> Result<Option<u8>, Reach> {
        let entries = self.net.prefix_list(key).and_then(|l| l.entries.as_ref());
        let Some(entries) = entries else {
            let reason = format!(
                "{} routes {} by the entries of {}, which are not known here",
                table.component(),
                b.label,
                self.list_component(key)
            );
            return Err(Reach::Unknown(reason, table.component()));
        };
        Ok(entries
            .iter()
            .filter(|c| c.contains(&b.addr))
            .map(IpNet::prefix_len)
            .max())
    }

    /// The blocks attachment `key` propagates: its VPC's (IPv6 only when it carries IPv6).
    fn propagated_blocks(&self, table: &TgwRouteTable, key: &str) -> Result<Vec<IpNet>, Reach> {
        let attachment = self.net.tgw_attachment(key);
        let vpc = attachment.and_then(|a| self.net.vpc(&a.vpc));
        let (Some(a), Some(vpc)) = (attachment, vpc) else {
            let reason = format!(
                "{} learns routes from {key}, whose network is not in the model",
                table.component()
            );
            return Err(Reach::Unknown(reason, table.component()));
        };
        Ok(vpc
            .cidrs()
            .filter(|c| a.ipv6 || c.addr().is_ipv4())
            .collect())
    }

    /// The attachment the route leads to, when it delivers to `b`.
    fn tgw_exit(
        &self,
        table: &'n TgwRouteTable,
        choice: &TgwChoice<'n>,
        b: &Endpoint<'n>,
    ) -> Result<&'n TgwAttachment, Reach> {
        let route = format!(
            "{} ({}) in {}",
            choice.destination,
            choice.origin.as_str(),
            table.component()
        );
        let Some(key) = choice.attachment else {
            let reason = format!("the route to {route} is a blackhole: it drops {}", b.label);
            let fix = format!(
                "remove the blackhole route to {} from {}, or point it at the attachment of {}",
                choice.destination,
                table.key,
                b.subnet.map_or("the destination's VPC", |s| s.vpc.as_str())
            );
            return Err(Reach::denied(block(
                "TGW_RTB_BAD_STATE_ROUTE",
                table.component(),
                reason,
                fix,
            )));
        };
        let Some(exit) = self.net.tgw_attachment(key) else {
            return Err(not_in_model("transit-gateway-attachment", key));
        };
        match b.subnet {
            Some(s) if s.vpc == exit.vpc => Ok(exit),
            _ => Err(self.tgw_wrong_exit(&route, exit, b)),
        }
    }

    /// The route leads to an attachment whose VPC does not hold `b`: what
    /// that VPC's own routing does with it (an inspection or egress VPC)
    /// is not followed, so the answer is unknown.
    fn tgw_wrong_exit(&self, route: &str, exit: &TgwAttachment, b: &Endpoint<'n>) -> Reach {
        let reason = format!(
            "the route to {route} leads to {}, in {}: what {} does with traffic for {} is not followed by vpcform",
            exit.component(),
            exit.vpc,
            exit.vpc,
            b.label
        );
        Reach::Unknown(reason, exit.component())
    }

    /// No route of the table holds `b`.
    fn tgw_no_route(&self, table: &TgwRouteTable, b: &Endpoint<'n>) -> Block {
        let attached = b
            .subnet
            .and_then(|s| self.net.attachment_of(&table.gateway, &s.vpc));
        match attached {
            Some(exit) => block(
                "TGW_RTB_NO_ROUTE_TO_TGW_ATTACHMENT",
                table.component(),
                format!(
                    "{} has no route to {} (neither propagated from {} nor static)",
                    table.component(),
                    b.label,
                    exit.key
                ),
                format!(
                    "propagate {} into {} (`propagations:`), or add a static route to it",
                    exit.key, table.key
                ),
            ),
            None => block(
                "TGW_RTB_CANNOT_ROUTE",
                table.component(),
                format!("{} has no route to {}", table.component(), b.label),
                match b.subnet {
                    Some(s) => format!(
                        "attach {} to {} and propagate its attachment into {}",
                        s.vpc, table.gateway, table.key
                    ),
                    None => format!(
                        "add a static route for {} to {} through the attachment that leads there",
                        b.label, table.key
                    ),
                },
            ),
        }
    }

    /// The hops through the gateway, with the attachment subnets' ACLs.
    pub(super) fn through_tgw(
        &mut self,
        leg: Leg,
        from: &Subnet,
        key: &str,
        a: &Endpoint<'n>,
        b: &Endpoint<'n>,
    ) {
        let Ok(path) = self.tgw_path(from, key, b) else {
            return;
        };
        let packet = match leg {
            Leg::Forward => Packet::request(&self.service),
            Leg::Return => Packet::reply(&self.service),
        };
        let detail = format!("in through {} ({})", path.entry.key, path.entry_subnet.key);
        self.hop(
            leg,
            "transit gateway attachment",
            Some(path.entry.component()),
            detail,
            true,
        );
        self.acl_towards(leg, path.entry_subnet, Direction::Ingress, a, &packet);
        let target = path.choice.attachment.unwrap_or("blackhole");
        let detail = format!(
            "{} ({}) → {target}",
            path.choice.destination,
            route_address(path.table, &path.choice)
        );
        self.hop(
            leg,
            "transit gateway route table",
            Some(path.table.component()),
            detail,
            true,
        );
        self.exit_tgw(leg, &path, from, b, &packet);
    }

    /// The way into the gateway when the gateway then drops the packet:
    /// the source's attachment, its subnet in the source's zone, and that
    /// subnet's ACL, shown up to where the gateway decides.
    pub(super) fn tgw_entry_hops(&mut self, leg: Leg, from: &Subnet, key: &str, a: &Endpoint<'n>) {
        let Some(entry) = self.net.attachment_of(key, &from.vpc) else {
            return;
        };
        let Ok(subnet) = self.entry_subnet(entry, from) else {
            return;
        };
        let packet = match leg {
            Leg::Forward => Packet::request(&self.service),
            Leg::Return => Packet::reply(&self.service),
        };
        let detail = format!("in through {} ({})", entry.key, subnet.key);
        self.hop(
            leg,
            "transit gateway attachment",
            Some(entry.component()),
            detail,
            true,
        );
        self.acl_towards(leg, subnet, Direction::Ingress, a, &packet);
    }

    /// Out of the gateway into `b`'s VPC: the exit attachment's subnet in
    /// the source's zone (AWS keeps traffic in its zone where it can).
    fn exit_tgw(
        &mut self,
        leg: Leg,
        path: &TgwPath<'n>,
        from: &Subnet,
        b: &Endpoint<'n>,
        packet: &Packet,
    ) {
        let exit = path.exit;
        let subnets: Vec<&'n Subnet> = exit
            .subnets
            .iter()
            .filter_map(|s| self.net.subnet(s))
            .collect();
        let in_zone = subnets
            .iter()
            .find(|s| s.az.is_some() && s.az == from.az)
            .copied();
        let detail = format!("into {}", exit.vpc);
        self.hop(
            leg,
            "transit gateway attachment",
            Some(exit.component()),
            detail,
            true,
        );
        let chosen = in_zone.or_else(|| {
            let acls: std::collections::HashSet<_> = subnets
                .iter()
                .map(|s| self.net.acl_of(s).map(|a| a.key.clone()))
                .collect();
            (acls.len() == 1).then(|| subnets[0])
        });
        let Some(subnet) = chosen else {
            let reason = format!(
                "{} leaves the gateway through the subnet of {} in a zone AWS picks, and their network ACLs differ",
                b.label,
                exit.component()
            );
            self.undecided(leg, "network ACL outbound", exit.component(), reason);
            return;
        };
        if b.subnet.is_some_and(|s| s.key == subnet.key) {
            // Delivered within the attachment's own subnet: no ACL applies.
            self.tgw_delivered.push((leg, subnet.key.clone()));
            return;
        }
        self.acl_towards(leg, subnet, Direction::Egress, b, packet);
    }

    /// The fix for a return leg that does not go back to the gateway the request came through.
    pub(super) fn response_fix(&self, table: &Component, b: &Endpoint<'n>) -> Option<String> {
        let gateway = self.forward_tgw.as_ref()?;
        Some(format!(
            "add a route to {} through transit gateway {gateway} in {}",
            super::remote_cidr(b),
            table.name
        ))
    }
}

/// The object that put a route in the table: its static route, or the
/// propagation (`transit-gateway-propagation.TABLE[ATTACHMENT]`).
fn route_address(table: &TgwRouteTable, choice: &TgwChoice<'_>) -> String {
    let name = |key: &str, kind: &str| {
        key.strip_prefix(kind)
            .and_then(|k| k.strip_prefix('.'))
            .unwrap_or(key)
            .to_string()
    };
    let table_name = name(&table.key, "transit-gateway-route-table");
    match (choice.origin, choice.attachment) {
        (Origin::Propagated, Some(a)) => format!(
            "propagated: transit-gateway-propagation.{table_name}[{}]",
            name(a, "transit-gateway-attachment")
        ),
        (origin, _) => format!(
            "{}: transit-gateway-route.{table_name}[{}]",
            origin.as_str(),
            choice.destination
        ),
    }
}

fn block(code: &'static str, c: Component, reason: String, fix: String) -> Block {
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
