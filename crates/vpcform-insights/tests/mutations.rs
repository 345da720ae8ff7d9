//! Random edits of valid queries (deleted, repeated, swapped characters,
//! odd bytes) must give a result or a located error, never a panic.

use vpcform_insights::{Event, compile};

const QUERIES: &[&str] = &[
    "fields @timestamp, srcAddr, dstAddr, action, bytes, protocol | sort @timestamp desc",
    "filter action = 'REJECT' | fields @timestamp, srcAddr, dstAddr, protocol, bytes | sort @timestamp desc",
    "stats count() by protocol",
    "filter isIpv4InSubnet(srcAddr, \"10.0.0.0/8\") | stats sum(bytes) as b by dstAddr | sort b desc | limit 15",
    "parse @message /(?<eni>eni-\\w+) (?<src>[\\d.]+)/ | stats count(*) by bin(5m), eni",
    "fields concat(srcAddr, ':', srcPort) as s, bytes / packets * 2 ^ 3 % 7 as x | filter s like /^10/ and not x in [1, 2] | dedup s | limit 3",
];

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn mutated_queries_never_panic() {
    let events: Vec<Event> = (0..20)
        .map(|i| Event {
            timestamp: 1_700_000_000_000 + i * 1000,
            message: format!(
                "2 1 eni-{i} 10.0.0.{i} 10.0.1.1 {} 22 6 {} {} 1700000000 1700000060 ACCEPT OK",
                1000 + i,
                i,
                i * 100
            ),
            log_stream: "s".into(),
            log: "g".into(),
            ingestion_time: None,
        })
        .collect();
    let pieces = [
        "|", "(", ")", "'", "\"", "/", "`", ",", " by ", " as ", "*", "[", "]", "-", "#", "é", "\\",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut errors) = (0, 0);
    for _ in 0..4000 {
        let base = QUERIES[(rng.next() % QUERIES.len() as u64) as usize];
        let mut q: Vec<char> = base.chars().collect();
        for _ in 0..1 + rng.next() % 3 {
            let at = (rng.next() % (q.len() as u64 + 1)) as usize;
            match rng.next() % 4 {
                0 if at < q.len() => {
                    q.remove(at);
                }
                1 => {
                    let piece = pieces[(rng.next() % pieces.len() as u64) as usize];
                    for (k, c) in piece.chars().enumerate() {
                        q.insert((at + k).min(q.len()), c);
                    }
                }
                2 if at + 1 < q.len() => q.swap(at, at + 1),
                _ => q.truncate(at),
            }
        }
        let text: String = q.into_iter().collect();
        match compile(&text) {
            Ok(c) => {
                let r = c.run(events.clone().into_iter());
                assert!(r.rows.len() <= 20 || r.rows.len() <= vpcform_insights::MAX_LIMIT);
                ok += 1;
            }
            Err(e) => {
                assert!(e.column <= text.chars().count() + 1, "{text}: {e}");
                let _ = e.render(&text);
                errors += 1;
            }
        }
    }
    assert!(
        ok > 100 && errors > 100,
        "both paths exercised: {ok} ran, {errors} refused"
    );
}
