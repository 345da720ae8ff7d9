//! The plan's connectivity diff compares IPv6 flows of dual-stack instances:
//! a rule that opens SSH to all of IPv6 is a change a reviewer sees, from
//! the internet and from other VPCs across it.

use vpcform_reach::{diff, from_topology};

fn network(text: &str) -> vpcform_reach::Network {
    let loaded = vpcform_topology::load("dualstack.yaml", text.as_bytes());
    from_topology(loaded.topology.as_ref().expect("valid"))
}

#[test]
fn opening_ssh_to_all_of_ipv6_shows_as_one_ipv6_flow_change() {
    let before = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/dualstack.yaml"
    ))
    .unwrap();
    let rule = "      - { protocol: tcp, port: 443, cidr: \"::/0\" }\n      - { protocol: icmpv6";
    assert!(before.contains(rule));
    let after = before.replacen(
        rule,
        "      - { protocol: tcp, port: 443, cidr: \"::/0\" }\n      - { protocol: tcp, port: 22, cidr: \"::/0\" }\n      - { protocol: icmpv6",
        1,
    );
    let changes: Vec<String> = diff(&network(&before), &network(&after))
        .iter()
        .map(|c| {
            format!(
                "{} → {} {}: {} → {}",
                c.from, c.to, c.service, c.before, c.after
            )
        })
        .collect();
    // The peer VPC's host reaches web too: out by its egress-only gateway,
    // across the internet (IPv6 addresses are global), in by web's gateway.
    assert_eq!(
        changes,
        [
            "internet → instance.web tcp/22 over IPv6: false → true",
            "instance.peerhost → instance.web tcp/22 over IPv6: false → true",
        ],
        "only IPv6 flows open"
    );
}

#[test]
fn an_instance_that_gains_an_ipv6_address_open_to_the_internet_is_a_change() {
    let before = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/dualstack.yaml"
    ))
    .unwrap();
    // legacy's subnet gets a /64 and assigns addresses; its group admits SSH over IPv6.
    let after = before
        .replacen(
            "  v4only-a: { vpc: main, cidr: 10.40.20.0/24 }",
            "  v4only-a: { vpc: main, cidr: 10.40.20.0/24, ipv6-index: 20, assign-ipv6-on-creation: true }",
            1,
        )
        .replacen(
            "      - { protocol: tcp, port: 22, cidr: 10.40.0.0/16 }\n",
            "      - { protocol: tcp, port: 22, cidr: 10.40.0.0/16 }\n      - { protocol: tcp, port: 22, cidr: \"::/0\" }\n",
            1,
        )
        .replacen(
            "    subnets: [public-a]\n",
            "    subnets: [public-a, v4only-a]\n",
            1,
        );
    assert_ne!(before, after);
    let changes: Vec<String> = diff(&network(&before), &network(&after))
        .iter()
        .map(|c| {
            format!(
                "{} → {} {}: {} → {}",
                c.from, c.to, c.service, c.before, c.after
            )
        })
        .collect();
    assert!(
        changes.contains(&"internet → instance.legacy tcp/22 over IPv6: false → true".to_string()),
        "{changes:#?}"
    );
}
