//! `monitoring:` end to end against a private moto: the seed with alarms on
//! rejected traffic (its log group, and instance-2 by its interface), a
//! topic with an email subscription, Contributor Insights rules and a
//! dashboard, the saved queries. Every object is created, read back from AWS as declared, and
//! re-planned clean; a changed threshold is an in-place update.

mod common;

use common::*;

const MONITORING: &str = "
monitoring:
  notify:
    email: [ops@example.com]
  rejects:
    - log-group: flow-logs
      threshold: 50
      evaluation-periods: 3
      datapoints-to-alarm: 2
    - instance: instance-2
      threshold: 5
  contributors: true
  dashboard: true
  query-definitions: true
";

#[test]
fn monitoring_creates_every_object_and_replans_clean() {
    let moto = Moto::start();
    let seed = std::fs::read_to_string(root().join("topology.yaml")).unwrap();
    let dir = workdir(&(seed.clone() + MONITORING));
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());

    let topics = rt.block_on(sdk.sns.list_topics().send()).unwrap();
    let topic = topics.topics()[0].topic_arn().unwrap().to_string();
    assert!(topic.ends_with(":vpc-monitoring-network-alerts"), "{topic}");
    let subs = rt
        .block_on(
            sdk.sns
                .list_subscriptions_by_topic()
                .topic_arn(&topic)
                .send(),
        )
        .unwrap();
    let endpoints: Vec<&str> = subs
        .subscriptions()
        .iter()
        .filter_map(|s| s.endpoint())
        .collect();
    assert_eq!(endpoints, ["ops@example.com"]);

    let alarms = rt
        .block_on(sdk.cloudwatch.describe_alarms().send())
        .unwrap();
    let mut seen: Vec<(String, f64, i32, i32, Vec<String>)> = alarms
        .metric_alarms()
        .iter()
        .map(|a| {
            (
                a.alarm_name().unwrap().to_string(),
                a.threshold().unwrap(),
                a.evaluation_periods().unwrap(),
                a.datapoints_to_alarm().unwrap(),
                a.alarm_actions().to_vec(),
            )
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        [
            (
                "vpc-monitoring-rejects-instance-instance-2".into(),
                5.0,
                1,
                1,
                vec![topic.clone()]
            ),
            (
                "vpc-monitoring-rejects-log-group-flow-logs".into(),
                50.0,
                3,
                2,
                vec![topic.clone()]
            ),
        ]
    );

    // instance-2's filter names its primary interface, as flow-log records do.
    let eni = rt.block_on(async {
        let r = sdk
            .ec2
            .describe_instances()
            .filters(by_tag("vpcform:address", "instance.instance-2"))
            .send()
            .await
            .unwrap();
        r.reservations()[0].instances()[0].network_interfaces()[0]
            .network_interface_id()
            .unwrap()
            .to_string()
    });
    let filters = rt
        .block_on(sdk.logs.describe_metric_filters().send())
        .unwrap();
    let instance_filter = filters
        .metric_filters()
        .iter()
        .find(|f| {
            f.filter_name()
                == Some("vpcform/vpc-monitoring/metric-filter.rejected-instance-instance-2")
        })
        .expect("the instance's filter, named for its owner");
    let pattern = instance_filter.filter_pattern().unwrap();
    assert!(
        pattern.contains(&format!("interface_id = \"{eni}\"")),
        "{pattern}"
    );
    assert!(pattern.contains("action = \"REJECT\""), "{pattern}");
    assert_eq!(
        instance_filter.log_group_name(),
        Some("ProjectVPCFlowLogGroups")
    );

    let rules = rt
        .block_on(sdk.cloudwatch.describe_insight_rules().send())
        .unwrap();
    let mut names: Vec<&str> = rules
        .insight_rules()
        .iter()
        .filter_map(|r| r.name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "vpc-monitoring-top-rejected-flow-logs",
            "vpc-monitoring-top-talkers-flow-logs"
        ]
    );
    let body: serde_json::Value =
        serde_json::from_str(rules.insight_rules()[0].definition().unwrap()).unwrap();
    assert_eq!(
        body["LogGroupNames"],
        serde_json::json!(["ProjectVPCFlowLogGroups"])
    );

    let dash = rt
        .block_on(
            sdk.cloudwatch
                .get_dashboard()
                .dashboard_name("vpc-monitoring-network")
                .send(),
        )
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(dash.dashboard_body().unwrap()).unwrap();
    let widgets = body["widgets"].as_array().unwrap();
    assert!(
        widgets[0]["properties"]["markdown"]
            .as_str()
            .unwrap()
            .contains("stack `vpc-monitoring`")
    );
    let titles: Vec<&str> = widgets
        .iter()
        .filter_map(|w| w["properties"]["title"].as_str())
        .collect();
    assert!(
        titles.contains(&"REJECT records: log-group-flow-logs"),
        "{titles:?}"
    );
    assert!(titles.contains(&"See only rejected traffic"), "{titles:?}");
    assert!(
        widgets
            .iter()
            .all(|w| w["type"] != "metric" || w["properties"]["region"] == "us-east-1")
    );

    // The topology's queries without instance addresses, saved under the stack's folder.
    let saved = rt
        .block_on(sdk.logs.describe_query_definitions().send())
        .unwrap();
    let mut saved: Vec<(&str, &str)> = saved
        .query_definitions()
        .iter()
        .map(|q| (q.name().unwrap(), q.query_string().unwrap()))
        .collect();
    saved.sort();
    assert_eq!(
        saved,
        [
            (
                "vpcform/vpc-monitoring/query-definition.query-all-events",
                "fields @timestamp, srcAddr, dstAddr, action, bytes, protocol | sort @timestamp desc"
            ),
            (
                "vpcform/vpc-monitoring/query-definition.query-by-protocol",
                "stats count() by protocol"
            ),
            (
                "vpcform/vpc-monitoring/query-definition.query-rejected",
                "filter action = 'REJECT' | fields @timestamp, srcAddr, dstAddr, protocol, bytes | sort @timestamp desc"
            ),
        ]
    );

    let plan = vpcform(&moto, dir.path(), &["plan"]);
    ok(&plan);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);

    // A new threshold changes the alarm in place, and the dashboard's threshold line.
    let changed = seed + &MONITORING.replace("threshold: 5\n", "threshold: 7\n");
    std::fs::write(dir.path().join("topology.yaml"), changed).unwrap();
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    ok(&plan);
    assert!(
        plan.stdout.contains("~ alarm.rejects-instance-instance-2"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 0 to add, 2 to change, 0 to destroy."),
        "{}",
        plan.stdout
    );
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let alarm = rt
        .block_on(
            sdk.cloudwatch
                .describe_alarms()
                .alarm_names("vpc-monitoring-rejects-instance-instance-2")
                .send(),
        )
        .unwrap();
    assert_eq!(alarm.metric_alarms()[0].threshold(), Some(7.0));
    let again = vpcform(&moto, dir.path(), &["plan"]);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
}

/// Instances made by for-each (`worker[a]`) watched by their own alarms: the
/// filters' names record addresses with instance keys and read back to
/// them, so the plan after apply is clean.
#[test]
fn alarms_on_for_each_instances_read_back_to_their_addresses() {
    let moto = Moto::start();
    let seed = std::fs::read_to_string(root().join("topology.yaml")).unwrap();
    let workers = "instances:
  worker:
    for-each: [a, b]
    ami-ssm-parameter: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64
    instance-type: t3.micro
    subnet: network-1-public
    security-groups: [instance-1-sg]
";
    let topology = seed.replacen("instances:\n", workers, 1)
        + "
monitoring:
  rejects:
    - instance: worker[a]
      threshold: 5
    - instance: worker[b]
      threshold: 5
";
    let dir = workdir(&topology);
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    ok(&plan);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let filters = rt
        .block_on(sdk.logs.describe_metric_filters().send())
        .unwrap();
    let mut names: Vec<&str> = filters
        .metric_filters()
        .iter()
        .filter_map(|f| f.filter_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "vpcform/vpc-monitoring/metric-filter.rejected-instance-worker/a",
            "vpcform/vpc-monitoring/metric-filter.rejected-instance-worker/b"
        ]
    );
}

/// `monitor test --since` reads each alarm's own log group: REJECT records
/// written (as AWS would deliver them) to one group do not fire the alarm
/// of another.
#[test]
fn each_alarm_is_tested_on_its_own_log_groups_records() {
    let moto = Moto::start();
    let seed = std::fs::read_to_string(root().join("topology.yaml")).unwrap();
    let other = "
  other-logs:
    name: other-logs
    retention-days: 7
";
    let topology = seed.replacen("log-groups:\n", &format!("log-groups:{other}"), 1)
        + "
metric-filters:
  other-rejects:
    log-group: other-logs
    pattern: REJECT
    metric-name: OtherRejects
alarms:
  other-burst: { name: other-burst, metric-filter: other-rejects, threshold: 3, period: 60 }
monitoring:
  rejects:
    - log-group: flow-logs
      threshold: 3
      period: 60
";
    let dir = workdir(&topology);
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    rt.block_on(async {
        sdk.logs
            .create_log_stream()
            .log_group_name("other-logs")
            .log_stream_name("eni-0a")
            .send()
            .await
            .unwrap();
        let mut put = sdk
            .logs
            .put_log_events()
            .log_group_name("other-logs")
            .log_stream_name("eni-0a");
        for i in 0..5 {
            let line = format!(
                "2 123456789012 eni-0a 203.0.113.9 10.1.0.5 6100{i} 3389 6 1 40 {} {} REJECT OK",
                now / 1000 - 120,
                now / 1000 - 60
            );
            put = put.log_events(
                logs::types::InputLogEvent::builder()
                    .timestamp(now - 120_000 + i)
                    .message(line)
                    .build()
                    .unwrap(),
            );
        }
        put.send().await.unwrap();
    });
    let run = vpcform(
        &moto,
        dir.path(),
        &["monitor", "test", "--since", "1h", "--format", "json"],
    );
    ok(&run);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let alarm = |name: &str| {
        json["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["alarm"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {json}"))
    };
    let other = alarm("alarm.other-burst");
    assert_eq!(
        (
            other["log_group"].clone(),
            other["matched"].clone(),
            other["fires"].clone()
        ),
        ("other-logs".into(), 5.into(), 1.into())
    );
    let flow = alarm("alarm.rejects-log-group-flow-logs");
    assert_eq!(
        (
            flow["log_group"].clone(),
            flow["matched"].clone(),
            flow["fires"].clone()
        ),
        ("ProjectVPCFlowLogGroups".into(), 0.into(), 0.into())
    );
}

/// examples/monitored-app.yaml: its flow log records subnet and instance
/// ids, so each tier's and the host's filter names its id; applied, it
/// re-plans clean.
#[test]
fn the_monitored_app_example_watches_tiers_by_their_ids() {
    let moto = Moto::start();
    let example = std::fs::read_to_string(root().join("examples/monitored-app.yaml")).unwrap();
    let dir = workdir(&example);
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let plan = vpcform(&moto, dir.path(), &["plan", "--detailed-exitcode"]);
    ok(&plan);
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let subnet = rt.block_on(async {
        let r = sdk
            .ec2
            .describe_subnets()
            .filters(by_tag("vpcform:address", "subnet.web-a"))
            .send()
            .await
            .unwrap();
        r.subnets()[0].subnet_id().unwrap().to_string()
    });
    let filters = rt
        .block_on(sdk.logs.describe_metric_filters().send())
        .unwrap();
    let web = filters
        .metric_filters()
        .iter()
        .find(|f| {
            f.filter_name() == Some("vpcform/monitored-app/metric-filter.rejected-subnet-web-a")
        })
        .expect("web-a's filter");
    let pattern = web.filter_pattern().unwrap();
    assert!(
        pattern.contains(&format!("subnet_id = \"{subnet}\"")),
        "{pattern}"
    );
    assert!(pattern.ends_with("instance_id]"), "{pattern}");
}

/// What the review found: a query or filter someone saved under the stack's
/// name prefix is not the stack's (never deleted); an adopted alarm's
/// dimensions and OK actions show in the plan before apply rewrites them;
/// a widget naming the stack's own region plans clean.
#[test]
fn hand_made_objects_under_the_stacks_prefix_stay_and_adoption_shows_what_it_drops() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    rt.block_on(async {
        sdk.cloudwatch
            .put_metric_alarm()
            .alarm_name("hand-cpu")
            .namespace("AWS/EC2")
            .metric_name("CPUUtilization")
            .dimensions(
                cloudwatch::types::Dimension::builder()
                    .name("InstanceId")
                    .value("i-0123456789abcdef0")
                    .build(),
            )
            .ok_actions("arn:aws:sns:us-east-1:123456789012:someone")
            .statistic(cloudwatch::types::Statistic::Average)
            .period(300)
            .evaluation_periods(1)
            .threshold(80.0)
            .comparison_operator(
                cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
            )
            .send()
            .await
            .unwrap();
    });
    let topology = "stack: owned
region: us-east-1
log-groups:
  flows: { name: owned-flows }
query-definitions:
  mine: { query: \"stats count() by action\", log-groups: [flows] }
metric-filters:
  rejects: { log-group: flows, pattern: REJECT, metric-name: Rejects }
dashboards:
  main:
    name: owned-main
    widgets: [{ type: metric, x: 0, \"y\": 0, width: 12, height: 6, properties: { region: us-east-1, metrics: [[AWS/EC2, CPUUtilization]] } }]
alarms:
  cpu:
    name: hand-cpu
    import-id: hand-cpu
    namespace: AWS/EC2
    metric-name: CPUUtilization
    statistic: Average
    threshold: 80
";
    let dir = workdir(topology);
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    ok(&plan);
    // The hand-made alarm's dimensions and OK action are in the plan, going.
    assert!(plan.stdout.contains("~ dimensions"), "{}", plan.stdout);
    assert!(plan.stdout.contains("~ ok_actions"), "{}", plan.stdout);
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    rt.block_on(async {
        sdk.logs
            .put_query_definition()
            .name("vpcform/owned/my-own-query")
            .query_string("fields @timestamp")
            .send()
            .await
            .unwrap();
        sdk.logs
            .put_metric_filter()
            .log_group_name("owned-flows")
            .filter_name("vpcform/owned/ssh-probes")
            .filter_pattern("REJECT")
            .metric_transformations(
                logs::types::MetricTransformation::builder()
                    .metric_name("Ssh")
                    .metric_namespace("mine")
                    .metric_value("1")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
    let again = vpcform(&moto, dir.path(), &["plan"]);
    ok(&again);
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    ok(&vpcform(&moto, dir.path(), &["destroy", "--auto-approve"]));
    let queries = rt
        .block_on(sdk.logs.describe_query_definitions().send())
        .unwrap();
    let names: Vec<&str> = queries
        .query_definitions()
        .iter()
        .filter_map(|q| q.name())
        .collect();
    assert_eq!(names, ["vpcform/owned/my-own-query"]);
}
