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

const TWO_VPCS: &str = r#"
stack: seg
vpcs:
  dev: { cidr: 10.1.0.0/16, ipv6: true, tags: { env: dev } }
  prod: { cidr: 10.2.0.0/16, ipv6: true, tags: { env: prod } }
subnets:
  dev-a: { vpc: dev, cidr: 10.1.0.0/24, ipv6-index: 0, assign-ipv6-on-creation: true }
  dev-b: { vpc: dev, cidr: 10.1.1.0/24 }
  prod-a: { vpc: prod, cidr: 10.2.0.0/24, ipv6-index: 0, assign-ipv6-on-creation: true }
internet-gateways:
  dev-igw: { vpc: dev }
  prod-igw: { vpc: prod }
route-tables:
  dev-rt:
    vpc: dev
    subnets: [dev-a, dev-b]
    routes:
      - { destination: 0.0.0.0/0, internet-gateway: dev-igw }
  prod-rt:
    vpc: prod
    subnets: [prod-a]
    routes:
      - { destination: 0.0.0.0/0, internet-gateway: prod-igw }
network-acls:
  prod-acl:
    vpc: prod
    subnets: [prod-a]
    ingress:
      - { rule: 100, protocol: tcp, from-port: 0, to-port: 65535, cidr: 0.0.0.0/0, action: deny }
      - { rule: 110, protocol: icmp, cidr: 0.0.0.0/0, action: deny }
      - { rule: 200, protocol: all, cidr: 0.0.0.0/0, action: allow }
    egress:
      - { rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow }
expect:
"#;

fn with(expectation: &str, extra: &str) -> Vec<(String, Status, Option<String>)> {
    results(&format!("{TWO_VPCS}  - {expectation}\n{extra}"))
}

#[test]
fn any_between_two_subnets_of_one_vpc_is_evaluated_not_skipped() {
    let got = with(
        "{ from: subnet.dev-a, to: subnet.dev-b, protocol: any, reachable: false }",
        "",
    );
    assert_eq!(
        got[0].1,
        Status::Broken,
        "the local route carries it: {got:?}"
    );
}

#[test]
fn any_tries_udp_and_every_range_boundary() {
    // prod denies all TCP and ICMP in, allows the rest: UDP gets through
    // whatever port, if a route does (a peering, added here).
    let peering = "peerings:\n  dev-prod: { requester: dev, accepter: prod, add-routes: true }\n";
    let got = with(
        "{ from: vpc.dev, to: vpc.prod, protocol: any, reachable: false }",
        peering,
    );
    assert_eq!(got[0].1, Status::Broken, "{got:?}");
    assert!(
        got[0].2.as_deref().is_some_and(|w| w.contains(" udp/")),
        "{got:?}"
    );
}

#[test]
fn a_tag_no_vpc_carries_is_unverifiable_not_held() {
    let got = with(
        "{ from: \"tag:env=prdo\", to: vpc.dev, protocol: any, reachable: false }",
        "",
    );
    assert_eq!(got[0].1, Status::Unverifiable, "{got:?}");
}

#[test]
fn over_ipv6_the_internet_joins_vpcs_with_global_addresses() {
    let v6 = "  - { from: vpc.dev, to: vpc.prod, protocol: any, ipv6: true, reachable: false }\n";
    let routes = TWO_VPCS
        .replace(
            "      - { destination: 0.0.0.0/0, internet-gateway: dev-igw }",
            "      - { destination: 0.0.0.0/0, internet-gateway: dev-igw }\n      - { destination: \"::/0\", internet-gateway: dev-igw }",
        )
        .replace(
            "      - { destination: 0.0.0.0/0, internet-gateway: prod-igw }",
            "      - { destination: 0.0.0.0/0, internet-gateway: prod-igw }\n      - { destination: \"::/0\", internet-gateway: prod-igw }",
        )
        // prod's ACL lets IPv6 in and out (its IPv4 entries do not touch it).
        .replace(
            "      - { rule: 200, protocol: all, cidr: 0.0.0.0/0, action: allow }",
            "      - { rule: 200, protocol: all, cidr: 0.0.0.0/0, action: allow }\n      - { rule: 300, protocol: all, cidr: \"::/0\", action: allow }",
        )
        .replace(
            "      - { rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow }\nexpect:",
            "      - { rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow }\n      - { rule: 101, protocol: all, cidr: \"::/0\", action: allow }\nexpect:",
        );
    let got = results(&format!("{routes}{v6}"));
    // The stand-in blocks make it unknown offline; what it is not is "held".
    assert_ne!(got[0].1, Status::Held, "{got:?}");
}
