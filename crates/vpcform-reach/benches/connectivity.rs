//! The connectivity diff of a generated hub-and-spoke topology and one
//! `reach` on it: wall time and peak heap.
//! `cargo bench -p vpcform-reach --bench connectivity`

use std::time::{Duration, Instant};
use vpcform_reach::{EndpointSpec, Service};

#[path = "../../vpcform-topology/benches/common/counting.rs"]
mod counting;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

fn topology(yaml: &str) -> vpcform_topology::Topology {
    let loaded = vpcform_topology::load("bench.yaml", yaml.as_bytes());
    assert!(loaded.graph.is_some(), "{:?}", loaded.diagnostics.first());
    loaded.topology.unwrap()
}

fn median(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    (
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
    )
}

/// Runs `f` 7 times: median and min time, and the largest peak heap above the start.
fn measure<T>(mut f: impl FnMut() -> T) -> (f64, f64, f64, T) {
    let mut times = Vec::new();
    let mut peak = 0;
    let mut last = None;
    for _ in 0..7 {
        let base = counting::reset();
        let started = Instant::now();
        let out = f();
        times.push(started.elapsed());
        peak = peak.max((counting::peak_mib(base) * 1024.0 * 1024.0) as usize);
        last = Some(out);
    }
    let (median, min) = median(times);
    (median, min, peak as f64 / (1024.0 * 1024.0), last.unwrap())
}

/// A segmentation promise over every pair of spoke VPCs (`tag:role=spoke`
/// to itself, any protocol, never reachable): it holds (peering is not
/// transitive), so every pair is decided.
#[allow(clippy::print_stdout)]
fn segmentation() {
    println!("\n| spokes (VPCs) | spoke pairs | median | min | peak heap |");
    println!("|---:|---:|---:|---:|---:|");
    for spokes in [10, 100, 1000] {
        let yaml = vpcform_topology::generate::hub_and_spokes("bench", spokes);
        let promise = "expect:\n  - { from: \"tag:role=spoke\", to: \"tag:role=spoke\", protocol: any, reachable: false }\n";
        let t = topology(&format!("{yaml}{promise}"));
        let network = vpcform_reach::from_topology(&t);
        let (median, min, peak, results) =
            measure(|| vpcform_reach::check_expectations(&t.expect, &network));
        assert_eq!(
            results[0].status,
            vpcform_reach::Status::Held,
            "{results:?}"
        );
        println!(
            "| {spokes} ({}) | {} | {median:.1} ms | {min:.1} ms | {peak:.1} MiB |",
            spokes + 1,
            spokes * (spokes - 1)
        );
    }
}

/// Spoke VPCs on one transit gateway in three segments: load and validate,
/// the connectivity diff of a plan that adds one propagation (shared
/// services' table learns spoke 1, opening its flows with shared services),
/// and the six cross-segment promises (every pair of VPCs
/// in different segments, any protocol, never reachable).
#[allow(clippy::print_stdout)]
fn transit() {
    println!(
        "\n| spokes (VPCs) | validate | diff (one propagation) | flows changed | diff peak heap | cross-segment pairs | promises | promises peak heap |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for spokes in [10, 100, 1000] {
        let yaml = vpcform_topology::generate::transit_segments("bench", spokes);
        let (validate, _, _, _) = measure(|| topology(&yaml));
        // The plan adds one propagation: shared services' table learns spoke 1 again.
        let changed = yaml.clone();
        let yaml = yaml.replacen("[spoke-0-att, spoke-1-att, ", "[spoke-0-att, ", 1);
        assert_ne!(yaml, changed);
        let (before_t, after_t) = (topology(&yaml), topology(&changed));
        let (diff, _, diff_peak, changes) = measure(|| {
            let before = vpcform_reach::from_topology(&before_t);
            let after = vpcform_reach::from_topology(&after_t);
            vpcform_reach::diff(&before, &after)
        });
        let mut promises = String::from("expect:\n");
        for a in vpcform_topology::generate::SEGMENTS {
            for b in vpcform_topology::generate::SEGMENTS
                .iter()
                .filter(|b| **b != a)
            {
                promises.push_str(&format!(
                    "  - {{ from: \"tag:env={a}\", to: \"tag:env={b}\", protocol: any, reachable: false }}\n"
                ));
            }
        }
        let t = topology(&format!("{yaml}{promises}"));
        let network = vpcform_reach::from_topology(&t);
        let (check, _, check_peak, results) =
            measure(|| vpcform_reach::check_expectations(&t.expect, &network));
        assert!(
            results
                .iter()
                .all(|r| r.status == vpcform_reach::Status::Held),
            "{results:?}"
        );
        let per = spokes / 3;
        println!(
            "| {spokes} ({}) | {validate:.1} ms | {diff:.1} ms | {} | {diff_peak:.1} MiB | {} | {check:.1} ms | {check_peak:.1} MiB |",
            spokes + 1,
            changes.len(),
            6 * per * per
        );
    }
}

#[allow(clippy::print_stdout)]
fn main() {
    println!(
        "| spokes (VPCs) | flows compared | flows changed | diff median | min | peak heap | one reach (cold) | one reach (warm) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for spokes in [10, 100, 1000] {
        let yaml = vpcform_topology::generate::hub_and_spokes("bench", spokes);
        // The change under review: the hub's group stops allowing SSH from anywhere.
        let changed = yaml.replacen(
            "      - { protocol: tcp, port: 22, cidr: 0.0.0.0/0 }\n",
            "      - { protocol: tcp, port: 22, cidr: 10.0.0.0/8 }\n",
            1,
        );
        let (before_t, after_t) = (topology(&yaml), topology(&changed));
        let (median, min, peak, changes) = measure(|| {
            let before = vpcform_reach::from_topology(&before_t);
            let after = vpcform_reach::from_topology(&after_t);
            vpcform_reach::diff(&before, &after)
        });
        assert!(!changes.is_empty(), "the change cuts SSH from the internet");
        let network = vpcform_reach::from_topology(&before_t);
        let flows =
            vpcform_reach::flows_compared(&network, &vpcform_reach::from_topology(&after_t));
        let from: EndpointSpec = "instance.hub-host".parse().unwrap();
        let to: EndpointSpec = format!("instance.spoke-{}-host", spokes / 2)
            .parse()
            .unwrap();
        let (cold, _, _, verdict) = measure(|| {
            let fresh = network.clone();
            vpcform_reach::evaluate(&fresh, &from, &to, Service::icmp()).unwrap()
        });
        assert!(verdict.reachable, "{}", verdict.to_text());
        let (warm, _, _, _) =
            measure(|| vpcform_reach::evaluate(&network, &from, &to, Service::icmp()).unwrap());
        println!(
            "| {spokes} ({}) | {flows} | {} | {median:.1} ms | {min:.1} ms | {peak:.1} MiB | {cold:.2} ms | {warm:.3} ms |",
            spokes + 1,
            changes.len()
        );
    }
    segmentation();
    transit();
}
