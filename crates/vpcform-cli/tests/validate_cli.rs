//! `vpcform validate`, `graph` and `schema` as a user runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn vpcform(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vpcform"))
        .args(args)
        .current_dir(root())
        .env_remove("NO_COLOR")
        .output()
        .expect("run vpcform")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn validate_accepts_the_seed_topology_by_default() {
    let o = vpcform(&["validate"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with(
            "topology.yaml: valid (stack `vpc-monitoring`, 31 resources, 42 dependencies)\nPolicy checks (12 rules): 6 finding(s), 6 waived\n"
        ),
        "{out}"
    );
    // The seed's open SSH is a waived finding, located, with the seed's reason.
    assert!(
        out.contains("  waived CKV_AWS_24 topology.yaml:71:9 security-group-rule.instance-1-sg[ingress/tcp/22..22/0.0.0.0/0]: SSH (port 22) is open to the whole internet (0.0.0.0/0) (A learning environment"),
        "{out}"
    );
}

#[test]
fn validate_refuses_bad_input_with_located_errors_and_exit_1() {
    let file = "crates/vpcform-topology/tests/data/invalid/12-undefined-reference.yaml";
    let o = vpcform(&["validate", "-f", file]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains(&format!("--> {file}:7:10")), "{err}");
    assert!(err.contains("did you mean `network-1`?"), "{err}");
    assert!(err.ends_with("1 error; nothing was changed\n"), "{err}");
    assert!(
        !err.contains('\x1b'),
        "no colour when stderr is not a terminal"
    );
}

#[test]
fn json_diagnostics_carry_file_line_column() {
    let file = "crates/vpcform-topology/tests/data/invalid/15-invalid-retention.yaml";
    let o = vpcform(&["validate", "-f", file, "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["valid"], false);
    let d = &doc["diagnostics"][0];
    assert_eq!(d["file"], file);
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(6), Some(21))
    );
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "invalid-retention");
}

#[test]
fn deny_warnings_turns_warnings_into_failure() {
    let file = "examples/peering-without-routes.yaml";
    let ok = vpcform(&["validate", "-f", file]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(stderr(&ok).contains("warning[peering-without-routes]"));
    let denied = vpcform(&["validate", "-f", file, "--deny-warnings"]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(stderr(&denied).contains("error[peering-without-routes]"));
}

#[test]
fn colour_is_forced_only_on_request_and_never_with_no_color() {
    let file = "crates/vpcform-topology/tests/data/invalid/15-invalid-retention.yaml";
    let forced = vpcform(&["validate", "-f", file, "--color", "always"]);
    assert!(stderr(&forced).contains("\x1b[1;31m"));
    let o = Command::new(env!("CARGO_BIN_EXE_vpcform"))
        .args(["validate", "-f", file])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stderr(&o).contains('\x1b'));
}

#[test]
fn missing_file_is_a_clear_error() {
    let o = vpcform(&["validate", "-f", "no/such/topology.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("cannot read the topology file no/such/topology.yaml"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn graph_prints_mermaid_dot_and_json() {
    let mermaid = vpcform(&["graph", "--format", "mermaid"]);
    assert_eq!(mermaid.status.code(), Some(0));
    assert!(stdout(&mermaid).contains("[\"vpc-peering.vpc1-vpc2\"]"));
    let dot = vpcform(&["graph", "--format", "dot"]);
    assert!(stdout(&dot).starts_with("digraph vpcform {"));
    let json = vpcform(&["graph", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let nodes = doc["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 31);
    assert_eq!(nodes[0]["address"], "vpc.network-1");
    let bad = vpcform(&[
        "graph",
        "-f",
        "crates/vpcform-topology/tests/data/invalid/18-dependency-cycle.yaml",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("dependency cycle"));
}

#[test]
fn schema_is_json_schema() {
    let o = vpcform(&["schema"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["title"], "vpcform topology");
    assert!(doc["$defs"]["Vpc"]["properties"]["cidr"].is_object());
}

#[test]
fn help_and_version() {
    let help = vpcform(&["--help"]);
    assert!(stdout(&help).contains("Examples:"));
    let version = vpcform(&["--version"]);
    assert_eq!(
        stdout(&version),
        format!("vpcform {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn validate_fails_a_broken_expectation_naming_the_missing_route() {
    let o = vpcform(&["validate", "-f", "examples/peering-one-side-route.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(text.contains("error[expectation-broken]"), "{text}");
    assert!(
        text.contains("examples/peering-one-side-route.yaml:53:5"),
        "{text}"
    );
    assert!(
        text.contains(
            "add a route to 10.1.0.0/16 through vpc-peering.left-right in route-table.right-rt"
        ),
        "{text}"
    );
}

#[test]
fn reach_answers_from_the_topology_with_exit_codes() {
    let o = vpcform(&[
        "reach",
        "instance.instance-1",
        "instance.instance-2",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["reachable"], true);
    assert!(v["forward"].as_array().unwrap().len() >= 6);
    assert!(!v["return"].as_array().unwrap().is_empty());
    assert_eq!(v["blocked"], serde_json::json!([]));

    // RDP is not open: blocked at instance-1's group, exit 2.
    let o = vpcform(&[
        "reach",
        "internet",
        "instance.instance-1",
        "--protocol",
        "tcp",
        "--port",
        "3389",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["blocked"][0]["code"], "ENI_SG_RULES_MISMATCH");
    assert_eq!(v["blocked"][0]["component"], "security-group.instance-1-sg");

    let o = vpcform(&["reach", "instance.nowhere", "internet"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no instance `nowhere`"),
        "{}",
        stderr(&o)
    );
}

/// Bounded work: a file that never ends is read up to the limit, not on
/// metadata's word (which says 0 bytes for /dev/zero).
#[test]
fn a_file_that_never_ends_is_refused_at_the_limit() {
    let started = std::time::Instant::now();
    let o = vpcform(&["validate", "-f", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("error[file-too-large]")
            && stderr(&o).contains("goes on past 33554432 bytes"),
        "{}",
        stderr(&o)
    );
    // Not a timing assertion on speed: a guard that it did not read on forever.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

/// A line of a hostile file is echoed bounded and safe for the terminal.
#[test]
fn a_diagnostic_echoes_a_bounded_safe_excerpt_of_the_line() {
    let dir = std::env::temp_dir().join(format!("vpcform-long-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("t.yaml");
    let long = "x".repeat(2_000_000);
    std::fs::write(
        &file,
        format!("stack: s\nvpcs:\n  v: {{ cidr: \"10.0.0.0/16\u{1b}[2J{long}\" }}\n"),
    )
    .unwrap();
    let o = vpcform(&["validate", "-f", file.to_str().unwrap(), "--color", "never"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.len() < 20_000,
        "the line is not echoed whole: {} bytes",
        err.len()
    );
    assert!(
        !err.contains('\u{1b}'),
        "no raw escape reaches the terminal"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A Markdown plan that cannot be made still writes the comment, saying why.
#[test]
fn a_failed_markdown_plan_still_says_why() {
    let dir = std::env::temp_dir().join(format!("vpcform-md-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bad.yaml"),
        "stack: s\nvpcs:\n  v: { cidr: nope }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("good.yaml"),
        "stack: s\nregion: us-east-1\nvpcs:\n  v: { cidr: 10.0.0.0/16 }\n",
    )
    .unwrap();
    let run = |file: &str| {
        Command::new(env!("CARGO_BIN_EXE_vpcform"))
            .args(["plan", "--format", "markdown", "-f", file])
            .current_dir(&dir)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    };
    for (file, why) in [
        ("bad.yaml", "the topology has errors"),
        ("good.yaml", "127.0.0.1:9"),
    ] {
        let o = run(file);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let md = stdout(&o);
        assert!(
            md.starts_with(
                "<!-- vpcform-plan stack=s changes=0 destroys=0 broadening=0 errors=1 -->\n"
            ),
            "{md}"
        );
        assert!(md.contains("No plan was made") && md.contains(why), "{md}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn validate_counts_expectations_and_names_what_it_cannot_decide() {
    let dir = std::env::temp_dir().join(format!("vpcform-expect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("topology.yaml");
    std::fs::write(
        &file,
        "stack: x\nvpcs:\n  a: { cidr: 10.0.0.0/16, tags: { env: dev } }\nsubnets:\n  s: { vpc: a, cidr: 10.0.0.0/24 }\nexpect:\n  - { from: \"tag:env=prdo\", to: vpc.a, protocol: any, reachable: false }\n  - { from: subnet.s, to: internet, protocol: tcp, port: 443, reachable: false }\n",
    )
    .unwrap();
    let o = vpcform(&["validate", "-f", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Expectations: 1 held, 1 unverifiable\n  ? tag:env=prdo → vpc.a any: tag:env=prdo: it selects no subnet"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
