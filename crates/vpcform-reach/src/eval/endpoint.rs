//! Prefix lists and gateway endpoints ("Gateway endpoints", "How route
//! priority works"): a gateway endpoint's route goes to its service's
//! prefix list; a longer prefix wins, and for the same prefix a static
//! route wins over a prefix-list route. Only TCP and ICMP echo go through
//! a gateway endpoint (VPCE_GATEWAY_PROTOCOL_RESTRICTION). A list whose
//! addresses the model does not hold makes what depends on it unknown.

use ipnet::IpNet;
use vpcform_topology::Protocol;

use super::{Evaluation, Leg, Reach};
use crate::flow::Endpoint;
use crate::model::{Component, RouteTable, RouteTarget, SgPeer};

/// A prefix-list route that wins, with the entry that holds the destination.
type ListRoute<'n> = (IpNet, Option<&'n RouteTarget>);

impl<'n> Evaluation<'n> {
    /// A subnet's ACL towards `remote`; for a service whose addresses are
    /// not known, an entry naming a narrower range makes the answer unknown.
    pub(super) fn acl_towards(
        &mut self,
        leg: Leg,
        subnet: &crate::model::Subnet,
        direction: vpcform_topology::Direction,
        remote: &Endpoint<'n>,
        packet: &crate::flow::Packet,
    ) {
        let addresses_unknown = (remote.service_list.is_some() && remote.addr.prefix_len() == 0)
            || remote.assigned_on_apply;
        let acl = self.net.acl_of(subnet);
        // Only an entry that could match this packet can decide it.
        let narrow = acl.is_some_and(|a| {
            a.entries.iter().any(|e| {
                e.direction == direction
                    && e.cidr.prefix_len() > 0
                    && e.cidr.addr().is_ipv6() == remote.addr.addr().is_ipv6()
                    && packet_may_match(packet, e)
            })
        });
        match acl {
            Some(a) if addresses_unknown && narrow => {
                let reason = format!(
                    "{} has entries for narrower ranges than {}, and the addresses of {} are not known here{}",
                    a.component(),
                    if remote.addr.addr().is_ipv6() {
                        "::/0"
                    } else {
                        "0.0.0.0/0"
                    },
                    remote.label,
                    if remote.assigned_on_apply {
                        " (AWS assigns its VPC's IPv6 block on apply)"
                    } else {
                        ""
                    }
                );
                let step = match direction {
                    vpcform_topology::Direction::Egress => "network ACL outbound",
                    vpcform_topology::Direction::Ingress => "network ACL inbound",
                };
                self.undecided(leg, step, a.component(), reason);
            }
            Some(_) | None => self.acl(leg, subnet, direction, remote.addr, packet),
        }
    }

    /// How reports name the list `key`: its id and name when known.
    pub(super) fn list_component(&self, key: &str) -> Component {
        match self.net.prefix_list(key) {
            Some(l) => Component {
                kind: "prefix-list",
                name: l.name.clone().unwrap_or_else(|| key.to_string()),
                id: l.id.clone(),
            },
            None => Component {
                kind: "prefix-list",
                name: key.to_string(),
                id: key.starts_with("pl-").then(|| key.to_string()),
            },
        }
    }

    /// Whether the list `key` holds every address of `e`; `None` when the
    /// model cannot tell (a list whose addresses it does not hold).
    pub(super) fn list_holds(&self, key: &str, e: &Endpoint<'n>) -> Option<bool> {
        if e.service_list.as_deref() == Some(key) {
            return Some(true);
        }
        let list = self.net.prefix_list(key)?;
        // AWS's lists of a service's addresses that vpcform reads are IPv4.
        if list.service.is_some() && list.entries.is_none() && e.addr.addr().is_ipv6() {
            return Some(false);
        }
        match &list.entries {
            // Another service, whose addresses are not known.
            Some(_) if e.service_list.is_some() && e.addr.prefix_len() == 0 => None,
            Some(entries) => Some(entries.iter().any(|c| c.contains(&e.addr))),
            // AWS's lists of a service hold its public addresses: not an
            // address in a VPC, not another service's.
            None if list.service.is_some() && (e.subnet.is_some() || e.service_list.is_some()) => {
                Some(false)
            }
            None => None,
        }
    }

    /// Whether a security-group rule's peer covers `remote`; `None` when unknown.
    pub(super) fn peer_holds(&self, peer: &SgPeer, remote: &Endpoint<'n>) -> Option<bool> {
        let same_family = |c: &IpNet| c.addr().is_ipv6() == remote.addr.addr().is_ipv6();
        match peer {
            SgPeer::Cidr(c) if !same_family(c) => Some(false),
            SgPeer::Cidr(c) if c.prefix_len() == 0 => Some(true),
            // An IPv6 block AWS assigns on apply: a narrower rule may or may not hold it.
            SgPeer::Cidr(_) if remote.assigned_on_apply => None,
            // A service whose addresses are not known: a narrower CIDR may or may not hold them.
            SgPeer::Cidr(_) if remote.service_list.is_some() && remote.addr.prefix_len() == 0 => {
                None
            }
            SgPeer::Cidr(c) => Some(c.contains(&remote.addr)),
            // Security-group references do not cross a transit gateway.
            SgPeer::Group(_) if self.forward_tgw.is_some() => Some(false),
            SgPeer::Group(g) => Some(remote.in_group(g)),
            SgPeer::PrefixList(key) => self.list_holds(key, remote),
        }
    }

    /// The target of the route `subnet`'s table takes towards `a` (outside
    /// every VPC): the longest CIDR route, unless a prefix-list route wins;
    /// `None` when there is none, `Err` when a list's addresses decide it
    /// and are not known.
    pub(super) fn route_towards(
        &self,
        subnet: &crate::model::Subnet,
        a: &Endpoint<'n>,
    ) -> Result<Option<&'n RouteTarget>, (Component, String)> {
        let table = self.net.route_table_of(subnet);
        let best = table.and_then(|t| {
            t.routes
                .iter()
                .filter(|r| r.destination.contains(&a.addr))
                .max_by_key(|r| r.destination.prefix_len())
        });
        match self.list_route(table, a, best.map(|r| r.destination))? {
            Some((_, Some(target))) => Ok(Some(target)),
            Some((_, None)) | None => Ok(best.map(|r| &r.target)),
        }
    }

    /// The prefix-list route of `table` that wins for `b` over the best
    /// CIDR route (`best`); `Err` with the list when that cannot be told.
    pub(super) fn list_route(
        &self,
        table: Option<&'n RouteTable>,
        b: &Endpoint<'n>,
        best: Option<IpNet>,
    ) -> Result<Option<ListRoute<'n>>, (Component, String)> {
        let Some(table) = table else { return Ok(None) };
        // Each list's longest entry holding `b`; the longest of all decides first.
        let mut lists: Vec<(&String, &RouteTarget, Option<&IpNet>)> = table
            .prefix_list_routes
            .iter()
            .map(|(key, target)| {
                let entries = self.net.prefix_list(key).and_then(|l| l.entries.as_ref());
                let holding = entries.and_then(|e| {
                    e.iter()
                        .filter(|c| c.contains(&b.addr))
                        .max_by_key(|c| c.prefix_len())
                });
                (key, target, holding)
            })
            .collect();
        lists.sort_by_key(|(_, _, holding)| std::cmp::Reverse(holding.map(|h| h.prefix_len())));
        for (key, target, holding) in lists {
            match (holding, self.list_holds(key, b)) {
                // Same prefix: the CIDR route wins.
                (Some(entry), _) if best.is_none_or(|d| entry.prefix_len() > d.prefix_len()) => {
                    // A narrower CIDR route over part of the destination wins
                    // for those addresses only: which way it goes depends on
                    // the address, so the answer for the whole is unknown.
                    let b_range = b.addr;
                    if let Some(r) = table.routes.iter().find(|r| {
                        r.destination.prefix_len() > b_range.prefix_len()
                            && b_range.contains(&r.destination.network())
                    }) {
                        let c = self.list_component(key);
                        let reason = format!(
                            "{} routes {} (part of {}) through {}, and the rest of it through {c}: the way depends on the address; ask about one address",
                            table.component(),
                            r.destination,
                            b.label,
                            super::target_label(self.net, Some(&r.target))
                        );
                        return Err((table.component(), reason));
                    }
                    return Ok(Some((*entry, Some(target))));
                }
                (Some(_), _) | (None, Some(false)) => {}
                (None, Some(true)) => {
                    // `b` is the service, whose addresses are not known: a
                    // CIDR route to public addresses narrower than /0 may win.
                    if table.routes.iter().any(|r| {
                        r.destination.prefix_len() > 0 && !crate::flow::is_private(r.destination)
                    }) {
                        return Err(self.list_unknown(table, key, target, b));
                    }
                    return Ok(Some((b.addr, Some(target))));
                }
                (None, None) => {
                    // A list may hold a longer prefix for `b` than any route
                    // found (never for `b` in the VPC: the local route covers it).
                    let overridable = best.is_none_or(|d| d.prefix_len() < d.max_prefix_len())
                        && b.subnet.is_none_or(|s| s.vpc != table.vpc)
                        && b.addr.prefix_len() > 0;
                    if overridable {
                        return Err(self.list_unknown(table, key, target, b));
                    }
                }
            }
        }
        Ok(None)
    }

    fn list_unknown(
        &self,
        table: &RouteTable,
        key: &str,
        target: &RouteTarget,
        b: &Endpoint<'n>,
    ) -> (Component, String) {
        let c = self.list_component(key);
        let reason = format!(
            "{} routes prefix list {c} through {}; its addresses are not known here, so whether it holds {} is unknown",
            table.component(),
            super::target_label(self.net, Some(target)),
            b.label
        );
        (c, reason)
    }

    /// How a route's destination reads: a prefix-list route names its list.
    pub(super) fn destination_label(
        &self,
        table: Option<&RouteTable>,
        destination: IpNet,
        target: Option<&RouteTarget>,
    ) -> String {
        let list = table.zip(target).and_then(|(t, target)| {
            t.prefix_list_routes
                .iter()
                .find(|(_, via)| via == target)
                .map(|(key, _)| key)
        });
        match list {
            Some(key) if destination.prefix_len() > 0 => {
                format!("{destination} (prefix list {})", self.list_component(key))
            }
            Some(key) => format!("prefix list {}", self.list_component(key)),
            None => self.addr_text(destination),
        }
    }

    /// A gateway endpoint carries TCP and ICMP echo to its service only.
    pub(super) fn gateway_endpoint_reaches(&self, vpc: &str, key: &str) -> Reach {
        let Some(e) = self.net.vpc_endpoint(key) else {
            return super::not_in_model("vpc-endpoint", key);
        };
        if e.vpc != vpc {
            return Reach::No(
                "CANNOT_ROUTE",
                format!("{} serves {}, not {vpc}", e.component(), e.vpc),
                e.component(),
            );
        }
        match self.service.protocol {
            Protocol::Tcp | Protocol::Icmp => Reach::Yes,
            other => Reach::No(
                "VPCE_GATEWAY_PROTOCOL_RESTRICTION",
                format!(
                    "{} carries TCP and ICMP only, not {}",
                    e.component(),
                    other.aws_name()
                ),
                e.component(),
            ),
        }
    }

    /// For a service a gateway endpoint of the VPC carries: the table joins its `route-tables`.
    pub(super) fn endpoint_fix(
        &self,
        table: &Component,
        vpc: &str,
        b: &Endpoint<'n>,
    ) -> Option<String> {
        let list = b.service_list.as_deref()?;
        let endpoint = self.net.vpc_endpoints.iter().find(|e| {
            e.gateway && e.vpc == vpc && crate::model::service_list_key(&e.service) == list
        })?;
        Some(format!(
            "add {} to the `route-tables` of {}",
            table.name, endpoint.key
        ))
    }

    pub(super) fn through_gateway_endpoint(&mut self, leg: Leg, key: &str, b: &Endpoint<'n>) {
        let Some(e) = self.net.vpc_endpoint(key) else {
            return;
        };
        let detail = match leg {
            Leg::Forward => format!("to {}", b.label),
            Leg::Return => format!("back from {}", e.service),
        };
        self.hop(leg, "gateway endpoint", Some(e.component()), detail, true);
    }

    /// From a service into `b`'s VPC through a gateway endpoint of `b`'s
    /// table: true when that is the way in (or the way is unknown).
    pub(super) fn entering_through_endpoint(
        &mut self,
        leg: Leg,
        a: &Endpoint<'n>,
        b: &Endpoint<'n>,
    ) -> bool {
        let Some(subnet) = b.subnet else { return false };
        let table = self.net.route_table_of(subnet);
        let best = table.and_then(|t| {
            t.routes
                .iter()
                .filter(|r| r.destination.contains(&a.addr))
                .map(|r| r.destination)
                .max_by_key(|d| d.prefix_len())
        });
        match self.list_route(table, a, best) {
            Ok(Some((_, Some(RouteTarget::GatewayEndpoint(key))))) => {
                let key = key.clone();
                self.through_gateway_endpoint(leg, &key, b);
                true
            }
            Ok(_) => false,
            Err((c, reason)) => {
                self.undecided(leg, "route table", c, reason);
                true
            }
        }
    }
}

/// Whether an ACL entry could match some packet of this kind (any of its ports).
fn packet_may_match(packet: &crate::flow::Packet, e: &crate::model::AclEntry) -> bool {
    match e.protocol {
        Protocol::All => true,
        p if p != packet.protocol => false,
        Protocol::Tcp | Protocol::Udp => e.from <= packet.ports.1 && packet.ports.0 <= e.to,
        Protocol::Icmp | Protocol::Icmpv6 | Protocol::Number(_) => true,
    }
}
