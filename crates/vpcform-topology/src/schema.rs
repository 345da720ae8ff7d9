//! The JSON Schema of the topology language (`vpcform schema`): the plain
//! topology's, from the types, with the expansion's constructs added so
//! that editors complete and check them too.

use serde_json::{Map, Value, json};

use crate::Topology;

pub(crate) fn json_schema() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Topology)).unwrap_or_default();
    let Some(root) = schema.as_object_mut() else {
        return schema;
    };
    root.insert(
        "$id".into(),
        "https://vpcform.dev/schema/topology-v1.json".into(),
    );
    if let Some(defs) = root.get_mut("$defs").and_then(Value::as_object_mut) {
        for def in defs.values_mut() {
            repeatable(def);
            templated(def);
        }
        defs.insert("Template".into(), template());
    }
    if let Some(props) = root.get_mut("properties").and_then(Value::as_object_mut) {
        for (key, value) in language() {
            props.insert(key.into(), value);
        }
        for (key, value) in props.iter_mut() {
            if !matches!(
                key.as_str(),
                "parameters" | "environments" | "blueprints" | "use"
            ) {
                templated(value);
            }
        }
    }
    schema
}

/// A whole value written as one `${…}`: a parameter, `each.value`, a function.
fn template() -> Value {
    json!({
        "type": "string",
        "pattern": "\\$\\{.*\\}",
        "description": "A template: ${param.NAME}, ${each.key}, ${each.value}, ${env.name}, or a function such as ${cidrsubnet(param.cidr, 8, 1)}",
    })
}

/// Every mapping with fields may repeat (`for-each:`) or be conditional (`if:`).
fn repeatable(def: &mut Value) {
    let Some(props) = def.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    props.insert(
        "for-each".into(),
        json!({
            "description": "Repeat this declaration for each key of a map or item of a list of names; instances are named NAME[KEY] and see ${each.key}, ${each.value}, ${each.index}",
            "anyOf": [{ "type": "array", "items": { "type": ["string", "integer"] } }, { "type": "object" }, { "$ref": "#/$defs/Template" }],
        }),
    );
    props.insert(
        "if".into(),
        json!({
            "description": "Declare this only when true, e.g. ${param.nat}",
            "anyOf": [{ "type": "boolean" }, { "$ref": "#/$defs/Template" }],
        }),
    );
}

/// Values other than text may also be written as a template.
fn templated(node: &mut Value) {
    let Some(obj) = node.as_object_mut() else {
        return;
    };
    for key in ["properties", "additionalProperties", "items"] {
        match obj.get_mut(key) {
            Some(Value::Object(props)) if key == "properties" => {
                props.values_mut().for_each(wrap);
            }
            Some(inner @ Value::Object(_)) => wrap(inner),
            _ => {}
        }
    }
}

/// `schema` or a template, unless it is already text.
fn wrap(schema: &mut Value) {
    templated(schema);
    let is_text = schema.get("type") == Some(&Value::String("string".into()));
    let is_template = schema.get("$ref") == Some(&Value::String("#/$defs/Template".into()));
    if is_text
        || is_template
        || schema
            .get("anyOf")
            .is_some_and(|a| a.to_string().contains("Template"))
    {
        return;
    }
    let mut outer = Map::new();
    if let Some(description) = schema.as_object_mut().and_then(|o| o.remove("description")) {
        outer.insert("description".into(), description);
    }
    outer.insert(
        "anyOf".into(),
        json!([schema.clone(), { "$ref": "#/$defs/Template" }]),
    );
    *schema = Value::Object(outer);
}

/// `parameters:`, `environments:`, `blueprints:` and `use:`.
fn language() -> Vec<(&'static str, Value)> {
    let parameter = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["type"],
        "properties": {
            "type": { "enum": ["string", "number", "bool", "cidr", "list", "map"] },
            "default": { "description": "The value when none is given" },
            "description": { "type": "string" },
            "allowed": { "type": "array", "description": "The only values accepted" },
            "min": { "type": "number" },
            "max": { "type": "number" },
        },
    });
    vec![
        (
            "parameters",
            json!({
                "description": "Typed values the topology uses as ${param.NAME}; given by an environment, --param-file or --param NAME=VALUE",
                "type": "object",
                "additionalProperties": parameter,
            }),
        ),
        (
            "environments",
            json!({
                "description": "Named value sets, each its own stack, region and credentials (`--env NAME`, `plan --all-envs`)",
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "stack": { "type": "string", "description": "Its stack (default: STACK-ENV)" },
                        "region": { "type": "string" },
                        "profile": { "type": "string", "description": "A profile of ~/.aws/config" },
                        "role-arn": { "type": "string", "description": "A role to assume, e.g. in the environment's own account" },
                        "values": { "type": "object", "description": "Parameter values" },
                        "values-file": { "type": "string", "description": "A YAML file of parameter values, relative to the topology" },
                    },
                },
            }),
        ),
        (
            "blueprints",
            json!({
                "description": "Named, parameterised groups of declarations, used under `use:`",
                "type": "object",
                "additionalProperties": {
                    "anyOf": [
                        { "type": "object", "required": ["file"], "additionalProperties": false, "properties": { "file": { "type": "string", "description": "A file of the repository holding the blueprint, relative to the topology" } } },
                        { "type": "object", "properties": { "parameters": { "type": "object", "additionalProperties": parameter } } },
                    ],
                },
            }),
        ),
        (
            "use",
            json!({
                "description": "Uses of blueprints: NAME declares NAME.DECLARATION for each of the blueprint's declarations",
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["blueprint"],
                    "properties": {
                        "blueprint": { "type": "string" },
                        "for-each": { "description": "Use the blueprint once per key or item" },
                        "if": { "description": "Use it only when true" },
                    },
                    "additionalProperties": { "description": "An argument: a value for one of the blueprint's parameters" },
                },
            }),
        ),
    ]
}
