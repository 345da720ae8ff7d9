//! The expansion is a function of its input: the same file and values give
//! the same plain topology, every instance key once, in the order written.

use proptest::prelude::*;
use vpcform_expand::{NoFiles, Options, expand};
use vpcform_lang::emit;
use vpcform_lang::yaml::{self, NodeKind};

fn topology(keys: &[String], zones: usize) -> String {
    let spokes: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("\"{k}\": 10.{}.0.0/16", i + 1))
        .collect();
    format!(
        "stack: s\nparameters:\n  spokes: {{ type: map, default: {{ {} }} }}\n  zones: {{ type: number, default: {zones} }}\nblueprints:\n  spoke:\n    parameters:\n      cidr: {{ type: cidr }}\n      zones: {{ type: number }}\n    vpcs:\n      vpc: {{ cidr: \"${{param.cidr}}\" }}\n    subnets:\n      app:\n        for-each: \"${{range(param.zones)}}\"\n        vpc: vpc\n        cidr: \"${{cidrsubnet(param.cidr, 8, each.index)}}\"\nuse:\n  spoke:\n    for-each: ${{param.spokes}}\n    blueprint: spoke\n    cidr: ${{each.value}}\n    zones: ${{param.zones}}\n",
        spokes.join(", ")
    )
}

fn plain(text: &str) -> (String, Vec<String>) {
    let root = yaml::parse(text.as_bytes()).unwrap();
    let expanded = expand(root, "t.yaml", &Options::default(), &NoFiles);
    assert!(
        expanded.diagnostics.is_empty(),
        "{:?}",
        expanded.diagnostics
    );
    let subnets = match &expanded.root.kind {
        NodeKind::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some("subnets"))
            .and_then(|(_, v)| match &v.kind {
                NodeKind::Map(s) => Some(
                    s.iter()
                        .filter_map(|(k, _)| k.as_str().map(String::from))
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let text = match emit::from_node(&expanded.root) {
        emit::Yaml::Map(map) => map.to_text(),
        _ => String::new(),
    };
    (text, subnets)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn same_input_same_plain_topology(
        keys in prop::collection::btree_set("[a-z][a-z0-9-]{0,6}", 1..12),
        zones in 0usize..4,
    ) {
        let keys: Vec<String> = keys.into_iter().collect();
        let text = topology(&keys, zones);
        let (first, subnets) = plain(&text);
        let (second, _) = plain(&text);
        prop_assert_eq!(&first, &second);
        // Every spoke has `zones` subnets, named in the order written.
        let expected: Vec<String> = keys
            .iter()
            .flat_map(|k| (0..zones).map(move |z| format!("spoke[{k}].app[{z}]")))
            .collect();
        prop_assert_eq!(subnets, expected);
    }
}
