//! Parse + validate + graph of generated topologies: wall time and peak heap.
//! `cargo bench -p vpcform-topology --bench load`

use std::time::{Duration, Instant};

#[path = "common/counting.rs"]
mod counting;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

#[allow(clippy::print_stdout)]
fn main() {
    plain();
    expanded();
}

/// Load time and peak heap of `yaml`, 7 runs: (nodes, median, min, peak MiB).
fn measure(yaml: &str) -> (usize, Duration, Duration, f64) {
    let mut times: Vec<Duration> = Vec::new();
    let (mut nodes, mut peak) = (0, 0.0);
    for _ in 0..7 {
        let base = counting::reset();
        let started = Instant::now();
        let loaded = vpcform_topology::load("bench.yaml", yaml.as_bytes());
        let graph = loaded.graph.as_ref().expect("generated topology is valid");
        nodes = graph.topological_order().expect("acyclic").len();
        times.push(started.elapsed());
        peak = counting::peak_mib(base);
        drop(loaded);
    }
    times.sort();
    (nodes, times[times.len() / 2], times[0], peak)
}

/// The same networks from one blueprint used N times, beside the plain
/// topology they render to.
#[allow(clippy::print_stdout)]
fn expanded() {
    println!(
        "\n| VPCs (blueprint uses) | YAML bytes | plain bytes | graph nodes | load from the blueprint | load of the plain topology | peak heap (blueprint) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for vpcs in [10, 100, 1000] {
        let yaml = vpcform_topology::generate::blueprint_topology("bench", vpcs);
        let plain = vpcform_topology::load("bench.yaml", yaml.as_bytes())
            .render_plain()
            .expect("renders");
        let (nodes, median, _, peak) = measure(&yaml);
        let (_, plain_median, _, _) = measure(&plain);
        println!(
            "| {vpcs} | {} | {} | {nodes} | {:.1} ms | {:.1} ms | {peak:.1} MiB |",
            yaml.len(),
            plain.len(),
            median.as_secs_f64() * 1e3,
            plain_median.as_secs_f64() * 1e3,
        );
    }
}

#[allow(clippy::print_stdout)]
fn plain() {
    println!("| VPCs | graph nodes | YAML bytes | median time | min time | peak heap |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for vpcs in [10, 100, 1000] {
        let yaml = vpcform_topology::generate::wide_topology("bench", vpcs);
        let mut times: Vec<Duration> = Vec::new();
        let mut nodes = 0;
        let mut peak = 0;
        for _ in 0..7 {
            let base = counting::reset();
            let started = Instant::now();
            let loaded = vpcform_topology::load("bench.yaml", yaml.as_bytes());
            let graph = loaded.graph.as_ref().expect("generated topology is valid");
            let order = graph.topological_order().expect("acyclic");
            times.push(started.elapsed());
            nodes = order.len();
            peak = ((counting::peak_mib(base)) * 1024.0 * 1024.0) as usize;
            drop(loaded);
        }
        times.sort();
        println!(
            "| {vpcs} | {nodes} | {} | {:.1} ms | {:.1} ms | {:.1} MiB |",
            yaml.len(),
            times[times.len() / 2].as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            peak as f64 / (1024.0 * 1024.0)
        );
    }
}
