//! One source, two networks: examples/environments.yaml applied as `dev`
//! (us-east-1) and `prod` (us-west-2) against one moto, each its own stack
//! in its own region with its own values; `plan --all-envs` reviews both in
//! one comment; a saved plan keeps its environment; destroying one leaves
//! the other. Every fact is read back from AWS through the SDK.

mod common;

use common::*;

/// The stack's VPC blocks, instance types, and its log group's retention in `region`.
async fn network(
    moto: &Moto,
    region: &str,
    stack: &str,
) -> (Vec<String>, Vec<String>, Option<i32>) {
    let sdk = moto.sdk_in(region).await;
    let vpcs = sdk
        .ec2
        .describe_vpcs()
        .filters(by_tag("vpcform:stack", stack))
        .send()
        .await
        .unwrap();
    let mut cidrs: Vec<String> = vpcs
        .vpcs()
        .iter()
        .filter_map(|v| v.cidr_block().map(String::from))
        .collect();
    cidrs.sort();
    let found = sdk
        .ec2
        .describe_instances()
        .filters(by_tag("vpcform:stack", stack))
        .send()
        .await
        .unwrap();
    let mut types: Vec<String> = found
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| i.state().and_then(|s| s.name()).map(|n| n.as_str()) == Some("running"))
        .filter_map(|i| i.instance_type().map(|t| t.as_str().to_string()))
        .collect();
    types.sort();
    let groups = sdk
        .logs
        .describe_log_groups()
        .log_group_name_prefix("ProjectVPCFlowLogGroups")
        .send()
        .await
        .unwrap();
    let retention = groups
        .log_groups()
        .first()
        .and_then(|g| g.retention_in_days());
    (cidrs, types, retention)
}

/// `plan --all-envs --format markdown --detailed-exitcode`.
fn all_envs(moto: &Moto, dir: &std::path::Path) -> Run {
    vpcform(
        moto,
        dir,
        &[
            "plan",
            "--all-envs",
            "--format",
            "markdown",
            "--detailed-exitcode",
        ],
    )
}

/// Asserts that the comment holds `line`.
fn says(run: &Run, line: &str) {
    assert!(run.stdout.contains(line), "{line}\n{}", run.stdout);
}

fn example() -> String {
    std::fs::read_to_string(root().join("examples/environments.yaml")).unwrap()
}

#[test]
fn dev_and_prod_from_one_file_are_two_stacks_in_two_regions() {
    let moto = Moto::start();
    let dir = workdir(&example());
    let rt = runtime();

    let validate = vpcform(&moto, dir.path(), &["validate"]);
    ok(&validate);
    assert!(
        validate.stderr.contains("== environment dev")
            && validate.stderr.contains("== environment prod"),
        "{}",
        validate.stderr
    );
    // The JSON for CI covers every environment in one document.
    let json = vpcform(&moto, dir.path(), &["validate", "--format", "json"]);
    ok(&json);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["environments"], serde_json::json!(["dev", "prod"]));
    assert_eq!(
        (doc["valid"].as_bool(), doc["errors"].as_u64()),
        (Some(true), Some(0))
    );
    let envs: std::collections::BTreeSet<&str> = doc["policy_findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["environment"].as_str())
        .collect();
    assert_eq!(envs.into_iter().collect::<Vec<_>>(), ["dev", "prod"]);
    // A command that touches an account must be told which one.
    let unsure = vpcform(&moto, dir.path(), &["plan"]);
    assert_eq!(unsure.code, 1, "{}", unsure.stderr);
    assert!(
        unsure.stderr.contains("environment-required") && unsure.stderr.contains("--env NAME"),
        "{}",
        unsure.stderr
    );

    ok(&vpcform(
        &moto,
        dir.path(),
        &["apply", "--env", "dev", "--auto-approve"],
    ));
    ok(&vpcform(
        &moto,
        dir.path(),
        &["apply", "--env", "prod", "--auto-approve"],
    ));
    let t3 = |n: &str| vec![n.to_string(), n.to_string()];
    assert_eq!(
        rt.block_on(network(&moto, "us-east-1", "vpc-monitoring-dev")),
        (
            vec!["10.1.0.0/16".into(), "10.2.0.0/16".into()],
            t3("t3.micro"),
            Some(7)
        )
    );
    assert_eq!(
        rt.block_on(network(&moto, "us-west-2", "vpc-monitoring-prod")),
        (
            vec!["10.101.0.0/16".into(), "10.102.0.0/16".into()],
            t3("t3.small"),
            Some(30)
        )
    );
    // Neither stack leaks into the other's region.
    assert_eq!(
        rt.block_on(network(&moto, "us-east-1", "vpc-monitoring-prod"))
            .0,
        Vec::<String>::new()
    );
    assert_eq!(
        rt.block_on(network(&moto, "us-west-2", "vpc-monitoring-dev"))
            .0,
        Vec::<String>::new()
    );
    // An instance's ownership tag, bracket-free (IAM and Logs refuse brackets in tag values).
    rt.block_on(async {
        let sdk = moto.sdk_in("us-west-2").await;
        let groups = sdk
            .ec2
            .describe_security_groups()
            .filters(by_tag("vpcform:address", "security-group.instance-sg/1"))
            .send()
            .await
            .unwrap();
        assert_eq!(groups.security_groups().len(), 1);
        let role = sdk
            .iam
            .get_role()
            .role_name("ProjectVPCFlowLogRole-prod")
            .send()
            .await
            .unwrap();
        assert!(role.role().is_some());
    });

    // One comment reviews both: clean.
    let all = all_envs(&moto, dir.path());
    assert_eq!(all.code, 0, "{}\n{}", all.stdout, all.stderr);
    assert!(
        all.stdout.starts_with(
            "<!-- vpcform-plan envs=dev,prod changes=0 destroys=0 broadening=0 errors=0 -->"
        ),
        "{}",
        all.stdout
    );
    says(&all, "- `dev` (stack `vpc-monitoring-dev`): no changes");
    says(&all, "- `prod` (stack `vpc-monitoring-prod`): no changes");
    assert_eq!(
        all.stdout.matches("<!-- vpcform-plan").count(),
        1,
        "one marker: {}",
        all.stdout
    );

    // Prod keeps its logs longer: only prod changes, and the summary says so.
    let longer = example().replace("retention-days: 30", "retention-days: 90");
    std::fs::write(dir.path().join("topology.yaml"), &longer).unwrap();
    let all = all_envs(&moto, dir.path());
    assert_eq!(all.code, 2, "{}\n{}", all.stdout, all.stderr);
    says(&all, "- `dev` (stack `vpc-monitoring-dev`): no changes");
    assert!(
        all.stdout.contains(
            "- `prod` (stack `vpc-monitoring-prod`): 0 to add, 1 to change, 0 to destroy"
        ),
        "{}",
        all.stdout
    );

    // A saved plan remembers its environment; edited to another, it is refused.
    ok(&vpcform(
        &moto,
        dir.path(),
        &["plan", "--env", "prod", "--out", "prod.json"],
    ));
    let saved = std::fs::read_to_string(dir.path().join("prod.json")).unwrap();
    let forged = saved.replace("\"env\": \"prod\"", "\"env\": \"dev\"");
    assert_ne!(saved, forged);
    std::fs::write(dir.path().join("forged.json"), forged).unwrap();
    let refused = vpcform(&moto, dir.path(), &["apply", "forged.json"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("stale"), "{}", refused.stderr);
    ok(&vpcform(&moto, dir.path(), &["apply", "prod.json"]));
    assert_eq!(
        rt.block_on(network(&moto, "us-west-2", "vpc-monitoring-prod"))
            .2,
        Some(90)
    );
    assert_eq!(
        rt.block_on(network(&moto, "us-east-1", "vpc-monitoring-dev"))
            .2,
        Some(7)
    );

    // Destroying dev leaves prod.
    ok(&vpcform(
        &moto,
        dir.path(),
        &["destroy", "--env", "dev", "--auto-approve"],
    ));
    assert_eq!(
        rt.block_on(network(&moto, "us-east-1", "vpc-monitoring-dev"))
            .0,
        Vec::<String>::new()
    );
    assert_eq!(
        rt.block_on(network(&moto, "us-west-2", "vpc-monitoring-prod"))
            .0
            .len(),
        2
    );
    let prod = vpcform(
        &moto,
        dir.path(),
        &["plan", "--env", "prod", "--detailed-exitcode"],
    );
    assert_eq!(prod.code, 0, "{}\n{}", prod.stdout, prod.stderr);
}
