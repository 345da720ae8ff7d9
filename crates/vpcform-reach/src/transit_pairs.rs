//! Which VPC pairs joined by a transit gateway a plan may change: a VPC
//! whose own objects (subnets, tables, ACLs, groups, instances, its
//! attachment) change pairs with every VPC on the gateway; otherwise a VPC
//! pairs only with the VPCs whose blocks its associated table routes
//! differently. So one propagation among 1,000 attachments compares the
//! flows it can change, not every pair on the gateway.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::IpNet;

use crate::model::{Network, TgwDestination, TgwRouteTable};

/// VPC → the VPCs across a gateway whose flows with it the plan may change.
pub(crate) fn changed_neighbours(
    before: &Network,
    after: &Network,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let on_gateway = attached(before, after);
    for (gateway, vpcs) in &on_gateway {
        for va in vpcs {
            let partners: Vec<&String> = if vpc_changed(before, after, va) {
                vpcs.iter().filter(|vb| *vb != va).collect()
            } else {
                let moved = rerouted_blocks(before, after, gateway, va);
                vpcs.iter()
                    .filter(|vb| *vb != va && holds_any(before, after, vb, &moved))
                    .collect()
            };
            for vb in partners {
                out.entry(va.clone()).or_default().insert(vb.clone());
                out.entry(vb.clone()).or_default().insert(va.clone());
            }
        }
    }
    out
}

/// Gateway → the VPCs attached to it in either network.
fn attached(before: &Network, after: &Network) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for n in [before, after] {
        for a in &n.tgw_attachments {
            out.entry(a.gateway.clone())
                .or_default()
                .insert(a.vpc.clone());
        }
    }
    out
}

/// Whether anything of the VPC itself differs: its blocks, subnets (with
/// their tables and ACLs), tables, ACLs, the groups and instances in it,
/// its attachments.
fn vpc_changed(before: &Network, after: &Network, vpc: &str) -> bool {
    before.vpc(vpc) != after.vpc(vpc)
        || of_vpc(&before.subnets, &after.subnets, |s| s.vpc == vpc)
        || of_vpc(&before.route_tables, &after.route_tables, |t| t.vpc == vpc)
        || of_vpc(&before.network_acls, &after.network_acls, |a| a.vpc == vpc)
        || of_vpc(&before.security_groups, &after.security_groups, |g| {
            g.vpc == vpc
        })
        || instances_changed(before, after, vpc)
        || of_vpc(&before.tgw_attachments, &after.tgw_attachments, |a| {
            a.vpc == vpc
        })
}

fn of_vpc<T: PartialEq>(before: &[T], after: &[T], mine: impl Fn(&T) -> bool) -> bool {
    !before
        .iter()
        .filter(|x| mine(x))
        .eq(after.iter().filter(|x| mine(x)))
}

fn instances_changed(before: &Network, after: &Network, vpc: &str) -> bool {
    fn in_vpc<'n>(n: &'n Network, vpc: &str) -> Vec<&'n crate::model::Instance> {
        n.instances
            .iter()
            .filter(|i| n.subnet(&i.subnet).is_some_and(|s| s.vpc == vpc))
            .collect()
    }
    in_vpc(before, vpc) != in_vpc(after, vpc)
}

/// The destinations whose route differs in the table `vpc`'s attachment to
/// `gateway` is associated with, between the two networks (every
/// destination when the association itself differs).
fn rerouted_blocks(before: &Network, after: &Network, gateway: &str, vpc: &str) -> Rerouted {
    fn table_of<'n>(n: &'n Network, gateway: &str, vpc: &str) -> Option<&'n TgwRouteTable> {
        n.attachment_of(gateway, vpc)
            .and_then(|a| a.route_table.as_deref())
            .and_then(|t| n.tgw_route_table(t))
    }
    let (b, a) = (
        table_of(before, gateway, vpc),
        table_of(after, gateway, vpc),
    );
    if b.map(|t| &t.key) != a.map(|t| &t.key) {
        return Rerouted::All;
    }
    let (b, a) = (routes(before, b), routes(after, a));
    Rerouted::Blocks(b.symmetric_difference(&a).map(|(d, _)| *d).collect())
}

enum Rerouted {
    All,
    Blocks(Vec<IpNet>),
}

/// A table's routes as (destination, target): static ones and the blocks
/// its propagations give; a prefix-list route as the whole address space
/// of its family (its entries may change without the table changing).
fn routes(n: &Network, table: Option<&TgwRouteTable>) -> BTreeSet<(IpNet, String)> {
    let mut out = BTreeSet::new();
    let Some(t) = table else { return out };
    for r in &t.routes {
        let target = r.attachment.clone().unwrap_or_else(|| "blackhole".into());
        match &r.destination {
            TgwDestination::Cidr(c) => {
                out.insert((*c, target));
            }
            TgwDestination::PrefixList(key) => {
                let whole = |c: &str| c.parse::<IpNet>().expect("a valid block");
                out.insert((whole("0.0.0.0/0"), format!("{key}:{target}")));
                out.insert((whole("::/0"), format!("{key}:{target}")));
            }
        }
    }
    for p in &t.propagations {
        match n.tgw_attachment(p).and_then(|a| n.vpc(&a.vpc)) {
            Some(v) => out.extend(v.cidrs().map(|c| (c, format!("propagated:{p}")))),
            None => {
                out.insert((
                    "0.0.0.0/0".parse().expect("a block"),
                    format!("unknown:{p}"),
                ));
            }
        }
    }
    out
}

/// Whether `vpc`'s blocks (in either network) meet a rerouted destination.
fn holds_any(before: &Network, after: &Network, vpc: &str, moved: &Rerouted) -> bool {
    let blocks = match moved {
        Rerouted::All => return true,
        Rerouted::Blocks(b) if b.is_empty() => return false,
        Rerouted::Blocks(b) => b,
    };
    [before, after]
        .iter()
        .filter_map(|n| n.vpc(vpc))
        .flat_map(|v| v.cidrs())
        .any(|c| {
            blocks
                .iter()
                .any(|d| d.contains(&c.network()) || c.contains(&d.network()))
        })
}
