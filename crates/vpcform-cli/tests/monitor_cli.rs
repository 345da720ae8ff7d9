//! `vpcform monitor test` on records with a known answer: a burst of
//! rejected RDP attempts fires an alarm of five a minute, once, in the
//! minute it happens; a pattern CloudWatch would refuse is refused, located.

use std::process::Command;

fn records() -> String {
    let t0 = 1_764_900_000;
    let mut lines = vec![format!(
        "2 123456789012 eni-0a 198.51.100.7 10.2.0.4 50122 22 6 20 4249 {t0} {} ACCEPT OK",
        t0 + 60
    )];
    for i in 0..8 {
        lines.push(format!(
            "2 123456789012 eni-0a 203.0.113.99 10.2.0.4 {} 3389 6 3 180 {} {} REJECT OK",
            61000 + i,
            t0 + 240 + i * 5,
            t0 + 300
        ));
    }
    lines.push(format!(
        "2 123456789012 eni-0a 203.0.113.99 10.2.0.4 61100 3389 6 3 180 {} {} REJECT OK",
        t0 + 600,
        t0 + 660
    ));
    lines.join("\n") + "\n"
}

const RDP: &str = r#"[version, account, eni, source, destination, srcport, destport="3389", protocol="6", packets, bytes, windowstart, windowend, action="REJECT", flowlogstatus]"#;

fn monitor(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vpcform"))
        .args(["monitor", "test", "--input", "flows.log", "--period", "1m"])
        .args(extra)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn a_burst_of_rejected_rdp_fires_the_alarm_in_its_minute() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flows.log"), records()).unwrap();
    let run = monitor(
        dir.path(),
        &[
            "--pattern",
            RDP,
            "--threshold",
            "5",
            "--missing-data",
            "not-breaching",
            "--format",
            "json",
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(json["records"], 10);
    assert_eq!(json["matched"], 9);
    let points: Vec<(i64, f64)> = json["datapoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["start_ms"].as_i64().unwrap() / 1000,
                d["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(points, [(1_764_900_240, 8.0), (1_764_900_600, 1.0)]);
    let transitions: Vec<(i64, &str)> = json["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["at_ms"].as_i64().unwrap() / 1000,
                t["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        transitions,
        [
            (1_764_900_060, "OK"),
            (1_764_900_300, "ALARM"),
            (1_764_900_360, "OK")
        ]
    );
    assert_eq!(json["fires"], 1);

    // Ten a minute is never reached.
    let quiet = monitor(
        dir.path(),
        &["--pattern", RDP, "--threshold", "10", "--format", "json"],
    );
    let json: serde_json::Value = serde_json::from_slice(&quiet.stdout).unwrap();
    assert_eq!(json["fires"], 0, "{json}");

    let text = monitor(dir.path(), &["--pattern", RDP, "--threshold", "5"]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("9 of 10 records match the filter"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ALARM") && stdout.contains("The alarm would have fired 1 time(s)."),
        "{stdout}"
    );
}

#[test]
fn a_broken_pattern_is_refused_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flows.log"), records()).unwrap();
    let run = monitor(dir.path(), &["--pattern", "[a, b > x]", "--threshold", "5"]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("`b` is compared with text by an order"),
        "{stderr}"
    );
    assert!(stderr.contains("  [a, b > x]\n      ^"), "{stderr}");
}

/// The seed's network with its own alarms: RDP rejects at five a minute (a
/// declared filter), every REJECT of the log group, and instance-2's by its
/// interface (whose id only the account knows).
const WATCHED: &str = r#"
metric-filters:
  rdp-rejects:
    log-group: flow-logs
    pattern: '[version, account, eni, source, destination, srcport, destport = "3389", protocol = "6", packets, bytes, start, end, action = "REJECT", status]'
    metric-name: RdpRejects
alarms:
  rdp-burst:
    name: rdp-burst
    metric-filter: rdp-rejects
    threshold: 5
    period: 60
    missing-data: notBreaching
monitoring:
  rejects:
    - log-group: flow-logs
      threshold: 100
    - instance: instance-2
      threshold: 5
      period: 60
"#;

#[test]
fn the_topologys_alarms_are_tested_with_their_own_settings() {
    let dir = tempfile::tempdir().unwrap();
    let seed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../topology.yaml"))
        .unwrap();
    std::fs::write(dir.path().join("topology.yaml"), seed + WATCHED).unwrap();
    std::fs::write(dir.path().join("flows.log"), records()).unwrap();
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_vpcform"))
            .args([
                "monitor",
                "test",
                "--input",
                "flows.log",
                "--format",
                "json",
            ])
            .args(extra)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let json = run(&[]);
    let by_name = |json: &serde_json::Value, name: &str| {
        json["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["alarm"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {json}"))
    };
    let rdp = by_name(&json, "alarm.rdp-burst");
    assert_eq!(rdp["matched"], 9);
    assert_eq!(rdp["fires"], 1);
    let alarm_at: Vec<i64> = rdp["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["state"] == "ALARM")
        .map(|t| t["at_ms"].as_i64().unwrap() / 1000)
        .collect();
    assert_eq!(alarm_at, [1_764_900_300]);
    // Nine REJECTs in a 5-minute period never reach 100.
    let group = by_name(&json, "alarm.rejects-log-group-flow-logs");
    assert_eq!(
        (group["matched"].clone(), group["fires"].clone()),
        (9.into(), 0.into())
    );
    // instance-2's filter needs its interface's id: unknown, and says how to give it.
    let unknown = by_name(&json, "alarm.rejects-instance-instance-2");
    let why = unknown["unknown"].as_str().unwrap();
    assert!(
        why.contains("--id instance.instance-2.interface=ID"),
        "{why}"
    );
    // Given the id the records carry, it fires as the RDP alarm does.
    let json = run(&[
        "--alarm",
        "rejects-instance-instance-2",
        "--id",
        "instance.instance-2.interface=eni-0a",
    ]);
    assert_eq!(json["alarms"].as_array().unwrap().len(), 1);
    let instance = by_name(&json, "alarm.rejects-instance-instance-2");
    assert_eq!(
        (instance["matched"].clone(), instance["fires"].clone()),
        (9.into(), 1.into())
    );
}

#[test]
fn an_id_for_an_object_no_filter_names_or_of_the_wrong_shape_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let seed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../topology.yaml"))
        .unwrap();
    std::fs::write(dir.path().join("topology.yaml"), seed + WATCHED).unwrap();
    std::fs::write(dir.path().join("flows.log"), records()).unwrap();
    let run = |id: &str| {
        Command::new(env!("CARGO_BIN_EXE_vpcform"))
            .args(["monitor", "test", "--input", "flows.log", "--id", id])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let unknown = run("instance.nope=i-0123");
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("no metric filter of the topology names its id")
            && stderr.contains("instance.instance-2.interface"),
        "{stderr}"
    );
    let shape = run("instance.instance-2.interface=i-0123");
    assert!(!shape.status.success());
    let stderr = String::from_utf8_lossy(&shape.stderr);
    assert!(stderr.contains("starts with `eni-`"), "{stderr}");
}
