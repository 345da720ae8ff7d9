//! Adoption end to end against a private moto: the seed's network built with
//! the SDK the way the console builds it (Name tags, no vpcform tags), a
//! topology that adopts every object by `import-id`, a plan of adoptions
//! only, apply, every AWS id unchanged and now owned, a clean plan, then an
//! edit that converges. Destroy never touches an object not yet adopted.

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

fn ok(run: &Run) {
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

/// The ids of what the console built.
#[derive(Debug, Clone, PartialEq)]
struct Built {
    vpc1: String,
    vpc2: String,
    subnet: String,
    igw: String,
    rtb: String,
    sg: String,
    instance: String,
    pcx: String,
    flow_log: String,
    policy_arn: String,
}

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"vpc-flow-logs.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents","logs:DescribeLogGroups","logs:DescribeLogStreams"],"Resource":"*"}]}"#;

/// Network-1 of the seed with its peer and flow log, clicked together.
async fn build_by_hand(sdk: &Sdk) -> Built {
    let ec2 = &sdk.ec2;
    let vpc = |cidr: &'static str, name: &'static str| async move {
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
    };
    let vpc1 = vpc("10.1.0.0/16", "Network-1-vpc").await;
    let vpc2 = vpc("10.2.0.0/16", "Network-2-vpc").await;
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc1)
        .cidr_block("10.1.0.0/24")
        .availability_zone("us-east-1a")
        .tag_specifications(named(ResourceType::Subnet, "Network-1-public-subnet"))
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
        .tag_specifications(named(ResourceType::InternetGateway, "Network-1-igw"))
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
        .vpc_id(&vpc1)
        .send()
        .await
        .unwrap();
    let pcx = ec2
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
    ec2.accept_vpc_peering_connection()
        .vpc_peering_connection_id(&pcx)
        .send()
        .await
        .unwrap();
    let rtb = ec2
        .create_route_table()
        .vpc_id(&vpc1)
        .tag_specifications(named(ResourceType::RouteTable, "Network-1-rt"))
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
    ec2.create_route()
        .route_table_id(&rtb)
        .destination_cidr_block("10.2.0.0/16")
        .vpc_peering_connection_id(&pcx)
        .send()
        .await
        .unwrap();
    ec2.associate_route_table()
        .route_table_id(&rtb)
        .subnet_id(&subnet)
        .send()
        .await
        .unwrap();
    let sg = ec2
        .create_security_group()
        .vpc_id(&vpc1)
        .group_name("instance-1-sg")
        .description("SSH and ICMP for connectivity tests")
        .tag_specifications(named(ResourceType::SecurityGroup, "instance-1-sg"))
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    let anywhere = || IpRange::builder().cidr_ip("0.0.0.0/0").build();
    ec2.authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(anywhere())
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("icmp")
                .from_port(-1)
                .to_port(-1)
                .ip_ranges(anywhere())
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
        .tag_specifications(named(ResourceType::Instance, "instance-1-vpc"))
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    let (flow_log, policy_arn) = flow_log_by_hand(sdk, &vpc1).await;
    Built {
        vpc1,
        vpc2,
        subnet,
        igw,
        rtb,
        sg,
        instance,
        pcx,
        flow_log,
        policy_arn,
    }
}

/// The flow log of a VPC into a log group through a role, clicked together.
async fn flow_log_by_hand(sdk: &Sdk, vpc: &str) -> (String, String) {
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
    let flow_log = sdk
        .ec2
        .create_flow_logs()
        .resource_ids(vpc)
        .resource_type(ec2::types::FlowLogsResourceType::Vpc)
        .traffic_type(ec2::types::TrafficType::All)
        .log_destination_type(ec2::types::LogDestinationType::CloudWatchLogs)
        .log_group_name("ProjectVPCFlowLogGroups")
        .deliver_logs_permission_arn(role_arn)
        .send()
        .await
        .unwrap()
        .flow_log_ids()[0]
        .clone();
    (flow_log, policy_arn)
}

/// The topology `vpcform import` writes for what the console built.
fn adopting(b: &Built, retention: u32) -> String {
    format!(
        r#"
stack: handmade
region: us-east-1
vpcs:
  network-1:
    cidr: 10.1.0.0/16
    enable-dns-hostnames: true
    tags: {{ Name: Network-1-vpc }}
    import-id: {vpc1}
  network-2:
    cidr: 10.2.0.0/16
    tags: {{ Name: Network-2-vpc }}
    import-id: {vpc2}
subnets:
  network-1-public-subnet:
    vpc: network-1
    cidr: 10.1.0.0/24
    availability-zone: us-east-1a
    map-public-ip-on-launch: true
    tags: {{ Name: Network-1-public-subnet }}
    import-id: {subnet}
internet-gateways:
  network-1-igw: {{ vpc: network-1, tags: {{ Name: Network-1-igw }}, import-id: {igw} }}
route-tables:
  network-1-rt:
    vpc: network-1
    subnets: [network-1-public-subnet]
    routes:
      - {{ destination: 0.0.0.0/0, internet-gateway: network-1-igw }}
      - {{ destination: 10.2.0.0/16, peering: vpc1-vpc2 }}
    tags: {{ Name: Network-1-rt }}
    import-id: {rtb}
security-groups:
  instance-1-sg:
    vpc: network-1
    name: instance-1-sg
    description: SSH and ICMP for connectivity tests
    ingress:
      - {{ protocol: tcp, port: 22, cidr: 0.0.0.0/0 }}
      - {{ protocol: icmp, cidr: 0.0.0.0/0 }}
    tags: {{ Name: instance-1-sg }}
    import-id: {sg}
instances:
  instance-1-vpc:
    ami: ami-0123456789abcdef0
    instance-type: t3.micro
    subnet: network-1-public-subnet
    security-groups: [instance-1-sg]
    tags: {{ Name: instance-1-vpc }}
    import-id: {instance}
log-groups:
  project-vpc-flow-log-groups: {{ name: ProjectVPCFlowLogGroups, retention-days: {retention}, import-id: ProjectVPCFlowLogGroups }}
iam-policies:
  vpc-flow-log-policy:
    name: VPCFlowLogPolicy
    path: /
    document: {POLICY}
    import-id: {policy_arn}
iam-roles:
  project-vpc-flow-log-role:
    name: ProjectVPCFlowLogRole
    trusted-services: [vpc-flow-logs.amazonaws.com]
    policies: [vpc-flow-log-policy]
    import-id: ProjectVPCFlowLogRole
flow-logs:
  network-1-flow-log:
    vpc: network-1
    log-group: project-vpc-flow-log-groups
    role: project-vpc-flow-log-role
    traffic-type: ALL
    import-id: {flow_log}
peerings:
  vpc1-vpc2:
    requester: network-1
    accepter: network-2
    tags: {{ Name: "VPC1<>VPC2" }}
    import-id: {pcx}
"#,
        vpc1 = b.vpc1,
        vpc2 = b.vpc2,
        subnet = b.subnet,
        igw = b.igw,
        rtb = b.rtb,
        sg = b.sg,
        instance = b.instance,
        policy_arn = b.policy_arn,
        flow_log = b.flow_log,
        pcx = b.pcx,
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
fn a_network_built_by_hand_is_adopted_without_recreating_anything() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let built = rt.block_on(build_by_hand(&sdk));
    let census_before = rt.block_on(census(&sdk));
    let dir = workdir(&adopting(&built, 7));
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
    assert_eq!(summary["adopt"], 12, "{plan:#}");
    assert_eq!(plan["errors"], serde_json::json!([]));
    let text = vpcform(&moto, dir.path(), &["plan"]);
    assert!(
        text.stdout
            .contains("Plan: 12 to adopt, 0 to add, 0 to change, 0 to destroy."),
        "{}",
        text.stdout
    );
    let markdown = vpcform(&moto, dir.path(), &["plan", "--format", "markdown"]);
    assert!(
        markdown.stdout.contains("adopts 12 existing object(s)"),
        "{}",
        markdown.stdout
    );

    let apply = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    ok(&apply);
    assert_eq!(
        rt.block_on(census(&sdk)),
        census_before,
        "nothing created or destroyed"
    );
    let owned = rt.block_on(owned_ec2_ids(&sdk));
    let mut expected = vec![
        built.vpc1.clone(),
        built.vpc2.clone(),
        built.subnet.clone(),
        built.igw.clone(),
        built.rtb.clone(),
        built.sg.clone(),
        built.instance.clone(),
        built.pcx.clone(),
        built.flow_log.clone(),
    ];
    expected.sort();
    assert_eq!(owned, expected, "the same ids, now owned");
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
    let without_ids: String = adopting(&built, 30)
        .lines()
        .filter(|l| !l.trim_start().starts_with("import-id:"))
        .map(|l| l.replace(", import-id: ProjectVPCFlowLogGroups", ""))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.path().join("topology.yaml"), without_ids).unwrap();
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
