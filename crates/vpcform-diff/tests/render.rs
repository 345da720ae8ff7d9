//! The plan's renderings, pinned by snapshots, on plans made from hand-built
//! live states (the planner is pure: no AWS needed here).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use vpcform_diff::{LiveObject, LiveState, Plan, PlanInput, TAG_CONFIG};
use vpcform_topology::{Address, Style};

const SMALL: &str = r#"
stack: demo
region: us-east-1
vpcs:
  main: { cidr: 10.9.0.0/16, tags: { Name: main } }
log-groups:
  logs: { name: demo-logs, retention-days: 7 }
iam-policies:
  publish:
    name: publish
    document:
      Version: "2012-10-17"
      Statement:
        - { Effect: Allow, Action: ["logs:PutLogEvents", "logs:CreateLogStream"], Resource: "*" }
"#;

fn plan(yaml: &str, live: &LiveState) -> Plan {
    let loaded = vpcform_topology::load("t.yaml", yaml.as_bytes());
    let (t, g) = loaded.valid().unwrap();
    vpcform_diff::plan(PlanInput {
        topology: t,
        graph: g,
        live,
        topology_hash: "0000",
    })
}

fn object(address: &str, id: &str, attrs: Value) -> LiveObject {
    let attrs: BTreeMap<String, Value> = attrs.as_object().unwrap().clone().into_iter().collect();
    LiveObject {
        address: Address::parse(address).unwrap(),
        id: id.into(),
        attrs,
        unowned: false,
    }
}

/// A live state that matches SMALL, as AWS shapes it.
fn matching() -> LiveState {
    let mut live = LiveState::default();
    live.insert(object(
        "vpc.main",
        "vpc-1",
        json!({
            "cidr_block": "10.9.0.0/16", "enable_dns_support": true, "enable_dns_hostnames": false,
            "restrict_default_security_group": false,
            "tags": {"Name": "main", "vpcform:stack": "demo", "vpcform:address": "vpc.main"}
        }),
    ));
    live.insert(object(
        "log-group.logs",
        "demo-logs",
        json!({
            "log_group_name": "demo-logs", "retention_in_days": 7,
            "tags": {"vpcform:stack": "demo", "vpcform:address": "log-group.logs"}
        }),
    ));
    live.insert(object("iam-policy.publish", "arn:aws:iam::1:policy/vpcform/demo/publish/publish", json!({
        "policy_name": "publish", "path": "/vpcform/demo/publish/", "description": null,
        // URL-encoded, statement keys and actions in another order: the same policy.
        "policy_document": "%7B%22Statement%22%3A%5B%7B%22Resource%22%3A%5B%22*%22%5D%2C%22Action%22%3A%5B%22logs%3ACreateLogStream%22%2C%22logs%3APutLogEvents%22%5D%2C%22Effect%22%3A%22Allow%22%7D%5D%2C%22Version%22%3A%222012-10-17%22%7D",
        "arn": "arn:aws:iam::1:policy/vpcform/demo/publish/publish"
    })));
    live
}

#[test]
fn matching_live_state_plans_no_changes() {
    let p = plan(SMALL, &matching());
    assert!(
        !p.has_changes(),
        "{}",
        vpcform_diff::to_text(&p, &Style::plain())
    );
    let text = vpcform_diff::to_text(&p, &Style::plain());
    assert!(
        text.starts_with("No changes. The account matches the topology of stack `demo`.\n\nPolicy checks: 0 introduced, 0 resolved, 4 unchanged (0 waived):\n"),
        "{text}"
    );
}

#[test]
fn seed_on_an_empty_account_renders_as_creates() {
    let seed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../topology.yaml"))
            .unwrap();
    let p = plan(&seed, &LiveState::default());
    assert_eq!(p.summary().add, 31);
    insta::assert_snapshot!("seed_text", vpcform_diff::to_text(&p, &Style::plain()));
    insta::assert_snapshot!("seed_markdown", vpcform_diff::to_markdown(&p));
    let json = vpcform_diff::to_json(&p, "test");
    assert_eq!(json["resource_changes"].as_array().unwrap().len(), 31);
}

#[test]
fn updates_replaces_deletes_and_drift_render_readably() {
    let mut live = matching();
    // The declaration hash as apply records it, so changes to the log group read as drift.
    let hash = plan(SMALL, &LiveState::default())
        .changes
        .iter()
        .find(|c| c.address.to_string() == "log-group.logs")
        .unwrap()
        .config_hash
        .clone()
        .unwrap();
    let logs = live
        .objects
        .get_mut(&Address::parse("log-group.logs").unwrap())
        .unwrap();
    logs.attrs.insert("retention_in_days".into(), json!(14));
    logs.attrs
        .get_mut("tags")
        .unwrap()
        .as_object_mut()
        .unwrap()
        .insert(TAG_CONFIG.into(), json!(hash));
    // The VPC's CIDR differs: replace. The policy gained an action: update with a line diff.
    live.objects
        .get_mut(&Address::parse("vpc.main").unwrap())
        .unwrap()
        .attrs
        .insert("cidr_block".into(), json!("10.8.0.0/16"));
    live.objects.get_mut(&Address::parse("iam-policy.publish").unwrap()).unwrap().attrs.insert(
        "policy_document".into(),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:CreateLogStream", "s3:GetObject"], "Resource": "*"}]}),
    );
    // An owned subnet no longer declared: delete.
    live.insert(object(
        "subnet.old",
        "subnet-9",
        json!({"vpc_id": "vpc-1", "cidr_block": "10.8.1.0/24", "tags": {"vpcform:stack": "demo"}}),
    ));
    let p = plan(SMALL, &live);
    let s = p.summary();
    assert_eq!((s.add, s.change, s.destroy, s.drifted), (1, 2, 2, 1));
    let text = vpcform_diff::to_text(&p, &Style::plain());
    assert!(
        text.contains("# (retention_in_days 7 → 14, changed outside vpcform)"),
        "{text}"
    );
    assert!(
        text.contains("~ cidr_block = \"10.8.0.0/16\" -> \"10.9.0.0/16\" # forces replacement"),
        "{text}"
    );
    assert!(
        text.contains("-         \"s3:GetObject\""),
        "the policy diff is line by line:\n{text}"
    );
    insta::assert_snapshot!("mixed_text", text);
    let md = vpcform_diff::to_markdown(&p);
    assert!(
        md.contains("> [!WARNING]\n> This plan destroys or replaces 2 object(s):"),
        "{md}"
    );
    assert!(md.contains("#### Changed outside vpcform (1)"), "{md}");
    insta::assert_snapshot!("mixed_markdown", md);
    // Deletes are ordered: the subnet before the VPC it lives in.
    let vpc = p
        .changes
        .iter()
        .find(|c| c.address.to_string() == "vpc.main")
        .unwrap();
    assert_eq!(vpc.delete_after, [Address::parse("subnet.old").unwrap()]);
}

#[test]
fn markdown_is_truncated_with_a_notice_under_the_comment_limit() {
    let wide = vpcform_topology::generate::wide_topology("wide", 400);
    let p = plan(&wide, &LiveState::default());
    let md = vpcform_diff::to_markdown(&p);
    assert!(
        md.len() <= vpcform_diff::MARKDOWN_LIMIT,
        "{} characters",
        md.len()
    );
    assert!(md.contains("is truncated here"), "no truncation notice");
    assert!(
        md.contains(" more |\n"),
        "the table says how many rows were left out"
    );
    assert!(md.starts_with("<!-- vpcform-plan stack=wide changes=4400 destroys=0 broadening="));
    let body = &md[md.find('\n').unwrap() + 1..];
    assert!(body.starts_with(
        "### vpcform plan: stack `wide`\n\n**Plan: 4400 to add, 0 to change, 0 to destroy.**"
    ));
}
