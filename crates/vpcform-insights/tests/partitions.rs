//! A file split into byte ranges evaluated on several threads gives exactly
//! the answer of one pass over it: merged `stats` groups (every aggregate,
//! first-appearance and natural order), merged best rows of `sort` (ties
//! broken by input order), and queries that are not merged at all.

use std::io::{BufReader, Write as _};

use vpcform_insights::{QueryResult, compile, read_input, run_file};

/// 9,000 records with repeated keys, equal timestamps (ties), NODATA lines with
/// `-` fields, blank lines and a line that is not a flow-log record.
fn write_records(path: &std::path::Path) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..9000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let t = 1_700_000_000 + i / 7;
        let eni = format!("eni-{:017x}", x % 5);
        match i % 97 {
            0 => writeln!(
                w,
                "2 123456789012 {eni} - - - - - - - {t} {} - NODATA",
                t + 60
            ),
            1 => writeln!(w),
            2 => writeln!(w, "not a flow-log record {i}"),
            _ => writeln!(
                w,
                "2 123456789012 {eni} 10.0.{}.{} 10.1.0.{} {} {} {} {} {} {t} {} {} OK",
                x % 3,
                (x >> 8) % 9,
                (x >> 16) % 4,
                1024 + (x >> 20) % 50,
                [22, 80, 443][(x >> 30) as usize % 3],
                [1, 6, 17][(x >> 34) as usize % 3],
                1 + (x >> 38) % 20,
                (x >> 42) % 5000,
                t + 60,
                if (x >> 50).is_multiple_of(4) {
                    "REJECT"
                } else {
                    "ACCEPT"
                },
            ),
        }
        .unwrap();
    }
}

const QUERIES: [&str; 20] = [
    // More groups than a partition aggregates privately (4,096): these
    // reach the shared groups directly.
    "stats count(*) as n, earliest(bytes) as e, latest(srcPort) as l by @message | sort n desc, @message | limit 50",
    "stats min(bytes), max(packets), stddev(bytes) by srcAddr, srcPort, dstPort",
    "fields @timestamp, @message",
    "fields @timestamp, srcAddr, dstAddr, action | sort @timestamp desc",
    "filter action = 'REJECT' | fields @timestamp, srcAddr | sort @timestamp asc | limit 25",
    "stats count() by protocol",
    "stats count(*) as n, sum(bytes) as b by srcAddr, dstAddr | sort b desc | limit 10",
    "stats avg(bytes), min(bytes), max(bytes), stddev(bytes), pct(bytes, 90) by action",
    "stats count_distinct(srcAddr) as sources, earliest(srcPort), latest(srcPort) by interfaceId",
    "stats sortsFirst(srcAddr), sortsLast(dstAddr) by dstPort",
    "stats count() by bin(5m)",
    "stats sum(packets) as p by srcAddr | stats count() as addresses, max(p)",
    "filter logStatus = 'NODATA' | stats count() by interfaceId",
    "sort bytes desc | limit 7",
    "sort srcAddr, dstPort desc | display srcAddr, dstPort, @timestamp | limit 40",
    "fields srcAddr, @timestamp | sort @timestamp asc | dedup srcAddr",
    "limit 5",
    "parse @message '* * * * *' as v, account, eni, src, rest | stats count() by eni, src | sort src",
    // Streams are named only for queries that read them.
    "stats count() as n by @logStream | sort @logStream",
    "filter @logStream like /0001-all/ | fields @logStream, srcAddr | sort @timestamp desc | limit 30",
];

fn one_pass(path: &std::path::Path, query: &str) -> QueryResult {
    let file = std::fs::File::open(path).unwrap();
    let events = read_input(BufReader::new(file), "local:records.log", 0).unwrap();
    compile(query).unwrap().run(events.map(Result::unwrap))
}

/// Equal, except that a float may differ in its last digits: partial sums
/// (stddev's moments) are added in another order.
fn assert_same(got: &QueryResult, expected: &QueryResult, what: &str) {
    let close = |a: &str, b: &str| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => a == b || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
        _ => a == b,
    };
    assert_eq!(got.fields, expected.fields, "{what}");
    assert_eq!(got.statistics, expected.statistics, "{what}");
    assert_eq!(got.rows.len(), expected.rows.len(), "{what}");
    for (g, e) in got.rows.iter().zip(&expected.rows) {
        let same = g.len() == e.len()
            && g.iter()
                .zip(e)
                .all(|((gk, gv), (ek, ev))| gk == ek && close(gv, ev));
        assert!(same, "{what}:\n{g:?}\n{e:?}");
    }
}

#[test]
fn every_split_gives_the_answer_of_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.log");
    write_records(&path);
    for query in QUERIES {
        let expected = one_pass(&path, query);
        assert!(!expected.rows.is_empty(), "{query} returns rows");
        for threads in [1, 2, 3, 8] {
            let compiled = compile(query).unwrap();
            let got = run_file(&compiled, &path, "local:records.log", 0, threads).unwrap();
            assert_same(&got, &expected, &format!("{query} on {threads} threads"));
        }
    }
}

#[test]
fn the_json_of_filter_log_events_is_read_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.json");
    std::fs::write(
        &path,
        r#"{"events": [
  {"logStreamName": "eni-1-all", "timestamp": 2000, "message": "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 40 2 3 ACCEPT OK"},
  {"logStreamName": "eni-1-all", "timestamp": 1000, "message": "2 1 eni-1 10.0.0.2 10.0.0.1 2 1 6 1 60 1 2 REJECT OK"}
]}"#,
    )
    .unwrap();
    let compiled = compile("stats sum(bytes) by action").unwrap();
    let got = run_file(&compiled, &path, "local:events.json", 0, 2).unwrap();
    let rows: Vec<Vec<(String, String)>> = vec![
        vec![
            ("action".into(), "ACCEPT".into()),
            ("sum(bytes)".into(), "40".into()),
        ],
        vec![
            ("action".into(), "REJECT".into()),
            ("sum(bytes)".into(), "60".into()),
        ],
    ];
    assert_eq!(got.rows, rows);
    assert_eq!(got.statistics.records_scanned, 2.0);
}

#[test]
fn a_missing_file_is_an_error() {
    let compiled = compile("fields @message").unwrap();
    let err = run_file(
        &compiled,
        std::path::Path::new("/nonexistent/x.log"),
        "l",
        0,
        2,
    )
    .unwrap_err();
    assert!(err.contains("No such file"), "{err}");
}

/// Against a count made here from the file's text: more groups than a
/// partition aggregates privately, so the shared groups are exercised.
#[test]
fn many_groups_count_and_sum_what_the_records_hold() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.log");
    write_records(&path);
    let mut expected: std::collections::BTreeMap<(String, String, String), (u64, u64)> =
        std::collections::BTreeMap::new();
    for line in std::fs::read_to_string(&path).unwrap().lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() == 14 && f[13] == "OK" {
            let e = expected
                .entry((f[3].into(), f[5].into(), f[9].into()))
                .or_default();
            e.0 += 1;
            e.1 += f[9].parse::<u64>().unwrap();
        }
    }
    assert!(expected.len() > 4096, "{} groups", expected.len());
    let query =
        "filter logStatus = 'OK' | stats count(*) as n, sum(bytes) as b by srcAddr, srcPort, bytes";
    for threads in [1, 2] {
        let got = run_file(&compile(query).unwrap(), &path, "l", 0, threads).unwrap();
        let got: std::collections::BTreeMap<(String, String, String), (u64, u64)> = got
            .rows
            .iter()
            .map(|row| {
                let v = |k: &str| row.iter().find(|(n, _)| n == k).unwrap().1.clone();
                (
                    (v("srcAddr"), v("srcPort"), v("bytes")),
                    (v("n").parse().unwrap(), v("b").parse().unwrap()),
                )
            })
            .collect();
        assert_eq!(got, expected, "{threads} threads");
    }
}

/// Keys of whole long messages fill a partition's private groups by bytes
/// before they fill them by count: the answer is still each line's count.
#[test]
fn long_keys_are_grouped_like_short_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.log");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let lines = 48;
    for i in 0..lines * 2 {
        // Each of 48 lines of 700 KB twice, the second time far from the first.
        writeln!(w, "line {:02} {}", i % lines, "x".repeat(700_000)).unwrap();
    }
    drop(w);
    let query = "stats count() as n by @message | sort @message";
    let expected = one_pass(&path, query);
    assert_eq!(expected.rows.len(), lines);
    for row in &expected.rows {
        assert_eq!(row[1], ("n".to_string(), "2".to_string()));
    }
    for threads in [1, 2, 3] {
        let got = run_file(&compile(query).unwrap(), &path, "l", 0, threads).unwrap();
        assert_same(&got, &expected, &format!("{threads} threads"));
    }
}
