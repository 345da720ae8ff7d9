//! A peering carries traffic only with routes on both sides: requests need
//! a route out, replies a route back.

use crate::address::TargetKind;
use crate::decode::Cx;
use crate::diagnostic::Diagnostic;
use crate::kinds::peering::Peering;
use crate::model::Named;
use crate::registry::Topology;
use crate::route::{EffectiveRoute, RouteTarget};
use crate::validate::{NameIndex, by_name};

pub(super) fn check(t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
    let routes = t.effective_routes();
    let tables = by_name(&t.route_tables);
    let side_has_route = |peering: &str, vpc: &str| {
        routes.iter().any(|r: &EffectiveRoute| {
            r.target == RouteTarget::new(TargetKind::Peering, peering)
                && tables
                    .get(r.table.as_str())
                    .is_some_and(|t| t.spec.vpc.value == vpc)
        })
    };
    for peering in &t.peerings {
        let p = &peering.spec;
        if !p.connects_vpcs(index) {
            continue;
        }
        let name = peering.name.value.as_str();
        let (req_routes, acc_routes) = (
            side_has_route(name, &p.requester.value),
            side_has_route(name, &p.accepter.value),
        );
        if req_routes && acc_routes {
            continue;
        }
        let consequence = consequence(t, peering);
        let (message, help) = if !req_routes && !acc_routes {
            (
                format!("peering `{name}` has no routes: {consequence}"),
                "set `add-routes: true` on the peering, or add a route to the peer's CIDR through it in both VPCs' route tables",
            )
        } else {
            let missing = if req_routes {
                &p.accepter.value
            } else {
                &p.requester.value
            };
            (
                format!(
                    "peering `{name}` has routes on one side only (none in `{missing}`): {consequence}"
                ),
                "replies need a route back: add a route to the peer's CIDR in the other VPC's route tables",
            )
        };
        cx.push(
            Diagnostic::warning("peering-without-routes", peering.name.span, message)
                .with_help(help),
        );
    }
}

/// What the missing routes cost, naming the instances on both sides if any.
fn consequence(t: &Topology, peering: &Named<Peering>) -> String {
    let subnets = by_name(&t.subnets);
    let instances_in = |vpc: &str| -> Vec<&str> {
        t.instances
            .iter()
            .filter(|i| {
                subnets
                    .get(i.spec.subnet.value.as_str())
                    .is_some_and(|s| s.spec.vpc.value == vpc)
            })
            .map(|i| i.name.value.as_str())
            .collect()
    };
    let p = &peering.spec;
    let (a, b) = (
        instances_in(&p.requester.value),
        instances_in(&p.accepter.value),
    );
    if !a.is_empty() && !b.is_empty() {
        format!(
            "instances {} and {} cannot reach each other",
            list(&a),
            list(&b)
        )
    } else {
        format!(
            "no traffic can flow between `{}` and `{}`",
            p.requester.value, p.accepter.value
        )
    }
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
