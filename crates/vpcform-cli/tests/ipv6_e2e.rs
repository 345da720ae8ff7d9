//! IPv6 end to end against a private moto: a dual-stack VPC (an
//! Amazon-provided block, /64s by index, an egress-only gateway, `::/0`
//! routes, IPv6 rules and ACL entries, an instance with an IPv6 address,
//! and a route to a prefix list)
//! applied, checked in AWS, re-planned clean, answered by `reach --live`
//! over IPv6, moved in place; and the same built by hand, imported and
//! adopted with nothing but tags.

mod common;

use common::*;

const DUAL_STACK: &str = r#"
stack: dual
region: us-east-1
vpcs:
  main: { cidr: 10.50.0.0/16, ipv6: true }
subnets:
  public-a: { vpc: main, cidr: 10.50.0.0/24, availability-zone: us-east-1a, ipv6-index: 0, assign-ipv6-on-creation: true, map-public-ip-on-launch: true }
  app-a: { vpc: main, cidr: 10.50.10.0/24, availability-zone: us-east-1a, ipv6-index: 10 }
internet-gateways:
  igw: { vpc: main }
egress-only-gateways:
  eigw: { vpc: main, tags: { Name: main-eigw } }
route-tables:
  public-rt:
    vpc: main
    subnets: [public-a]
    routes:
      - { destination: 0.0.0.0/0, internet-gateway: igw }
      - { destination: "::/0", internet-gateway: igw }
      - { destination-prefix-list: partners, internet-gateway: igw }
  app-rt:
    vpc: main
    subnets: [app-a]
    routes:
      - { destination: "::/0", egress-only-gateway: eigw }
prefix-lists:
  partners:
    entries:
      - { cidr: 198.51.100.0/24, description: a partner }
security-groups:
  app-sg:
    vpc: main
    description: App servers
    ingress:
      - { protocol: tcp, port: 22, cidr: 10.50.0.0/16, description: SSH from the VPC }
      - { protocol: icmpv6, cidr: "::/0", description: ping6 }
    egress:
      - { protocol: tcp, port: 443, cidr: "::/0", description: HTTPS out over IPv6 }
network-acls:
  app-acl:
    vpc: main
    subnets: [app-a]
    ingress:
      - { rule: 100, protocol: all, cidr: 10.50.0.0/16, action: allow }
      - { rule: 110, protocol: tcp, from-port: 1024, to-port: 65535, cidr: "::/0", action: allow }
    egress:
      - { rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow }
      - { rule: 101, protocol: all, cidr: "::/0", action: allow }
instances:
  app:
    ami: ami-0123456789abcdef0
    instance-type: t3.micro
    subnet: app-a
    security-groups: [app-sg]
    ipv6-address-count: 1
"#;

fn reach6(moto: &Moto, dir: &std::path::Path, from: &str, to: &str) -> Run {
    let args = [
        "reach",
        from,
        to,
        "--protocol",
        "tcp",
        "--port",
        "443",
        "--ipv6",
        "--live",
    ];
    vpcform(moto, dir, &args)
}

/// What AWS holds of the network, as `name value` lines.
async fn ipv6_facts(sdk: &Sdk) -> (String, Vec<String>) {
    let ec2 = &sdk.ec2;
    let vpc = ec2
        .describe_vpcs()
        .filters(by_tag("vpcform:address", "vpc.main"))
        .send()
        .await
        .unwrap()
        .vpcs()[0]
        .clone();
    let block = vpc.ipv6_cidr_block_association_set()[0]
        .ipv6_cidr_block()
        .unwrap()
        .to_string();
    let mut facts = Vec::new();
    let subnets = ec2
        .describe_subnets()
        .filters(by_tag("vpcform:stack", "dual"))
        .send()
        .await
        .unwrap();
    for s in subnets.subnets() {
        let name = s.tags().iter().find(|t| t.key() == Some("vpcform:address"));
        let v6 = s
            .ipv6_cidr_block_association_set()
            .iter()
            .filter_map(|b| b.ipv6_cidr_block())
            .collect::<Vec<_>>()
            .join(",");
        facts.push(format!(
            "{} {v6} assign={}",
            name.and_then(|t| t.value()).unwrap_or_default(),
            s.assign_ipv6_address_on_creation().unwrap_or(false)
        ));
    }
    let gateways = ec2
        .describe_egress_only_internet_gateways()
        .send()
        .await
        .unwrap();
    for g in gateways.egress_only_internet_gateways() {
        let mut tags: Vec<String> = g
            .tags()
            .iter()
            .filter_map(|t| Some(format!("{}={}", t.key()?, t.value()?)))
            .collect();
        tags.sort();
        facts.push(format!("eigw tags {}", tags.join(",")));
    }
    let tables = ec2
        .describe_route_tables()
        .filters(by_tag("vpcform:address", "route-table.app-rt"))
        .send()
        .await
        .unwrap();
    for r in tables.route_tables()[0].routes() {
        if let Some(d) = r.destination_ipv6_cidr_block().filter(|d| *d == "::/0") {
            let via = r.egress_only_internet_gateway_id().unwrap_or("?");
            facts.push(format!("app-rt {d} via {}", &via[..5]));
        }
    }
    let public = ec2
        .describe_route_tables()
        .filters(by_tag("vpcform:address", "route-table.public-rt"))
        .send()
        .await
        .unwrap();
    for r in public.route_tables()[0].routes() {
        if let Some(list) = r.destination_prefix_list_id() {
            let via = r.gateway_id().unwrap_or("?");
            facts.push(format!("public-rt {} via {}", &list[..3], &via[..4]));
        }
    }
    let groups = ec2
        .describe_security_groups()
        .filters(by_tag("vpcform:address", "security-group.app-sg"))
        .send()
        .await
        .unwrap();
    let g = &groups.security_groups()[0];
    for (direction, permissions) in [
        ("in", g.ip_permissions()),
        ("out", g.ip_permissions_egress()),
    ] {
        for p in permissions {
            for r in p.ipv6_ranges() {
                facts.push(format!(
                    "sg {direction} {} {}",
                    p.ip_protocol().unwrap_or_default(),
                    r.cidr_ipv6().unwrap_or_default()
                ));
            }
        }
    }
    facts.sort();
    (block, facts)
}

#[test]
fn a_dual_stack_network_applies_replans_clean_and_reach_answers_over_ipv6() {
    let moto = Moto::start();
    let dir = workdir(DUAL_STACK);
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    ok(&vpcform(&moto, dir.path(), &["validate"]));
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let plan = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.code, 0,
        "re-plan is clean:\n{}\n{}",
        plan.stdout, plan.stderr
    );

    let (block, facts) = rt.block_on(ipv6_facts(&sdk));
    let block: ipnet::Ipv6Net = block.parse().unwrap();
    assert_eq!(block.prefix_len(), 56, "an Amazon-provided /56");
    let slash64 = |index: u8| vpcform_topology::kinds::subnet::ipv6_subnet(block, index);
    let want = [
        format!("subnet.app-a {} assign=false", slash64(10)),
        format!("subnet.public-a {} assign=true", slash64(0)),
        "app-rt ::/0 via eigw-".to_string(),
        "public-rt pl- via igw-".to_string(),
        "sg in 58 ::/0".to_string(),
        "sg out tcp ::/0".to_string(),
    ];
    for w in &want {
        assert!(
            facts.iter().any(|f| f.starts_with(w.as_str())),
            "{w} in AWS:\n{facts:#?}"
        );
    }

    // The gateway carries the stack's tags from its create call on.
    let eigw = facts.iter().find(|f| f.starts_with("eigw tags")).unwrap();
    for tag in [
        "Name=main-eigw",
        "vpcform:address=egress-only-gateway.eigw",
        "vpcform:stack=dual",
    ] {
        assert!(eigw.contains(tag), "{tag} in {eigw}");
    }

    // Over IPv6 the app leaves through the egress-only gateway; nothing opens inwards.
    let out = reach6(&moto, dir.path(), "instance.app", "internet");
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("egress-only-gateway.eigw"),
        "{}",
        out.stdout
    );
    let inwards = reach6(&moto, dir.path(), "::/0", "instance.app");
    assert_ne!(inwards.code, 0, "{}", inwards.stdout);
    assert!(
        inwards.stdout.contains("ENI_SG_RULES_MISMATCH") && !inwards.stdout.contains("2001:db8"),
        "the live answer uses AWS's addresses, not stand-ins:\n{}",
        inwards.stdout
    );

    // The app subnet moves to /64 number 11 and assigns addresses: in place.
    let moved = DUAL_STACK.replace(
        "ipv6-index: 10 }",
        "ipv6-index: 11, assign-ipv6-on-creation: true }",
    );
    std::fs::write(dir.path().join("topology.yaml"), moved).unwrap();
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    ok(&plan);
    assert!(
        plan.stdout.contains("ipv6_index") && plan.stdout.contains("10 -> 11"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("must be replaced"), "{}", plan.stdout);
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let (_, facts) = rt.block_on(ipv6_facts(&sdk));
    let now = format!("subnet.app-a {} assign=true", slash64(11));
    assert!(facts.contains(&now), "{now}:\n{facts:#?}");
    let plan = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
}

/// The console's way: a VPC with an Amazon-provided block, a subnet on /64
/// number 3 assigning addresses, an egress-only gateway and its `::/0`
/// route, an SSH rule from an IPv6 block and an IPv6 ACL entry.
async fn build_by_hand(sdk: &Sdk) -> (String, String) {
    use ec2::types::{IpPermission, Ipv6Range, RuleAction};
    let ec2 = &sdk.ec2;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.60.0.0/16")
        .amazon_provided_ipv6_cidr_block(true)
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .clone();
    let vpc_id = vpc.vpc_id().unwrap().to_string();
    let block: ipnet::Ipv6Net = vpc.ipv6_cidr_block_association_set()[0]
        .ipv6_cidr_block()
        .unwrap()
        .parse()
        .unwrap();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.60.3.0/24")
        .availability_zone("us-east-1a")
        .ipv6_cidr_block(vpcform_topology::kinds::subnet::ipv6_subnet(block, 3).to_string())
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_string();
    ec2.modify_subnet_attribute()
        .subnet_id(&subnet)
        .assign_ipv6_address_on_creation(
            ec2::types::AttributeBooleanValue::builder()
                .value(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let eigw = ec2
        .create_egress_only_internet_gateway()
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap()
        .egress_only_internet_gateway()
        .unwrap()
        .egress_only_internet_gateway_id()
        .unwrap()
        .to_string();
    let rtb = ec2
        .create_route_table()
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap()
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_string();
    ec2.associate_route_table()
        .route_table_id(&rtb)
        .subnet_id(&subnet)
        .send()
        .await
        .unwrap();
    ec2.create_route()
        .route_table_id(&rtb)
        .destination_ipv6_cidr_block("::/0")
        .egress_only_internet_gateway_id(&eigw)
        .send()
        .await
        .unwrap();
    let partners = ec2
        .create_managed_prefix_list()
        .prefix_list_name("partners6")
        .address_family("IPv6")
        .max_entries(2)
        .entries(
            ec2::types::AddPrefixListEntry::builder()
                .cidr("2001:db8:100::/48")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .prefix_list()
        .unwrap()
        .prefix_list_id()
        .unwrap()
        .to_string();
    ec2.create_route()
        .route_table_id(&rtb)
        .destination_prefix_list_id(&partners)
        .egress_only_internet_gateway_id(&eigw)
        .send()
        .await
        .unwrap();
    let group = ec2
        .create_security_group()
        .group_name("admin")
        .description("admin")
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("2001:db8:1::/48").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let acl = ec2
        .create_network_acl()
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap()
        .network_acl()
        .unwrap()
        .network_acl_id()
        .unwrap()
        .to_string();
    ec2.create_network_acl_entry()
        .network_acl_id(&acl)
        .rule_number(120)
        .egress(false)
        .protocol("6")
        .rule_action(RuleAction::Allow)
        .ipv6_cidr_block("::/0")
        .port_range(ec2::types::PortRange::builder().from(443).to(443).build())
        .send()
        .await
        .unwrap();
    (vpc_id, eigw)
}

#[test]
fn an_ipv6_network_built_by_hand_is_imported_and_adopted_with_tags_only() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let (vpc, eigw) = rt.block_on(build_by_hand(&sdk));
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "import",
        "--vpc",
        &vpc,
        "--stack",
        "hand",
        "-o",
        "topology.yaml",
    ];
    let run = vpcform(&moto, dir.path(), &args);
    ok(&run);
    let written = std::fs::read_to_string(dir.path().join("topology.yaml")).unwrap();
    for wanted in [
        "ipv6: true",
        "ipv6-index: 3",
        "assign-ipv6-on-creation: true",
        &format!("import-id: {eigw}"),
        "{ destination: \"::/0\", egress-only-gateway: ",
        "{ protocol: tcp, port: 22, cidr: \"2001:db8:1::/48\" }",
        "{ rule: 120, protocol: tcp, port: 443, cidr: \"::/0\", action: allow }",
        "Nothing in these VPCs was left out.",
        "destination-prefix-list: partners6",
    ] {
        assert!(written.contains(wanted), "{wanted}\n{written}");
    }
    for absent in ["IPv6", &eigw] {
        assert!(
            !run.stderr.contains(absent),
            "nothing of IPv6 is left out:\n{}",
            run.stderr
        );
    }
    ok(&vpcform(&moto, dir.path(), &["validate"]));
    let plan = vpcform(&moto, dir.path(), &["plan", "--format", "json"]);
    ok(&plan);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let summary = &plan["summary"];
    let counts = ["add", "change", "destroy"].map(|k| summary[k].as_u64());
    assert_eq!(counts, [Some(0); 3], "only adoptions:\n{plan:#}");
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let again = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}
