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
