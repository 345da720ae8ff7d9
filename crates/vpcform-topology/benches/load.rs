//! Parse + validate + graph of generated topologies: wall time and peak heap.
//! `cargo bench -p vpcform-topology --bench load`

use std::time::{Duration, Instant};

#[path = "common/counting.rs"]
mod counting;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

#[allow(clippy::print_stdout)]
fn main() {
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
