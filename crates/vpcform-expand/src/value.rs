//! The values an expression computes, and their way back into nodes.

use vpcform_lang::diagnostic::Span;
use vpcform_lang::yaml::{Node, NodeKind};

/// A value of the expansion language: YAML's, without positions.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Value {
    pub fn from_node(node: &Node) -> Value {
        match &node.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::Int(*i),
            NodeKind::Float(f) => Value::Float(*f),
            NodeKind::Str(s) => Value::Str(s.clone()),
            NodeKind::Seq(items) => Value::List(items.iter().map(Value::from_node).collect()),
            NodeKind::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| (scalar_text(k).unwrap_or_default(), Value::from_node(v)))
                    .collect(),
            ),
        }
    }

    /// The node this value stands for, every part at `span`.
    pub fn to_node(&self, span: Span) -> Node {
        let kind = match self {
            Value::Null => NodeKind::Null,
            Value::Bool(b) => NodeKind::Bool(*b),
            Value::Int(i) => NodeKind::Int(*i),
            Value::Float(f) => NodeKind::Float(*f),
            Value::Str(s) => NodeKind::Str(s.clone()),
            Value::List(items) => NodeKind::Seq(items.iter().map(|v| v.to_node(span)).collect()),
            Value::Map(entries) => NodeKind::Map(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let key = Node {
                            kind: NodeKind::Str(k.clone()),
                            span,
                        };
                        (key, v.to_node(span))
                    })
                    .collect(),
            ),
        };
        Node { kind, span }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
        }
    }

    /// The text of a scalar, as it reads inside a longer string.
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null | Value::List(_) | Value::Map(_) => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Str(s) => s.parse().ok(),
            Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// A field of a map.
    pub fn field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// The text of a scalar node (a map key written as a number reads as its digits).
pub(crate) fn scalar_text(node: &Node) -> Option<String> {
    match &node.kind {
        NodeKind::Str(s) => Some(s.clone()),
        NodeKind::Int(i) => Some(i.to_string()),
        NodeKind::Float(f) => Some(f.to_string()),
        NodeKind::Bool(b) => Some(b.to_string()),
        NodeKind::Null | NodeKind::Seq(_) | NodeKind::Map(_) => None,
    }
}
