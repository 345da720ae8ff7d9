//! Random mutations of topology.yaml never panic and always finish. A hang
//! would show as this test never completing; a panic fails it.

use std::path::Path;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const FRAGMENTS: &[&[u8]] = &[
    b":",
    b"- ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"&a ",
    b"*a",
    b"\n",
    b"  ",
    b"\t",
    b"\"",
    b"'",
    b"#",
    b"0.0.0.0/0",
    b"-1",
    b"999999999999999999999",
    b"null",
    b"~",
    b"true",
    b"depends-on: [network-1]",
    b"\xff",
    b"\xe2\x82",
    b"<<: *a",
    b"!!str ",
    b"? ",
    b"|\n",
    b">-\n",
    b"vpc: instance-1",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(5) {
            0 => {
                let end = (at + rng.below(40)).min(bytes.len());
                bytes.drain(at..end);
            }
            1 => {
                let frag = FRAGMENTS[rng.below(FRAGMENTS.len())];
                bytes.splice(at..at, frag.iter().copied());
            }
            2 if !bytes.is_empty() => {
                let i = at.min(bytes.len() - 1);
                bytes[i] = (rng.next() & 0xff) as u8;
            }
            3 => {
                // Duplicate a line elsewhere: duplicate keys and names.
                let text = bytes.clone();
                let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
                let line = lines[rng.below(lines.len())].to_vec();
                bytes.splice(at..at, line.into_iter().chain([b'\n']));
            }
            _ => {
                let end = (at + rng.below(200)).min(bytes.len());
                let chunk = bytes[at..end].to_vec();
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, chunk);
            }
        }
    }
    bytes
}

#[test]
fn random_mutations_of_the_seed_never_panic() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../topology.yaml");
    let seed = std::fs::read(path).unwrap();
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    let (mut refused, mut accepted) = (0, 0);
    for round in 0..3000 {
        let input = mutate(&mut rng, &seed);
        let result = std::panic::catch_unwind(|| {
            let loaded = vpcform_topology::load("mutant.yaml", &input);
            // Rendering must not panic either, whatever the spans.
            for d in &loaded.diagnostics {
                let _ = loaded.source.render(d, &vpcform_topology::Style::plain());
            }
            loaded.has_errors()
        });
        match result {
            Ok(true) => refused += 1,
            Ok(false) => accepted += 1,
            Err(_) => panic!(
                "round {round} panicked on input:\n{}",
                String::from_utf8_lossy(&input)
            ),
        }
    }
    // The mutations must actually exercise the error paths.
    assert!(
        refused > 1000,
        "only {refused} of 3000 mutants were refused"
    );
    assert!(accepted > 0);
}
