//! 1,000,000 generated flow-log records (~100 MB): the seed's four queries
//! and a top-talkers query, each over the file as `vpcform query --input`
//! reads it, side by side with DuckDB answering the same question on the
//! same file. Each engine: the median wall time of five runs, each a fresh
//! read of the file (DuckDB in its own process: `VPCFORM_DUCKDB_PYTHON`, a
//! Python with `duckdb`; scripts/bench.sh installs one). vpcform's peak heap
//! comes from a sixth run under a counting allocator, which slows allocation;
//! its peak resident memory from a seventh, in a fresh process.
//! `cargo bench -p vpcform-insights --bench flowlogs [-- WORDS]` (only the
//! queries whose name has the words).

use std::io::Write as _;
use std::time::Instant;

#[path = "../../vpcform-topology/benches/common/counting.rs"]
mod counting;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

const RECORDS: usize = 1_000_000;
const IP1: &str = "10.1.0.4";
const IP2: &str = "10.2.0.4";

/// Records of a busy pair of peered VPCs: pings and SSH between the two
/// instances, traffic from the internet, rejects, NODATA intervals.
fn generate(path: &std::path::Path) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let start = 1_790_000_000u64;
    for i in 0..RECORDS as u64 {
        let r = next();
        let t = start + i / 20;
        let eni = format!("eni-{:017x}", r % 64);
        if r % 50 == 0 {
            writeln!(
                w,
                "2 123456789012 {eni} - - - - - - - {t} {} - NODATA",
                t + 60
            )
            .unwrap();
            continue;
        }
        let (src, dst) = match r % 7 {
            0 => (IP1.to_string(), IP2.to_string()),
            1 => (IP2.to_string(), IP1.to_string()),
            _ => (
                format!(
                    "{}.{}.{}.{}",
                    10 + r % 3,
                    (r >> 8) % 8,
                    (r >> 16) % 16,
                    (r >> 24) % 250 + 1
                ),
                format!("10.{}.0.{}", 1 + (r >> 32) % 2, 4 + (r >> 40) % 20),
            ),
        };
        let protocol = [1, 6, 6, 6, 17][(r >> 44) as usize % 5];
        let (sport, dport) = if protocol == 1 {
            (0, 0)
        } else {
            (
                1024 + (r >> 20) % 60000,
                [22, 80, 443, 3389, 53][(r >> 48) as usize % 5],
            )
        };
        let packets = 1 + (r >> 52) % 40;
        let bytes = packets * (40 + (r >> 12) % 1400);
        let action = if (r >> 56) % 9 == 0 {
            "REJECT"
        } else {
            "ACCEPT"
        };
        writeln!(w, "2 123456789012 {eni} {src} {dst} {sport} {dport} {protocol} {packets} {bytes} {t} {} {action} OK", t + 60).unwrap();
    }
}

const QUERIES: [(&str, &str, &str); 5] = [
    (
        "all events",
        "fields @timestamp, srcAddr, dstAddr, action, bytes, protocol | sort @timestamp desc",
        "SELECT start, srcaddr, dstaddr, action, bytes, protocol FROM flows ORDER BY start DESC LIMIT 10000",
    ),
    (
        "rejected",
        "filter action = 'REJECT' | fields @timestamp, srcAddr, dstAddr, protocol, bytes | sort @timestamp desc",
        "SELECT start, srcaddr, dstaddr, protocol, bytes FROM flows WHERE action = 'REJECT' ORDER BY start DESC LIMIT 10000",
    ),
    (
        "between instances",
        "filter srcAddr = '10.1.0.4' or srcAddr = '10.2.0.4' | fields @timestamp, srcAddr, dstAddr, action, bytes | sort @timestamp desc",
        "SELECT start, srcaddr, dstaddr, action, bytes FROM flows WHERE srcaddr = '10.1.0.4' OR srcaddr = '10.2.0.4' ORDER BY start DESC LIMIT 10000",
    ),
    (
        "count by protocol",
        "stats count() by protocol",
        "SELECT protocol, count(*) FROM flows GROUP BY protocol",
    ),
    (
        "top talkers",
        "stats sum(bytes) as b by srcAddr, dstAddr | sort b desc | limit 10",
        "SELECT srcaddr, dstaddr, sum(bytes) AS b FROM flows GROUP BY srcaddr, dstaddr ORDER BY b DESC LIMIT 10",
    ),
];

#[allow(clippy::print_stderr)]
/// DuckDB's seconds for each query, each over the file as a fresh read (like `--input`).
fn duckdb(path: &std::path::Path) -> Option<Vec<(f64, usize)>> {
    let python = std::env::var("VPCFORM_DUCKDB_PYTHON").ok()?;
    let sql: Vec<&str> = QUERIES.iter().map(|q| q.2).collect();
    let script = r#"
import duckdb, json, sys, time
path, queries = sys.argv[1], json.loads(sys.argv[2])
columns = "{'version':'INTEGER','account':'VARCHAR','eni':'VARCHAR','srcaddr':'VARCHAR','dstaddr':'VARCHAR','srcport':'INTEGER','dstport':'INTEGER','protocol':'INTEGER','packets':'BIGINT','bytes':'BIGINT','start':'BIGINT','end':'BIGINT','action':'VARCHAR','status':'VARCHAR'}"
for q in queries:
    times = []
    for _ in range(5):
        con = duckdb.connect()
        t = time.perf_counter()
        con.execute(f"CREATE VIEW flows AS SELECT * FROM read_csv('{path}', delim=' ', header=false, nullstr='-', columns={columns})")
        rows = con.execute(q).fetchall()
        times.append(time.perf_counter() - t)
    print(json.dumps([sorted(times)[2], len(rows)]))
"#;
    let out = std::process::Command::new(python)
        .args([
            "-c",
            script,
            &path.display().to_string(),
            &serde_json::to_string(&sql).unwrap(),
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("duckdb failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let v: (f64, usize) = serde_json::from_str(l).unwrap();
                v
            })
            .collect(),
    )
}

/// The peak resident memory of this process (Linux's VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    kib / 1024.0
}

/// Runs one query in a fresh process (this binary again), for its peak
/// resident memory as `/usr/bin/time` would see it for `vpcform query`.
fn peak_rss_of(index: usize, path: &std::path::Path) -> f64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("VPCFORM_BENCH_ONE", index.to_string())
        .env("VPCFORM_BENCH_FILE", path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(f64::NAN)
}

#[allow(clippy::print_stdout)]
fn main() {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Ok(index) = std::env::var("VPCFORM_BENCH_ONE") {
        let query = QUERIES[index.parse::<usize>().unwrap()].1;
        let path = std::env::var("VPCFORM_BENCH_FILE").unwrap();
        let compiled = vpcform_insights::compile(query).unwrap();
        vpcform_insights::run_file(&compiled, path.as_ref(), "local:flows.log", 0, threads)
            .unwrap();
        println!("{:.1}", peak_rss_mib());
        return;
    }
    let dir = std::env::temp_dir().join("vpcform-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("flows.log");
    if std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) < 50_000_000 {
        generate(&path);
    }
    let size = std::fs::metadata(&path).unwrap().len();
    let duck = duckdb(&path);
    println!(
        "{RECORDS} records, {:.0} MB, both engines reading the file for each query (vpcform: its `--input` path, in process; DuckDB {}):\n",
        size as f64 / 1e6,
        if duck.is_some() {
            "1.1.3"
        } else {
            "not installed"
        }
    );
    println!("| query | vpcform | rows | peak heap | peak RSS | DuckDB | rows |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let run = |query: &str| {
        let compiled = vpcform_insights::compile(query).unwrap();
        vpcform_insights::run_file(&compiled, &path, "local:flows.log", 0, threads)
            .unwrap()
            .rows
            .len()
    };
    // `cargo bench … -- top`: only the queries whose name has these words.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    for (i, (name, query, _)) in QUERIES.iter().enumerate() {
        if !only.iter().all(|w| name.contains(w.as_str())) {
            continue;
        }
        // The median of five runs without the counting allocator, then
        // one more run to count.
        let (seconds, rows) = counting::uncounted(|| {
            let mut times = Vec::new();
            let mut rows = 0;
            for _ in 0..5 {
                let started = Instant::now();
                rows = run(query);
                times.push(started.elapsed().as_secs_f64());
            }
            times.sort_by(f64::total_cmp);
            (times[2], rows)
        });
        let base = counting::reset();
        assert_eq!(run(query), rows);
        let peak = counting::peak_mib(base);
        let rss = peak_rss_of(i, &path);
        let (dt, drows) = duck.as_ref().map_or((f64::NAN, 0), |d| d[i]);
        println!(
            "| {name} | {seconds:.2} s | {rows} | {peak:.1} MiB | {rss:.1} MiB | {dt:.2} s | {drows} |"
        );
    }
}
