//! The dependency graph of the seed topology and the examples.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use vpcform_topology::{Address, ResourceKind, load, load_file};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn seed() -> vpcform_topology::Loaded {
    load_file(&repo_root().join("topology.yaml")).unwrap()
}

fn addr(text: &str) -> Address {
    Address::parse(text).unwrap_or_else(|| panic!("bad address {text}"))
}

#[test]
fn seed_graph_has_implicit_nodes() {
    let loaded = seed();
    let (_, graph) = loaded.valid().expect("topology.yaml is valid");
    for implicit in [
        "internet-gateway-attachment.network-1-igw",
        "route-table-association.network-1-rt[network-1-public]",
        "route.network-1-rt[0.0.0.0/0]",
        "route.network-2-rt[10.1.0.0/16]",
        "iam-role-policy-attachment.flow-log-role[flow-log-policy]",
        "security-group-rule.instance-1-sg[ingress/tcp/22..22/0.0.0.0/0]",
        "security-group-rule.instance-1-sg[ingress/icmp/-1..-1/0.0.0.0/0]",
    ] {
        assert!(
            graph.index_of(&addr(implicit)).is_some(),
            "missing {implicit}"
        );
    }
    let mut per_kind: HashMap<ResourceKind, usize> = HashMap::new();
    for (_, node) in graph.nodes() {
        *per_kind.entry(node.address.kind).or_default() += 1;
    }
    assert_eq!(per_kind[&ResourceKind::Vpc], 2);
    assert_eq!(per_kind[&ResourceKind::Route], 4);
    assert_eq!(per_kind[&ResourceKind::SecurityGroupRule], 4);
    assert_eq!(per_kind[&ResourceKind::FlowLog], 2);
    assert_eq!(per_kind[&ResourceKind::VpcPeering], 1);
}

#[test]
fn topological_order_puts_every_dependency_first() {
    let loaded = seed();
    let (_, graph) = loaded.valid().unwrap();
    let order = graph.topological_order().unwrap();
    assert_eq!(order.len(), graph.len());
    let position: HashMap<_, _> = order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    for &node in &order {
        for dep in graph.dependencies(node) {
            assert!(
                position[&dep] < position[&node],
                "{} must come after {}",
                graph.node(node).address,
                graph.node(dep).address
            );
        }
    }
    let before = |a: &str, b: &str| {
        position[&graph.index_of(&addr(a)).unwrap()] < position[&graph.index_of(&addr(b)).unwrap()]
    };
    assert!(before(
        "vpc-peering.vpc1-vpc2",
        "route.network-1-rt[10.2.0.0/16]"
    ));
    assert!(before(
        "internet-gateway-attachment.network-1-igw",
        "route.network-1-rt[0.0.0.0/0]"
    ));
    assert!(before(
        "iam-role-policy-attachment.flow-log-role[flow-log-policy]",
        "flow-log.network-1-flow-log"
    ));
    assert!(before("log-group.flow-logs", "flow-log.network-2-flow-log"));
    assert!(before(
        "security-group.instance-1-sg",
        "instance.instance-1"
    ));
}

#[test]
fn topological_order_is_deterministic() {
    let text = std::fs::read(repo_root().join("topology.yaml")).unwrap();
    let orders: Vec<Vec<String>> = (0..3)
        .map(|_| {
            let loaded = load("t.yaml", &text);
            let graph = loaded.graph.unwrap();
            graph
                .topological_order()
                .unwrap()
                .into_iter()
                .map(|i| graph.node(i).address.to_string())
                .collect()
        })
        .collect();
    assert_eq!(orders[0], orders[1]);
    assert_eq!(orders[1], orders[2]);
    assert_eq!(
        orders[0][0], "vpc.network-1",
        "ready nodes are taken in address order"
    );
}

#[test]
fn cycles_are_found_and_printed_as_a_closed_path() {
    let yaml = b"stack: s\nvpcs:\n  a: { cidr: 10.1.0.0/16, depends-on: [c] }\n  b: { cidr: 10.2.0.0/16, depends-on: [a] }\n  c: { cidr: 10.3.0.0/16, depends-on: [b] }\n";
    let loaded = load("cycle.yaml", yaml);
    let cycle: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "dependency-cycle")
        .collect();
    assert_eq!(cycle.len(), 1);
    assert_eq!(
        cycle[0].message,
        "dependency cycle: vpc.a → vpc.c → vpc.b → vpc.a"
    );
    assert_eq!((cycle[0].span.line, cycle[0].span.column), (3, 40));
    assert!(loaded.graph.is_none());
}

#[test]
fn seed_mermaid_is_stable() {
    let loaded = seed();
    let (_, graph) = loaded.valid().unwrap();
    let mermaid = graph.to_mermaid();
    assert!(mermaid.starts_with("flowchart LR\n"));
    insta::assert_snapshot!(mermaid);
}

#[test]
fn examples_validate_as_documented() {
    // (file, expected warning codes)
    let expectations: &[(&str, &[&str])] = &[
        ("topology.yaml", &[]),
        ("examples/minimal.yaml", &[]),
        ("examples/hub.yaml", &[]),
        ("examples/production-vpc.yaml", &[]),
        ("examples/monitored-app.yaml", &[]),
        ("examples/transit-hub.yaml", &[]),
        // `FILE@ENV`: in that environment; every environment is listed.
        ("examples/environments.yaml@dev", &[]),
        ("examples/environments.yaml@prod", &[]),
        ("examples/spokes.yaml", &[]),
        ("examples/tiers.yaml", &[]),
        (
            "examples/peering-without-routes.yaml",
            &["peering-without-routes"],
        ),
        // Its broken expectation is the CLI's check (validate_cli.rs).
        (
            "examples/peering-one-side-route.yaml",
            &["peering-without-routes"],
        ),
    ];
    let mut listed: Vec<String> = std::fs::read_dir(repo_root().join("examples"))
        .unwrap()
        .map(|e| format!("examples/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    listed.sort();
    for name in &listed {
        assert!(
            expectations
                .iter()
                .any(|(f, _)| f.split('@').next() == Some(name.as_str())),
            "{name} has no expectation here"
        );
    }
    for (listed, warnings) in expectations {
        let (file, env) = match listed.split_once('@') {
            Some((file, env)) => (file, Some(env.to_string())),
            None => (*listed, None),
        };
        let options = vpcform_topology::ExpandOptions {
            env,
            ..Default::default()
        };
        let loaded = vpcform_topology::load_file_with(&repo_root().join(file), &options).unwrap();
        if loaded.environments.len() > 1 {
            for env in &loaded.environments {
                let listed = format!("{file}@{env}");
                assert!(
                    expectations.iter().any(|(f, _)| *f == listed),
                    "{listed} has no expectation here"
                );
            }
        }
        assert!(!loaded.has_errors(), "{file}: {:?}", loaded.diagnostics);
        // Policy findings are reported, not problems of the file.
        let codes: Vec<&str> = loaded
            .diagnostics
            .iter()
            .map(|d| d.code)
            .filter(|c| vpcform_topology::policy::rule(c).is_none())
            .collect();
        assert_eq!(&codes, warnings, "{file}");
    }
    let unrouted = load_file(&repo_root().join("examples/peering-without-routes.yaml")).unwrap();
    assert!(unrouted.diagnostics.iter().any(|d| {
        d.message
            .contains("`left-host` and `right-host` cannot reach each other")
    }));
}

#[test]
fn hub_add_routes_creates_routes_on_both_sides() {
    let loaded = load_file(&repo_root().join("examples/hub.yaml")).unwrap();
    let (_, graph) = loaded.valid().unwrap();
    for route in [
        "route.hub-rt[10.10.0.0/16]",
        "route.hub-rt[10.20.0.0/16]",
        "route.spoke-a-rt[10.0.0.0/16]",
        "route.spoke-b-rt[10.0.0.0/16]",
    ] {
        assert!(graph.index_of(&addr(route)).is_some(), "missing {route}");
    }
    assert!(
        graph
            .index_of(&addr("route.spoke-a-rt[10.20.0.0/16]"))
            .is_none(),
        "peering is not transitive"
    );
}

#[test]
fn add_routes_reach_every_block_of_the_peer() {
    let yaml = r#"
stack: demo
vpcs:
  a: { cidr: 10.1.0.0/16 }
  b: { cidr: 10.2.0.0/16, secondary-cidrs: [100.64.0.0/16] }
route-tables:
  a-rt: { vpc: a }
peerings:
  a-b: { requester: a, accepter: b, add-routes: true }
"#;
    let loaded = vpcform_topology::load("t.yaml", yaml.as_bytes());
    let (t, _) = loaded.valid().expect("valid");
    let mut destinations: Vec<String> = t
        .effective_routes()
        .iter()
        .filter(|r| r.table == "a-rt")
        .map(|r| r.destination.to_string())
        .collect();
    destinations.sort();
    assert_eq!(destinations, ["10.2.0.0/16", "100.64.0.0/16"]);
}
