//! Import and adoption end to end against a private moto: the seed built
//! with the SDK the way the console builds it (Name tags, no vpcform tags),
//! `vpcform import` writing the topology that adopts it, a plan of
//! adoptions only, apply, every AWS id unchanged and now owned, a clean
//! plan, then an edit that converges. Destroy never touches an object not
//! yet adopted; what vpcform cannot declare is listed and left alone.

mod common;

use common::*;
use ec2::types::{
    AttributeBooleanValue, Filter, IpPermission, IpRange, ResourceType, Tag, TagSpecification,
};

fn named(resource: ResourceType, name: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .tags(Tag::builder().key("Name").value(name).build())
        .build()
}

/// The ids of what the console built.
#[derive(Debug, Clone, PartialEq)]
struct Built {
    networks: [Network; 2],
    pcx: String,
    flow_logs: [String; 2],
    policy_arn: String,
}

/// One half of the seed.
#[derive(Debug, Clone, PartialEq)]
struct Network {
    vpc: String,
    subnet: String,
    igw: String,
    rtb: String,
    sg: String,
    instance: String,
}

impl Built {
    /// Every EC2 id, sorted.
    fn ec2_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .networks
            .iter()
            .flat_map(|n| {
                [&n.vpc, &n.subnet, &n.igw, &n.rtb, &n.sg, &n.instance].map(String::clone)
            })
            .chain([self.pcx.clone()])
            .chain(self.flow_logs.iter().cloned())
            .collect();
        ids.sort();
        ids
    }

    /// Each id with a stable stand-in, for snapshots.
    fn redactions(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, n) in self.networks.iter().enumerate() {
            let i = i + 1;
            for (id, kind) in [
                (&n.vpc, "vpc"),
                (&n.subnet, "subnet"),
                (&n.igw, "igw"),
                (&n.rtb, "rtb"),
                (&n.sg, "sg"),
                (&n.instance, "i"),
            ] {
                out.push((id.clone(), format!("{kind}-<{i}>")));
            }
        }
        out.push((self.pcx.clone(), "pcx-<1>".into()));
        for (i, f) in self.flow_logs.iter().enumerate() {
            out.push((f.clone(), format!("fl-<{}>", i + 1)));
        }
        out.push((self.policy_arn.clone(), "<policy-arn>".into()));
        out
    }
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"vpc-flow-logs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents","logs:DescribeLogGroups","logs:DescribeLogStreams"],"Resource":"*"}]}"#;

async fn create_vpc(ec2: &ec2::Client, cidr: &str, name: &str) -> String {
    let id = ec2
        .create_vpc()
        .cidr_block(cidr)
        .tag_specifications(named(ResourceType::Vpc, name))
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    ec2.modify_vpc_attribute()
        .vpc_id(&id)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    id
}

/// The seed clicked together: both networks, their peering and flow logs.
async fn build_by_hand(sdk: &Sdk) -> Built {
    let vpc1 = create_vpc(&sdk.ec2, "10.1.0.0/16", "Network-1-vpc").await;
    let vpc2 = create_vpc(&sdk.ec2, "10.2.0.0/16", "Network-2-vpc").await;
    let pcx = sdk
        .ec2
        .create_vpc_peering_connection()
        .vpc_id(&vpc1)
        .peer_vpc_id(&vpc2)
        .tag_specifications(named(ResourceType::VpcPeeringConnection, "VPC1<>VPC2"))
        .send()
        .await
        .unwrap()
        .vpc_peering_connection()
        .unwrap()
        .vpc_peering_connection_id()
        .unwrap()
        .to_string();
    sdk.ec2
        .accept_vpc_peering_connection()
        .vpc_peering_connection_id(&pcx)
        .send()
        .await
        .unwrap();
    let network1 = network_by_hand(sdk, 1, &vpc1, &pcx).await;
    let network2 = network_by_hand(sdk, 2, &vpc2, &pcx).await;
    let (flow_logs, policy_arn) = flow_logs_by_hand(sdk, [&vpc1, &vpc2]).await;
    Built {
        networks: [network1, network2],
        pcx,
        flow_logs,
        policy_arn,
    }
}

/// Network-N of the seed inside its VPC: subnet, gateway, route table, group, instance.
async fn network_by_hand(sdk: &Sdk, n: u8, vpc: &str, pcx: &str) -> Network {
    let ec2 = &sdk.ec2;
    let subnet = ec2
        .create_subnet()
        .vpc_id(vpc)
        .cidr_block(format!("10.{n}.0.0/24"))
        .availability_zone("us-east-1a")
        .tag_specifications(named(
            ResourceType::Subnet,
            &format!("Network-{n}-public-subnet"),
        ))
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
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    let igw = ec2
        .create_internet_gateway()
        .tag_specifications(named(
            ResourceType::InternetGateway,
            &format!("Network-{n}-igw"),
        ))
        .send()
        .await
        .unwrap()
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_string();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw)
        .vpc_id(vpc)
        .send()
        .await
        .unwrap();
    let rtb = ec2
        .create_route_table()
        .vpc_id(vpc)
        .tag_specifications(named(ResourceType::RouteTable, &format!("Network-{n}-rt")))
        .send()
        .await
        .unwrap()
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_string();
    ec2.create_route()
        .route_table_id(&rtb)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw)
        .send()
        .await
        .unwrap();
    let peer = if n == 1 { 2 } else { 1 };
    ec2.create_route()
        .route_table_id(&rtb)
        .destination_cidr_block(format!("10.{peer}.0.0/16"))
        .vpc_peering_connection_id(pcx)
        .send()
        .await
        .unwrap();
    ec2.associate_route_table()
        .route_table_id(&rtb)
        .subnet_id(&subnet)
        .send()
        .await
        .unwrap();
    let sg_name = format!("instance-{n}-sg");
    let sg = ec2
        .create_security_group()
        .vpc_id(vpc)
        .group_name(&sg_name)
        .description("SSH and ICMP for connectivity tests")
        .tag_specifications(named(ResourceType::SecurityGroup, &sg_name))
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    let anywhere = |description: &str| {
        IpRange::builder()
            .cidr_ip("0.0.0.0/0")
            .description(description)
            .build()
    };
    ec2.authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(anywhere("SSH"))
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("icmp")
                .from_port(-1)
                .to_port(-1)
                .ip_ranges(anywhere("All ICMP"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let instance = ec2
        .run_instances()
        .image_id("ami-0123456789abcdef0")
        .instance_type(ec2::types::InstanceType::T3Micro)
        .subnet_id(&subnet)
        .security_group_ids(&sg)
        .min_count(1)
        .max_count(1)
        .tag_specifications(named(ResourceType::Instance, &format!("instance-{n}-vpc")))
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    Network {
        vpc: vpc.to_string(),
        subnet,
        igw,
        rtb,
        sg,
        instance,
    }
}

/// The flow logs of both VPCs into one log group through a role, clicked together.
async fn flow_logs_by_hand(sdk: &Sdk, vpcs: [&str; 2]) -> ([String; 2], String) {
    sdk.logs
        .create_log_group()
        .log_group_name("ProjectVPCFlowLogGroups")
        .send()
        .await
        .unwrap();
    sdk.logs
        .put_retention_policy()
        .log_group_name("ProjectVPCFlowLogGroups")
        .retention_in_days(7)
        .send()
        .await
        .unwrap();
    let policy_arn = sdk
        .iam
        .create_policy()
        .policy_name("VPCFlowLogPolicy")
        .policy_document(POLICY)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let role_arn = sdk
        .iam
        .create_role()
        .role_name("ProjectVPCFlowLogRole")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_string();
    sdk.iam
        .attach_role_policy()
        .role_name("ProjectVPCFlowLogRole")
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for vpc in vpcs {
        let created = sdk
            .ec2
            .create_flow_logs()
            .resource_ids(vpc)
            .resource_type(ec2::types::FlowLogsResourceType::Vpc)
            .traffic_type(ec2::types::TrafficType::All)
            .log_destination_type(ec2::types::LogDestinationType::CloudWatchLogs)
            .log_group_name("ProjectVPCFlowLogGroups")
            .deliver_logs_permission_arn(&role_arn)
            .send()
            .await
            .unwrap();
        ids.push(created.flow_log_ids()[0].clone());
    }
    ([ids[0].clone(), ids[1].clone()], policy_arn)
}

/// `vpcform import` of both VPCs into `topology.yaml` in `dir`.
fn import(moto: &Moto, dir: &std::path::Path, built: &Built) -> Run {
    let [n1, n2] = &built.networks;
    vpcform(
        moto,
        dir,
        &[
            "import",
            "--vpc",
            &n1.vpc,
            "--vpc",
            &n2.vpc,
            "--stack",
            "handmade",
            "-o",
            "topology.yaml",
        ],
    )
}

/// The EC2 ids that carry `vpcform:stack=handmade`, sorted.
async fn owned_ec2_ids(sdk: &Sdk) -> Vec<String> {
    let tagged = sdk
        .ec2
        .describe_tags()
        .filters(
            Filter::builder()
                .name("key")
                .values("vpcform:stack")
                .build(),
        )
        .filters(Filter::builder().name("value").values("handmade").build())
        .send()
        .await
        .unwrap();
    let mut ids: Vec<String> = tagged
        .tags()
        .iter()
        .filter_map(|t| t.resource_id().map(str::to_string))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

fn plan_json(moto: &Moto, dir: &std::path::Path) -> serde_json::Value {
    let run = vpcform(moto, dir, &["plan", "--format", "json"]);
    ok(&run);
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn a_network_built_by_hand_is_imported_and_adopted_without_recreating_anything() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let built = rt.block_on(build_by_hand(&sdk));
    let census_before = rt.block_on(census(&sdk));
    let dir = tempfile::tempdir().unwrap();

    let imported = import(&moto, dir.path(), &built);
    ok(&imported);
    let mut written = std::fs::read_to_string(dir.path().join("topology.yaml")).unwrap();
    for (id, stand_in) in built.redactions() {
        written = written.replace(&id, &stand_in);
    }
    insta::assert_snapshot!("imported_seed", written);
    assert!(
        imported
            .stderr
            .contains("Imported 18 object(s) from 2 VPC(s)"),
        "{}",
        imported.stderr
    );
    // Importing reads; it changes nothing, and never overwrites a file.
    assert_eq!(rt.block_on(census(&sdk)), census_before);
    let again = import(&moto, dir.path(), &built);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again.stderr.contains("never overwritten"),
        "{}",
        again.stderr
    );
    ok(&vpcform(&moto, dir.path(), &["validate"]));

    // Destroy before adoption: nothing of the hand-built network is the stack's.
    let destroy = vpcform(&moto, dir.path(), &["destroy", "--auto-approve"]);
    ok(&destroy);
    assert_eq!(
        rt.block_on(census(&sdk)),
        census_before,
        "{}",
        destroy.stdout
    );

    let plan = plan_json(&moto, dir.path());
    let summary = &plan["summary"];
    assert_eq!(
        (
            summary["add"].as_u64(),
            summary["destroy"].as_u64(),
            summary["change"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{plan:#}"
    );
    assert_eq!(summary["adopt"], 18, "{plan:#}");
    assert_eq!(plan["errors"], serde_json::json!([]));
    let text = vpcform(&moto, dir.path(), &["plan"]);
    assert!(
        text.stdout
            .contains("Plan: 18 to adopt, 0 to add, 0 to change, 0 to destroy."),
        "{}",
        text.stdout
    );
    let markdown = vpcform(&moto, dir.path(), &["plan", "--format", "markdown"]);
    assert!(
        markdown.stdout.contains("adopts 18 existing object(s)"),
        "{}",
        markdown.stdout
    );

    // The reviewed plan, saved and applied as it is.
    ok(&vpcform(
        &moto,
        dir.path(),
        &["plan", "--out", "adopt.plan"],
    ));
    let apply = vpcform(
        &moto,
        dir.path(),
        &["apply", "adopt.plan", "--auto-approve"],
    );
    ok(&apply);
    let progress = format!("{}{}", apply.stdout, apply.stderr);
    assert!(
        progress.contains("vpc.network-1-vpc: Adoption complete"),
        "{progress}"
    );
    assert_eq!(
        rt.block_on(census(&sdk)),
        census_before,
        "nothing created or destroyed"
    );
    assert_eq!(
        rt.block_on(owned_ec2_ids(&sdk)),
        built.ec2_ids(),
        "the same ids, now owned"
    );
    let policy_tags = rt
        .block_on(
            sdk.iam
                .list_policy_tags()
                .policy_arn(&built.policy_arn)
                .send(),
        )
        .unwrap();
    assert!(
        policy_tags
            .tags()
            .iter()
            .any(|t| t.key() == "vpcform:stack" && t.value() == "handmade"),
        "{policy_tags:?}"
    );

    let clean = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);

    // Once adopted, `import-id` can go, and edits converge like any other.
    let edited: String = std::fs::read_to_string(dir.path().join("topology.yaml"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("import-id:"))
        .map(|l| l.replace("retention-days: 7", "retention-days: 30"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.path().join("topology.yaml"), edited).unwrap();
    let plan = plan_json(&moto, dir.path());
    let changes: Vec<(String, String)> = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["actions"] != serde_json::json!(["no-op"]))
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_string(),
                c["actions"][0].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![(
            "log-group.project-vpc-flow-log-groups".to_string(),
            "update".to_string()
        )],
        "{plan:#}"
    );
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let groups = rt
        .block_on(
            sdk.logs
                .describe_log_groups()
                .log_group_name_prefix("ProjectVPC")
                .send(),
        )
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(30));
    let clean = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
}

#[test]
fn import_lists_what_it_cannot_declare_declares_nat_gateways_and_leaves_the_rest_alone() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let built = rt.block_on(build_by_hand(&sdk));
    let n1 = &built.networks[0];
    let nat = rt.block_on(async {
        let eip = sdk
            .ec2
            .allocate_address()
            .domain(ec2::types::DomainType::Vpc)
            .send()
            .await
            .unwrap();
        let nat = sdk
            .ec2
            .create_nat_gateway()
            .subnet_id(&n1.subnet)
            .allocation_id(eip.allocation_id().unwrap())
            .send()
            .await
            .unwrap();
        let nat = nat
            .nat_gateway()
            .unwrap()
            .nat_gateway_id()
            .unwrap()
            .to_string();
        sdk.ec2
            .create_route()
            .route_table_id(&n1.rtb)
            .destination_cidr_block("192.168.0.0/16")
            .nat_gateway_id(&nat)
            .send()
            .await
            .unwrap();
        nat
    });
    let census_before = rt.block_on(census(&sdk));
    let dir = tempfile::tempdir().unwrap();
    // Network-1 alone: its peering with network-2 cannot be declared either.
    let run = vpcform(
        &moto,
        dir.path(),
        &["import", "--vpc", &n1.vpc, "-o", "topology.yaml"],
    );
    ok(&run);
    let written = std::fs::read_to_string(dir.path().join("topology.yaml")).unwrap();
    // The NAT gateway, its Elastic IP and the route through it are declared now.
    assert!(written.contains(&format!("import-id: {nat}")), "{written}");
    assert!(written.contains("elastic-ips:"), "{written}");
    assert!(
        written.contains("destination: 192.168.0.0/16, nat-gateway: "),
        "{written}"
    );
    assert!(!run.stderr.contains("a NAT gateway"), "{}", run.stderr);
    for (id, what) in [
        (
            built.pcx.as_str(),
            &format!("the peering with {}", built.networks[1].vpc),
        ),
        (
            n1.rtb.as_str(),
            &format!("the route to 10.2.0.0/16 through {}", built.pcx),
        ),
    ] {
        let line = format!("left out {id}: {what}");
        assert!(run.stderr.contains(&line), "{line}\n{}", run.stderr);
        assert!(written.contains(&format!("#   {id}: {what}")), "{written}");
    }
    assert!(
        run.stderr
            .contains(&format!("add `--vpc {}`", built.networks[1].vpc))
    );
    assert!(!written.contains("peerings:"), "{written}");
    ok(&vpcform(&moto, dir.path(), &["validate"]));
    let plan = plan_json(&moto, dir.path());
    let summary = &plan["summary"];
    assert_eq!(
        (summary["add"].as_u64(), summary["destroy"].as_u64()),
        (Some(0), Some(0)),
        "{plan:#}"
    );
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    assert_eq!(rt.block_on(census(&sdk)), census_before);
    let routes = rt
        .block_on(
            sdk.ec2
                .describe_route_tables()
                .route_table_ids(&n1.rtb)
                .send(),
        )
        .unwrap();
    let targets: Vec<String> = routes.route_tables()[0]
        .routes()
        .iter()
        .filter_map(|r| r.nat_gateway_id().or(r.vpc_peering_connection_id()))
        .map(str::to_string)
        .collect();
    assert!(
        targets.contains(&nat) && targets.contains(&built.pcx),
        "routes vpcform cannot declare stay: {targets:?}"
    );
    let clean = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
}

#[test]
fn an_import_id_that_finds_nothing_is_a_plan_error_and_apply_changes_nothing() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let dir = workdir(
        "stack: handmade\nregion: us-east-1\nvpcs:\n  main: { cidr: 10.1.0.0/16, import-id: vpc-0123456789abcdef0 }\n",
    );
    let before = rt.block_on(census(&sdk));
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
    let all = format!("{}{}", plan.stdout, plan.stderr);
    assert!(
        all.contains("`import-id: vpc-0123456789abcdef0` adopts a VPC that does not exist"),
        "{all}"
    );
    let apply = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{}\n{}", apply.stdout, apply.stderr);
    assert_eq!(rt.block_on(census(&sdk)), before);
}

/// Re-importing a stack's own VPC keeps the names vpcform gave its objects
/// and the tags the topology declared: the written topology plans no change.
#[test]
fn re_importing_a_managed_stack_keeps_its_names_and_tags_and_plans_no_change() {
    let moto = Moto::start();
    let dir = workdir(
        "stack: tagged\nregion: us-east-1\nvpcs:\n  main:\n    cidr: 10.9.0.0/16\n    tags: { team: net, cost: \"42\" }\nsubnets:\n  app:\n    vpc: main\n    cidr: 10.9.1.0/24\n    availability-zone: us-east-1a\n    tags: { Name: app-tier }\n",
    );
    let applied = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    ok(&applied);
    let said = format!("{}{}", applied.stdout, applied.stderr);
    let vpc = said
        .split("[id=")
        .map(|rest| rest.split(']').next().unwrap_or_default())
        .find(|id| id.starts_with("vpc-"))
        .expect("apply names the VPC's id")
        .to_string();
    std::fs::remove_file(dir.path().join("topology.yaml")).unwrap();
    let run = vpcform(
        &moto,
        dir.path(),
        &[
            "import",
            "--vpc",
            &vpc,
            "--stack",
            "tagged",
            "-o",
            "topology.yaml",
        ],
    );
    ok(&run);
    let written = std::fs::read_to_string(dir.path().join("topology.yaml")).unwrap();
    for line in [
        "  main:\n",
        "tags: { cost: \"42\", team: net }",
        "  app:\n",
        "tags: { Name: app-tier }",
    ] {
        assert!(written.contains(line), "{line:?} missing:\n{written}");
    }
    let plan = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.starts_with("No changes."), "{}", plan.stdout);
}
