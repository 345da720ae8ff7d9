//! `[*]` in a list stands for every instance, through nested for-each and
//! blueprint uses; where one name is expected it is refused with a real example.

use vpcform_expand::{NoFiles, Options, expand};
use vpcform_lang::emit;
use vpcform_lang::yaml;

fn expanded(text: &str) -> (String, Vec<String>) {
    let root = yaml::parse(text.as_bytes()).unwrap();
    let e = expand(root, "t.yaml", &Options::default(), &NoFiles);
    let text = match emit::from_node(&e.root) {
        emit::Yaml::Map(m) => m.to_text(),
        _ => String::new(),
    };
    (
        text,
        e.diagnostics
            .iter()
            .map(|d| {
                format!(
                    "{}: {} ({})",
                    d.code,
                    d.message,
                    d.help.clone().unwrap_or_default()
                )
            })
            .collect(),
    )
}

const TOPOLOGY: &str = r#"
stack: s
blueprints:
  spoke:
    subnets:
      app: { for-each: [x, z], vpc: vpc, cidr: 10.0.0.0/24 }
use:
  spoke: { for-each: [a, b], blueprint: spoke }
route-tables:
  rt: { vpc: v, subnets: ["spoke[*].app[*]"] }
"#;

#[test]
fn nested_instances_are_all_named_in_declaration_order() {
    let (text, diags) = expanded(TOPOLOGY);
    assert!(diags.is_empty(), "{diags:?}");
    assert!(
        text.contains(r#"subnets: ["spoke[a].app[x]", "spoke[a].app[z]", "spoke[b].app[x]", "spoke[b].app[z]"]"#),
        "{text}"
    );
}

#[test]
fn a_splat_where_one_name_is_expected_shows_a_real_instance() {
    let (_, diags) =
        expanded(&TOPOLOGY.replace("rt: { vpc: v,", "rt: { vpc: \"spoke[*].app[*]\","));
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0].contains("names 4 objects") && diags[0].contains("e.g. `spoke[a].app[x]`"),
        "{diags:?}"
    );
}

#[test]
fn a_name_yaml_reads_as_a_boolean_is_refused_not_renamed_true() {
    let (text, diags) = expanded(&TOPOLOGY.replace("[x, z]", "[x, y]"));
    assert!(
        diags.iter().any(|d| d.contains("reads as a boolean")),
        "{diags:?}\n{text}"
    );
    assert!(!text.contains("app[true]"), "{text}");
}
