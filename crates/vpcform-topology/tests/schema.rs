//! The JSON Schema and the decoder agree on every mapping's fields, and the
//! committed docs/topology.schema.json is current.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

/// The fields the decoder accepts, read from its "unknown field" help text.
fn decoder_fields(yaml: &str) -> BTreeSet<String> {
    let loaded = vpcform_topology::load("probe.yaml", yaml.as_bytes());
    let d = loaded
        .diagnostics
        .iter()
        .find(|d| d.code == "unknown-field" && d.message.contains("zz-probe"))
        .unwrap_or_else(|| {
            panic!(
                "no unknown-field diagnostic for {yaml}: {:?}",
                loaded.diagnostics
            )
        });
    let help = d.help.as_deref().unwrap();
    let list = help.split(" are: ").nth(1).unwrap();
    list.split(", ").map(str::to_string).collect()
}

fn schema_fields(schema: &Value, definition: Option<&str>) -> BTreeSet<String> {
    let node = match definition {
        Some(name) => &schema["$defs"][name],
        None => schema,
    };
    // The expansion's own keys are not the plain topology's: the decoder
    // never sees them.
    node["properties"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| {
            ![
                "for-each",
                "if",
                "parameters",
                "environments",
                "blueprints",
                "use",
            ]
            .contains(&k.as_str())
        })
        .cloned()
        .collect()
}

#[test]
fn schema_and_decoder_accept_the_same_fields() {
    let schema = vpcform_topology::json_schema();
    let cases: &[(Option<&str>, &str)] = &[
        (None, "stack: s\nzz-probe: 1\n"),
        (Some("Vpc"), "stack: s\nvpcs: { v: { zz-probe: 1 } }\n"),
        (
            Some("Subnet"),
            "stack: s\nsubnets: { v: { zz-probe: 1 } }\n",
        ),
        (
            Some("InternetGateway"),
            "stack: s\ninternet-gateways: { v: { zz-probe: 1 } }\n",
        ),
        (
            Some("RouteTable"),
            "stack: s\nroute-tables: { v: { zz-probe: 1 } }\n",
        ),
        (
            Some("Route"),
            "stack: s\nroute-tables: { v: { routes: [{ zz-probe: 1 }] } }\n",
        ),
        (
            Some("SecurityGroup"),
            "stack: s\nsecurity-groups: { v: { zz-probe: 1 } }\n",
        ),
        (
            Some("Rule"),
            "stack: s\nsecurity-groups: { v: { ingress: [{ zz-probe: 1 }] } }\n",
        ),
        (
            Some("Instance"),
            "stack: s\ninstances: { v: { zz-probe: 1 } }\n",
        ),
        (
            Some("LogGroup"),
            "stack: s\nlog-groups: { v: { zz-probe: 1 } }\n",
        ),
        (
            Some("IamPolicy"),
            "stack: s\niam-policies: { v: { zz-probe: 1 } }\n",
        ),
        (
            Some("IamRole"),
            "stack: s\niam-roles: { v: { zz-probe: 1 } }\n",
        ),
        (
            Some("FlowLog"),
            "stack: s\nflow-logs: { v: { zz-probe: 1 } }\n",
        ),
        (
            Some("Peering"),
            "stack: s\npeerings: { v: { zz-probe: 1 } }\n",
        ),
    ];
    for (definition, yaml) in cases {
        assert_eq!(
            decoder_fields(yaml),
            schema_fields(&schema, *definition),
            "fields of {}",
            definition.unwrap_or("the topology")
        );
    }
}

#[test]
fn committed_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/topology.schema.json");
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        committed,
        vpcform_topology::json_schema(),
        "docs/topology.schema.json is stale: run `vpcform schema > docs/topology.schema.json`"
    );
}

#[test]
fn schema_requires_only_the_stack_at_top_level() {
    let schema = vpcform_topology::json_schema();
    assert_eq!(schema["required"], serde_json::json!(["stack"]));
    assert_eq!(schema["additionalProperties"], Value::Bool(false));
}

#[test]
fn schema_knows_the_expansion() {
    let schema = vpcform_topology::json_schema();
    for key in ["parameters", "environments", "blueprints", "use"] {
        assert!(schema["properties"][key].is_object(), "{key}");
    }
    assert!(schema["$defs"]["Vpc"]["properties"]["for-each"].is_object());
    // A number may be written as a template.
    let retention = schema["$defs"]["LogGroup"]["properties"]["retention-days"].to_string();
    assert!(retention.contains("#/$defs/Template"), "{retention}");
}
