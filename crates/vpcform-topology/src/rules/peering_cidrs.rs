//! AWS refuses to peer VPCs whose CIDR blocks overlap.

use ipnet::Ipv4Net;

use crate::decode::Cx;
use crate::diagnostic::Diagnostic;
use crate::registry::Topology;
use crate::validate::{NameIndex, by_name};

pub(super) fn check(t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
    let vpcs = by_name(&t.vpcs);
    for peering in &t.peerings {
        let p = &peering.spec;
        if !p.connects_vpcs(index) {
            continue;
        }
        let (Some(r), Some(a)) = (
            vpcs.get(p.requester.value.as_str()),
            vpcs.get(p.accepter.value.as_str()),
        ) else {
            continue;
        };
        // Every block counts, secondary ones included.
        let clash = r
            .spec
            .cidrs()
            .find_map(|x| a.spec.cidrs().find(|y| overlaps(x, *y)).map(|y| (x, y)));
        if let Some((x, y)) = clash {
            cx.push(
                Diagnostic::error(
                    "overlapping-peered-vpcs",
                    p.accepter.span,
                    format!("peered VPCs `{}` ({x}) and `{}` ({y}) have overlapping CIDR blocks", r.name.value, a.name.value),
                )
                .with_related(a.spec.cidr.span, format!("`{}` is declared here", a.name.value))
                .with_help("AWS refuses to peer VPCs whose CIDR blocks overlap; give one of them a different range"),
            );
        }
    }
}

fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}
