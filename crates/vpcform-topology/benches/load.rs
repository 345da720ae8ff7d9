//! Parse + validate + graph of generated topologies: wall time and peak heap.
//! `cargo bench -p vpcform-topology --bench load`
#![allow(unsafe_code)] // the counting allocator that measures peak heap

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

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
            let base = CURRENT.load(Ordering::Relaxed);
            PEAK.store(base, Ordering::Relaxed);
            let started = Instant::now();
            let loaded = vpcform_topology::load("bench.yaml", yaml.as_bytes());
            let graph = loaded.graph.as_ref().expect("generated topology is valid");
            let order = graph.topological_order().expect("acyclic");
            times.push(started.elapsed());
            nodes = order.len();
            peak = PEAK.load(Ordering::Relaxed) - base;
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
