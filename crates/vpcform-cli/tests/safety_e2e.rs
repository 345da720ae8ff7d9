//! A plan is a promise, against a private moto: a security group that an
//! interface vpcform does not manage still uses (a load balancer's, an
//! endpoint's) is never deleted; the plan names the user and refuses, and
//! apply changes nothing.

mod common;

use common::*;

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

/// What is applied was reviewed: a saved plan edited by hand is refused,
/// whether or not the editor also recomputed its digest, and nothing changes.
#[test]
fn a_saved_plan_edited_by_hand_is_never_applied() {
    let moto = Moto::start();
    let dir = workdir(WITH_GROUP);
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let rdp = WITH_GROUP.replace(
        "description: HTTPS }",
        "description: HTTPS }\n      - { protocol: tcp, port: 3389, cidr: 10.40.0.0/16, description: RDP }",
    );
    std::fs::write(dir.path().join("topology.yaml"), &rdp).unwrap();
    let saved = vpcform(&moto, dir.path(), &["plan", "--out", "plan.json"]);
    ok(&saved);
    assert!(saved.stderr.contains("digest "), "{}", saved.stderr);
    let original = std::fs::read_to_string(dir.path().join("plan.json")).unwrap();

    // The rule widened to every port, the digest left as it was.
    let widened = original
        .replace("\"from_port\": 3389", "\"from_port\": 0")
        .replace("\"to_port\": 3389", "\"to_port\": 65535");
    assert_ne!(widened, original, "the edit applies");
    std::fs::write(dir.path().join("plan.json"), &widened).unwrap();
    let apply = vpcform(&moto, dir.path(), &["apply", "plan.json", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{}\n{}", apply.stdout, apply.stderr);
    assert!(apply.stderr.contains("was altered"), "{}", apply.stderr);

    // The same edit with the digest recomputed: the plan is planned again and differs.
    let mut doc: serde_json::Value = serde_json::from_str(&widened).unwrap();
    let plan: vpcform_diff::Plan = serde_json::from_value(doc["plan"].clone()).unwrap();
    doc["digest"] = vpcform_diff::digest(&plan.promise()).into();
    std::fs::write(dir.path().join("plan.json"), doc.to_string()).unwrap();
    let apply = vpcform(&moto, dir.path(), &["apply", "plan.json", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{}\n{}", apply.stdout, apply.stderr);
    assert!(
        apply
            .stderr
            .contains("does not hold the plan its topology and the account give"),
        "{}",
        apply.stderr
    );
    let ports = rule_ports(&moto);
    assert_eq!(ports, [(443, 443)], "nothing was applied");

    // The plan as written applies, and says which digest it matched.
    std::fs::write(dir.path().join("plan.json"), &original).unwrap();
    let apply = vpcform(&moto, dir.path(), &["apply", "plan.json", "--auto-approve"]);
    ok(&apply);
    assert!(apply.stderr.contains("Plan digest "), "{}", apply.stderr);
    assert_eq!(rule_ports(&moto), [(443, 443), (3389, 3389)]);
}

/// The ingress port ranges of the stack's group, sorted.
fn rule_ports(moto: &Moto) -> Vec<(i32, i32)> {
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let groups = rt
        .block_on(
            sdk.ec2
                .describe_security_groups()
                .filters(by_tag("vpcform:address", "security-group.web"))
                .send(),
        )
        .unwrap();
    let mut ports: Vec<(i32, i32)> = groups.security_groups()[0]
        .ip_permissions()
        .iter()
        .map(|p| (p.from_port().unwrap_or(-1), p.to_port().unwrap_or(-1)))
        .collect();
    ports.sort();
    ports
}

/// One lock holder, whichever step of the run that locks first stalls, and
/// whatever the lock group holds; unlock releases only the run's own lock.
#[test]
fn the_lock_has_one_holder_whatever_stalls() {
    let moto = Moto::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for step in ["CreateLogStream", "PutLogEvents", "DescribeLogStreams"] {
        let proxy = FaultProxy::start(
            &moto.endpoint,
            Faults::hold(step, std::time::Duration::from_secs(3)),
        );
        rt.block_on(async {
            let stalled = moto.aws(&proxy.endpoint).await;
            let prompt = moto.aws(&moto.endpoint).await;
            let (a, b) = tokio::join!(stalled.lock("stalls", "vpcform apply"), async {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                prompt.lock("stalls", "vpcform apply").await
            });
            assert!(
                proxy.stats.held.load(std::sync::atomic::Ordering::Relaxed) >= 1,
                "{step} was held"
            );
            match (a, b) {
                (Ok(a), Err(e)) | (Err(e), Ok(a)) => {
                    assert!(e.to_string().contains("is locked by"), "{step}: {e}");
                    // The loser's unlock is impossible (it holds nothing); the holder's
                    // releases it, and the stack can be locked again.
                    prompt.unlock(a).await.unwrap();
                    let again = prompt.lock("stalls", "vpcform apply").await.unwrap();
                    prompt.unlock(again).await.unwrap();
                }
                (Ok(_), Ok(_)) => panic!("{step}: both runs hold the lock"),
                (Err(a), Err(b)) => panic!("{step}: neither holds it: {a}; {b}"),
            }
            assert_eq!(prompt.lock_holder("stalls").await.unwrap(), None, "{step}");
        });
    }
}

/// A lock stream someone wrote garbage into still locks, is shown as data,
/// and force-unlock releases it by the id in its name.
#[test]
fn an_unreadable_lock_entry_still_locks() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    rt.block_on(async {
        let _ = sdk
            .logs
            .create_log_group()
            .log_group_name("/vpcform/locks")
            .send()
            .await;
        sdk.logs
            .create_log_stream()
            .log_group_name("/vpcform/locks")
            .log_stream_name("guarded/zz99")
            .send()
            .await
            .unwrap();
        let event = logs::types::InputLogEvent::builder()
            .timestamp(1)
            .message("not json \u{1b}[2J <!-- @team")
            .build()
            .unwrap();
        sdk.logs
            .put_log_events()
            .log_group_name("/vpcform/locks")
            .log_stream_name("guarded/zz99")
            .log_events(event)
            .send()
            .await
            .unwrap();
    });
    let dir = workdir(WITH_GROUP);
    let blocked = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(blocked.code, 1, "{}", blocked.stderr);
    assert!(
        blocked.stderr.contains("force-unlock zz99"),
        "{}",
        blocked.stderr
    );
    assert!(!blocked.stderr.contains('\u{1b}'), "{}", blocked.stderr);
    ok(&vpcform(&moto, dir.path(), &["force-unlock", "zz99"]));
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
}

const UNTOKENED: &str = r#"
stack: late
region: us-east-1
vpcs:
  a: { cidr: 10.50.0.0/16 }
  b: { cidr: 10.51.0.0/16 }
subnets:
  a-public: { vpc: a, cidr: 10.50.0.0/24, availability-zone: us-east-1a }
internet-gateways:
  a-igw: { vpc: a }
elastic-ips:
  a-eip: {}
peerings:
  a-b: { requester: a, accepter: b }
"#;

/// No duplicate after an ambiguous create: every create AWS takes no token
/// for is carried out at once and answered after the attempt timeout; the
/// apply finds each by the tags its create carried instead of sending it
/// again, and says so. Exactly the declared objects exist afterwards.
#[test]
fn a_create_whose_answer_is_late_is_found_not_made_twice() {
    const CREATES: &[&str] = &[
        "CreateVpc",
        "CreateSubnet",
        "CreateInternetGateway",
        "CreateVpcPeeringConnection",
        "AllocateAddress",
    ];
    let moto = Moto::start();
    let proxy = FaultProxy::start(
        &moto.endpoint,
        Faults::late_answers(CREATES, std::time::Duration::from_secs(4)),
    );
    let dir = workdir(UNTOKENED);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_vpcform"))
        .args(["apply", "--auto-approve"])
        .current_dir(dir.path())
        .envs(moto.env())
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .env("VPCFORM_ATTEMPT_TIMEOUT", "2")
        .env_remove("AWS_PROFILE")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let late = proxy.stats.late.lock().unwrap().clone();
    assert_eq!(
        late.len(),
        CREATES.len(),
        "every create was answered late: {late:?}"
    );
    assert!(
        stderr
            .matches("looking it up by its ownership tags")
            .count()
            >= CREATES.len(),
        "{stderr}"
    );
    assert!(stderr.contains("the earlier attempt had made"), "{stderr}");
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let counts = rt.block_on(async {
        let vpcs = sdk
            .ec2
            .describe_vpcs()
            .filters(by_tag("vpcform:stack", "late"))
            .send()
            .await
            .unwrap();
        let subnets = sdk
            .ec2
            .describe_subnets()
            .filters(by_tag("vpcform:stack", "late"))
            .send()
            .await
            .unwrap();
        let igws = sdk
            .ec2
            .describe_internet_gateways()
            .filters(by_tag("vpcform:stack", "late"))
            .send()
            .await
            .unwrap();
        let pcx = sdk
            .ec2
            .describe_vpc_peering_connections()
            .filters(by_tag("vpcform:stack", "late"))
            .send()
            .await
            .unwrap();
        let eips = sdk.ec2.describe_addresses().send().await.unwrap();
        [
            vpcs.vpcs().len(),
            subnets.subnets().len(),
            igws.internet_gateways().len(),
            pcx.vpc_peering_connections().len(),
            eips.addresses().len(),
        ]
    });
    assert_eq!(
        counts,
        [2, 1, 1, 1, 1],
        "vpcs, subnets, gateways, peerings, addresses"
    );
}

/// Import writes only what reads back as the same data: a Name tag that
/// tries to inject YAML (a newline and a declaration) stays in its comment,
/// and descriptions full of YAML syntax, quotes and bidi marks are written
/// as values that read back exactly: adopting them changes nothing.
#[test]
fn hostile_tags_round_trip_through_import() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let injected = "x\nvpcs:\n  evil: { cidr: 10.9.0.0/16 }";
    let odd = "a\u{202e}b # c: \"d\" \\ e\nf: [g]";
    let vpc = rt.block_on(async {
        let tags = ec2::types::TagSpecification::builder()
            .resource_type(ec2::types::ResourceType::Vpc)
            .tags(
                ec2::types::Tag::builder()
                    .key("Name")
                    .value(injected)
                    .build(),
            )
            .build();
        let v = sdk
            .ec2
            .create_vpc()
            .cidr_block("10.60.0.0/16")
            .tag_specifications(tags)
            .send()
            .await
            .unwrap();
        let vpc = v.vpc().unwrap().vpc_id().unwrap().to_string();
        let g = sdk
            .ec2
            .create_security_group()
            .vpc_id(&vpc)
            .group_name("web")
            .description(odd)
            .send()
            .await
            .unwrap();
        sdk.ec2
            .authorize_security_group_ingress()
            .group_id(g.group_id().unwrap())
            .ip_permissions(
                ec2::types::IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(443)
                    .to_port(443)
                    .ip_ranges(
                        ec2::types::IpRange::builder()
                            .cidr_ip("10.60.0.0/16")
                            .description(odd)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        vpc
    });
    let dir = tempfile::tempdir().unwrap();
    let import = vpcform(
        &moto,
        dir.path(),
        &[
            "import",
            "--vpc",
            &vpc,
            "--stack",
            "hostile",
            "-o",
            "topology.yaml",
        ],
    );
    ok(&import);
    let written = std::fs::read_to_string(dir.path().join("topology.yaml")).unwrap();
    assert!(
        !written.contains("\n  evil:"),
        "a tag wrote a declaration:\n{written}"
    );
    let loaded = vpcform_topology::load("topology.yaml", written.as_bytes());
    let topology = loaded.topology.expect("the written file loads");
    assert_eq!(topology.vpcs.len(), 1, "{written}");
    let group = &topology.security_groups[0].spec;
    assert_eq!(
        group.description.as_ref().map(|d| d.value.as_str()),
        Some(odd),
        "{written}"
    );
    let plan = vpcform(&moto, dir.path(), &["plan", "--format", "json"]);
    ok(&plan);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(json["summary"]["adopt"], 2, "{}", plan.stdout);
    assert_eq!(
        json["summary"]["change"], 0,
        "the values read back as they are: {}",
        plan.stdout
    );
    assert_eq!(json["summary"]["add"], 0, "{}", plan.stdout);
}

/// An owned object whose address tag someone edited is a plan error naming
/// the object and the tag, not a replacement that apply could not carry out.
#[test]
fn an_edited_address_tag_is_a_located_plan_error() {
    let moto = Moto::start();
    let dir = workdir(WITH_GROUP);
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let subnet = rt.block_on(async {
        let s = sdk
            .ec2
            .describe_subnets()
            .filters(by_tag("vpcform:address", "subnet.app"))
            .send()
            .await
            .unwrap();
        s.subnets()[0].subnet_id().unwrap().to_string()
    });
    rt.block_on(add_ec2_tag(
        &sdk,
        &subnet,
        "vpcform:address",
        "subnet.renamed",
    ));
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    assert_eq!(plan.code, 1, "{}\n{}", plan.stdout, plan.stderr);
    let all = format!("{}{}", plan.stdout, plan.stderr);
    assert!(
        all.contains(&format!(
            "{subnet} was created as subnet.app, but its `vpcform:address` tag now says `subnet.renamed`"
        )),
        "{all}"
    );
    let apply = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 1, "{}", apply.stderr);
    rt.block_on(add_ec2_tag(&sdk, &subnet, "vpcform:address", "subnet.app"));
    let clean = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    assert_eq!(clean.code, 0, "{}\n{}", clean.stdout, clean.stderr);
}

/// An apply whose plan went stale while it waited (here: for the lock,
/// while another apply ran) plans again under the lock and refuses,
/// instead of running the old plan: nothing is created twice.
#[test]
fn an_apply_that_waited_refuses_its_stale_plan() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(
        &moto.endpoint,
        Faults::hold("CreateLogStream", std::time::Duration::from_secs(6)),
    );
    let dir = workdir(WITH_GROUP);
    let slow_dir = dir.path().to_path_buf();
    let slow = {
        let moto_env = moto.env();
        let endpoint = proxy.endpoint.clone();
        std::thread::spawn(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_vpcform"))
                .args(["apply", "--auto-approve"])
                .current_dir(&slow_dir)
                .envs(moto_env)
                .env("AWS_ENDPOINT_URL", endpoint)
                .env_remove("AWS_PROFILE")
                .env("NO_COLOR", "1")
                .output()
                .unwrap()
        })
    };
    // While the first waits on its lock, a second applies the same topology.
    std::thread::sleep(std::time::Duration::from_secs(3));
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let first = slow.join().unwrap();
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("changed after this plan was made"),
        "{stderr}"
    );
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let vpcs = rt
        .block_on(
            sdk.ec2
                .describe_vpcs()
                .filters(by_tag("vpcform:stack", "guarded"))
                .send(),
        )
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1, "nothing was created twice");
}

/// Destroy never starts what AWS would refuse halfway: a table a subnet
/// added by hand after the import is associated with, and a VPC that still
/// holds that subnet, make the destroy plan an error; nothing is deleted.
#[test]
fn destroy_refuses_what_others_still_use_instead_of_failing_halfway() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let subnet = |vpc: String, cidr: &'static str| {
        let ec2 = sdk.ec2.clone();
        async move {
            let s = ec2
                .create_subnet()
                .vpc_id(vpc)
                .cidr_block(cidr)
                .send()
                .await
                .unwrap();
            s.subnet().unwrap().subnet_id().unwrap().to_string()
        }
    };
    let associate = |rtb: String, subnet: String| {
        let ec2 = sdk.ec2.clone();
        async move {
            ec2.associate_route_table()
                .route_table_id(rtb)
                .subnet_id(subnet)
                .send()
                .await
                .unwrap();
        }
    };
    let (vpc, rtb) = rt.block_on(async {
        let ec2 = &sdk.ec2;
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.70.0.0/16")
            .send()
            .await
            .unwrap();
        let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
        ec2.associate_vpc_cidr_block()
            .vpc_id(&vpc)
            .cidr_block("10.71.0.0/16")
            .send()
            .await
            .unwrap();
        let app = subnet(vpc.clone(), "10.70.1.0/24").await;
        let rtb = ec2.create_route_table().vpc_id(&vpc).send().await.unwrap();
        let rtb = rtb
            .route_table()
            .unwrap()
            .route_table_id()
            .unwrap()
            .to_string();
        associate(rtb.clone(), app).await;
        (vpc, rtb)
    });
    let dir = tempfile::tempdir().unwrap();
    ok(&vpcform(
        &moto,
        dir.path(),
        &[
            "import",
            "--vpc",
            &vpc,
            "--stack",
            "held",
            "-o",
            "topology.yaml",
        ],
    ));
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    // Someone adds a subnet in the secondary block and uses the stack's table.
    let extra = rt.block_on(async {
        let extra = subnet(vpc.clone(), "10.71.1.0/24").await;
        associate(rtb.clone(), extra.clone()).await;
        extra
    });
    let before = rt.block_on(census(&sdk));
    let destroy = vpcform(&moto, dir.path(), &["destroy", "--auto-approve"]);
    assert_eq!(destroy.code, 1, "{}\n{}", destroy.stdout, destroy.stderr);
    let all = format!("{}{}", destroy.stdout, destroy.stderr);
    assert!(
        all.contains(&format!(
            "while {extra}, which vpcform does not manage, is associated with it"
        )),
        "{all}"
    );
    assert!(all.contains(&format!("still holds {extra}")), "{all}");
    assert_eq!(rt.block_on(census(&sdk)), before, "nothing was deleted");
}
