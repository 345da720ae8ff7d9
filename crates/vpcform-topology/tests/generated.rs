//! Generated topologies are valid and have the expected shape.

use vpcform_topology::{ResourceKind, generate, load};

#[test]
fn generated_topologies_validate_with_eleven_nodes_per_vpc() {
    for vpcs in [1, 17, 300] {
        let yaml = generate::wide_topology("gen", vpcs);
        let loaded = load("gen.yaml", yaml.as_bytes());
        let text: Vec<String> = loaded
            .diagnostics
            .iter()
            .take(3)
            .map(|d| format!("{}:{} {}", d.span.line, d.span.column, d.message))
            .collect();
        assert!(loaded.diagnostics.is_empty(), "{vpcs} VPCs: {text:?}");
        let graph = loaded.graph.expect("valid");
        assert_eq!(graph.len(), vpcs * 11);
        let instances = graph
            .nodes()
            .filter(|(_, n)| n.address.kind == ResourceKind::Instance)
            .count();
        assert_eq!(instances, vpcs);
    }
}
