//! Apply under injected faults and interrupts: it converges, with no duplicate
//! and no orphaned object.

mod common;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;

#[test]
fn apply_converges_through_throttling_errors_drops_and_latency() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(
        &moto.endpoint,
        Faults {
            // Throttling is kept rare: the SDK's adaptive mode rightly slows
            // every later call after each one, as it would against AWS.
            throttle: 0.03,
            server_error: 0.11,
            drop: 0.10,
            lose_answer: 0.03,
            latency_share: 0.25,
            latency: Duration::from_millis(30),
            seed: 0x5eed,
            deny: &[],
            hold: None,
            late_answers: None,
        },
    );
    let dir = root();
    let run = vpcform_via(&moto, &proxy.endpoint, &dir, &["apply", "--auto-approve"]);
    assert_eq!(
        run.code, 0,
        "apply under faults failed:\n{}\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout
            .ends_with("Apply complete! Resources: 31 added, 0 changed, 0 destroyed.\n")
    );
    let [requests, throttled, errors, dropped, delayed] = proxy.stats.snapshot();
    let lost = proxy.stats.answers_lost.load(Ordering::Relaxed);
    assert!(lost > 0, "no answer was lost after moto acted");
    // An answer lost after AWS acted on a create without an idempotency token
    // can leave a duplicate; the next apply finds it by its address tag and deletes it.
    let second = vpcform_via(&moto, &proxy.endpoint, &dir, &["apply", "--auto-approve"]);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    let plan_after = vpcform_via(
        &moto,
        &proxy.endpoint,
        &dir,
        &["plan", "--detailed-exitcode"],
    );
    assert_eq!(
        plan_after.code, 0,
        "{lost} lost answers left work behind:\n{}",
        plan_after.stdout
    );
    let faults = throttled + errors + dropped;
    assert!(
        requests > 50,
        "only {requests} requests went through the proxy"
    );
    assert!(
        faults * 100 >= requests * 20,
        "faults hit {faults} of {requests} requests (< 20%)"
    );
    assert!(
        throttled > 0 && errors > 0 && dropped > 0 && delayed > 0,
        "{throttled} {errors} {dropped} {delayed}"
    );

    let plan = vpcform_via(
        &moto,
        &proxy.endpoint,
        &dir,
        &["plan", "--detailed-exitcode"],
    );
    assert_eq!(
        plan.code, 0,
        "not converged:\n{}\n{}",
        plan.stdout, plan.stderr
    );
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    assert_eq!(
        rt.block_on(owned_counts(&sdk, "vpc-monitoring")),
        SEED_COUNTS.to_vec(),
        "duplicates or missing objects"
    );
    assert!(proxy.stats.requests.load(Ordering::Relaxed) > requests);
}

#[test]
fn an_interrupted_apply_resumes_without_orphans() {
    let moto = Moto::start();
    // Slow every call so the interrupt lands in the middle.
    let proxy = FaultProxy::start(&moto.endpoint, Faults::latency(Duration::from_millis(150)));
    let dir = root();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vpcform"))
        .args(["apply", "--auto-approve", "--parallelism", "4"])
        .current_dir(&dir)
        .envs(moto.env())
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let pid = child.id().to_string();
    let mut completed = 0;
    let mut lines = Vec::new();
    let mut interrupted = false;
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.unwrap();
        if line.contains("Creation complete") {
            completed += 1;
            if completed == 6 && !interrupted {
                Command::new("kill").args(["-INT", &pid]).status().unwrap();
                interrupted = true;
            }
        }
        lines.push(line);
    }
    let status = child.wait().unwrap();
    let text = lines.join("\n");
    assert!(
        interrupted,
        "apply finished before it could be interrupted:\n{text}"
    );
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(text.contains("Interrupt received"), "{text}");
    assert!(text.contains("apply interrupted."), "{text}");
    let done = text.matches("Creation complete").count();
    assert!(done < 31, "everything finished despite the interrupt");
    let started = text.matches(": Creating...").count();
    assert_eq!(
        started, done,
        "every started step finished before exit:\n{text}"
    );

    // The stack's lock was released, and a second apply finishes the job.
    let resumed = vpcform(&moto, &dir, &["apply", "--auto-approve"]);
    assert_eq!(resumed.code, 0, "{}\n{}", resumed.stdout, resumed.stderr);
    assert!(
        resumed.stdout.contains(&format!(
            "Plan: {} to add, 0 to change, 0 to destroy.",
            31 - done
        )),
        "{}",
        resumed.stdout
    );
    let plan = vpcform(&moto, &dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}", plan.stdout);
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    assert_eq!(
        rt.block_on(owned_counts(&sdk, "vpc-monitoring")),
        SEED_COUNTS.to_vec()
    );
}

#[test]
fn access_denied_and_missing_credentials_are_clear_errors() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto.endpoint, Faults::deny(&["DescribeSubnets"]));
    let dir = root();
    let denied = vpcform_via(&moto, &proxy.endpoint, &dir, &["plan"]);
    assert_eq!(denied.code, 1);
    assert!(
        denied
            .stderr
            .contains("access denied calling ec2:DescribeSubnets"),
        "{}",
        denied.stderr
    );
    assert!(
        denied
            .stderr
            .contains("need permission for ec2:DescribeSubnets"),
        "{}",
        denied.stderr
    );
    assert!(!denied.stderr.contains("panicked"));

    let out = Command::new(env!("CARGO_BIN_EXE_vpcform"))
        .arg("plan")
        .current_dir(&dir)
        .env_clear()
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("no AWS credentials were found"), "{stderr}");
    assert!(
        stderr.contains("--profile"),
        "the message says where credentials come from: {stderr}"
    );
}
