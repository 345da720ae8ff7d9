//! `vpcform plan` end to end: the real binary, the real SDK code paths, a
//! private moto server per test. Objects made "out of band" are created here
//! with raw SDK calls, as a console user or another tool would.

mod common;

use common::*;
use ec2::types::{AttributeBooleanValue, IpPermission, IpRange, ResourceType};

const SMALL: &str = r#"
stack: e2e
region: us-east-1
vpcs:
  main: { cidr: 10.9.0.0/16, tags: { Name: main } }
subnets:
  public: { vpc: main, cidr: 10.9.1.0/24, availability-zone: us-east-1a }
security-groups:
  ping:
    vpc: main
    description: ping and ssh
    ingress:
      - { protocol: tcp, port: 22, cidr: 0.0.0.0/0 }
      - { protocol: icmp, cidr: 0.0.0.0/0 }
log-groups:
  logs: { name: e2e-logs, retention-days: 7 }
iam-roles:
  role: { name: e2e-role, trusted-services: [vpc-flow-logs.amazonaws.com] }
"#;

/// Creates SMALL's objects out of band, with the stack's tags, in AWS's own shapes:
/// the trust policy reordered with list forms, the ICMP rule as protocol "1".
async fn create_small_out_of_band(sdk: &Sdk) {
    let vpc = sdk
        .ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .tag_specifications(tag_spec(ResourceType::Vpc, "e2e", "vpc.main", Some("main")))
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    sdk.ec2
        .modify_vpc_attribute()
        .vpc_id(&vpc_id)
        .enable_dns_support(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    sdk.ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.9.1.0/24")
        .availability_zone("us-east-1a")
        .tag_specifications(tag_spec(ResourceType::Subnet, "e2e", "subnet.public", None))
        .send()
        .await
        .unwrap();
    let sg = sdk
        .ec2
        .create_security_group()
        .group_name("ping")
        .description("ping and ssh")
        .vpc_id(&vpc_id)
        .tag_specifications(tag_spec(
            ResourceType::SecurityGroup,
            "e2e",
            "security-group.ping",
            None,
        ))
        .send()
        .await
        .unwrap();
    let anywhere = IpRange::builder().cidr_ip("0.0.0.0/0").build();
    sdk.ec2
        .authorize_security_group_ingress()
        .group_id(sg.group_id().unwrap())
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(anywhere.clone())
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("1")
                .from_port(-1)
                .to_port(-1)
                .ip_ranges(anywhere)
                .build(),
        )
        .send()
        .await
        .unwrap();
    sdk.logs
        .create_log_group()
        .log_group_name("e2e-logs")
        .tags("vpcform:stack", "e2e")
        .tags("vpcform:address", "log-group.logs")
        .send()
        .await
        .unwrap();
    sdk.logs
        .put_retention_policy()
        .log_group_name("e2e-logs")
        .retention_in_days(7)
        .send()
        .await
        .unwrap();
    let trust = r#"{"Statement":[{"Action":["sts:AssumeRole"],"Principal":{"Service":["vpc-flow-logs.amazonaws.com"]},"Effect":"Allow"}],"Version":"2012-10-17"}"#;
    sdk.iam
        .create_role()
        .role_name("e2e-role")
        .assume_role_policy_document(trust)
        .tags(
            iam::types::Tag::builder()
                .key("vpcform:stack")
                .value("e2e")
                .build()
                .unwrap(),
        )
        .tags(
            iam::types::Tag::builder()
                .key("vpcform:address")
                .value("iam-role.role")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

#[test]
fn seed_plan_on_an_empty_account_lists_every_create_and_changes_nothing() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let before = rt.block_on(census(&sdk));
    let dir = root();

    let text = vpcform(&moto, &dir, &["plan", "--detailed-exitcode", "--stats"]);
    assert_eq!(text.code, 2, "{}", text.stderr);
    assert!(
        text.stdout
            .contains("Plan: 31 to add, 0 to change, 0 to destroy.\n")
            && text
                .stdout
                .contains("\nConnectivity:\n  expectations: 4 held, 0 broken\n")
            && text
                .stdout
                .contains("Policy checks: 6 introduced, 0 resolved, 0 unchanged (6 waived):\n"),
        "{}",
        text.stdout
    );
    for address in [
        "vpc.network-1",
        "vpc.network-2",
        "subnet.network-1-public",
        "internet-gateway.network-2-igw",
        "internet-gateway-attachment.network-1-igw",
        "route-table.network-1-rt",
        "route.network-1-rt[10.2.0.0/16]",
        "route.network-2-rt[0.0.0.0/0]",
        "route-table-association.network-2-rt[network-2-public]",
        "security-group.instance-1-sg",
        "security-group-rule.instance-2-sg[ingress/icmp/-1..-1/0.0.0.0/0]",
        "instance.instance-1",
        "log-group.flow-logs",
        "iam-policy.flow-log-policy",
        "iam-role.flow-log-role",
        "iam-role-policy-attachment.flow-log-role[flow-log-policy]",
        "flow-log.network-2-flow-log",
        "vpc-peering.vpc1-vpc2",
    ] {
        assert!(
            text.stdout
                .contains(&format!("# {address} will be created")),
            "{address} missing"
        );
    }
    let calls: u64 = text
        .stderr
        .split("AWS API calls: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // One call per kind (20, the log groups' two), the monitoring kinds'
    // (8: the topics' tag listing and ListTopics, filters, alarms' tag
    // listing, rules' tag listing and DescribeInsightRules, dashboards, saved
    // queries), the SSM lookup, and the network read for connectivity, which
    // stops at an account with no VPC of the stack.
    assert!(
        calls <= 31,
        "an empty account takes one call per kind, not {calls}"
    );

    let json = vpcform(
        &moto,
        &dir,
        &["plan", "--format", "json", "--detailed-exitcode"],
    );
    assert_eq!(json.code, 2);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["format_version"], "1.4");
    assert_eq!(doc["summary"]["add"], 31);
    let changes = doc["resource_changes"].as_array().unwrap();
    assert_eq!(changes.len(), 31);
    assert!(
        changes
            .iter()
            .all(|c| c["actions"] == serde_json::json!(["create"]))
    );
    let subnet = changes
        .iter()
        .find(|c| c["address"] == "subnet.network-1-public")
        .unwrap();
    assert_eq!(subnet["after_unknown"]["vpc_id"]["from"], "vpc.network-1");
    assert_eq!(subnet["after"]["cidr_block"], "10.1.0.0/24");

    let md = vpcform(&moto, &dir, &["plan", "--format", "markdown"]);
    assert_eq!(md.code, 0);
    assert!(md.stdout.starts_with("<!-- vpcform-plan stack=vpc-monitoring changes=31 destroys=0 broadening=7 errors=0 -->\n### vpcform plan: stack `vpc-monitoring`\n\n**Plan: 31 to add, 0 to change, 0 to destroy.**"), "{}", md.stdout);
    assert_eq!(md.stdout.matches("<details>").count(), 31);
    assert!(!md.stdout.contains("[!WARNING]"), "nothing is destroyed");

    assert_eq!(
        rt.block_on(census(&sdk)),
        before,
        "plan must not change the account"
    );
}

#[test]
fn out_of_band_objects_in_aws_shapes_plan_as_no_op() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    rt.block_on(create_small_out_of_band(&sdk));
    let dir = workdir(SMALL);
    let run = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .starts_with("No changes. The account matches the topology of stack `e2e`.\n\nPolicy checks: 0 introduced, 0 resolved, "),
        "{}",
        run.stdout
    );
}

#[test]
fn out_of_band_changes_show_as_updates_and_extra_rules_as_deletes() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    rt.block_on(create_small_out_of_band(&sdk));
    rt.block_on(async {
        sdk.logs
            .put_retention_policy()
            .log_group_name("e2e-logs")
            .retention_in_days(14)
            .send()
            .await
            .unwrap();
        let groups = sdk
            .ec2
            .describe_security_groups()
            .filters(
                ec2::types::Filter::builder()
                    .name("group-name")
                    .values("ping")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let group = groups.security_groups()[0].group_id().unwrap().to_string();
        sdk.ec2
            .authorize_security_group_ingress()
            .group_id(group)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(3389)
                    .to_port(3389)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    let dir = workdir(SMALL);
    let run = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("# log-group.logs will be updated in-place"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("retention_in_days = 14 -> 7"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "# security-group-rule.ping[ingress/tcp/3389..3389/0.0.0.0/0] will be destroyed"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Plan: 0 to add, 1 to change, 1 to destroy.\n"),
        "{}",
        run.stdout
    );
    // The RDP rule added by hand was a finding; the plan resolves it.
    assert!(
        run.stdout.contains(
            "- resolved CKV_AWS_25 security-group-rule.ping[ingress/tcp/3389..3389/0.0.0.0/0]"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn drift_is_named_when_the_declaration_did_not_change() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    rt.block_on(create_small_out_of_band(&sdk));
    let dir = workdir(SMALL);
    // Record the declaration hashes as apply does, from a saved plan.
    let saved = vpcform(&moto, dir.path(), &["plan", "--out", "plan.json"]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("plan.json")).unwrap()).unwrap();
    let hash_of = |address: &str| -> String {
        plan["plan"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == address)
            .unwrap()["config_hash"]
            .as_str()
            .unwrap()
            .to_string()
    };
    rt.block_on(async {
        let arn = sdk
            .logs
            .describe_log_groups()
            .log_group_name_prefix("e2e-logs")
            .send()
            .await
            .unwrap()
            .log_groups()[0]
            .arn()
            .unwrap()
            .trim_end_matches(":*")
            .to_string();
        sdk.logs
            .tag_resource()
            .resource_arn(arn)
            .tags("vpcform:config", hash_of("log-group.logs"))
            .send()
            .await
            .unwrap();
        sdk.logs
            .put_retention_policy()
            .log_group_name("e2e-logs")
            .retention_in_days(14)
            .send()
            .await
            .unwrap();
    });
    let run = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("# (retention_in_days 7 → 14, changed outside vpcform)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("1 of these revert changes made outside vpcform.")
    );
    let md = vpcform(&moto, dir.path(), &["plan", "--format", "markdown"]);
    assert!(md.stdout.contains("#### Changed outside vpcform (1)\n\n- `log-group.logs`: `retention_in_days 7 → 14, changed outside vpcform`"), "{}", md.stdout);
}

#[test]
fn unowned_look_alikes_are_left_alone() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    rt.block_on(async {
        // Same Name tag, no stack tag; and a VPC of another stack.
        let t = |k: &str, v: &str| ec2::types::Tag::builder().key(k).value(v).build();
        sdk.ec2
            .create_vpc()
            .cidr_block("10.9.0.0/16")
            .tag_specifications(
                ec2::types::TagSpecification::builder()
                    .resource_type(ResourceType::Vpc)
                    .tags(t("Name", "main"))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        sdk.ec2
            .create_vpc()
            .cidr_block("10.8.0.0/16")
            .tag_specifications(tag_spec(
                ResourceType::Vpc,
                "other-stack",
                "vpc.main",
                Some("main"),
            ))
            .send()
            .await
            .unwrap();
    });
    let dir = workdir(SMALL);
    let run = vpcform(&moto, dir.path(), &["plan", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let changes = doc["resource_changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .all(|c| c["actions"] == serde_json::json!(["create"])),
        "{changes:#?}"
    );
    assert_eq!(doc["summary"]["destroy"], 0);
}

#[test]
fn an_unowned_role_with_a_declared_name_is_a_conflict() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    rt.block_on(async {
        sdk.iam
            .create_role()
            .role_name("e2e-role")
            .assume_role_policy_document("{}")
            .send()
            .await
            .unwrap();
    });
    let dir = workdir(SMALL);
    let run = vpcform(&moto, dir.path(), &["plan"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("error: iam-role.role: an IAM role named `e2e-role` exists but is not owned by stack `e2e`"), "{}", run.stdout);
}

#[test]
fn unreachable_endpoint_and_missing_region_are_one_paragraph_errors() {
    let moto = Moto::start();
    let dir = workdir(&SMALL.replace("region: us-east-1\n", ""));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vpcform"));
    cmd.args(["plan", "--endpoint-url", "http://127.0.0.1:9"])
        .current_dir(dir.path())
        .envs(moto.env())
        .env("NO_COLOR", "1");
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("cannot reach the AWS endpoint http://127.0.0.1:9"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked") && !stderr.contains("stack backtrace"));

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vpcform"))
        .arg("plan")
        .current_dir(dir.path())
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "y")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("no AWS region is set"), "{stderr}");
}
