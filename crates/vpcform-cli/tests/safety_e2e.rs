//! A plan is a promise, against a private moto: a security group that an
//! interface vpcform does not manage still uses (a load balancer's, an
//! endpoint's) is never deleted; the plan names the user and refuses, and
//! apply changes nothing.

mod common;

use common::*;
use ec2::types::Filter;

const WITH_GROUP: &str = r#"
stack: guarded
region: us-east-1
vpcs:
  main: { cidr: 10.40.0.0/16 }
subnets:
  app: { vpc: main, cidr: 10.40.1.0/24, availability-zone: us-east-1a }
security-groups:
  web:
    vpc: main
    description: HTTPS from the VPC
    ingress:
      - { protocol: tcp, port: 443, cidr: 10.40.0.0/16, description: HTTPS }
"#;

fn by_tag(key: &str, value: &str) -> Filter {
    Filter::builder()
        .name(format!("tag:{key}"))
        .values(value)
        .build()
}

#[test]
fn a_group_an_unmanaged_interface_uses_is_never_deleted() {
    let moto = Moto::start();
    let dir = workdir(WITH_GROUP);
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());

    // Something else (here: an interface created as a load balancer would) joins the group.
    let (group, eni) = rt.block_on(async {
        let g = sdk
            .ec2
            .describe_security_groups()
            .filters(by_tag("vpcform:address", "security-group.web"))
            .send()
            .await
            .unwrap();
        let group = g.security_groups()[0].group_id().unwrap().to_string();
        let s = sdk
            .ec2
            .describe_subnets()
            .filters(by_tag("vpcform:address", "subnet.app"))
            .send()
            .await
            .unwrap();
        let subnet = s.subnets()[0].subnet_id().unwrap().to_string();
        let eni = sdk
            .ec2
            .create_network_interface()
            .subnet_id(subnet)
            .groups(&group)
            .description("ELB app/web/0123456789abcdef")
            .send()
            .await
            .unwrap();
        let eni = eni
            .network_interface()
            .unwrap()
            .network_interface_id()
            .unwrap()
            .to_string();
        (group, eni)
    });

    // The group removed from the topology: a plan error naming the interface.
    let without = WITH_GROUP
        .split("security-groups:")
        .next()
        .unwrap()
        .to_string();
    std::fs::write(dir.path().join("topology.yaml"), &without).unwrap();
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
    let all = format!("{}{}", plan.stdout, plan.stderr);
    assert!(
        all.contains(&format!("{eni} (ELB app/web/0123456789abcdef)")),
        "{all}"
    );
    assert!(all.contains("which vpcform does not manage"), "{all}");
    let apply = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{}\n{}", apply.stdout, apply.stderr);
    let still = rt.block_on(async {
        sdk.ec2
            .describe_security_groups()
            .group_ids(&group)
            .send()
            .await
            .map(|g| g.security_groups().len())
            .unwrap_or(0)
    });
    assert_eq!(still, 1, "the group is still there");

    // Once the interface is gone, the same plan deletes the group.
    rt.block_on(async {
        sdk.ec2
            .delete_network_interface()
            .network_interface_id(&eni)
            .send()
            .await
            .unwrap();
    });
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    ok(&plan);
    assert!(
        plan.stdout.contains("security-group.web will be destroyed"),
        "{}",
        plan.stdout
    );
}

/// Secrets never printed: a known session token, access key id and secret
/// key, at every verbosity and with `RUST_LOG=trace`, appear nowhere.
#[test]
fn credentials_never_reach_the_output_at_any_verbosity() {
    const KEY_ID: &str = "AKIAVPCFORMKNOWN0001";
    const SECRET: &str = "vpcformKnownSecretKey0123456789abcdefghij";
    const TOKEN: &str = "FwoGZXIvYXdzVPCFORMKNOWNSESSIONTOKEN0123456789";
    let moto = Moto::start();
    let dir = workdir(WITH_GROUP);
    for (verbosity, rust_log) in [("-v", None), ("-vv", None), ("-vv", Some("trace"))] {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_vpcform"));
        command
            .args(["plan", verbosity])
            .current_dir(dir.path())
            .envs(moto.env())
            .env("AWS_ACCESS_KEY_ID", KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_SESSION_TOKEN", TOKEN)
            .env_remove("AWS_PROFILE")
            .env("NO_COLOR", "1");
        match rust_log {
            Some(level) => command.env("RUST_LOG", level),
            None => command.env_remove("RUST_LOG"),
        };
        let output = command.output().unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(output.status.code(), Some(0), "{all}");
        assert!(
            all.len() > 1000,
            "{verbosity} {rust_log:?} logged little: {all}"
        );
        for secret in [KEY_ID, SECRET, TOKEN, &TOKEN[..20]] {
            assert!(
                !all.contains(secret),
                "{secret} printed with {verbosity} {rust_log:?}"
            );
        }
    }
}
