//! NAT gateways end to end against a private moto: a private subnet's
//! egress declared, applied, re-planned clean, answered by `reach --live`
//! and destroyed (the Elastic IP released); and the safety of a plan: a NAT
//! route built in the console is never replaced by a plan that does not
//! show it, and is replaced when the topology says `replaces:`.

mod common;

use common::*;
use ec2::types::{DomainType, ResourceType, Tag, TagSpecification};

const EGRESS: &str = r#"
stack: egress
region: us-east-1
vpcs:
  core: { cidr: 10.10.0.0/16 }
subnets:
  public-a: { vpc: core, cidr: 10.10.0.0/24, availability-zone: us-east-1a, map-public-ip-on-launch: true }
  app-a: { vpc: core, cidr: 10.10.10.0/24, availability-zone: us-east-1a }
internet-gateways:
  core-igw: { vpc: core }
elastic-ips:
  nat-a-eip: { tags: { Name: nat-a } }
nat-gateways:
  nat-a: { subnet: public-a, elastic-ip: nat-a-eip, tags: { Name: nat-a } }
route-tables:
  public-rt:
    vpc: core
    subnets: [public-a]
    routes:
      - { destination: 0.0.0.0/0, internet-gateway: core-igw }
  app-rt:
    vpc: core
    subnets: [app-a]
    routes:
      - { destination: 0.0.0.0/0, nat-gateway: nat-a }
expect:
  - { from: subnet.app-a, to: internet, protocol: tcp, port: 443, reachable: true }
  - { from: internet, to: subnet.app-a, protocol: tcp, port: 443, reachable: false }
"#;

fn named(resource: ResourceType, name: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .tags(Tag::builder().key("Name").value(name).build())
        .build()
}

#[test]
fn a_private_subnet_egresses_through_a_nat_gateway_from_apply_to_destroy() {
    let moto = Moto::start();
    let dir = workdir(EGRESS);
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());

    let validate = vpcform(&moto, dir.path(), &["validate"]);
    ok(&validate);
    let apply = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    ok(&apply);
    assert!(
        apply.stdout.contains("nat-gateway.nat-a"),
        "{}",
        apply.stdout
    );

    // Ownership tags came with the create calls; the route goes through the NAT gateway.
    let (nat_id, allocation, route_target) = rt.block_on(async {
        let nats = sdk
            .ec2
            .describe_nat_gateways()
            .filter(by_tag("vpcform:address", "nat-gateway.nat-a"))
            .send()
            .await
            .unwrap();
        let nat = &nats.nat_gateways()[0];
        let eips = sdk
            .ec2
            .describe_addresses()
            .filters(by_tag("vpcform:stack", "egress"))
            .send()
            .await
            .unwrap();
        let tables = sdk
            .ec2
            .describe_route_tables()
            .filters(by_tag("vpcform:address", "route-table.app-rt"))
            .send()
            .await
            .unwrap();
        let route = tables.route_tables()[0]
            .routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
            .and_then(|r| r.nat_gateway_id().map(str::to_string));
        (
            nat.nat_gateway_id().unwrap().to_string(),
            eips.addresses()[0].allocation_id().unwrap().to_string(),
            route,
        )
    });
    assert_eq!(route_target.as_deref(), Some(nat_id.as_str()));
    let plan = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.code, 0,
        "re-plan is clean:\n{}\n{}",
        plan.stdout, plan.stderr
    );

    let out = vpcform(
        &moto,
        dir.path(),
        &[
            "reach",
            "subnet.app-a",
            "internet",
            "--protocol",
            "tcp",
            "--port",
            "443",
            "--live",
        ],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&nat_id) || out.stdout.contains("nat-gateway.nat-a"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("translated to its Elastic IP"),
        "{}",
        out.stdout
    );
    let inbound = vpcform(
        &moto,
        dir.path(),
        &[
            "reach",
            "internet",
            "subnet.app-a",
            "--protocol",
            "tcp",
            "--port",
            "443",
            "--live",
        ],
    );
    assert_eq!(inbound.code, 2, "{}", inbound.stdout);
    assert!(
        inbound.stdout.contains("cannot open one"),
        "{}",
        inbound.stdout
    );
    assert!(
        !inbound.stdout.contains("map-public-ip-on-launch"),
        "no fix that makes the private subnet public: {}",
        inbound.stdout
    );

    let destroy = vpcform(&moto, dir.path(), &["destroy", "--auto-approve"]);
    ok(&destroy);
    rt.block_on(async {
        let nats = sdk
            .ec2
            .describe_nat_gateways()
            .nat_gateway_ids(&nat_id)
            .send()
            .await
            .unwrap();
        let state = nats.nat_gateways()[0]
            .state()
            .map(|s| s.as_str().to_string());
        assert_eq!(state.as_deref(), Some("deleted"));
        let eips = sdk.ec2.describe_addresses().send().await.unwrap();
        assert!(
            eips.addresses()
                .iter()
                .all(|a| a.allocation_id() != Some(allocation.as_str())),
            "the Elastic IP is released"
        );
    });
}

/// What the console built: a VPC, a public and a private subnet, an
/// internet gateway, a NAT gateway with its Elastic IP, and the private
/// subnet's table routing 0.0.0.0/0 to the NAT gateway.
struct Console {
    vpc: String,
    public: String,
    private: String,
    igw: String,
    nat: String,
    rtb: String,
}

async fn console(sdk: &Sdk) -> Console {
    let ec2 = &sdk.ec2;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.30.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = |cidr: &'static str, name: &'static str| {
        let vpc = vpc.clone();
        async move {
            let s = ec2
                .create_subnet()
                .vpc_id(vpc)
                .cidr_block(cidr)
                .availability_zone("us-east-1a")
                .tag_specifications(named(ResourceType::Subnet, name))
                .send()
                .await
                .unwrap();
            s.subnet().unwrap().subnet_id().unwrap().to_string()
        }
    };
    let public = subnet("10.30.0.0/24", "public").await;
    let private = subnet("10.30.10.0/24", "private").await;
    let igw = ec2.create_internet_gateway().send().await.unwrap();
    let igw = igw
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_string();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let eip = ec2
        .allocate_address()
        .domain(DomainType::Vpc)
        .send()
        .await
        .unwrap();
    let nat = ec2
        .create_nat_gateway()
        .subnet_id(&public)
        .allocation_id(eip.allocation_id().unwrap())
        .tag_specifications(named(ResourceType::Natgateway, "nat-by-hand"))
        .send()
        .await
        .unwrap();
    let nat = nat
        .nat_gateway()
        .unwrap()
        .nat_gateway_id()
        .unwrap()
        .to_string();
    let rtb = ec2.create_route_table().vpc_id(&vpc).send().await.unwrap();
    let rtb = rtb
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_string();
    ec2.create_route()
        .route_table_id(&rtb)
        .destination_cidr_block("0.0.0.0/0")
        .nat_gateway_id(&nat)
        .send()
        .await
        .unwrap();
    ec2.associate_route_table()
        .route_table_id(&rtb)
        .subnet_id(&private)
        .send()
        .await
        .unwrap();
    Console {
        vpc,
        public,
        private,
        igw,
        nat,
        rtb,
    }
}

async fn default_route(sdk: &Sdk, rtb: &str) -> (Option<String>, Option<String>) {
    let tables = sdk
        .ec2
        .describe_route_tables()
        .route_table_ids(rtb)
        .send()
        .await
        .unwrap();
    let route = tables.route_tables()[0]
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .cloned();
    (
        route
            .as_ref()
            .and_then(|r| r.nat_gateway_id().map(str::to_string)),
        route
            .as_ref()
            .and_then(|r| r.gateway_id().map(str::to_string)),
    )
}

fn adopting(c: &Console, replaces: &str) -> String {
    format!(
        r#"
stack: takeover
region: us-east-1
vpcs:
  main: {{ cidr: 10.30.0.0/16, import-id: {vpc} }}
subnets:
  public: {{ vpc: main, cidr: 10.30.0.0/24, availability-zone: us-east-1a, tags: {{ Name: public }}, import-id: {public} }}
  private: {{ vpc: main, cidr: 10.30.10.0/24, availability-zone: us-east-1a, tags: {{ Name: private }}, import-id: {private} }}
internet-gateways:
  igw: {{ vpc: main, import-id: {igw} }}
route-tables:
  private-rt:
    vpc: main
    subnets: [private]
    routes:
      - {{ destination: 0.0.0.0/0, internet-gateway: igw{replaces} }}
    import-id: {rtb}
"#,
        vpc = c.vpc,
        public = c.public,
        private = c.private,
        igw = c.igw,
        rtb = c.rtb,
    )
}

#[test]
fn a_nat_route_built_in_the_console_is_replaced_only_when_the_plan_shows_it() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let c = rt.block_on(console(&sdk));

    // Declared without saying so: a plan error naming the NAT route; apply changes nothing.
    let dir = workdir(&adopting(&c, ""));
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
    let all = format!("{}{}", plan.stdout, plan.stderr);
    assert!(
        all.contains(&format!(
            "through {} (NAT gateway), which vpcform does not manage",
            c.nat
        )),
        "{all}"
    );
    assert!(
        all.contains(&format!("replaces: {}", c.nat)),
        "the error says how to accept it: {all}"
    );
    assert!(all.contains("-/+ route.private-rt[0.0.0.0/0]"), "{all}");
    let apply = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(
        rt.block_on(default_route(&sdk, &c.rtb)),
        (Some(c.nat.clone()), None),
        "the NAT route is intact"
    );

    // Said explicitly: shown as a replacement of that route, and applied.
    let replaces = format!(", replaces: {}", c.nat);
    std::fs::write(dir.path().join("topology.yaml"), adopting(&c, &replaces)).unwrap();
    let plan = vpcform(&moto, dir.path(), &["plan", "--format", "markdown"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains(&format!(
            "replaces 0.0.0.0/0 → {} (NAT gateway), which vpcform does not manage",
            c.nat
        )),
        "{}",
        plan.stdout
    );
    let apply = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    ok(&apply);
    assert_eq!(
        rt.block_on(default_route(&sdk, &c.rtb)),
        (None, Some(c.igw.clone()))
    );
    let again = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{}\n{}", again.stdout, again.stderr);
}

#[test]
fn import_declares_nat_gateways_and_their_elastic_ips_and_adoption_changes_nothing() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let c = rt.block_on(console(&sdk));
    let dir = tempfile::tempdir().unwrap();
    let import = vpcform(
        &moto,
        dir.path(),
        &[
            "import",
            "--vpc",
            &c.vpc,
            "--stack",
            "adopted",
            "--region",
            "us-east-1",
            "-o",
            "topology.yaml",
        ],
    );
    ok(&import);
    let written = std::fs::read_to_string(dir.path().join("topology.yaml")).unwrap();
    assert!(
        written.contains("nat-gateways:") && written.contains("elastic-ips:"),
        "{written}"
    );
    assert!(
        written.contains("nat-gateway: nat-by-hand"),
        "the route names the NAT gateway: {written}"
    );
    assert!(
        written.contains(&format!("import-id: {}", c.nat)),
        "{written}"
    );
    let plan = vpcform(&moto, dir.path(), &["plan", "--format", "json"]);
    ok(&plan);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let summary = &json["summary"];
    assert_eq!(
        (summary["add"].as_u64(), summary["destroy"].as_u64()),
        (Some(0), Some(0)),
        "{summary}"
    );
    let apply = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    ok(&apply);
    assert_eq!(
        rt.block_on(default_route(&sdk, &c.rtb)),
        (Some(c.nat.clone()), None)
    );
    let reach = vpcform(
        &moto,
        dir.path(),
        &[
            "reach",
            "subnet.private",
            "internet",
            "--protocol",
            "tcp",
            "--port",
            "443",
            "--live",
        ],
    );
    // The console's public subnet has no table of its own: the main table
    // has no route to the internet, so the NAT gateway cannot get out.
    assert_eq!(reach.code, 2, "{}", reach.stdout);
    assert!(
        reach.stdout.contains("NO_ROUTE_TO_DESTINATION"),
        "{}",
        reach.stdout
    );
    assert!(!reach.stdout.contains("blackhole"), "{}", reach.stdout);
}
