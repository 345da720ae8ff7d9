//! Bounded work: no query exhausts the stack or takes time out of
//! proportion to its length. Each bound is an error at a column.

use vpcform_insights::compile;

fn error_of(query: &str) -> vpcform_insights::QueryError {
    match compile(query) {
        Ok(_) => panic!("accepted a query past a bound ({} bytes)", query.len()),
        Err(e) => e,
    }
}

#[test]
fn parentheses_nest_at_most_64_deep() {
    let deep = format!(
        "filter {}action = 'REJECT'{}",
        "(".repeat(1000),
        ")".repeat(1000)
    );
    let e = error_of(&deep);
    assert!(
        e.message.contains("nests deeper than 64 levels"),
        "{}",
        e.message
    );
    assert_eq!(
        e.column,
        "filter ".len() + 65,
        "located at the 65th parenthesis"
    );
    let fine = format!(
        "filter {}action = 'REJECT'{}",
        "(".repeat(60),
        ")".repeat(60)
    );
    assert!(compile(&fine).is_ok());
}

#[test]
fn not_and_signs_nest_at_most_64_deep() {
    let e = error_of(&format!("filter {}action = 'REJECT'", "not ".repeat(5000)));
    assert!(e.message.contains("nests deeper"), "{}", e.message);
    let e = error_of(&format!("fields {}1 as x", "-".repeat(5000)));
    assert!(e.message.contains("nests deeper"), "{}", e.message);
}

#[test]
fn one_chain_of_an_operator_has_at_most_256_operands() {
    let ors = vec!["dstPort = 22"; 2000].join(" or ");
    let e = error_of(&format!("filter {ors}"));
    assert!(
        e.message.contains("more than 256 operands joined by `or`"),
        "{}",
        e.message
    );
    let fine = vec!["dstPort = 22"; 200].join(" or ");
    assert!(compile(&format!("filter {fine}")).is_ok());
}

#[test]
fn a_query_naming_many_fields_compiles() {
    let names: Vec<String> = (0..60_000).map(|i| format!("f{i}")).collect();
    let query = format!("fields {}", names.join(", "));
    let compiled = compile(&query);
    assert!(compiled.is_ok(), "{:?}", compiled.err());
}

#[test]
fn input_that_has_no_size_is_refused_not_read() {
    let compiled = compile("stats count() as n").unwrap();
    let e = vpcform_insights::run_file(&compiled, std::path::Path::new("/dev/zero"), "g", 0, 2)
        .expect_err("a device is no input");
    assert!(e.contains("not a regular file"), "{e}");
}

#[test]
fn a_record_longer_than_any_log_event_is_an_error() {
    let dir = std::env::temp_dir().join(format!("vpcform-line-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("records.log");
    let line = format!(
        "2 123 eni-1 10.0.0.1 10.0.0.2 {} 80 6 1 40 1 2 ACCEPT OK",
        "9".repeat(2 << 20)
    );
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let compiled = compile("stats count() as n").unwrap();
    let e = vpcform_insights::run_file(&compiled, &path, "g", 0, 1).expect_err("bounded");
    assert!(e.contains("longer than 1048576 bytes"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
