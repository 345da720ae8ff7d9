//! Data-driven: flow-log REJECT records of a known network, each with the
//! setting AWS dropped it for (security group, network ACL inbound, network
//! ACL outbound on the reply, no route, several at once), and records the
//! model cannot explain, which say so.

use std::net::IpAddr;

use vpcform_reach::{
    Cause, FlowRecord, Network, Reading, as_request, covered_by, explain, from_topology,
};

fn network() -> Network {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/explain.yaml"
    ))
    .unwrap();
    let loaded = vpcform_topology::load("explain.yaml", text.as_bytes());
    let mut network = from_topology(loaded.topology.as_ref().expect("valid"));
    // Addresses AWS gave the instances.
    for (name, ip) in [
        ("instance.web", "10.1.0.10"),
        ("instance.client", "10.2.0.20"),
        ("instance.laptop", "10.2.128.30"),
    ] {
        let i = network
            .instances
            .iter_mut()
            .find(|i| i.key == name)
            .unwrap();
        i.private_ip = Some(ip.parse().unwrap());
    }
    network
}

/// A record in the default format's order: srcaddr dstaddr srcport dstport protocol.
fn record(text: &str) -> FlowRecord {
    let f: Vec<&str> = text.split_whitespace().collect();
    FlowRecord {
        src: f[0].parse::<IpAddr>().unwrap(),
        dst: f[1].parse().unwrap(),
        src_port: f[2].parse().unwrap(),
        dst_port: f[3].parse().unwrap(),
        protocol: f[4].parse().unwrap(),
        interface: None,
    }
}

/// `READING CODE COMPONENT LEG; …`, or the kind of answer.
fn summary(cause: &Cause) -> String {
    match cause {
        Cause::Blocked {
            reading,
            flow,
            blocks,
        } => {
            let reading = match reading {
                Reading::Request => "request",
                Reading::Reply => "reply",
            };
            let blocks: Vec<String> = blocks
                .iter()
                .map(|b| format!("{} {} {}", b.code, b.component, b.leg))
                .collect();
            format!("{reading} of {flow}: {}", blocks.join("; "))
        }
        Cause::Unknown { .. } => "unknown".into(),
        Cause::Allowed { .. } => "allowed".into(),
        Cause::NotModelled { .. } => "not modelled".into(),
    }
}

#[test]
fn each_reject_is_explained_by_the_setting_that_dropped_it() {
    let network = network();
    let corpus = [
        // The web group admits 443 and 3389 only: SSH from the client is its doing.
        (
            "10.2.0.20 10.1.0.10 50000 22 6",
            "request of instance.client → instance.web tcp/22: ENI_SG_RULES_MISMATCH security-group.web-sg forward",
        ),
        // RDP: the group admits it, the ACL's rule 90 denies it inbound.
        (
            "10.2.0.20 10.1.0.10 50001 3389 6",
            "request of instance.client → instance.web tcp/3389: SUBNET_ACL_RESTRICTION network-acl.app-acl forward",
        ),
        // SMTP: both, at once.
        (
            "10.2.0.20 10.1.0.10 50002 25 6",
            "request of instance.client → instance.web tcp/25: SUBNET_ACL_RESTRICTION network-acl.app-acl forward; ENI_SG_RULES_MISMATCH security-group.web-sg forward",
        ),
        // The laptop's HTTPS gets in; web's reply to its port is denied outbound (rule 90).
        (
            "10.1.0.10 10.2.128.30 443 50003 6",
            "reply of instance.laptop → instance.web tcp/443: SUBNET_ACL_RESTRICTION network-acl.app-acl return",
        ),
        // Nothing routes to 10.9.0.0/16 from the office.
        (
            "10.2.0.20 10.9.0.5 50004 443 6",
            "request of instance.client → 10.9.0.5/32 (outside the VPCs) tcp/443: NO_ROUTE_TO_DESTINATION route-table.office-rt forward",
        ),
        // Ping: web's group has no ICMP rule.
        (
            "10.2.0.20 10.1.0.10 0 0 1",
            "request of instance.client → instance.web icmp echo: ENI_SG_RULES_MISMATCH security-group.web-sg forward",
        ),
        // HTTPS from the client passes both ways now: the model does not guess why AWS rejected it.
        ("10.2.0.20 10.1.0.10 50005 443 6", "allowed"),
        ("10.2.0.20 10.1.0.10 0 0 47", "not modelled"),
    ];
    let mut failures = Vec::new();
    for (line, expected) in corpus {
        let got = summary(&explain(&network, &record(line)).cause);
        if got != expected {
            failures.push(format!("{line}\n  expected: {expected}\n  got:      {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_block_comes_with_its_fix() {
    let network = network();
    let e = explain(&network, &record("10.1.0.10 10.2.128.30 443 50003 6"));
    let Cause::Blocked { blocks, .. } = &e.cause else {
        panic!("{e:?}")
    };
    assert!(
        blocks
            .iter()
            .all(|b| !b.fix.is_empty() && !b.reason.is_empty()),
        "{blocks:?}"
    );
    assert!(
        blocks[0].reason.contains("90"),
        "the entry that denies: {}",
        blocks[0].reason
    );
}

#[test]
fn accepted_traffic_an_expectation_covers_is_no_candidate() {
    let network = network();
    let loaded = vpcform_topology::load(
        "explain.yaml",
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/explain.yaml"
        ))
        .unwrap()
        .as_bytes(),
    );
    let expect = &loaded.topology.as_ref().unwrap().expect[0];
    // The request and its reply are both covered by client → web tcp/443.
    assert!(covered_by(
        &network,
        expect,
        &record("10.2.0.20 10.1.0.10 50005 443 6")
    ));
    assert!(covered_by(
        &network,
        expect,
        &record("10.1.0.10 10.2.0.20 443 50005 6")
    ));
    assert!(!covered_by(
        &network,
        expect,
        &record("10.2.0.20 10.1.0.10 50005 3389 6")
    ));
    assert!(!covered_by(
        &network,
        expect,
        &record("10.2.128.30 10.1.0.10 50005 443 6")
    ));
    // A reply is turned around into the request `expect:` would name.
    let r = as_request(&record("10.1.0.10 10.2.0.20 443 50005 6"));
    assert_eq!(
        (r.src.to_string(), r.dst_port),
        ("10.2.0.20".to_string(), 443)
    );
}

#[test]
fn a_reply_that_passes_is_not_blamed_on_the_client_port() {
    let network = network();
    // web's reply to the client: app-acl lets it out, so nothing explains it.
    let e = explain(&network, &record("10.1.0.10 10.2.0.20 443 50002 6"));
    assert_eq!(summary(&e.cause), "allowed", "{e:?}");
}
