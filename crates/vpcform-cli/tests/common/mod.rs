//! Shared helpers of the end-to-end tests: run `vpcform` against a private moto.

#![allow(dead_code, unused_imports, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use vpcform_aws::fault_proxy::{FaultProxy, Faults};
pub use vpcform_aws::testkit::{Moto, Sdk, cloudwatch, ec2, iam, logs, tag_spec};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Asserts that a run succeeded, showing its output otherwise.
pub fn ok(run: &Run) {
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

/// Runs `vpcform ARGS` in `dir` against `moto`.
pub fn vpcform(moto: &Moto, dir: &Path, args: &[&str]) -> Run {
    vpcform_via(moto, &moto.endpoint, dir, args)
}

/// A temporary directory holding `topology.yaml` with `text`.
pub fn workdir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("topology.yaml"), text).unwrap();
    dir
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Counts of what the account holds (all of it), to show a command changed nothing.
pub async fn census(sdk: &Sdk) -> Vec<(String, usize)> {
    counts(sdk, None)
        .await
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect()
}

/// Runs `vpcform ARGS` in `dir` against an explicit endpoint (a proxy in front of moto).
pub fn vpcform_via(moto: &Moto, endpoint: &str, dir: &Path, args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_vpcform"))
        .args(args)
        .current_dir(dir)
        .envs(moto.env())
        .env("AWS_ENDPOINT_URL", endpoint)
        .env_remove("AWS_PROFILE")
        .env("NO_COLOR", "1")
        .output()
        .expect("run vpcform");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// How many objects of each EC2 kind, IAM and Logs the stack owns (live ones only).
pub async fn owned_counts(sdk: &Sdk, stack: &str) -> Vec<(&'static str, usize)> {
    counts(sdk, Some(stack)).await
}

/// Live objects per kind; EC2 kinds filtered by the stack tag when given.
/// Terminated instances, deleted peerings and the shared lock group are left out.
async fn counts(sdk: &Sdk, stack: Option<&str>) -> Vec<(&'static str, usize)> {
    use ec2::types::Filter;
    let f = || {
        stack.map(|s| {
            vec![
                Filter::builder()
                    .name("tag:vpcform:stack")
                    .values(s)
                    .build(),
            ]
        })
    };
    let running = Filter::builder()
        .name("instance-state-name")
        .values("pending")
        .values("running")
        .build();
    let ec2 = &sdk.ec2;
    let vpcs = ec2
        .describe_vpcs()
        .set_filters(f())
        .send()
        .await
        .unwrap()
        .vpcs()
        .len();
    let subnets = ec2
        .describe_subnets()
        .set_filters(f())
        .send()
        .await
        .unwrap()
        .subnets()
        .len();
    let groups = ec2
        .describe_security_groups()
        .set_filters(f())
        .send()
        .await
        .unwrap()
        .security_groups()
        .len();
    let tables = ec2
        .describe_route_tables()
        .set_filters(f())
        .send()
        .await
        .unwrap()
        .route_tables()
        .len();
    let igws = ec2
        .describe_internet_gateways()
        .set_filters(f())
        .send()
        .await
        .unwrap()
        .internet_gateways()
        .len();
    let instance_filters: Vec<Filter> = f().into_iter().flatten().chain([running]).collect();
    let instances: usize = ec2
        .describe_instances()
        .set_filters(Some(instance_filters))
        .send()
        .await
        .unwrap()
        .reservations()
        .iter()
        .map(|r| r.instances().len())
        .sum();
    let peerings = ec2
        .describe_vpc_peering_connections()
        .set_filters(f())
        .send()
        .await
        .unwrap()
        .vpc_peering_connections()
        .iter()
        .filter(|p| {
            p.status()
                .and_then(|s| s.code())
                .is_none_or(|c| c.as_str() != "deleted")
        })
        .count();
    let flow_logs = ec2
        .describe_flow_logs()
        .set_filter(f())
        .send()
        .await
        .unwrap()
        .flow_logs()
        .len();
    // Default ACLs are AWS's (moto keeps them after their VPC is deleted).
    let acls = ec2
        .describe_network_acls()
        .set_filters(f())
        .send()
        .await
        .unwrap()
        .network_acls()
        .iter()
        .filter(|a| a.is_default() != Some(true))
        .count();
    let roles = sdk.iam.list_roles().send().await.unwrap().roles().len();
    let policies = sdk
        .iam
        .list_policies()
        .scope(iam::types::PolicyScopeType::Local)
        .send()
        .await
        .unwrap()
        .policies()
        .len();
    let log_groups = sdk
        .logs
        .describe_log_groups()
        .send()
        .await
        .unwrap()
        .log_groups()
        .iter()
        .filter(|g| g.log_group_name() != Some("/vpcform/locks"))
        .count();
    vec![
        ("vpcs", vpcs),
        ("subnets", subnets),
        ("security groups", groups),
        ("route tables", tables),
        ("internet gateways", igws),
        ("instances", instances),
        ("peerings", peerings),
        ("flow logs", flow_logs),
        ("network acls", acls),
        ("roles", roles),
        ("policies", policies),
        ("log groups", log_groups),
    ]
}

/// What the seed topology owns once applied.
pub const SEED_COUNTS: [(&str, usize); 12] = [
    ("vpcs", 2),
    ("subnets", 2),
    ("security groups", 2),
    ("route tables", 2),
    ("internet gateways", 2),
    ("instances", 2),
    ("peerings", 1),
    ("flow logs", 2),
    ("network acls", 0),
    ("roles", 1),
    ("policies", 1),
    ("log groups", 1),
];

/// Adds a tag to an EC2 object out of band, as a console user or a tag policy would.
pub async fn add_ec2_tag(sdk: &Sdk, id: &str, key: &str, value: &str) {
    sdk.ec2
        .create_tags()
        .resources(id)
        .tags(ec2::types::Tag::builder().key(key).value(value).build())
        .send()
        .await
        .unwrap();
}

/// The EC2 filter for objects tagged `key=value`.
pub fn by_tag(key: &str, value: &str) -> ec2::types::Filter {
    ec2::types::Filter::builder()
        .name(format!("tag:{key}"))
        .values(value)
        .build()
}

/// What AWS gives the default network ACL of a VPC with IPv6 and moto
/// 5.2.5 does not: rule 101 allowing all IPv6 traffic in and out ("Default
/// network ACL", Amazon VPC User Guide). Written into moto so that the
/// account looks as AWS's would.
pub async fn add_default_ipv6_acl_entries(sdk: &Sdk) {
    let default = ec2::types::Filter::builder()
        .name("default")
        .values("true")
        .build();
    let acls = sdk
        .ec2
        .describe_network_acls()
        .filters(default)
        .send()
        .await
        .unwrap();
    // moto keeps the default ACLs of deleted VPCs: only those of live VPCs count.
    let vpcs = sdk.ec2.describe_vpcs().send().await.unwrap();
    let ipv6: Vec<&str> = vpcs
        .vpcs()
        .iter()
        .filter(|v| !v.ipv6_cidr_block_association_set().is_empty())
        .filter_map(|v| v.vpc_id())
        .collect();
    for acl in acls.network_acls() {
        let has = acl.entries().iter().any(|e| e.rule_number() == Some(101));
        if !acl.vpc_id().is_some_and(|v| ipv6.contains(&v)) || has {
            continue;
        }
        for egress in [false, true] {
            sdk.ec2
                .create_network_acl_entry()
                .network_acl_id(acl.network_acl_id().unwrap())
                .rule_number(101)
                .egress(egress)
                .protocol("-1")
                .rule_action(ec2::types::RuleAction::Allow)
                .ipv6_cidr_block("::/0")
                .send()
                .await
                .unwrap();
        }
    }
}
