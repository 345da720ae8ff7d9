//! Data-driven: every file under `data/invalid/` is a bad topology whose first
//! line names a diagnostic code it must produce (`# expect: CODE`). The exact
//! rendered diagnostics are pinned by an insta snapshot per file.

use std::path::Path;

use vpcform_topology::{Style, load};

fn expected_code(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let first = text.lines().next().unwrap_or_default();
    first
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("corpus file must start with `# expect: CODE`, found {first:?}"))
        .trim()
        .to_string()
}

fn render_all(name: &str, bytes: &[u8]) -> (String, Vec<&'static str>, bool) {
    let loaded = load(name, bytes);
    let mut text = String::new();
    for d in &loaded.diagnostics {
        text.push_str(&loaded.source.render(d, &Style::plain()));
        text.push('\n');
    }
    let codes = loaded.diagnostics.iter().map(|d| d.code).collect();
    (text, codes, loaded.graph.is_some())
}

#[test]
fn invalid_topologies_are_refused_with_located_messages() {
    insta::glob!("data/invalid/*.yaml", |path: &Path| {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let all_expected = expected_code(&bytes);
        let (text, codes, has_graph) = render_all(&name, &bytes);
        // `# expect: A, B`: every one of them.
        for expected in all_expected.split(", ") {
            assert!(
                codes.contains(&expected),
                "{name}: expected a `{expected}` diagnostic, got {codes:?}\n{text}"
            );
        }
        let expected = all_expected
            .split(", ")
            .next()
            .unwrap_or_default()
            .to_string();
        let is_warning_case = expected.starts_with("flow-log-role")
            || expected == "peering-without-routes"
            || expected == "shadowed-acl-entry"
            || expected == "unused-waiver";
        if !is_warning_case {
            assert!(
                !has_graph,
                "{name}: an invalid topology must not produce a graph"
            );
        }
        // Every diagnostic is located, except those about the file as a whole.
        for line in text.lines().filter(|l| l.trim_start().starts_with("-->")) {
            assert!(
                line.contains(&format!("{name}:")) || matches!(expected.as_str(), "empty-file"),
                "{name}: diagnostic without a position: {line}"
            );
        }
        insta::assert_snapshot!(text);
    });
}

#[test]
fn empty_input_is_refused() {
    let loaded = load("empty.yaml", b"");
    assert_eq!(loaded.diagnostics.len(), 1);
    assert_eq!(loaded.diagnostics[0].code, "empty-file");
}

#[test]
fn oversize_input_is_refused_before_parsing() {
    let started = std::time::Instant::now();
    let bytes = vec![b'#'; vpcform_topology::MAX_FILE_BYTES + 1];
    let loaded = load("huge.yaml", &bytes);
    assert_eq!(loaded.diagnostics[0].code, "file-too-large");
    assert!(loaded.topology.is_none());
    assert!(
        started.elapsed().as_secs() < 5,
        "refusal must not parse the file"
    );
}

#[test]
fn all_problems_are_reported_in_one_run() {
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/invalid/29-many-problems.yaml"),
    )
    .unwrap();
    let loaded = load("many.yaml", &bytes);
    let mut codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code).collect();
    codes.sort_unstable();
    codes.dedup();
    for code in [
        "unknown-field",
        "wrong-type",
        "invalid-protocol",
        "invalid-log-group-name",
        "invalid-retention",
        "invalid-ami",
        "invalid-instance-type",
    ] {
        assert!(codes.contains(&code), "missing {code} in {codes:?}");
    }
}

/// Every code the crate can emit (found in its sources, after
/// `Diagnostic::error(` or `Diagnostic::warning(`).
fn codes_in_sources() -> std::collections::BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut sources = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut sources,
    );
    let mut codes = std::collections::BTreeSet::new();
    for text in &sources {
        for opener in ["Diagnostic::error(", "Diagnostic::warning("] {
            for (at, _) in text.match_indices(opener) {
                let rest = text[at + opener.len()..].trim_start();
                if let Some(literal) = rest.strip_prefix('"') {
                    let code = &literal[..literal.find('"').unwrap()];
                    codes.insert(code.to_string());
                }
            }
        }
    }
    codes
}

#[test]
fn every_diagnostic_code_has_a_fixture() {
    let mut produced = std::collections::BTreeSet::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/invalid");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let loaded = load(&path.display().to_string(), &bytes);
        produced.extend(loaded.diagnostics.iter().map(|d| d.code.to_string()));
    }
    // Covered by `oversize_input_is_refused_before_parsing`: a fixture would be 32 MiB.
    produced.insert("file-too-large".into());
    let codes = codes_in_sources();
    assert!(codes.len() > 40, "the source scan found only {codes:?}");
    let missing: Vec<&String> = codes.difference(&produced).collect();
    assert!(
        missing.is_empty(),
        "codes without a fixture in data/invalid: {missing:?}"
    );
}

#[test]
fn every_diagnostic_code_is_in_the_documentation() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/topology.md"),
    )
    .unwrap();
    let missing: Vec<String> = codes_in_sources()
        .into_iter()
        .filter(|c| !doc.contains(&format!("`{c}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "codes docs/topology.md (Diagnostics) does not list: {missing:?}"
    );
}
