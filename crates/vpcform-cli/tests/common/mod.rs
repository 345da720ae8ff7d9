//! Shared helpers of the end-to-end tests: run `vpcform` against a private moto.

#![allow(dead_code, unused_imports, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use vpcform_aws::testkit::{Moto, Sdk, ec2, iam, logs, tag_spec};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `vpcform ARGS` in `dir` against `moto`.
pub fn vpcform(moto: &Moto, dir: &Path, args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_vpcform"))
        .args(args)
        .current_dir(dir)
        .envs(moto.env())
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

/// Counts of what the account holds, to show a command changed nothing.
pub async fn census(sdk: &Sdk) -> Vec<(String, usize)> {
    let vpcs = sdk.ec2.describe_vpcs().send().await.unwrap().vpcs().len();
    let subnets = sdk
        .ec2
        .describe_subnets()
        .send()
        .await
        .unwrap()
        .subnets()
        .len();
    let groups = sdk
        .ec2
        .describe_security_groups()
        .send()
        .await
        .unwrap()
        .security_groups()
        .len();
    let tables = sdk
        .ec2
        .describe_route_tables()
        .send()
        .await
        .unwrap()
        .route_tables()
        .len();
    let igws = sdk
        .ec2
        .describe_internet_gateways()
        .send()
        .await
        .unwrap()
        .internet_gateways()
        .len();
    let instances: usize = sdk
        .ec2
        .describe_instances()
        .send()
        .await
        .unwrap()
        .reservations()
        .iter()
        .map(|r| r.instances().len())
        .sum();
    // Deleted peerings stay visible for a while, as on AWS.
    let peerings = sdk
        .ec2
        .describe_vpc_peering_connections()
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
    let flow_logs = sdk
        .ec2
        .describe_flow_logs()
        .send()
        .await
        .unwrap()
        .flow_logs()
        .len();
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
        .len();
    vec![
        ("vpcs".into(), vpcs),
        ("subnets".into(), subnets),
        ("security groups".into(), groups),
        ("route tables".into(), tables),
        ("internet gateways".into(), igws),
        ("instances".into(), instances),
        ("peerings".into(), peerings),
        ("flow logs".into(), flow_logs),
        ("roles".into(), roles),
        ("policies".into(), policies),
        ("log groups".into(), log_groups),
    ]
}
