//! Generated topologies are valid and have the expected shape.

use vpcform_topology::{ResourceKind, generate, load};

/// Diagnostics other than policy findings (the generators' rules are bare on purpose).
fn problems(loaded: &vpcform_topology::Loaded) -> Vec<String> {
    loaded
        .diagnostics
        .iter()
        .filter(|d| vpcform_topology::policy::rule(d.code).is_none())
        .take(3)
        .map(|d| format!("{}:{} {}", d.span.line, d.span.column, d.message))
        .collect()
}

#[test]
fn generated_topologies_validate_with_eleven_nodes_per_vpc() {
    for vpcs in [1, 17, 300] {
        let yaml = generate::wide_topology("gen", vpcs);
        let loaded = load("gen.yaml", yaml.as_bytes());
        let problems = problems(&loaded);
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

#[test]
fn production_vpcs_validate_with_their_endpoints_and_lists() {
    for vpcs in [1, 20] {
        let yaml = generate::production_vpcs("prod", vpcs);
        let loaded = load("prod.yaml", yaml.as_bytes());
        let problems = problems(&loaded);
        assert!(problems.is_empty(), "{vpcs} VPCs: {problems:?}\n{yaml}");
        let graph = loaded.graph.expect("valid");
        let count = |kind| {
            graph
                .nodes()
                .filter(|(_, n)| n.address.kind == kind)
                .count()
        };
        assert_eq!(count(ResourceKind::VpcEndpoint), 2 * vpcs);
        assert_eq!(count(ResourceKind::PrefixList), vpcs);
        assert_eq!(count(ResourceKind::NatGateway), 2 * vpcs);
        assert_eq!(count(ResourceKind::EgressOnlyGateway), vpcs);
    }
}
