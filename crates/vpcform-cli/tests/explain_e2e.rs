//! `vpcform explain` end to end against a private moto: the seed applied
//! with a network ACL on network-2's subnet (RDP denied inbound, replies to
//! the partner range denied outbound), flow-log records AWS would write for
//! traffic to instance-2 (moto delivers none), and each REJECT explained by
//! the setting in the account that dropped it; accepted traffic no
//! expectation covers listed as candidates for `expect:`.

mod common;

use common::*;
use ec2::types::Filter;

const ACL: &str = "
network-acls:
  guard:
    vpc: network-2
    subnets: [network-2-public]
    ingress:
      - { rule: 90, protocol: tcp, port: 3389, cidr: 0.0.0.0/0, action: deny }
      - { rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow }
    egress:
      - { rule: 90, protocol: tcp, from-port: 1024, to-port: 65535, cidr: 192.0.2.0/24, action: deny }
      - { rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow }

peerings:";

async fn private_ip(sdk: &Sdk, name: &str) -> String {
    let r = sdk
        .ec2
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:vpcform:address")
                .values(format!("instance.{name}"))
                .build(),
        )
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .values("running")
                .build(),
        )
        .send()
        .await
        .unwrap();
    r.reservations()[0].instances()[0]
        .private_ip_address()
        .unwrap()
        .to_string()
}

#[test]
fn each_reject_names_the_group_or_acl_entry_that_dropped_it() {
    let moto = Moto::start();
    let seed = std::fs::read_to_string(root().join("topology.yaml")).unwrap();
    // The partner range is cut off, so "the internet reaches SSH" no longer holds.
    let promise = "  - { from: internet, to: instance.instance-2, protocol: tcp, port: 22, reachable: true }\n";
    let topology = seed
        .replacen("\npeerings:", ACL, 1)
        .replacen(promise, "", 1);
    assert_eq!(
        topology.len(),
        seed.len() + ACL.len() - "\npeerings:".len() - promise.len()
    );
    let dir = workdir(&topology);
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let (ip1, ip2) = rt.block_on(async {
        (
            private_ip(&sdk, "instance-1").await,
            private_ip(&sdk, "instance-2").await,
        )
    });
    let line = |src: &str, dst: &str, sport: u16, dport: u16, proto: u8, action: &str| {
        format!(
            "2 123456789012 eni-0b {src} {dst} {sport} {dport} {proto} 3 180 1764900000 1764900060 {action} OK"
        )
    };
    let records = [
        // RDP from the internet: the ACL's rule 90 and the group, both.
        line("203.0.113.99", &ip2, 61001, 3389, 6, "REJECT"),
        line("203.0.113.99", &ip2, 61002, 3389, 6, "REJECT"),
        // HTTPS from instance-1: instance-2's group has no rule for it.
        line(&ip1, &ip2, 40000, 443, 6, "REJECT"),
        // SSH from the partner range gets in; the reply is denied outbound.
        line(&ip2, "192.0.2.10", 22, 50500, 6, "REJECT"),
        // Accepted: pings (an expectation covers them) and DNS out (none does).
        line(&ip1, &ip2, 0, 0, 1, "ACCEPT"),
        line(&ip2, "8.8.8.8", 53000, 53, 17, "ACCEPT"),
        line(&ip2, "8.8.8.8", 53001, 53, 17, "ACCEPT"),
        "2 123456789012 eni-0b - - - - - - - 1764900000 1764900060 - NODATA".to_string(),
    ];
    std::fs::write(dir.path().join("flows.log"), records.join("\n") + "\n").unwrap();

    let run = vpcform(
        &moto,
        dir.path(),
        &["explain", "--input", "flows.log", "--format", "json"],
    );
    ok(&run);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let mut causes: Vec<String> = json["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let blocks: Vec<String> = e["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    format!(
                        "{} {} {}",
                        b["code"].as_str().unwrap(),
                        b["component"].as_str().unwrap(),
                        b["leg"].as_str().unwrap()
                    )
                })
                .collect();
            format!(
                "{} {} x{}: {}",
                e["reading"].as_str().unwrap(),
                e["flow"].as_str().unwrap(),
                e["records"],
                blocks.join("; ")
            )
        })
        .collect();
    causes.sort();
    let i2 = "instance.instance-2";
    let expected = [
        format!(
            "reply 192.0.2.10/32 (internet) → {i2} (tcp/22) x1: SUBNET_ACL_RESTRICTION network-acl.guard return"
        ),
        format!(
            "request 203.0.113.99/32 (internet) → {i2} (tcp/3389) x2: SUBNET_ACL_RESTRICTION network-acl.guard forward; ENI_SG_RULES_MISMATCH security-group.instance-2-sg forward"
        ),
        format!(
            "request instance.instance-1 → {i2} (tcp/443) x1: ENI_SG_RULES_MISMATCH security-group.instance-2-sg forward"
        ),
    ];
    let normalise = |s: &str| s.replace(['(', ')'], "");
    let got: Vec<String> = causes.iter().map(|c| normalise(&strip_ids(c))).collect();
    let want: Vec<String> = expected.iter().map(|c| normalise(c)).collect();
    assert_eq!(got, want, "{}", run.stdout);
    // Only DNS is uncovered: the pings are the seed's expectation.
    let candidates = json["uncovered_accepts"].as_array().unwrap();
    assert_eq!(candidates.len(), 1, "{}", run.stdout);
    assert_eq!(candidates[0]["to"], "8.8.8.8");
    assert_eq!(candidates[0]["port"], 53);
    assert_eq!(candidates[0]["records"], 2);

    // The text names the entry's rule number and the fix.
    let text = vpcform(&moto, dir.path(), &["explain", "--input", "flows.log"]);
    ok(&text);
    assert!(
        text.stdout.contains("the reply of") && text.stdout.contains("rule 90"),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("fix: "), "{}", text.stdout);
    assert!(text.stdout.contains("- { from: \"instance.instance-2\", to: \"8.8.8.8\", protocol: udp, port: 53, reachable: true }"), "{}", text.stdout);
}

/// Labels carry AWS ids in parentheses after the address (`(i-…)`): drop them.
fn strip_ids(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(" (i-") {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        rest = rest.find(')').map_or("", |end| &rest[end + 1..]);
    }
    out.push_str(rest);
    out
}
