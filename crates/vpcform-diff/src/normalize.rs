//! Normal forms that make equal things compare equal, so nothing diffs forever.

use serde_json::{Map, Value};
use vpcform_topology::decode_policy_document;

use crate::Compare;
use crate::is_metadata_tag;

/// AWS's default flow-log record format (version 2 fields).
pub(crate) use vpcform_topology::kinds::flow_log::DEFAULT_FLOW_LOG_FORMAT;

pub(crate) fn normalize(compare: Compare, value: &Value) -> Value {
    match compare {
        Compare::Exact | Compare::Id | Compare::Unread => value.clone(),
        Compare::Cidr => match value.as_str().and_then(|s| s.parse::<ipnet::IpNet>().ok()) {
            Some(net) => Value::String(net.trunc().to_string()),
            None => value.clone(),
        },
        Compare::Policy => canonical_policy(&decode_policy_document(value)),
        Compare::Tags => match value {
            Value::Object(tags) => {
                let mut keys: Vec<&String> = tags
                    .keys()
                    .filter(|k| !k.starts_with("aws:") && !is_metadata_tag(k))
                    .collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), tags[k].clone()))
                        .collect(),
                )
            }
            Value::Null => Value::Object(Map::new()),
            other => other.clone(),
        },
        Compare::StringSet => match value {
            Value::Array(items) => {
                let mut items = items.clone();
                items.sort_by_key(|v| v.to_string());
                items.dedup();
                Value::Array(items)
            }
            other => other.clone(),
        },
        Compare::FlowLogFormat => match value {
            Value::Null => Value::String(DEFAULT_FLOW_LOG_FORMAT.into()),
            Value::String(s) if s.trim().is_empty() => {
                Value::String(DEFAULT_FLOW_LOG_FORMAT.into())
            }
            other => other.clone(),
        },
        Compare::Json => canonical_json(value),
    }
}

/// A JSON document parsed from text if needed, keys sorted, whole numbers as integers.
fn canonical_json(value: &Value) -> Value {
    fn walk(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), walk(&m[k]))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(walk).collect()),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
                _ => v.clone(),
            },
            other => other.clone(),
        }
    }
    match value {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(parsed) => walk(&parsed),
            Err(_) => value.clone(),
        },
        other => walk(other),
    }
}

/// A canonical IAM policy: statements as a sorted list, string-or-list fields
/// as sorted lists, object keys sorted.
pub fn canonical_policy(document: &Value) -> Value {
    let mut doc = sort_keys(document);
    if let Some(obj) = doc.as_object_mut()
        && let Some(statement) = obj.get_mut("Statement")
    {
        let mut statements: Vec<Value> = match statement.take() {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            single => vec![single],
        };
        for s in &mut statements {
            if let Some(s) = s.as_object_mut() {
                for key in ["Action", "NotAction", "Resource", "NotResource"] {
                    if let Some(v) = s.get_mut(key) {
                        *v = string_set(v);
                    }
                }
                for key in ["Principal", "NotPrincipal"] {
                    if let Some(Value::Object(p)) = s.get_mut(key) {
                        for v in p.values_mut() {
                            *v = string_set(v);
                        }
                    }
                }
            }
        }
        statements.sort_by_key(|s| s.to_string());
        *statement = Value::Array(statements);
    }
    doc
}

fn string_set(v: &Value) -> Value {
    let mut items: Vec<Value> = match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    items.sort_by_key(|v| v.to_string());
    items.dedup();
    Value::Array(items)
}

fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(obj) => {
            let mut keys: Vec<&String> = obj.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sort_keys(&obj[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reordered_and_url_encoded_trust_policies_are_equal() {
        let declared = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let from_aws = Value::String(
            "%7B%22Statement%22%3A%5B%7B%22Action%22%3A%5B%22sts%3AAssumeRole%22%5D%2C%22Principal%22%3A%7B%22Service%22%3A%5B%22vpc-flow-logs.amazonaws.com%22%5D%7D%2C%22Effect%22%3A%22Allow%22%7D%5D%2C%22Version%22%3A%222012-10-17%22%7D".into(),
        );
        assert_eq!(
            normalize(Compare::Policy, &declared),
            normalize(Compare::Policy, &from_aws)
        );
    }

    #[test]
    fn action_order_and_statement_order_do_not_matter_but_content_does() {
        let a = json!({"Statement": [{"Effect": "Allow", "Action": ["b", "a"], "Resource": "*"}, {"Effect": "Deny", "Action": "c", "Resource": "*"}]});
        let b = json!({"Statement": [{"Effect": "Deny", "Action": ["c"], "Resource": ["*"]}, {"Resource": "*", "Action": ["a", "b"], "Effect": "Allow"}]});
        let c = json!({"Statement": [{"Effect": "Allow", "Action": ["a"], "Resource": "*"}]});
        assert_eq!(
            normalize(Compare::Policy, &a),
            normalize(Compare::Policy, &b)
        );
        assert_ne!(
            normalize(Compare::Policy, &a),
            normalize(Compare::Policy, &c)
        );
    }

    #[test]
    fn tags_ignore_aws_and_config_tags() {
        let live = json!({"Name": "x", "aws:cloudformation:stack": "s", "vpcform:config": "abc"});
        assert_eq!(normalize(Compare::Tags, &live), json!({"Name": "x"}));
    }

    #[test]
    fn cidrs_and_default_flow_log_format_are_canonical() {
        assert_eq!(
            normalize(Compare::Cidr, &json!("10.1.0.0/16")),
            json!("10.1.0.0/16")
        );
        assert_eq!(
            normalize(Compare::FlowLogFormat, &Value::Null),
            normalize(Compare::FlowLogFormat, &json!(DEFAULT_FLOW_LOG_FORMAT))
        );
    }
}
