//! `vpcform apply` and `destroy` end to end against a private moto per test,
//! checked with raw SDK reads of what AWS holds.

mod common;

use common::*;
use ec2::types::Filter;

fn tagged(stack: &str) -> Filter {
    Filter::builder()
        .name("tag:vpcform:stack")
        .values(stack)
        .build()
}

fn apply(moto: &Moto, dir: &std::path::Path) -> Run {
    let run = vpcform(moto, dir, &["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "apply failed:\n{}\n{}", run.stdout, run.stderr);
    run
}

fn assert_no_changes(moto: &Moto, dir: &std::path::Path) {
    let plan = vpcform(moto, dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.code, 0,
        "expected no changes:\n{}\n{}",
        plan.stdout, plan.stderr
    );
}

fn tag<'a>(tags: &'a [ec2::types::Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

#[test]
fn seed_apply_builds_what_the_topology_declares() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let dir = root();
    let run = apply(&moto, &dir);
    assert!(
        run.stdout
            .ends_with("Apply complete! Resources: 31 added, 0 changed, 0 destroyed.\n"),
        "{}",
        run.stdout
    );

    rt.block_on(async {
        let vpcs = sdk
            .ec2
            .describe_vpcs()
            .filters(tagged("vpc-monitoring"))
            .send()
            .await
            .unwrap();
        let mut by_name = std::collections::BTreeMap::new();
        for v in vpcs.vpcs() {
            by_name.insert(tag(v.tags(), "Name").unwrap().to_string(), v.clone());
        }
        assert_eq!(by_name.len(), 2);
        let vpc1 = &by_name["Network-1-vpc"];
        let vpc2 = &by_name["Network-2-vpc"];
        assert_eq!(vpc1.cidr_block(), Some("10.1.0.0/16"));
        assert_eq!(vpc2.cidr_block(), Some("10.2.0.0/16"));
        let (id1, id2) = (vpc1.vpc_id().unwrap(), vpc2.vpc_id().unwrap());
        let hostnames = sdk
            .ec2
            .describe_vpc_attribute()
            .vpc_id(id1)
            .attribute(ec2::types::VpcAttributeName::EnableDnsHostnames)
            .send()
            .await
            .unwrap();
        assert_eq!(
            hostnames.enable_dns_hostnames().and_then(|a| a.value()),
            Some(true)
        );

        // Peering: active, tagged, requester Network-1.
        let peerings = sdk
            .ec2
            .describe_vpc_peering_connections()
            .filters(tagged("vpc-monitoring"))
            .send()
            .await
            .unwrap();
        let pcx = &peerings.vpc_peering_connections()[0];
        assert_eq!(peerings.vpc_peering_connections().len(), 1);
        assert_eq!(
            pcx.status().and_then(|s| s.code()).map(|c| c.as_str()),
            Some("active")
        );
        assert_eq!(tag(pcx.tags(), "Name"), Some("VPC1<>VPC2"));
        assert_eq!(pcx.requester_vpc_info().and_then(|v| v.vpc_id()), Some(id1));
        assert_eq!(pcx.accepter_vpc_info().and_then(|v| v.vpc_id()), Some(id2));
        let pcx_id = pcx.vpc_peering_connection_id().unwrap();

        // Route tables: default route to the VPC's gateway, peer CIDR to the peering, subnet associated.
        let tables = sdk
            .ec2
            .describe_route_tables()
            .filters(tagged("vpc-monitoring"))
            .send()
            .await
            .unwrap();
        assert_eq!(tables.route_tables().len(), 2);
        for t in tables.route_tables() {
            let (own, peer_cidr) = if t.vpc_id() == Some(id1) {
                (id1, "10.2.0.0/16")
            } else {
                (id2, "10.1.0.0/16")
            };
            let igws = sdk
                .ec2
                .describe_internet_gateways()
                .filters(
                    Filter::builder()
                        .name("attachment.vpc-id")
                        .values(own)
                        .build(),
                )
                .send()
                .await
                .unwrap();
            let igw = igws.internet_gateways()[0].internet_gateway_id().unwrap();
            let route = |dest: &str| {
                t.routes()
                    .iter()
                    .find(|r| r.destination_cidr_block() == Some(dest))
                    .cloned()
            };
            assert_eq!(
                route("0.0.0.0/0")
                    .and_then(|r| r.gateway_id().map(str::to_string))
                    .as_deref(),
                Some(igw)
            );
            assert_eq!(
                route(peer_cidr)
                    .and_then(|r| r.vpc_peering_connection_id().map(str::to_string))
                    .as_deref(),
                Some(pcx_id)
            );
            assert_eq!(
                t.associations()
                    .iter()
                    .filter(|a| a.subnet_id().is_some())
                    .count(),
                1
            );
        }

        // Security groups: SSH and all ICMP from anywhere.
        let groups = sdk
            .ec2
            .describe_security_groups()
            .filters(tagged("vpc-monitoring"))
            .send()
            .await
            .unwrap();
        assert_eq!(groups.security_groups().len(), 2);
        for g in groups.security_groups() {
            let rules: Vec<(String, Option<i32>)> = g
                .ip_permissions()
                .iter()
                .map(|p| {
                    (
                        p.ip_protocol().unwrap_or_default().to_string(),
                        p.from_port(),
                    )
                })
                .collect();
            assert!(rules.contains(&("tcp".into(), Some(22))), "{rules:?}");
            assert!(
                rules
                    .iter()
                    .any(|(p, f)| (p == "icmp" || p == "1") && *f == Some(-1)),
                "{rules:?}"
            );
        }

        // Instances: running, one in each VPC's subnet, with that VPC's group.
        let instances = sdk
            .ec2
            .describe_instances()
            .filters(tagged("vpc-monitoring"))
            .send()
            .await
            .unwrap();
        let all: Vec<_> = instances
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .collect();
        assert_eq!(all.len(), 2);
        for i in all {
            assert_eq!(
                i.state().and_then(|s| s.name()).map(|n| n.as_str()),
                Some("running")
            );
            let subnet = sdk
                .ec2
                .describe_subnets()
                .subnet_ids(i.subnet_id().unwrap())
                .send()
                .await
                .unwrap();
            let expected_vpc = if tag(i.tags(), "Name") == Some("instance-1-vpc") {
                id1
            } else {
                id2
            };
            assert_eq!(subnet.subnets()[0].vpc_id(), Some(expected_vpc));
            assert_eq!(i.security_groups().len(), 1);
        }

        // Logs and IAM.
        let groups = sdk
            .logs
            .describe_log_groups()
            .log_group_name_prefix("ProjectVPCFlowLogGroups")
            .send()
            .await
            .unwrap();
        assert_eq!(groups.log_groups()[0].retention_in_days(), Some(7));
        let role = sdk
            .iam
            .get_role()
            .role_name("ProjectVPCFlowLogRole")
            .send()
            .await
            .unwrap();
        let trust = role.role().unwrap().assume_role_policy_document().unwrap();
        let trust = percent_decode(trust);
        assert!(trust.contains("vpc-flow-logs.amazonaws.com"), "{trust}");
        let attached = sdk
            .iam
            .list_attached_role_policies()
            .role_name("ProjectVPCFlowLogRole")
            .send()
            .await
            .unwrap();
        assert_eq!(attached.attached_policies().len(), 1);
        let policy_arn = attached.attached_policies()[0].policy_arn().unwrap();
        assert!(policy_arn.ends_with("/VPCFlowLogPolicy"), "{policy_arn}");
        let policy = sdk
            .iam
            .get_policy()
            .policy_arn(policy_arn)
            .send()
            .await
            .unwrap();
        let version = sdk
            .iam
            .get_policy_version()
            .policy_arn(policy_arn)
            .version_id(policy.policy().unwrap().default_version_id().unwrap())
            .send()
            .await
            .unwrap();
        let document = percent_decode(version.policy_version().unwrap().document().unwrap());
        for action in [
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogGroups",
            "logs:DescribeLogStreams",
        ] {
            assert!(
                document.contains(action),
                "{action} missing from {document}"
            );
        }

        // Flow logs on both VPCs, into the group, through the role.
        let flow_logs = sdk.ec2.describe_flow_logs().send().await.unwrap();
        let mut resources: Vec<&str> = flow_logs
            .flow_logs()
            .iter()
            .filter_map(|f| f.resource_id())
            .collect();
        resources.sort_unstable();
        let mut expected = vec![id1, id2];
        expected.sort_unstable();
        assert_eq!(resources, expected);
        for f in flow_logs.flow_logs() {
            assert_eq!(f.log_group_name(), Some("ProjectVPCFlowLogGroups"));
            assert_eq!(
                f.deliver_logs_permission_arn(),
                role.role().unwrap().arn().into()
            );
            assert_eq!(f.traffic_type().map(|t| t.as_str()), Some("ALL"));
        }
    });

    assert_no_changes(&moto, &dir);
    // A second apply reads and changes nothing: no mutating call.
    let again = vpcform(&moto, &dir, &["apply", "--auto-approve", "-v"]);
    assert_eq!(again.code, 0);
    assert!(again.stdout.starts_with("No changes."), "{}", again.stdout);
    assert!(
        again.stderr.contains("AWS call EC2:DescribeVpcs"),
        "-v names each AWS call: {}",
        again.stderr
    );
    let mutating: Vec<&str> = again
        .stderr
        .lines()
        .filter(|l| l.contains("AWS call"))
        .filter(|l| {
            // `AWS call <service>:<operation>`: the operation follows the last colon.
            let operation = l.rsplit(':').next().unwrap_or_default();
            !["Describe", "Get", "List"]
                .iter()
                .any(|p| operation.starts_with(p))
        })
        .collect();
    assert!(
        mutating.is_empty(),
        "mutating calls on a no-change apply: {mutating:?}"
    );
}

/// A policy document as IAM returns it (URL-encoded on AWS), as JSON text.
fn percent_decode(s: &str) -> String {
    vpcform_diff::decode_policy_document(&serde_json::Value::String(s.to_string())).to_string()
}

const EDITABLE: &str = r#"
stack: edits
region: us-east-1
vpcs:
  main: { cidr: 10.5.0.0/16 }
subnets:
  app: { vpc: main, cidr: 10.5.1.0/24 }
  extra: { vpc: main, cidr: 10.5.9.0/24 }
security-groups:
  web:
    vpc: main
    ingress:
      - { protocol: tcp, port: 22, cidr: 0.0.0.0/0 }
instances:
  box: { ami: ami-12345678, instance-type: t3.micro, subnet: app, security-groups: [web] }
log-groups:
  logs: { name: edits-logs, retention-days: 7 }
"#;

#[test]
fn topology_edits_converge_with_the_right_actions() {
    let moto = Moto::start();
    let dir = workdir(EDITABLE);
    apply(&moto, dir.path());
    assert_no_changes(&moto, dir.path());

    let edit = |from: &str, to: &str| {
        let path = dir.path().join("topology.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    };

    // Each edit: the plan shows the expected actions, apply converges, a re-plan is clean.
    let converge = |from: &str, to: &str, expected: &[&str], summary: &str| {
        edit(from, to);
        let plan = vpcform(&moto, dir.path(), &["plan"]);
        for line in expected {
            assert!(
                plan.stdout.contains(line),
                "missing `{line}` in:\n{}",
                plan.stdout
            );
        }
        assert!(plan.stdout.contains(summary), "{}", plan.stdout);
        apply(&moto, dir.path());
        assert_no_changes(&moto, dir.path());
    };
    // Retention: update in place.
    converge(
        "retention-days: 7",
        "retention-days: 30",
        &["# log-group.logs will be updated in-place"],
        "Plan: 0 to add, 1 to change, 0 to destroy.",
    );
    // A new rule: one rule added to the group, nothing replaced.
    converge(
        "      - { protocol: tcp, port: 22, cidr: 0.0.0.0/0 }",
        "      - { protocol: tcp, port: 22, cidr: 0.0.0.0/0 }\n      - { protocol: tcp, port: 443, cidr: 10.0.0.0/8 }",
        &["# security-group-rule.web[ingress/tcp/443..443/10.0.0.0/8] will be created"],
        "Plan: 1 to add, 0 to change, 0 to destroy.",
    );
    // Subnet CIDR: replace, and the instance in it with it.
    converge(
        "app: { vpc: main, cidr: 10.5.1.0/24 }",
        "app: { vpc: main, cidr: 10.5.2.0/24 }",
        &[
            "# subnet.app must be replaced",
            "~ cidr_block = \"10.5.1.0/24\" -> \"10.5.2.0/24\" # forces replacement",
            "# instance.box must be replaced",
        ],
        "Plan: 2 to add, 0 to change, 2 to destroy.",
    );
    // Removing a resource deletes it.
    converge(
        "  extra: { vpc: main, cidr: 10.5.9.0/24 }\n",
        "",
        &["# subnet.extra will be destroyed"],
        "Plan: 0 to add, 0 to change, 1 to destroy.",
    );

    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    rt.block_on(async {
        let subnets = sdk
            .ec2
            .describe_subnets()
            .filters(tagged("edits"))
            .send()
            .await
            .unwrap();
        let cidrs: Vec<&str> = subnets
            .subnets()
            .iter()
            .filter_map(|s| s.cidr_block())
            .collect();
        assert_eq!(cidrs, ["10.5.2.0/24"]);
        let instances = sdk
            .ec2
            .describe_instances()
            .filters(tagged("edits"))
            .filters(
                Filter::builder()
                    .name("instance-state-name")
                    .values("running")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let running: Vec<_> = instances
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .collect();
        assert_eq!(
            running.len(),
            1,
            "exactly one instance after its replacement"
        );
        assert_eq!(running[0].subnet_id(), subnets.subnets()[0].subnet_id());
    });
}

#[test]
fn out_of_band_edits_are_reverted_by_the_next_apply() {
    let moto = Moto::start();
    let dir = workdir(EDITABLE);
    apply(&moto, dir.path());
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    rt.block_on(async {
        sdk.logs
            .put_retention_policy()
            .log_group_name("edits-logs")
            .retention_in_days(14)
            .send()
            .await
            .unwrap();
        let groups = sdk
            .ec2
            .describe_security_groups()
            .filters(tagged("edits"))
            .send()
            .await
            .unwrap();
        let group = groups.security_groups()[0].group_id().unwrap().to_string();
        let anywhere = ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build();
        sdk.ec2
            .authorize_security_group_ingress()
            .group_id(&group)
            .ip_permissions(
                ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(3389)
                    .to_port(3389)
                    .ip_ranges(anywhere.clone())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        sdk.ec2
            .revoke_security_group_ingress()
            .group_id(&group)
            .ip_permissions(
                ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(anywhere)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    assert!(
        plan.stdout
            .contains("# (retention_in_days 7 → 14, changed outside vpcform)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("# (added outside vpcform)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("# (deleted outside vpcform)"),
        "{}",
        plan.stdout
    );
    apply(&moto, dir.path());
    assert_no_changes(&moto, dir.path());
    rt.block_on(async {
        let groups = sdk
            .logs
            .describe_log_groups()
            .log_group_name_prefix("edits-logs")
            .send()
            .await
            .unwrap();
        assert_eq!(groups.log_groups()[0].retention_in_days(), Some(7));
        let sgs = sdk
            .ec2
            .describe_security_groups()
            .filters(tagged("edits"))
            .send()
            .await
            .unwrap();
        let ports: Vec<Option<i32>> = sgs.security_groups()[0]
            .ip_permissions()
            .iter()
            .map(|p| p.from_port())
            .collect();
        assert_eq!(ports, [Some(22)]);
    });
}

#[test]
fn destroy_leaves_nothing_the_stack_owned() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let before = rt.block_on(census(&sdk));
    let dir = root();
    apply(&moto, &dir);
    let destroy = vpcform(&moto, &dir, &["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 0, "{}\n{}", destroy.stdout, destroy.stderr);
    assert!(
        destroy
            .stdout
            .ends_with("Destroy complete! Resources: 31 destroyed.\n"),
        "{}",
        destroy.stdout
    );
    // Counts leave out terminated instances, deleted peerings and the shared lock group.
    let after = rt.block_on(census(&sdk));
    assert_eq!(
        after, before,
        "destroy must remove every stack-owned object"
    );
    let plan = vpcform(&moto, &dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2);
    assert!(
        plan.stdout
            .contains("Plan: 31 to add, 0 to change, 0 to destroy.")
    );
}

#[test]
fn a_held_lock_is_reported_and_force_unlock_releases_it() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    rt.block_on(async {
        let _ = sdk.logs.create_log_group().log_group_name("/vpcform/locks").send().await;
        sdk.logs.create_log_stream().log_group_name("/vpcform/locks").log_stream_name("edits").send().await.unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        let event = logs::types::InputLogEvent::builder()
            .timestamp(now)
            .message(r#"{"id":"feedbeef","holder":"ci@runner-7 (pid 42)","command":"vpcform apply","since":1700000000}"#)
            .build()
            .unwrap();
        sdk.logs.put_log_events().log_group_name("/vpcform/locks").log_stream_name("edits").log_events(event).send().await.unwrap();
    });
    let dir = workdir(EDITABLE);
    let blocked = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(blocked.code, 1);
    assert!(
        blocked
            .stderr
            .contains("stack `edits` is locked by ci@runner-7 (pid 42)"),
        "{}",
        blocked.stderr
    );
    assert!(
        blocked.stderr.contains("vpcform force-unlock feedbeef"),
        "{}",
        blocked.stderr
    );
    let wrong = vpcform(&moto, dir.path(), &["force-unlock", "00000000"]);
    assert_eq!(wrong.code, 1);
    assert!(
        wrong
            .stderr
            .contains("locked with id feedbeef, not 00000000"),
        "{}",
        wrong.stderr
    );
    let unlocked = vpcform(&moto, dir.path(), &["force-unlock", "feedbeef"]);
    assert_eq!(unlocked.code, 0, "{}", unlocked.stderr);
    apply(&moto, dir.path());
}

#[test]
fn a_saved_plan_is_applied_exactly_and_refused_when_stale() {
    let moto = Moto::start();
    let dir = workdir(EDITABLE);
    let saved = vpcform(&moto, dir.path(), &["plan", "--out", "plan.json"]);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    let applied = vpcform(&moto, dir.path(), &["apply", "plan.json"]);
    assert_eq!(applied.code, 0, "{}\n{}", applied.stdout, applied.stderr);
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 7 added"),
        "{}",
        applied.stdout
    );

    // Plan a change, then move an object it read before applying.
    std::fs::write(
        dir.path().join("topology.yaml"),
        EDITABLE.replace("retention-days: 7", "retention-days: 30"),
    )
    .unwrap();
    assert_eq!(
        vpcform(&moto, dir.path(), &["plan", "--out", "plan.json"]).code,
        0
    );
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    rt.block_on(async {
        let subnets = sdk
            .ec2
            .describe_subnets()
            .filters(tagged("edits"))
            .filters(
                Filter::builder()
                    .name("cidr-block")
                    .values("10.5.9.0/24")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let id = subnets.subnets()[0].subnet_id().unwrap();
        add_ec2_tag(&sdk, id, "owner", "someone").await;
    });
    let stale = vpcform(&moto, dir.path(), &["apply", "plan.json"]);
    assert_eq!(stale.code, 1);
    assert!(
        stale.stderr.contains("saved plan is stale"),
        "{}",
        stale.stderr
    );
    assert!(stale.stderr.contains("subnet.extra"), "{}", stale.stderr);
    // Editing the topology after saving also makes the plan stale.
    assert_eq!(
        vpcform(&moto, dir.path(), &["plan", "--out", "plan.json"]).code,
        0
    );
    std::fs::write(
        dir.path().join("topology.yaml"),
        EDITABLE.replace("retention-days: 7", "retention-days: 60"),
    )
    .unwrap();
    let edited = vpcform(&moto, dir.path(), &["apply", "plan.json"]);
    assert_eq!(edited.code, 1);
    assert!(
        edited
            .stderr
            .contains("topology.yaml (or a file it reads, or the environment and values the plan was made with) changed since the plan was made"),
        "{}",
        edited.stderr
    );
}

#[test]
fn apply_without_a_terminal_or_auto_approve_refuses() {
    let moto = Moto::start();
    let dir = workdir(EDITABLE);
    let run = vpcform(&moto, dir.path(), &["apply"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("there is no terminal to ask on"),
        "{}",
        run.stderr
    );
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let vpcs = rt.block_on(async {
        sdk.ec2
            .describe_vpcs()
            .filters(tagged("edits"))
            .send()
            .await
            .unwrap()
            .vpcs()
            .len()
    });
    assert_eq!(vpcs, 0, "nothing was created");
}

#[test]
fn only_declared_and_managed_tags_are_compared() {
    let moto = Moto::start();
    let topology = "stack: tags\nregion: us-east-1\nvpcs:\n  main: { cidr: 10.6.0.0/16, tags: { Name: main, team: net } }\n";
    let dir = workdir(topology);
    apply(&moto, dir.path());
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let vpc_tags = || {
        rt.block_on(async {
            let vpcs = sdk
                .ec2
                .describe_vpcs()
                .filters(tagged("tags"))
                .send()
                .await
                .unwrap();
            let mut tags: Vec<(String, String)> = vpcs.vpcs()[0]
                .tags()
                .iter()
                .filter(|t| !t.key().unwrap_or_default().starts_with("vpcform:"))
                .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
                .collect();
            tags.sort();
            tags
        })
    };
    // A tag someone else adds (a tag policy, a cost tool) is not vpcform's to remove.
    rt.block_on(async {
        let vpcs = sdk
            .ec2
            .describe_vpcs()
            .filters(tagged("tags"))
            .send()
            .await
            .unwrap();
        let id = vpcs.vpcs()[0].vpc_id().unwrap();
        add_ec2_tag(&sdk, id, "CostCenter", "42").await;
    });
    assert_no_changes(&moto, dir.path());
    // A tag removed from the topology is removed from AWS; the foreign one stays.
    std::fs::write(
        dir.path().join("topology.yaml"),
        topology.replace(", team: net", ""),
    )
    .unwrap();
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    assert!(
        plan.stdout.contains("# vpc.main will be updated in-place"),
        "{}",
        plan.stdout
    );
    apply(&moto, dir.path());
    assert_no_changes(&moto, dir.path());
    assert_eq!(
        vpc_tags(),
        [
            ("CostCenter".to_string(), "42".to_string()),
            ("Name".to_string(), "main".to_string())
        ]
    );
}

#[test]
fn a_duplicate_left_by_a_retried_create_is_planned_for_deletion() {
    let moto = Moto::start();
    let dir = workdir(EDITABLE);
    apply(&moto, dir.path());
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    // What a create whose answer was lost, then retried, leaves behind: a second VPC with the same tags.
    let duplicate = rt.block_on(async {
        let r = sdk
            .ec2
            .create_vpc()
            .cidr_block("10.5.0.0/16")
            .tag_specifications(tag_spec(
                ec2::types::ResourceType::Vpc,
                "edits",
                "vpc.main",
                None,
            ))
            .send()
            .await
            .unwrap();
        r.vpc().unwrap().vpc_id().unwrap().to_string()
    });
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    assert!(
        plan.stdout.contains(&format!(
            "# vpc.main-duplicate-{duplicate} will be destroyed"
        )),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 0 to change, 1 to destroy."),
        "{}",
        plan.stdout
    );
    apply(&moto, dir.path());
    assert_no_changes(&moto, dir.path());
    let vpcs = rt.block_on(async {
        sdk.ec2
            .describe_vpcs()
            .filters(tagged("edits"))
            .send()
            .await
            .unwrap()
            .vpcs()
            .len()
    });
    assert_eq!(vpcs, 1);
}
