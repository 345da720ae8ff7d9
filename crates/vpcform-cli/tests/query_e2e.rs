//! `vpcform query` end to end against a private moto: the applied seed, the
//! flow-log records AWS would deliver for its traffic written with
//! PutLogEvents (moto delivers none), then the topology's queries on the
//! local engine (FilterLogEvents) and a query on moto's Logs Insights.

mod common;

use common::*;
use ec2::types::Filter;

/// The instance's network interface and private address.
async fn nic(sdk: &Sdk, name: &str) -> (String, String) {
    let r = sdk
        .ec2
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:vpcform:address")
                .values(format!("instance.{name}"))
                .build(),
        )
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .values("running")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let i = &r.reservations()[0].instances()[0];
    let eni = i.network_interfaces()[0]
        .network_interface_id()
        .unwrap()
        .to_string();
    (eni, i.private_ip_address().unwrap().to_string())
}

/// Pings both ways (each interface logs request and reply), an SSH session
/// from the internet, a rejected RDP attempt and a NODATA interval.
async fn write_records(sdk: &Sdk) -> (String, String) {
    let ((eni1, ip1), (eni2, ip2)) = (nic(sdk, "instance-1").await, nic(sdk, "instance-2").await);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        - 600;
    let line = |eni: &str,
                src: &str,
                dst: &str,
                ports: (u16, u16),
                proto: u8,
                bytes: u32,
                t: i64,
                action: &str| {
        (
            t,
            format!(
                "2 123456789012 {eni} {src} {dst} {} {} {proto} 4 {bytes} {t} {} {action} OK",
                ports.0,
                ports.1,
                t + 60
            ),
        )
    };
    let mut one = vec![
        line(&eni1, &ip1, &ip2, (0, 0), 1, 336, now, "ACCEPT"),
        line(&eni1, &ip2, &ip1, (0, 0), 1, 336, now, "ACCEPT"),
        line(
            &eni1,
            "198.51.100.7",
            &ip1,
            (50122, 22),
            6,
            4249,
            now + 60,
            "ACCEPT",
        ),
    ];
    let mut two = vec![
        line(&eni2, &ip1, &ip2, (0, 0), 1, 336, now, "ACCEPT"),
        line(&eni2, &ip2, &ip1, (0, 0), 1, 336, now, "ACCEPT"),
        line(
            &eni2,
            "203.0.113.99",
            &ip2,
            (61001, 3389),
            6,
            180,
            now + 120,
            "REJECT",
        ),
        (
            now + 180,
            format!(
                "2 123456789012 {eni2} - - - - - - - {} {} - NODATA",
                now + 180,
                now + 240
            ),
        ),
    ];
    for (eni, lines) in [(&eni1, &mut one), (&eni2, &mut two)] {
        let stream = format!("{eni}-all");
        sdk.logs
            .create_log_stream()
            .log_group_name("ProjectVPCFlowLogGroups")
            .log_stream_name(&stream)
            .send()
            .await
            .unwrap();
        lines.sort();
        let events = lines
            .iter()
            .map(|(t, m)| {
                logs::types::InputLogEvent::builder()
                    .timestamp(t * 1000)
                    .message(m)
                    .build()
                    .unwrap()
            })
            .collect();
        sdk.logs
            .put_log_events()
            .log_group_name("ProjectVPCFlowLogGroups")
            .log_stream_name(&stream)
            .set_log_events(Some(events))
            .send()
            .await
            .unwrap();
    }
    (ip1, ip2)
}

fn json(moto: &Moto, dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let run = vpcform(moto, dir, args);
    assert_eq!(run.code, 0, "{args:?}\n{}\n{}", run.stdout, run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn rows(doc: &serde_json::Value) -> &Vec<serde_json::Value> {
    doc["rows"].as_array().unwrap()
}

fn with<'a>(name: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["query", name];
    args.extend_from_slice(extra);
    args
}

#[test]
fn the_seed_queries_answer_over_the_flow_logs() {
    let moto = Moto::start();
    let dir = root();
    let apply = vpcform(&moto, &dir, &["apply", "--auto-approve"]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let (ip1, ip2) = rt.block_on(write_records(&sdk));

    let local = ["--engine", "local", "--since", "2h", "--format", "json"];

    let by_protocol = json(&moto, &dir, &with("by-protocol", &local));
    assert_eq!(
        by_protocol["fields"],
        serde_json::json!(["protocol", "count()"])
    );
    assert_eq!(
        *rows(&by_protocol),
        [
            serde_json::json!({"protocol": "1", "count()": "4"}),
            serde_json::json!({"protocol": "6", "count()": "2"}),
            serde_json::json!({"count()": "1"}),
        ]
    );
    assert_eq!(by_protocol["statistics"]["recordsScanned"], 7.0);

    let rejected = json(&moto, &dir, &with("rejected", &local));
    assert_eq!(rows(&rejected).len(), 1);
    assert_eq!(rows(&rejected)[0]["srcAddr"], "203.0.113.99");

    // The placeholders are the instances' live addresses.
    let between = json(&moto, &dir, &with("between-instances", &local));
    let sources: Vec<&str> = rows(&between)
        .iter()
        .map(|r| r["srcAddr"].as_str().unwrap())
        .collect();
    assert_eq!(sources.len(), 4, "{sources:?}");
    assert!(
        sources.iter().all(|s| *s == ip1 || *s == ip2),
        "{sources:?}"
    );

    let all = json(&moto, &dir, &with("all-events", &local));
    let times: Vec<&str> = rows(&all)
        .iter()
        .map(|r| r["@timestamp"].as_str().unwrap())
        .collect();
    assert_eq!(times.len(), 7);
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );

    // Logs Insights itself (moto runs fields, sort and limit).
    let aws = json(
        &moto,
        &dir,
        &[
            "query",
            "--query",
            "fields @timestamp, @message | sort @timestamp desc | limit 3",
            "--engine",
            "aws",
            "--since",
            "2h",
            "--format",
            "json",
        ],
    );
    assert_eq!(rows(&aws).len(), 3);
    assert!(
        rows(&aws)[0]["@message"]
            .as_str()
            .unwrap()
            .ends_with("NODATA"),
        "{aws}"
    );

    let csv = vpcform(
        &moto,
        &dir,
        &[
            "query", "rejected", "--engine", "local", "--since", "2h", "--format", "csv",
        ],
    );
    assert!(
        csv.stdout
            .starts_with("@timestamp,srcAddr,dstAddr,protocol,bytes\n"),
        "{}",
        csv.stdout
    );
    assert!(csv.stdout.contains(",203.0.113.99,"), "{}", csv.stdout);

    let bad = vpcform(
        &moto,
        &dir,
        &[
            "query",
            "--query",
            "filter srcaddr = '1'",
            "--engine",
            "local",
        ],
    );
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("did you mean `srcAddr`?"),
        "{}",
        bad.stderr
    );

    // verify: configuration and flow-log evidence per expectation.
    let verify = vpcform(
        &moto,
        &dir,
        &[
            "verify", "--engine", "local", "--since", "2h", "--format", "json",
        ],
    );
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
    let checks: serde_json::Value = serde_json::from_str(&verify.stdout).unwrap();
    assert_eq!(
        checks[0]["expectation"],
        "instance.instance-1 → instance.instance-2 icmp"
    );
    assert_eq!(
        checks[0]["accepted"], 2,
        "both interfaces logged the ping: {checks}"
    );
    assert!(
        checks[0]["verdict"]
            .as_str()
            .unwrap()
            .contains("ACCEPT record(s) show it")
    );
    assert!(
        checks[3]["verdict"]
            .as_str()
            .unwrap()
            .contains("no traffic was recorded"),
        "{checks}"
    );

    // SSH to instance-2 refused on the wire although the configuration allows it.
    rt.block_on(async {
        let (eni2, ip2) = nic(&sdk, "instance-2").await;
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            - 60;
        let message = format!(
            "2 123456789012 {eni2} 198.51.100.9 {ip2} 40000 22 6 2 120 {t} {} REJECT OK",
            t + 60
        );
        sdk.logs
            .put_log_events()
            .log_group_name("ProjectVPCFlowLogGroups")
            .log_stream_name(format!("{eni2}-all"))
            .log_events(
                logs::types::InputLogEvent::builder()
                    .timestamp(t * 1000)
                    .message(message)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
    let verify = vpcform(
        &moto,
        &dir,
        &["verify", "--engine", "local", "--since", "2h"],
    );
    assert_eq!(verify.code, 2, "{}\n{}", verify.stdout, verify.stderr);
    assert!(
        verify.stdout.contains("✗ internet → instance.instance-2 tcp/22: configuration allows TCP, but only REJECT records were seen at eni-"),
        "{}",
        verify.stdout
    );
    // `explain`'s answer: nothing in the account drops it now.
    assert!(
        verify
            .stdout
            .contains("the configuration now lets them through: they may predate a change"),
        "{}",
        verify.stdout
    );
    assert!(
        verify.stdout.contains("3 of 4 expectations hold"),
        "{}",
        verify.stdout
    );
}
