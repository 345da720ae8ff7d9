//! Reach through transit gateways on the transit-hub example: each rule of
//! AWS's routing (association, longest prefix, static over propagated,
//! blackhole, attachment zones, the reply's own table, group references)
//! decides a flow, and the segmentation promises break exactly when a
//! propagation opens a segment to another, naming it.

use vpcform_reach::{
    Answer, EndpointSpec, Service, Status, check_expectations, evaluate, from_topology,
};

fn example() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/transit-hub.yaml"
    ))
    .unwrap()
}

/// The example with each `(from, to)` replaced once (each must be there).
fn changed(edits: &[(&str, &str)]) -> String {
    let mut text = example();
    for (from, to) in edits {
        assert!(text.contains(from), "`{from}` is not in the example");
        text = text.replacen(from, to, 1);
    }
    text
}

fn network(text: &str) -> vpcform_reach::Network {
    let loaded = vpcform_topology::load("transit-hub.yaml", text.as_bytes());
    let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    from_topology(loaded.topology.as_ref().unwrap())
}

/// The flow's answer and its blocks as `CODE component leg`.
fn ask(text: &str, from: &str, to: &str, service: Service) -> (Answer, Vec<String>, String) {
    let n = network(text);
    let from: EndpointSpec = from.parse().unwrap();
    let to: EndpointSpec = to.parse().unwrap();
    let v = evaluate(&n, &from, &to, service).unwrap();
    let blocks = v
        .blocked
        .iter()
        .map(|b| format!("{} {} {}", b.code, b.component, b.leg))
        .collect();
    (v.answer, blocks, v.to_text())
}

const PROD: &str = "instance.prod-a-web";
const DEV: &str = "instance.dev-a-web";
const SHARED: &str = "instance.shared-svc";

#[test]
fn the_examples_promises_hold() {
    let text = example();
    let loaded = vpcform_topology::load("transit-hub.yaml", text.as_bytes());
    let t = loaded.topology.unwrap();
    let results = check_expectations(&t.expect, &from_topology(&t));
    assert_eq!(results.len(), 7);
    for r in &results {
        assert_eq!(r.status, Status::Held, "{r:#?}");
    }
}

#[test]
fn prod_reaches_shared_services_through_the_gateway_and_back() {
    let (answer, blocks, text) = ask(&example(), PROD, SHARED, Service::tcp(443));
    assert_eq!(answer, Answer::Reachable, "{text}");
    assert!(blocks.is_empty());
    assert!(
        text.contains("transit-gateway-propagation.prod-rt[shared-att]"),
        "{text}"
    );
    assert!(
        text.contains("transit-gateway-propagation.shared-rt[prod-a-att]"),
        "{text}"
    );
}

#[test]
fn prod_and_dev_do_not_reach_each_other_and_say_which_table_lacks_the_route() {
    let (answer, blocks, text) = ask(&example(), PROD, DEV, Service::tcp(8443));
    assert_eq!(answer, Answer::NotReachable, "{text}");
    // Every setting in the way, each judged as if the others were fixed:
    // prod's group (its egress goes to shared services only), prod's table,
    // dev's group (it admits shared services only), dev's blackhole for the reply.
    assert_eq!(
        blocks,
        [
            "ENI_SG_RULES_MISMATCH security-group.prod-app-sg forward",
            "TGW_RTB_NO_ROUTE_TO_TGW_ATTACHMENT transit-gateway-route-table.prod-rt forward",
            "ENI_SG_RULES_MISMATCH security-group.dev-app-sg forward",
            "TGW_RTB_BAD_STATE_ROUTE transit-gateway-route-table.dev-rt return"
        ]
    );
    // Dev's way to prod ends in its blackhole route.
    let (_, blocks, _) = ask(&example(), DEV, PROD, Service::tcp(8443));
    assert_eq!(
        blocks,
        [
            "ENI_SG_RULES_MISMATCH security-group.dev-app-sg forward",
            "TGW_RTB_BAD_STATE_ROUTE transit-gateway-route-table.dev-rt forward",
            "ENI_SG_RULES_MISMATCH security-group.prod-app-sg forward",
            "TGW_RTB_NO_ROUTE_TO_TGW_ATTACHMENT transit-gateway-route-table.prod-rt return"
        ]
    );
}

#[test]
fn a_propagation_on_one_side_only_is_an_asymmetric_path() {
    // Prod learns dev, dev's table still drops prod: the reply dies in the blackhole.
    let text = changed(&[(
        "propagations: [shared-att, prod-a-att, prod-b-att]",
        "propagations: [shared-att, prod-a-att, prod-b-att, dev-a-att]",
    )]);
    let (answer, blocks, out) = ask(&text, PROD, DEV, Service::tcp(8443));
    assert_eq!(answer, Answer::NotReachable, "{out}");
    assert_eq!(
        blocks,
        [
            "ENI_SG_RULES_MISMATCH security-group.prod-app-sg forward",
            "ENI_SG_RULES_MISMATCH security-group.dev-app-sg forward",
            "TGW_RTB_BAD_STATE_ROUTE transit-gateway-route-table.dev-rt return"
        ]
    );
    // Without the blackhole, dev's table has no route back to prod.
    let text = changed(&[
        (
            "propagations: [shared-att, prod-a-att, prod-b-att]",
            "propagations: [shared-att, prod-a-att, prod-b-att, dev-a-att]",
        ),
        (
            "      - { destination: 10.10.0.0/15, blackhole: true }\n",
            "",
        ),
        ("    routes:\n\nsecurity-groups", "\nsecurity-groups"),
    ]);
    let (_, blocks, out) = ask(&text, PROD, DEV, Service::tcp(8443));
    assert_eq!(
        blocks,
        [
            "ENI_SG_RULES_MISMATCH security-group.prod-app-sg forward",
            "ENI_SG_RULES_MISMATCH security-group.dev-app-sg forward",
            "TGW_RTB_NO_ROUTE_TO_TGW_ATTACHMENT transit-gateway-route-table.dev-rt return"
        ],
        "{out}"
    );
}

#[test]
fn propagating_dev_into_prods_table_breaks_segmentation_naming_the_propagation() {
    let text = changed(&[(
        "propagations: [shared-att, prod-a-att, prod-b-att]",
        "propagations: [shared-att, prod-a-att, prod-b-att, dev-a-att]",
    )]);
    let loaded = vpcform_topology::load("transit-hub.yaml", text.as_bytes());
    let t = loaded.topology.unwrap();
    let results = check_expectations(&t.expect, &from_topology(&t));
    let broken: Vec<_> = results
        .iter()
        .filter(|r| r.status == Status::Broken)
        .collect();
    assert_eq!(broken.len(), 1, "{results:#?}");
    assert_eq!(broken[0].expectation, "tag:env=prod → tag:env=dev any");
    let witness = broken[0].witness.as_deref().unwrap();
    assert!(
        witness.contains("transit-gateway-propagation.prod-rt[dev-a-att]"),
        "{witness}"
    );
    assert!(witness.contains("the request arrives"), "{witness}");
}

#[test]
fn a_static_route_beats_a_propagated_one_for_the_same_prefix() {
    // A static blackhole for prod-a's exact block in prod's own table.
    let text = changed(&[(
        "    propagations: [shared-att, prod-a-att, prod-b-att]\n",
        "    propagations: [shared-att, prod-a-att, prod-b-att]\n    routes:\n      - { destination: 10.0.0.0/16, blackhole: true }\n",
    )]);
    let (_, blocks, out) = ask(&text, PROD, SHARED, Service::tcp(443));
    assert_eq!(
        blocks,
        ["TGW_RTB_BAD_STATE_ROUTE transit-gateway-route-table.prod-rt forward"],
        "{out}"
    );
    // A longer propagated prefix beats a shorter static one.
    let text = changed(&[(
        "    propagations: [shared-att, prod-a-att, prod-b-att]\n",
        "    propagations: [shared-att, prod-a-att, prod-b-att]\n    routes:\n      - { destination: 10.0.0.0/8, blackhole: true }\n",
    )]);
    let (answer, _, out) = ask(&text, PROD, SHARED, Service::tcp(443));
    assert_eq!(answer, Answer::Reachable, "{out}");
}

#[test]
fn an_attachment_without_association_routes_nothing() {
    let text = changed(&[(", route-table: prod-rt }", " }")]);
    let (_, blocks, out) = ask(&text, PROD, SHARED, Service::tcp(443));
    assert_eq!(
        blocks,
        ["TGW_ATTACH_MISSING_TGW_RTB_ASSOCIATION transit-gateway-attachment.prod-a-att forward"],
        "{out}"
    );
}

#[test]
fn a_zone_without_an_attachment_subnet_cannot_reach_the_gateway() {
    // dev-a's attachment has a subnet in us-east-1a only; move the app to 1b.
    let text = changed(&[(
        "dev-a-app: { vpc: dev-a, cidr: 10.20.1.0/24, availability-zone: us-east-1a }",
        "dev-a-app: { vpc: dev-a, cidr: 10.20.1.0/24, availability-zone: us-east-1b }",
    )]);
    let (_, blocks, out) = ask(&text, DEV, SHARED, Service::icmp());
    assert_eq!(
        blocks,
        ["TGW_ATTACH_VPC_AZ_RESTRICTION transit-gateway-attachment.dev-a-att forward"],
        "{out}"
    );
    // The reply leaves shared services fine, but cannot enter: same attachment, same zone rule,
    // judged from the reply's side (shared's zone has a subnet), so only the forward leg blocks.
}

#[test]
fn the_reply_needs_a_route_back_to_the_gateway() {
    // Shared services' table sends only 10.10.0.0/16 to the gateway: dev's replies have no route.
    let text = changed(&[(
        "    subnets: [shared-app-a, shared-app-b, shared-tgw-a, shared-tgw-b]\n    routes: [{ destination: 10.0.0.0/8, transit-gateway: hub }]",
        "    subnets: [shared-app-a, shared-app-b, shared-tgw-a, shared-tgw-b]\n    routes: [{ destination: 10.10.0.0/16, transit-gateway: hub }]",
    )]);
    let (_, blocks, out) = ask(&text, DEV, SHARED, Service::icmp());
    assert_eq!(
        blocks,
        ["RESPONSE_RTB_HAS_NO_ROUTE_TO_TRANSIT_GATEWAY route-table.shared-app-rt return"],
        "{out}"
    );
}

#[test]
fn security_group_references_do_not_cross_the_gateway() {
    // AWS refuses such a rule unless the gateway supports group references
    // (validation says so); an account may hold one: reach must not honour it.
    let mut n = network(&example());
    let group = n
        .security_groups
        .iter_mut()
        .find(|g| g.key == "security-group.shared-svc-sg")
        .unwrap();
    for r in group.rules.iter_mut().filter(|r| r.from == 443) {
        r.peer = vpcform_reach::SgPeer::Group("security-group.prod-app-sg".into());
    }
    let from: EndpointSpec = PROD.parse().unwrap();
    let to: EndpointSpec = SHARED.parse().unwrap();
    let v = evaluate(&n, &from, &to, Service::tcp(443)).unwrap();
    let blocks: Vec<_> = v
        .blocked
        .iter()
        .map(|b| format!("{} {} {}", b.code, b.component, b.leg))
        .collect();
    assert_eq!(
        blocks,
        ["SG_REFERENCING_SUPPORT security-group.shared-svc-sg forward"],
        "{}",
        v.to_text()
    );
}

#[test]
fn an_attachment_subnets_acl_applies_on_the_way_in_and_out() {
    // A custom ACL on shared's attachment subnet in 1a that denies everything.
    let text = changed(&[(
        "security-groups:",
        "network-acls:\n  shared-tgw-acl: { vpc: shared, subnets: [shared-tgw-a] }\n\nsecurity-groups:",
    )]);
    // Prod-a (zone 1a) to shared: leaves the gateway through shared's 1a subnet (outbound denied).
    let (_, blocks, out) = ask(&text, PROD, SHARED, Service::tcp(443));
    assert_eq!(
        blocks,
        [
            "SUBNET_ACL_RESTRICTION network-acl.shared-tgw-acl forward",
            "SUBNET_ACL_RESTRICTION network-acl.shared-tgw-acl return"
        ],
        "{out}"
    );
}

#[test]
fn the_plans_connectivity_diff_sees_flows_across_the_gateway() {
    // Shared services stop learning prod-a: its flows with shared services break both ways.
    let before = network(&example());
    let after = network(&changed(&[(
        "propagations: [prod-a-att, prod-b-att, dev-a-att]",
        "propagations: [prod-b-att, dev-a-att]",
    )]));
    let changes: Vec<String> = vpcform_reach::diff(&before, &after)
        .iter()
        .map(|c| {
            format!(
                "{} → {} {} {}→{}",
                c.from, c.to, c.service, c.before, c.after
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            "instance.prod-a-web → instance.shared-svc tcp/443 true→false",
            "instance.shared-svc → instance.prod-a-web tcp/8443 true→false"
        ]
    );
    // The diff compares the pairs the change touches, not every pair on the gateway.
    let unchanged = vpcform_reach::flows_compared(&before, &before);
    let touched = vpcform_reach::flows_compared(&before, &after);
    assert!(touched > unchanged, "{unchanged} {touched}");
}

/// The example with AWS's centralized egress: an egress VPC (NAT gateway,
/// internet gateway) on the gateway, every spoke's default route to the
/// gateway, and prod's and dev's tables sending 0.0.0.0/0 to the egress
/// attachment, whose table learns every spoke.
fn with_egress() -> String {
    changed(&[
        (
            "  dev-a: { cidr: 10.20.0.0/16, tags: { Name: dev-a, env: dev }, restrict-default-security-group: true }\n",
            "  dev-a: { cidr: 10.20.0.0/16, tags: { Name: dev-a, env: dev }, restrict-default-security-group: true }\n  egress: { cidr: 10.99.0.0/16, tags: { env: egress } }\n",
        ),
        (
            "  dev-a-tgw-a: { vpc: dev-a, cidr: 10.20.255.0/28, availability-zone: us-east-1a }\n",
            "  dev-a-tgw-a: { vpc: dev-a, cidr: 10.20.255.0/28, availability-zone: us-east-1a }\n  egress-public: { vpc: egress, cidr: 10.99.0.0/24, availability-zone: us-east-1a }\n  egress-tgw: { vpc: egress, cidr: 10.99.255.0/28, availability-zone: us-east-1a }\n",
        ),
        (
            "    subnets: [prod-a-app, prod-a-tgw-a, prod-a-tgw-b]\n    routes: [{ destination: 10.0.0.0/8, transit-gateway: hub }]",
            "    subnets: [prod-a-app, prod-a-tgw-a, prod-a-tgw-b]\n    routes: [{ destination: 10.0.0.0/8, transit-gateway: hub }, { destination: 0.0.0.0/0, transit-gateway: hub }]",
        ),
        (
            "transit-gateways:",
            "  egress-public-rt:\n    vpc: egress\n    subnets: [egress-public]\n    routes: [{ destination: 0.0.0.0/0, internet-gateway: egress-igw }, { destination: 10.0.0.0/8, transit-gateway: hub }]\n  egress-tgw-rt:\n    vpc: egress\n    subnets: [egress-tgw]\n    routes: [{ destination: 0.0.0.0/0, nat-gateway: egress-nat }]\ninternet-gateways:\n  egress-igw: { vpc: egress }\nelastic-ips:\n  egress-eip: {}\nnat-gateways:\n  egress-nat: { subnet: egress-public, elastic-ip: egress-eip }\n\ntransit-gateways:",
        ),
        (
            "  dev-a-att: { transit-gateway: hub, vpc: dev-a, subnets: [dev-a-tgw-a], route-table: dev-rt }\n",
            "  dev-a-att: { transit-gateway: hub, vpc: dev-a, subnets: [dev-a-tgw-a], route-table: dev-rt }\n  egress-att: { transit-gateway: hub, vpc: egress, subnets: [egress-tgw], route-table: egress-rt }\n",
        ),
        (
            "    propagations: [shared-att, prod-a-att, prod-b-att]\n",
            "    propagations: [shared-att, prod-a-att, prod-b-att]\n    routes: [{ destination: 0.0.0.0/0, attachment: egress-att }]\n",
        ),
        (
            "    routes:\n      - { destination: 10.10.0.0/15, blackhole: true }\n",
            "    routes:\n      - { destination: 10.10.0.0/15, blackhole: true }\n      - { destination: 0.0.0.0/0, attachment: egress-att }\n  egress-rt:\n    transit-gateway: hub\n    propagations: [shared-att, prod-a-att, prod-b-att, dev-a-att]\n",
        ),
    ])
}

#[test]
fn through_an_egress_vpc_the_answer_is_unknown_never_a_wrong_block() {
    let (answer, blocks, out) = ask(
        &with_egress(),
        "subnet.prod-a-app",
        "internet",
        Service::tcp(443),
    );
    assert_eq!(answer, Answer::Unknown, "{out}");
    assert!(blocks.is_empty(), "{blocks:?}\n{out}");
    assert!(
        out.contains("transit-gateway-attachment.egress-att"),
        "{out}"
    );
    // An address of prod-a's block that no declared subnet holds: the same.
    let (answer, blocks, out) = ask(&with_egress(), SHARED, "10.10.9.9", Service::tcp(8443));
    assert_eq!(answer, Answer::Unknown, "{out}");
    assert!(blocks.is_empty(), "{blocks:?}\n{out}");
}

#[test]
fn a_segment_whose_requests_may_cross_an_egress_vpc_is_unverifiable_not_held() {
    // Prod's default route leads to the egress VPC, whose NAT gateway and
    // tables could send the request on to dev: what arrives is unknown.
    let text = with_egress();
    let loaded = vpcform_topology::load("transit-hub.yaml", text.as_bytes());
    let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let t = loaded.topology.unwrap();
    let results = check_expectations(&t.expect, &from_topology(&t));
    let prod_dev = results
        .iter()
        .find(|r| r.expectation == "tag:env=prod → tag:env=dev any")
        .unwrap();
    assert_eq!(prod_dev.status, Status::Unverifiable, "{prod_dev:#?}");
    assert!(
        prod_dev
            .unknown
            .iter()
            .any(|u| u.component == "transit-gateway-attachment.egress-att"),
        "{prod_dev:#?}"
    );
}
