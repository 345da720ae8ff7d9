//! What a reviewer relies on, end to end against a private moto: a plan
//! that passed review is applied as shown. A security group replaced under
//! its own name while instances (and interfaces vpcform does not manage)
//! use it is held by a stand-in, and every interface ends on the new group.

mod common;

use common::*;
use ec2::types::Filter;

/// The seed, in a directory of its own.
fn seed_dir() -> tempfile::TempDir {
    workdir(&std::fs::read_to_string(root().join("topology.yaml")).unwrap())
}

fn edit(dir: &std::path::Path, from: &str, to: &str) {
    let path = dir.join("topology.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// The one VPC of `stack`.
async fn stack_vpc(sdk: &Sdk, stack: &str) -> ec2::types::Vpc {
    let vpcs = sdk
        .ec2
        .describe_vpcs()
        .filters(
            Filter::builder()
                .name("tag:vpcform:stack")
                .values(stack)
                .build(),
        )
        .send()
        .await
        .unwrap();
    vpcs.vpcs()[0].clone()
}

/// The groups of the VPC named `Network-1-vpc`, by name.
async fn groups_of_network_1(sdk: &Sdk) -> Vec<ec2::types::SecurityGroup> {
    let vpcs = sdk
        .ec2
        .describe_vpcs()
        .filters(
            Filter::builder()
                .name("tag:Name")
                .values("Network-1-vpc")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let vpc = vpcs.vpcs()[0].vpc_id().unwrap().to_string();
    sdk.ec2
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .send()
        .await
        .unwrap()
        .security_groups()
        .to_vec()
}

#[test]
fn a_group_replaced_under_its_own_name_applies_through_a_stand_in() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let dir = seed_dir();
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let old = rt
        .block_on(groups_of_network_1(&sdk))
        .into_iter()
        .find(|g| g.group_name() == Some("instance-1-sg"))
        .unwrap();
    let old_id = old.group_id().unwrap().to_string();
    // An interface vpcform does not manage uses the group too.
    let subnet = rt
        .block_on(
            sdk.ec2
                .describe_subnets()
                .filters(
                    Filter::builder()
                        .name("tag:Name")
                        .values("Network-1-public-subnet")
                        .build(),
                )
                .send(),
        )
        .unwrap()
        .subnets()[0]
        .subnet_id()
        .unwrap()
        .to_string();
    let foreign = rt
        .block_on(
            sdk.ec2
                .create_network_interface()
                .subnet_id(&subnet)
                .groups(&old_id)
                .send(),
        )
        .unwrap()
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_string();

    edit(
        dir.path(),
        "description: SSH and ICMP for connectivity tests",
        "description: SSH and ICMP only",
    );
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    ok(&plan);
    assert!(
        plan.stdout
            .contains("# security-group.instance-1-sg must be replaced")
            && plan
                .stdout
                .contains("held meanwhile by a temporary copy of it, a stand-in"),
        "{}",
        plan.stdout
    );
    let apply = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    ok(&apply);
    let progress = apply.stderr.clone();
    let at = |line: &str| {
        progress
            .find(line)
            .unwrap_or_else(|| panic!("`{line}` missing:\n{progress}"))
    };
    let held = at("security-group.instance-1-sg: Stand-in holds its users");
    let old_gone = at("security-group.instance-1-sg: Destruction complete");
    let rules =
        at("security-group-rule.instance-1-sg[ingress/tcp/22..22/0.0.0.0/0]: Creation complete");
    let moved = at("instance.instance-1: Modifying");
    let released = at("security-group.instance-1-sg: Stand-in removed");
    assert!(
        held < old_gone && rules < moved && moved < released,
        "{progress}"
    );

    let groups = rt.block_on(groups_of_network_1(&sdk));
    let new = groups
        .iter()
        .find(|g| g.group_name() == Some("instance-1-sg"))
        .unwrap();
    let new_id = new.group_id().unwrap();
    assert_ne!(new_id, old_id);
    assert_eq!(new.description(), Some("SSH and ICMP only"));
    assert_eq!(new.ip_permissions().len(), 2, "{new:?}");
    assert!(
        groups
            .iter()
            .all(|g| !g.group_name().unwrap_or_default().contains("stand-in")),
        "the stand-in is gone: {groups:?}"
    );
    let interfaces = rt
        .block_on(
            sdk.ec2
                .describe_network_interfaces()
                .filters(Filter::builder().name("subnet-id").values(&subnet).build())
                .send(),
        )
        .unwrap();
    assert!(!interfaces.network_interfaces().is_empty());
    for interface in interfaces.network_interfaces() {
        let ids: Vec<&str> = interface
            .groups()
            .iter()
            .filter_map(|g| g.group_id())
            .collect();
        assert_eq!(
            ids,
            [new_id],
            "{} ({}) holds the new group",
            interface.network_interface_id().unwrap(),
            if interface.network_interface_id() == Some(foreign.as_str()) {
                "not vpcform's"
            } else {
                "an instance's"
            }
        );
    }
    let clean = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
}

#[test]
fn after_a_killed_apply_the_plan_says_not_created_yet_not_deleted() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let moto = Moto::start();
    // Rules cannot be created through the proxy: the kill lands before any
    // is. Nor can tags be written after a create (objects record their
    // declaration once all their steps are done, during the walk): what was
    // made before the kill stays marked unfinished, whenever the kill lands.
    let proxy = FaultProxy::start(
        &moto.endpoint,
        Faults::deny(&["AuthorizeSecurityGroupIngress", "CreateTags"]),
    );
    let dir = seed_dir();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vpcform"))
        .args(["apply", "--auto-approve"])
        .current_dir(dir.path())
        .envs(moto.env())
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap();
        let group_made = line.contains("security-group.instance-1-sg: Creation complete");
        lines.push(line);
        if group_made {
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("security-group.instance-1-sg: Creation complete")),
        "{}",
        lines.join("\n")
    );

    let plan = vpcform(&moto, dir.path(), &["plan"]);
    ok(&plan);
    assert!(
        plan.stdout.contains(
            "# security-group-rule.instance-1-sg[ingress/tcp/22..22/0.0.0.0/0] will be created\n  # (not created yet: an earlier apply stopped before it)"
        ),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("outside vpcform"), "{}", plan.stdout);
    // The VPC was made before the kill: the plan records it as finished.
    assert!(
        plan.stdout.contains(
            "# vpc.network-1 will be updated in-place\n  # (not recorded as finished: an earlier apply stopped after creating it; only its vpcform:config tag is written)"
        ),
        "{}",
        plan.stdout
    );
    let json = vpcform(&moto, dir.path(), &["plan", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(
        json["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["unfinished"] == true),
        "{json:#}"
    );

    // The killed run still holds the stack's lock; release it, then finish.
    let locked = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(locked.code, 1, "{}", locked.stderr);
    let lock_id = locked
        .stderr
        .split("vpcform force-unlock ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no lock id in {}", locked.stderr));
    ok(&vpcform(&moto, dir.path(), &["force-unlock", lock_id]));
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    // Nothing the killed run made is left marked unfinished.
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let configs = rt
        .block_on(
            sdk.ec2
                .describe_tags()
                .filters(
                    ec2::types::Filter::builder()
                        .name("key")
                        .values("vpcform:config")
                        .build(),
                )
                .send(),
        )
        .unwrap();
    let configs: Vec<(&str, &str)> = configs
        .tags()
        .iter()
        .map(|t| {
            (
                t.resource_id().unwrap_or_default(),
                t.value().unwrap_or_default(),
            )
        })
        .collect();
    assert!(configs.len() >= 10, "{configs:?}");
    assert!(
        configs
            .iter()
            .all(|(_, hash)| !hash.ends_with("+unfinished")),
        "{configs:?}"
    );
    let clean = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(clean.code, 0, "{}", clean.stdout);
    // Finished, a rule deleted by hand is what the plan says it is.
    let group = rt
        .block_on(groups_of_network_1(&sdk))
        .into_iter()
        .find(|g| g.group_name() == Some("instance-1-sg"))
        .unwrap();
    rt.block_on(
        sdk.ec2
            .revoke_security_group_ingress()
            .group_id(group.group_id().unwrap())
            .ip_permissions(
                ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .send(),
    )
    .unwrap();
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    assert!(
        plan.stdout.contains("# (deleted outside vpcform)")
            && !plan.stdout.contains("not created yet"),
        "{}",
        plan.stdout
    );
}

#[test]
fn many_declared_tags_are_all_remembered_and_a_removed_one_is_removed() {
    let moto = Moto::start();
    let keys: Vec<String> = (0..16)
        .map(|i| format!("cost-allocation-{i:02}-{}", "x".repeat(24)))
        .collect();
    let tags = |keys: &[String]| {
        keys.iter()
            .map(|k| format!("{k}: v"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let topology = |keys: &[String]| {
        format!(
            "stack: tagged\nregion: us-east-1\nvpcs:\n  main:\n    cidr: 10.9.0.0/16\n    tags: {{ {} }}\n",
            tags(keys)
        )
    };
    let dir = workdir(&topology(&keys));
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let live_tags = || {
        let vpc = rt.block_on(stack_vpc(&sdk, "tagged"));
        vpc.tags()
            .iter()
            .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
            .collect::<std::collections::BTreeMap<String, String>>()
    };
    let live = live_tags();
    let listed: Vec<&str> = live
        .iter()
        .filter(|(k, _)| k.starts_with("vpcform:tags"))
        .flat_map(|(_, v)| {
            assert!(v.len() <= 256, "{v}");
            v.split(',')
        })
        .collect();
    assert!(live.contains_key("vpcform:tags:2"), "{live:?}");
    assert_eq!(
        listed.len(),
        keys.len(),
        "every declared key is remembered: {live:?}"
    );

    // The last key, listed only in a continuation tag, is removed from AWS too.
    std::fs::write(dir.path().join("topology.yaml"), topology(&keys[..15])).unwrap();
    let apply = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    ok(&apply);
    let live = live_tags();
    assert!(!live.contains_key(&keys[15]), "{live:?}");
    assert!(live.contains_key(&keys[14]));
    let clean = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
}

#[test]
fn opening_rdp_to_the_world_is_broadening_and_fails_deny_broadening() {
    let moto = Moto::start();
    let dir = seed_dir();
    let findings = |dir: &std::path::Path| -> Vec<serde_json::Value> {
        let run = vpcform(&moto, dir, &["plan", "--format", "json"]);
        let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        json["policy_findings"].as_array().unwrap().clone()
    };
    let ssh = |findings: &[serde_json::Value]| -> Vec<(String, String)> {
        findings
            .iter()
            .filter(|f| f["rule"] == "CKV_AWS_24")
            .map(|f| {
                (
                    f["status"].as_str().unwrap().to_string(),
                    f["waived"].as_str().unwrap_or("NOT WAIVED").to_string(),
                )
            })
            .collect()
    };
    // The seed's open SSH is a waived finding: introduced by the first plan, then unchanged.
    let introduced = ssh(&findings(dir.path()));
    assert_eq!(introduced.len(), 2, "{introduced:?}");
    assert!(
        introduced.iter().all(|(s, w)| s == "introduced"
            && w.starts_with("A learning environment: SSH from 0.0.0.0/0")),
        "{introduced:?}"
    );
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let kept = ssh(&findings(dir.path()));
    assert!(kept.iter().all(|(s, _)| s == "unchanged"), "{kept:?}");
    let text = vpcform(&moto, dir.path(), &["plan"]);
    assert!(
        text.stdout.contains("= unchanged CKV_AWS_24 security-group-rule.instance-1-sg[ingress/tcp/22..22/0.0.0.0/0]: SSH (port 22) is open to the whole internet (0.0.0.0/0) (waived: A learning environment"),
        "{}",
        text.stdout
    );
    edit(
        dir.path(),
        "      - { protocol: icmp, cidr: 0.0.0.0/0, description: All ICMP }\n    tags: { Name: instance-1-sg }",
        "      - { protocol: icmp, cidr: 0.0.0.0/0, description: All ICMP }\n      - { protocol: tcp, port: 3389, cidr: 0.0.0.0/0, description: RDP }\n    tags: { Name: instance-1-sg }",
    );
    let markdown = vpcform(&moto, dir.path(), &["plan", "--format", "markdown"]);
    ok(&markdown);
    let fold = markdown
        .stdout
        .find("<details>")
        .unwrap_or(markdown.stdout.len());
    let above = &markdown.stdout[..fold];
    assert!(
        above.contains("| `+` | `security-group.instance-1-sg` | `ingress` | `tcp` | `3389` | `0.0.0.0/0` | `allow` | **broadening** |")
            && above.contains("> [!IMPORTANT]\n> This plan broadens access (1 change(s))"),
        "{}",
        markdown.stdout
    );
    assert!(
        above.contains("| introduced | `CKV_AWS_25` | `security-group-rule.instance-1-sg[ingress/tcp/3389..3389/0.0.0.0/0]` | `RDP (port 3389) is open to the whole internet (0.0.0.0/0)` |  |"),
        "{above}"
    );
    let denied = vpcform(
        &moto,
        dir.path(),
        &["plan", "--deny-broadening", "--detailed-exitcode"],
    );
    assert_eq!(denied.code, 1, "{}\n{}", denied.stdout, denied.stderr);
    assert!(
        denied
            .stderr
            .contains("the plan broadens access (1 change(s)"),
        "{}",
        denied.stderr
    );
    let json = vpcform(&moto, dir.path(), &["plan", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        json["security_changes"],
        serde_json::json!([{
            "type": "rule", "sign": "+", "address": "security-group.instance-1-sg",
            "kind": "security-group", "direction": "ingress", "protocol": "tcp", "ports": "3389",
            "peer": "0.0.0.0/0", "action": "allow", "broadening": true
        }])
    );

    // Narrowing ICMP instead is a security change, but not a broadening one
    // (and the instances still reach each other, as the topology expects).
    edit(
        dir.path(),
        "      - { protocol: tcp, port: 3389, cidr: 0.0.0.0/0, description: RDP }\n",
        "",
    );
    edit(
        dir.path(),
        "{ protocol: icmp, cidr: 0.0.0.0/0, description: All ICMP }",
        "{ protocol: icmp, cidr: 10.0.0.0/8, description: All ICMP }",
    );
    let narrowed = vpcform(
        &moto,
        dir.path(),
        &["plan", "--deny-broadening", "--detailed-exitcode"],
    );
    assert_eq!(narrowed.code, 2, "{}\n{}", narrowed.stdout, narrowed.stderr);
    assert!(
        narrowed
            .stdout
            .contains("Security changes (2, 0 broadening)"),
        "{}",
        narrowed.stdout
    );
}

#[test]
fn a_vpc_can_restrict_its_default_security_group_and_undo_it() {
    let moto = Moto::start();
    let topology = |restrict: bool| {
        format!(
            "stack: strict\nregion: us-east-1\nvpcs:\n  main: {{ cidr: 10.7.0.0/16, restrict-default-security-group: {restrict} }}\n"
        )
    };
    let dir = workdir(&topology(true));
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let default_group = || {
        let vpc = rt
            .block_on(stack_vpc(&sdk, "strict"))
            .vpc_id()
            .unwrap()
            .to_string();
        rt.block_on(
            sdk.ec2
                .describe_security_groups()
                .filters(Filter::builder().name("vpc-id").values(vpc).build())
                .filters(
                    Filter::builder()
                        .name("group-name")
                        .values("default")
                        .build(),
                )
                .send(),
        )
        .unwrap()
        .security_groups()[0]
            .clone()
    };
    let g = default_group();
    assert!(
        g.ip_permissions().is_empty() && g.ip_permissions_egress().is_empty(),
        "{g:?}"
    );
    let clean = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
    assert!(!clean.stdout.contains("CKV2_AWS_12"), "{}", clean.stdout);

    // Undone: AWS's rules are back, and the policy check says so.
    std::fs::write(dir.path().join("topology.yaml"), topology(false)).unwrap();
    let validate = vpcform(&moto, dir.path(), &["validate"]);
    assert!(
        validate.stderr.contains("warning[CKV2_AWS_12]: vpc.main"),
        "{}",
        validate.stderr
    );
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let g = default_group();
    assert_eq!(g.ip_permissions().len(), 1, "{g:?}");
    assert_eq!(g.ip_permissions_egress().len(), 1, "{g:?}");
    let clean = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
    assert!(
        clean.stdout.contains("! unchanged CKV2_AWS_12 vpc.main"),
        "{}",
        clean.stdout
    );
}
