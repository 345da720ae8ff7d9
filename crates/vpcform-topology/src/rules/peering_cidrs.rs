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
        if overlaps(r.spec.cidr.value, a.spec.cidr.value) {
            cx.push(
                Diagnostic::error(
                    "overlapping-peered-vpcs",
                    p.accepter.span,
                    format!("peered VPCs `{}` ({}) and `{}` ({}) have overlapping CIDR blocks", r.name.value, r.spec.cidr.value, a.name.value, a.spec.cidr.value),
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
