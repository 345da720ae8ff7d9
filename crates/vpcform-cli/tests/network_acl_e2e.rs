//! Network ACLs end to end against a private moto: entries and associations
//! as declared, in-place entry changes, a removed association moving the
//! subnet back to the default ACL, drift reverted, destroy. (moto 5.2.5 drops
//! an entry's ICMP type and code from DescribeNetworkAcls, so the ICMP entry
//! here allows all types; the reader's ICMP handling has a unit test.)

mod common;

use common::*;
use ec2::types::Filter;

const ACLS: &str = r#"
stack: acls
region: us-east-1
vpcs:
  main: { cidr: 10.7.0.0/16 }
subnets:
  public: { vpc: main, cidr: 10.7.0.0/24 }
  private: { vpc: main, cidr: 10.7.1.0/24 }
network-acls:
  guard:
    vpc: main
    subnets: [public, private]
    ingress:
      - { rule: 100, protocol: tcp, port: 22, cidr: 0.0.0.0/0, action: allow }
      - { rule: 110, protocol: icmp, cidr: 10.0.0.0/8, action: allow }
      - { rule: 200, protocol: all, cidr: 192.168.0.0/16, action: deny }
    egress:
      - { rule: 100, protocol: tcp, from-port: 1024, to-port: 65535, cidr: 0.0.0.0/0, action: allow }
    tags: { Name: guard }
"#;

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The stack's ACL, read with the SDK.
async fn guard(sdk: &Sdk) -> ec2::types::NetworkAcl {
    let acls = sdk
        .ec2
        .describe_network_acls()
        .filters(filter("tag:vpcform:stack", "acls"))
        .send()
        .await
        .unwrap();
    assert_eq!(acls.network_acls().len(), 1, "one owned ACL");
    acls.network_acls()[0].clone()
}

/// (egress, rule, protocol, action, cidr, from/type, to/code) of the ACL's own entries.
fn entries(acl: &ec2::types::NetworkAcl) -> Vec<(bool, i32, String, String, String, i32, i32)> {
    let mut out: Vec<_> = acl
        .entries()
        .iter()
        .filter(|e| e.rule_number() != Some(32767))
        .map(|e| {
            let (from, to) = match (e.port_range(), e.icmp_type_code()) {
                (Some(p), _) => (p.from().unwrap_or(-9), p.to().unwrap_or(-9)),
                (None, Some(c)) => (c.r#type().unwrap_or(-9), c.code().unwrap_or(-9)),
                (None, None) => (-1, -1),
            };
            (
                e.egress().unwrap(),
                e.rule_number().unwrap(),
                e.protocol().unwrap().to_string(),
                e.rule_action().unwrap().as_str().to_string(),
                e.cidr_block().unwrap().to_string(),
                from,
                to,
            )
        })
        .collect();
    out.sort();
    out
}

/// The id of the ACL that guards the subnet with this CIDR.
async fn acl_of(sdk: &Sdk, cidr: &str) -> String {
    let subnets = sdk
        .ec2
        .describe_subnets()
        .filters(filter("cidr-block", cidr))
        .send()
        .await
        .unwrap();
    let subnet = subnets.subnets()[0].subnet_id().unwrap().to_string();
    let acls = sdk
        .ec2
        .describe_network_acls()
        .filters(filter("association.subnet-id", &subnet))
        .send()
        .await
        .unwrap();
    assert_eq!(acls.network_acls().len(), 1, "{cidr} has one ACL");
    acls.network_acls()[0].network_acl_id().unwrap().to_string()
}

#[test]
fn network_acls_converge_and_subnets_return_to_the_default_acl() {
    let moto = Moto::start();
    let dir = workdir(ACLS);
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());

    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let acl = rt.block_on(guard(&sdk));
    let id = acl.network_acl_id().unwrap().to_string();
    let s = |x: &str| x.to_string();
    assert_eq!(
        entries(&acl),
        vec![
            (false, 100, s("6"), s("allow"), s("0.0.0.0/0"), 22, 22),
            (false, 110, s("1"), s("allow"), s("10.0.0.0/8"), -1, -1),
            (false, 200, s("-1"), s("deny"), s("192.168.0.0/16"), -1, -1),
            (true, 100, s("6"), s("allow"), s("0.0.0.0/0"), 1024, 65535),
        ]
    );
    assert_eq!(rt.block_on(acl_of(&sdk, "10.7.0.0/24")), id);
    assert_eq!(rt.block_on(acl_of(&sdk, "10.7.1.0/24")), id);
    let plan = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "clean after apply:\n{}", plan.stdout);

    // Port 22 → 2222 changes the entry in place; dropping `private` moves it back.
    let path = dir.path().join("topology.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("port: 22,", "port: 2222,")
            .replace("subnets: [public, private]", "subnets: [public]"),
    )
    .unwrap();
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    assert!(
        plan.stdout
            .contains("# network-acl-entry.guard[ingress/100] will be updated in-place"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("# network-acl-association.guard[private] will be destroyed"),
        "{}",
        plan.stdout
    );
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let acl = rt.block_on(guard(&sdk));
    assert_eq!(acl.network_acl_id(), Some(id.as_str()), "not replaced");
    assert!(entries(&acl).contains(&(false, 100, s("6"), s("allow"), s("0.0.0.0/0"), 2222, 2222)));
    let private_acl = rt.block_on(acl_of(&sdk, "10.7.1.0/24"));
    let default = rt.block_on(async {
        sdk.ec2
            .describe_network_acls()
            .filters(filter("default", "true"))
            .filters(filter("vpc-id", acl.vpc_id().unwrap()))
            .send()
            .await
            .unwrap()
            .network_acls()[0]
            .network_acl_id()
            .unwrap()
            .to_string()
    });
    assert_eq!(private_acl, default, "back on the VPC's default ACL");

    // An entry deleted in the console is drift, and the next apply restores it.
    rt.block_on(async {
        sdk.ec2
            .delete_network_acl_entry()
            .network_acl_id(&id)
            .rule_number(200)
            .egress(false)
            .send()
            .await
            .unwrap();
    });
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    assert!(
        plan.stdout.contains("deleted outside vpcform"),
        "{}",
        plan.stdout
    );
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    assert!(entries(&rt.block_on(guard(&sdk))).contains(&(
        false,
        200,
        s("-1"),
        s("deny"),
        s("192.168.0.0/16"),
        -1,
        -1
    )));

    ok(&vpcform(&moto, dir.path(), &["destroy", "--auto-approve"]));
    let left = rt.block_on(async {
        sdk.ec2
            .describe_network_acls()
            .filters(filter("tag:vpcform:stack", "acls"))
            .send()
            .await
            .unwrap()
            .network_acls()
            .len()
    });
    assert_eq!(left, 0, "destroy removes the ACL");
}
