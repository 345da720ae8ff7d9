//! Generated topologies are valid and have the expected shape.

use vpcform_topology::{ResourceKind, generate, load};

#[test]
fn generated_topologies_validate_with_eleven_nodes_per_vpc() {
    for vpcs in [1, 17, 300] {
        let yaml = generate::wide_topology("gen", vpcs);
        let loaded = load("gen.yaml", yaml.as_bytes());
        // Policy findings are not problems of the file (the generator's
        // rules are bare on purpose); everything else must be clean.
        let problems: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| vpcform_topology::policy::rule(d.code).is_none())
            .take(3)
            .map(|d| format!("{}:{} {}", d.span.line, d.span.column, d.message))
            .collect();
        assert!(problems.is_empty(), "{vpcs} VPCs: {problems:?}");
        assert!(!loaded.findings.is_empty(), "the policy checks ran");
        let graph = loaded.graph.expect("valid");
        assert_eq!(graph.len(), vpcs * 11);
        let instances = graph
            .nodes()
            .filter(|(_, n)| n.address.kind == ResourceKind::Instance)
            .count();
        assert_eq!(instances, vpcs);
    }
}
