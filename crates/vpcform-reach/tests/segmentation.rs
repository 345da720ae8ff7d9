//! Group expectations (segmentation) on the hub example: the spokes never
//! reach each other and every spoke reaches the hub; a peering between the
//! spokes breaks the first, naming a witness flow and its route.

use vpcform_reach::{Status, check_expectations, from_topology};

fn results(text: &str) -> Vec<(String, Status, Option<String>)> {
    let loaded = vpcform_topology::load("hub.yaml", text.as_bytes());
    let topology = loaded.topology.as_ref().expect("valid");
    let network = from_topology(topology);
    check_expectations(&topology.expect, &network)
        .into_iter()
        .map(|r| (r.expectation, r.status, r.witness))
        .collect()
}

fn hub() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/hub.yaml"
    ))
    .unwrap()
}

#[test]
fn the_hub_examples_segmentation_holds() {
    let got = results(&hub());
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|(_, s, w)| *s == Status::Held && w.is_none()),
        "{got:#?}"
    );
}

#[test]
fn a_peering_between_the_spokes_breaks_it_and_names_the_route_that_opens_it() {
    let spokes = "  hub-spoke-b:";
    let text = hub().replacen(
        spokes,
        "  spoke-a-spoke-b:\n    requester: spoke-a\n    accepter: spoke-b\n    add-routes: true\n  hub-spoke-b:",
        1,
    );
    let got = results(&text);
    let broken: Vec<_> = got
        .iter()
        .filter(|(_, s, _)| *s == Status::Broken)
        .collect();
    assert_eq!(broken.len(), 2, "{got:#?}");
    let (label, _, witness) = broken[0];
    assert_eq!(label, "vpc.spoke-a → vpc.spoke-b any");
    assert_eq!(
        witness.as_deref(),
        Some(
            "subnet.spoke-a-private → subnet.spoke-b-private icmp echo via route-table.spoke-a-rt: 10.20.0.0/16 → vpc-peering.spoke-a-spoke-b"
        )
    );
    // The spokes still reach the hub.
    assert!(
        got.iter()
            .any(|(l, s, _)| l.starts_with("tag:role=spoke") && *s == Status::Held)
    );
}

#[test]
fn a_spoke_that_loses_its_route_to_the_hub_breaks_the_reachable_promise() {
    let text = hub().replacen(
        "  hub-spoke-b:\n    requester: hub\n    accepter: spoke-b\n    add-routes: true",
        "  hub-spoke-b:\n    requester: hub\n    accepter: spoke-b",
        1,
    );
    let got = results(&text);
    let (_, status, witness) = got
        .iter()
        .find(|(l, _, _)| l.starts_with("tag:role=spoke"))
        .unwrap();
    assert_eq!(*status, Status::Broken, "{got:#?}");
    assert!(
        witness
            .as_deref()
            .is_some_and(|w| w.starts_with("subnet.spoke-b-private → subnet.hub-private tcp/443")),
        "{witness:?}"
    );
}
