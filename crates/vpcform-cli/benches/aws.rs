//! Plan and apply against local moto: wall time, API calls, parallelism.
//! `VPCFORM_MOTO_SERVER=… cargo bench -p vpcform-cli --bench aws`
//! (scripts/bench.sh sets it up). Numbers go to docs/benchmarks.md.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vpcform_aws::fault_proxy::{FaultProxy, Faults};
use vpcform_aws::testkit::Moto;
use vpcform_aws::{Aws, AwsOptions};
use vpcform_diff::{Plan, PlanInput};
use vpcform_exec::{Event, Options, StopSignal};
use vpcform_topology::{Address, generate};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn connect(endpoint: &str) -> Aws {
    Aws::connect(&AwsOptions {
        profile: None,
        region: Some("us-east-1".into()),
        endpoint_url: Some(endpoint.into()),
        role_arn: None,
    })
    .await
    .expect("connect to moto")
}

async fn make_plan(aws: &Aws, yaml: &str) -> Plan {
    let loaded = vpcform_topology::load("bench.yaml", yaml.as_bytes());
    let (t, g) = loaded.valid().expect("valid topology");
    let live = vpcform_aws::read_live_state(aws, t)
        .await
        .expect("read live state");
    vpcform_diff::plan(PlanInput {
        topology: t,
        graph: g,
        live: &live,
        topology_hash: "bench",
    })
}

/// Applies and returns (wall time, per-step durations).
async fn apply(
    aws: &Aws,
    plan: &Plan,
    parallelism: usize,
) -> (Duration, HashMap<(Address, String), Duration>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = Options {
        parallelism,
        heartbeat: Duration::from_secs(3600),
    };
    let started = Instant::now();
    let report = vpcform_exec::execute(
        plan,
        Arc::new(aws.clone()),
        &options,
        tx,
        StopSignal::default(),
    )
    .await;
    let wall = started.elapsed();
    assert!(
        report.succeeded(),
        "apply failed: {:?}",
        report.failed().collect::<Vec<_>>()
    );
    let mut durations = HashMap::new();
    while let Ok(e) = rx.try_recv() {
        if let Event::Finished {
            address,
            verb,
            elapsed,
            ..
        } = e
        {
            durations.insert((address, verb.to_string()), elapsed);
        }
    }
    (wall, durations)
}

/// The longest path through the apply graph, weighting each step by its duration.
fn critical_path(plan: &Plan, durations: &HashMap<(Address, String), Duration>) -> Duration {
    let graph = vpcform_exec::build_apply_graph(plan);
    let mut finish: Vec<Duration> = vec![Duration::ZERO; graph.steps.len()];
    // Steps are pushed in plan (topological) order; waits point backwards or are resolved by iterating.
    for _ in 0..graph.steps.len() {
        let mut changed = false;
        for (i, step) in graph.steps.iter().enumerate() {
            let own = durations
                .get(&(step.address.clone(), step.verb.to_string()))
                .copied()
                .unwrap_or_default();
            let start = step
                .waits_for
                .iter()
                .map(|&w| finish[w])
                .max()
                .unwrap_or_default();
            if start + own > finish[i] {
                finish[i] = start + own;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    finish.into_iter().max().unwrap_or_default()
}

/// Plans of production-shaped VPCs (NAT gateways, endpoints, prefix lists):
/// AWS calls by operation for 1 and 20 VPCs, so what grows with the
/// network shows (issue 19: per kind, not per object).
#[allow(clippy::print_stdout)]
fn production_calls(rt: &tokio::runtime::Runtime) {
    println!("\n## plan of production-shaped VPCs: AWS calls by operation\n");
    let mut columns = Vec::new();
    for vpcs in [1, 20] {
        let moto = Moto::start();
        let yaml = generate::production_vpcs("prod", vpcs);
        let (counts, objects, time) = rt.block_on(async {
            let aws = connect(&moto.endpoint).await;
            let plan = make_plan(&aws, &yaml).await;
            apply(&aws, &plan, 10).await;
            let before = aws.calls().by_operation();
            let started = Instant::now();
            let plan = make_plan(&aws, &yaml).await;
            let time = started.elapsed();
            assert!(!plan.has_changes(), "a second plan must be clean");
            let after = aws.calls().by_operation();
            let counts: std::collections::BTreeMap<String, u64> = after
                .iter()
                .map(|(op, n)| (op.clone(), n - before.get(op).copied().unwrap_or(0)))
                .filter(|(_, n)| *n > 0)
                .collect();
            (counts, plan.fingerprints.len(), time)
        });
        columns.push((vpcs, counts, objects, time));
    }
    let ops: std::collections::BTreeSet<&String> =
        columns.iter().flat_map(|(_, c, _, _)| c.keys()).collect();
    println!("| operation | 1 VPC | 20 VPCs |");
    println!("|---|---:|---:|");
    for op in ops {
        let n = |i: usize| columns[i].1.get(op).copied().unwrap_or(0);
        println!("| {op} | {} | {} |", n(0), n(1));
    }
    let total = |i: usize| columns[i].1.values().sum::<u64>();
    println!("| **total** | {} | {} |", total(0), total(1));
    println!(
        "\nobjects planned: {} and {}; plan time {:.0} ms and {:.0} ms",
        columns[0].2,
        columns[1].2,
        columns[0].3.as_secs_f64() * 1e3,
        columns[1].3.as_secs_f64() * 1e3
    );
}

/// A re-plan of spoke VPCs on one transit gateway in three segments
/// (network only: no groups or instances), applied first: AWS calls by
/// operation, which must not grow with the attachments (issue 20).
#[allow(clippy::print_stdout)]
fn transit_calls(rt: &tokio::runtime::Runtime) {
    println!("\n## plan of VPCs on one transit gateway: AWS calls by operation\n");
    let mut columns = Vec::new();
    for spokes in [10, 1000] {
        let moto = Moto::start();
        let full = generate::transit_segments("transit", spokes);
        let yaml = full.split("security-groups:").next().unwrap().to_string();
        let (counts, objects, apply_time, time) = rt.block_on(async {
            let aws = connect(&moto.endpoint).await;
            let plan = make_plan(&aws, &yaml).await;
            let (apply_time, _) = apply(&aws, &plan, 10).await;
            let before = aws.calls().by_operation();
            let started = Instant::now();
            let plan = make_plan(&aws, &yaml).await;
            let time = started.elapsed();
            assert!(!plan.has_changes(), "a second plan must be clean");
            let after = aws.calls().by_operation();
            let counts: std::collections::BTreeMap<String, u64> = after
                .iter()
                .map(|(op, n)| (op.clone(), n - before.get(op).copied().unwrap_or(0)))
                .filter(|(_, n)| *n > 0)
                .collect();
            (counts, plan.fingerprints.len(), apply_time, time)
        });
        columns.push((spokes, counts, objects, apply_time, time));
    }
    let ops: std::collections::BTreeSet<&String> = columns
        .iter()
        .flat_map(|(_, c, _, _, _)| c.keys())
        .collect();
    println!("| operation | 10 spokes | 1,000 spokes |");
    println!("|---|---:|---:|");
    for op in ops {
        let n = |i: usize| columns[i].1.get(op).copied().unwrap_or(0);
        println!("| {op} | {} | {} |", n(0), n(1));
    }
    let total = |i: usize| columns[i].1.values().sum::<u64>();
    println!("| **total** | {} | {} |", total(0), total(1));
    println!(
        "\nobjects planned: {} and {}; apply (parallelism 10) {:.1} s and {:.1} s; re-plan {:.0} ms and {:.0} ms",
        columns[0].2,
        columns[1].2,
        columns[0].3.as_secs_f64(),
        columns[1].3.as_secs_f64(),
        columns[0].4.as_secs_f64() * 1e3,
        columns[1].4.as_secs_f64() * 1e3
    );
}

#[allow(clippy::print_stdout)]
fn main() {
    let rt = runtime();
    if std::env::args().any(|a| a == "transit") {
        transit_calls(&rt);
        return;
    }

    println!("## plan against moto (everything exists already)\n");
    println!("| graph nodes | live objects | API calls | median plan time | min |");
    println!("|---:|---:|---:|---:|---:|");
    for vpcs in [1, 9, 91] {
        let moto = Moto::start();
        let yaml = generate::wide_topology("bench", vpcs);
        rt.block_on(async {
            let aws = connect(&moto.endpoint).await;
            let plan = make_plan(&aws, &yaml).await;
            let nodes = plan.changes.len();
            apply(&aws, &plan, 10).await;
            let mut times = Vec::new();
            let mut calls = 0;
            let mut objects = 0;
            for _ in 0..5 {
                let before = aws.calls().get();
                let started = Instant::now();
                let plan = make_plan(&aws, &yaml).await;
                times.push(started.elapsed());
                calls = aws.calls().get() - before;
                objects = plan
                    .fingerprints
                    .iter()
                    .filter(|f| f.hash != vpcform_diff::ObjectHash::Absent)
                    .count();
                assert!(!plan.has_changes(), "a second plan must be clean");
            }
            times.sort();
            println!(
                "| {nodes} | {objects} | {calls} | {:.0} ms | {:.0} ms |",
                times[2].as_secs_f64() * 1e3,
                times[0].as_secs_f64() * 1e3
            );
        });
    }

    production_calls(&rt);
    transit_calls(&rt);

    println!("\n## apply of 20 independent VPC stacks through a 50 ms latency proxy\n");
    println!(
        "| parallelism | steps | wall time | critical path | work / parallelism | wall ÷ max(bounds) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    let yaml = generate::wide_topology("bench", 20);
    let mut baseline: Option<HashMap<(Address, String), Duration>> = None;
    for parallelism in [1, 10] {
        let moto = Moto::start();
        let proxy = FaultProxy::start(&moto.endpoint, Faults::latency(Duration::from_millis(50)));
        rt.block_on(async {
            let aws = connect(&proxy.endpoint).await;
            let plan = make_plan(&aws, &yaml).await;
            let (wall, durations) = apply(&aws, &plan, parallelism).await;
            // Step durations without contention come from the sequential run.
            let weights = baseline.get_or_insert_with(|| durations.clone()).clone();
            let critical = critical_path(&plan, &weights);
            let work: Duration = weights.values().sum::<Duration>() / parallelism as u32;
            let bound = critical.max(work);
            println!(
                "| {parallelism} | {} | {:.2} s | {:.2} s | {:.2} s | {:.2} |",
                weights.len(),
                wall.as_secs_f64(),
                critical.as_secs_f64(),
                work.as_secs_f64(),
                wall.as_secs_f64() / bound.as_secs_f64()
            );
        });
    }
}
