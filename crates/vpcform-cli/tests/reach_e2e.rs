//! `vpcform reach --live` end to end against a private moto: the applied
//! seed answers the ping with its path; changes made in the console (an SG
//! rule revoked, a route deleted, a default-ACL entry removed) make it
//! unreachable, naming the object by its AWS id.

mod common;

use common::*;
use ec2::types::Filter;

fn reach(moto: &Moto, dir: &std::path::Path) -> (Run, serde_json::Value) {
    let run = vpcform(
        moto,
        dir,
        &[
            "reach",
            "instance.instance-1",
            "instance.instance-2",
            "--protocol",
            "icmp",
            "--live",
            "--format",
            "json",
        ],
    );
    let json = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    (run, json)
}

fn blocked(json: &serde_json::Value) -> Vec<(String, String)> {
    json["blocked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["code"].as_str().unwrap().to_string(),
                b["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn live_reach_follows_console_changes_and_names_what_blocks_by_id() {
    let moto = Moto::start();
    let dir = root();
    let apply = vpcform(&moto, &dir, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());

    let (run, json) = reach(&moto, &dir);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(json["reachable"], true);
    let steps: Vec<&str> = json["forward"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["step"].as_str().unwrap())
        .collect();
    assert!(
        steps.contains(&"vpc peering"),
        "the path crosses the peering: {steps:?}"
    );
    let text = vpcform(
        &moto,
        &dir,
        &[
            "reach",
            "instance.instance-1",
            "instance.instance-2",
            "--live",
        ],
    );
    assert!(text.stdout.contains("reachable"), "{}", text.stdout);
    assert!(
        text.stdout.contains("pcx-"),
        "live answers name AWS ids: {}",
        text.stdout
    );

    // 1. The ICMP rule of instance-2's group revoked in the console.
    let group = rt.block_on(async {
        let g = sdk
            .ec2
            .describe_security_groups()
            .filters(by_tag("vpcform:address", "security-group.instance-2-sg"))
            .send()
            .await
            .unwrap();
        g.security_groups()[0].group_id().unwrap().to_string()
    });
    rt.block_on(async {
        sdk.ec2
            .revoke_security_group_ingress()
            .group_id(&group)
            .ip_permissions(
                ec2::types::IpPermission::builder()
                    .ip_protocol("icmp")
                    .from_port(-1)
                    .to_port(-1)
                    .ip_ranges(ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    let (run, json) = reach(&moto, &dir);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(
        blocked(&json),
        vec![("ENI_SG_RULES_MISMATCH".to_string(), group.clone())]
    );
    assert!(vpcform(&moto, &dir, &["apply", "--auto-approve"]).code == 0);
    assert_eq!(reach(&moto, &dir).0.code, 0, "apply restored the rule");

    // 2. The route to the peer deleted from network-1's table.
    let table = rt.block_on(async {
        let t = sdk
            .ec2
            .describe_route_tables()
            .filters(by_tag("vpcform:address", "route-table.network-1-rt"))
            .send()
            .await
            .unwrap();
        t.route_tables()[0].route_table_id().unwrap().to_string()
    });
    rt.block_on(async {
        sdk.ec2
            .delete_route()
            .route_table_id(&table)
            .destination_cidr_block("10.2.0.0/16")
            .send()
            .await
            .unwrap();
    });
    let (run, json) = reach(&moto, &dir);
    assert_eq!(run.code, 2);
    assert_eq!(
        blocked(&json),
        vec![("NO_ROUTE_TO_DESTINATION".to_string(), table.clone())]
    );
    assert!(vpcform(&moto, &dir, &["apply", "--auto-approve"]).code == 0);

    // 3. The allow-all entry removed from network-2's default ACL (not vpcform's).
    let default_acl = rt.block_on(async {
        let vpc = sdk
            .ec2
            .describe_vpcs()
            .filters(by_tag("vpcform:address", "vpc.network-2"))
            .send()
            .await
            .unwrap();
        let vpc = vpc.vpcs()[0].vpc_id().unwrap().to_string();
        let acls = sdk
            .ec2
            .describe_network_acls()
            .filters(Filter::builder().name("vpc-id").values(vpc).build())
            .filters(Filter::builder().name("default").values("true").build())
            .send()
            .await
            .unwrap();
        let id = acls.network_acls()[0].network_acl_id().unwrap().to_string();
        sdk.ec2
            .delete_network_acl_entry()
            .network_acl_id(&id)
            .rule_number(100)
            .egress(false)
            .send()
            .await
            .unwrap();
        id
    });
    let (run, json) = reach(&moto, &dir);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert_eq!(
        blocked(&json),
        vec![("SUBNET_ACL_RESTRICTION".to_string(), default_acl)]
    );
}

#[test]
fn a_plan_that_breaks_an_expectation_fails_with_the_reason_and_apply_refuses() {
    let moto = Moto::start();
    let text = std::fs::read_to_string(root().join("topology.yaml")).unwrap();
    let dir = workdir(&text);
    let apply = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let clean = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
    assert!(
        clean.stdout.contains("expectations: 4 held, 0 broken"),
        "{}",
        clean.stdout
    );

    // Dropping instance-2's ICMP rule breaks the seed's ping expectation.
    let icmp = "      - { protocol: icmp, cidr: 0.0.0.0/0, description: All ICMP }\n    tags: { Name: instance-2-sg }";
    assert!(text.contains(icmp));
    std::fs::write(
        dir.path().join("topology.yaml"),
        text.replace(icmp, "    tags: { Name: instance-2-sg }"),
    )
    .unwrap();
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("expectations: 3 held, 1 broken"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("✗ instance.instance-1 → instance.instance-2 icmp: expected reachable, blocked by [ENI_SG_RULES_MISMATCH] security-group.instance-2-sg"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("becomes blocked"),
        "the flow diff shows the ping cut: {}",
        plan.stdout
    );
    assert!(
        plan.stderr.contains("breaks 1 connectivity expectation"),
        "{}",
        plan.stderr
    );
    let markdown = vpcform(&moto, dir.path(), &["plan", "--format", "markdown"]);
    assert!(
        markdown.stdout.contains("#### Connectivity"),
        "{}",
        markdown.stdout
    );
    assert!(
        markdown
            .stdout
            .contains("> This plan breaks 1 connectivity expectation(s)."),
        "{}",
        markdown.stdout
    );
    let json = vpcform(&moto, dir.path(), &["plan", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["connectivity"]["expectations"][0]["held"], false);
    assert_eq!(
        doc["connectivity"]["expectations"][0]["blocked"][0]["code"],
        "ENI_SG_RULES_MISMATCH"
    );

    let refused = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("nothing was changed"),
        "{}",
        refused.stderr
    );
}
