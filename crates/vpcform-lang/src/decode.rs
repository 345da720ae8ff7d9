//! Node tree → typed values, collecting every problem instead of stopping at the first.

use std::collections::BTreeMap;

use ipnet::Ipv4Net;

use crate::diagnostic::{Diagnostic, Span, did_you_mean};
use crate::model::At;
use crate::yaml::{Node, NodeKind};

/// Collects diagnostics while decoding.
#[derive(Debug, Default)]
pub struct Cx {
    pub diags: Vec<Diagnostic>,
}

impl Cx {
    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub fn wrong_type(&mut self, node: &Node, expected: &str) {
        let mut d = Diagnostic::error(
            "wrong-type",
            node.span,
            format!("expected {expected}, found {}", node.type_name()),
        );
        if matches!(
            node.kind,
            NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_)
        ) && expected.contains("string")
        {
            d = d.with_help("quote the value to make it a string");
        }
        self.push(d);
    }
}

/// A value that can be decoded from one YAML node. Returns `None` after
/// reporting why it could not.
/// A value that was present but invalid: its diagnostic is already in `Cx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reported;

pub trait FromNode: Sized {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self>;
}

impl FromNode for String {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        match &node.kind {
            NodeKind::Str(s) => Some(s.clone()),
            _ => {
                cx.wrong_type(node, "a string");
                None
            }
        }
    }
}

impl FromNode for bool {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        match &node.kind {
            NodeKind::Bool(b) => Some(*b),
            _ => {
                cx.wrong_type(node, "`true` or `false`");
                None
            }
        }
    }
}

impl FromNode for i64 {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        match &node.kind {
            NodeKind::Int(i) => Some(*i),
            _ => {
                cx.wrong_type(node, "an integer");
                None
            }
        }
    }
}

impl FromNode for f64 {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        match &node.kind {
            NodeKind::Float(f) if f.is_finite() => Some(*f),
            NodeKind::Int(i) => Some(*i as f64),
            _ => {
                cx.wrong_type(node, "a number");
                None
            }
        }
    }
}

impl FromNode for Ipv4Net {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::from_node(node, cx)?;
        let Ok(net) = text.parse::<Ipv4Net>() else {
            let help = if text.contains(':') {
                "vpcform manages IPv4 networks only; write an IPv4 CIDR such as 10.0.0.0/16"
            } else if !text.contains('/') {
                "add the prefix length, e.g. `/16` or `/24`"
            } else {
                "write an IPv4 CIDR such as 10.0.0.0/16 (four numbers 0-255 and a prefix length 0-32)"
            };
            cx.push(
                Diagnostic::error(
                    "invalid-cidr",
                    node.span,
                    format!("`{text}` is not a valid IPv4 CIDR block"),
                )
                .with_help(help),
            );
            return None;
        };
        if net.trunc() != net {
            cx.push(
                Diagnostic::error(
                    "invalid-cidr",
                    node.span,
                    format!("`{text}` has host bits set"),
                )
                .with_help(format!("did you mean `{}`?", net.trunc())),
            );
            return None;
        }
        Some(net)
    }
}

/// An IPv4 or IPv6 CIDR (prefix-list entries), host bits clear.
impl FromNode for ipnet::IpNet {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::from_node(node, cx)?;
        let Ok(net) = text.parse::<ipnet::IpNet>() else {
            cx.push(
                Diagnostic::error(
                    "invalid-cidr",
                    node.span,
                    format!("`{text}` is not a valid CIDR block"),
                )
                .with_help("write an IPv4 CIDR such as 203.0.113.0/24 or an IPv6 one such as 2001:db8::/32"),
            );
            return None;
        };
        if net.trunc() != net {
            cx.push(
                Diagnostic::error(
                    "invalid-cidr",
                    node.span,
                    format!("`{text}` has host bits set"),
                )
                .with_help(format!("did you mean `{}`?", net.trunc())),
            );
            return None;
        }
        Some(net)
    }
}

impl<T: FromNode> FromNode for At<T> {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        T::from_node(node, cx).map(|value| At {
            value,
            span: node.span,
        })
    }
}

impl<T: FromNode> FromNode for Vec<T> {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        match &node.kind {
            NodeKind::Seq(items) => {
                let decoded: Vec<Option<T>> = items.iter().map(|n| T::from_node(n, cx)).collect();
                decoded.into_iter().collect()
            }
            NodeKind::Null => Some(Vec::new()),
            _ => {
                cx.wrong_type(node, "a list");
                None
            }
        }
    }
}

impl FromNode for BTreeMap<String, String> {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        let entries = map_entries(node, cx)?;
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (key, value) in entries {
            let (Some(k), Some(v)) = (key.as_str(), String::from_node(value, cx)) else {
                ok = false;
                continue;
            };
            out.insert(k.to_string(), v);
        }
        ok.then_some(out)
    }
}

impl FromNode for serde_json::Value {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        use serde_json::Value;
        Some(match &node.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::from(*i),
            NodeKind::Float(f) => Value::from(*f),
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(
                items
                    .iter()
                    .map(|n| serde_json::Value::from_node(n, cx))
                    .collect::<Option<Vec<_>>>()?,
            ),
            NodeKind::Map(_) => {
                let mut out = serde_json::Map::new();
                for (key, value) in map_entries(node, cx)? {
                    let key = key.as_str()?.to_string();
                    out.insert(key, serde_json::Value::from_node(value, cx)?);
                }
                Value::Object(out)
            }
        })
    }
}

/// The entries of a mapping node, after reporting duplicate and non-string keys.
/// A null node (`key:` with nothing after it) is an empty mapping.
pub fn map_entries<'n>(node: &'n Node, cx: &mut Cx) -> Option<&'n [(Node, Node)]> {
    let entries: &[(Node, Node)] = match &node.kind {
        NodeKind::Map(entries) => entries,
        NodeKind::Null => &[],
        _ => {
            cx.wrong_type(node, "a mapping");
            return None;
        }
    };
    let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
    for (key, _) in entries {
        match key.as_str() {
            Some(k) => {
                if let Some(first) = seen.get(k) {
                    cx.push(
                        Diagnostic::error(
                            "duplicate-key",
                            key.span,
                            format!("duplicate key `{k}`"),
                        )
                        .with_related(*first, format!("`{k}` is first defined here"))
                        .with_help("remove one of the two entries; YAML keys must be unique"),
                    );
                } else {
                    seen.insert(k, key.span);
                }
            }
            None => cx.push(
                Diagnostic::error(
                    "wrong-type",
                    key.span,
                    format!("expected a string key, found {}", key.type_name()),
                )
                .with_help(match key.kind {
                    // YAML 1.1 reads y, n, yes, no, on, off as booleans: a widget's `y` among them.
                    NodeKind::Bool(_) => "quote the key (`\"y\": 0`): YAML reads a bare y, n, yes, no, on or off as a boolean",
                    _ => "quote the key to make it a string",
                }),
            ),
        }
    }
    Some(entries)
}

/// Reads the fields of one mapping; [`Fields::finish`] reports the keys nobody asked for.
#[derive(Debug)]
pub struct Fields<'n> {
    node: &'n Node,
    entries: &'n [(Node, Node)],
    used: Vec<bool>,
    known: Vec<&'static str>,
    what: String,
}

impl<'n> Fields<'n> {
    /// `what` names the mapping in messages, e.g. "vpc `network-1`".
    pub fn new(node: &'n Node, what: impl Into<String>, cx: &mut Cx) -> Option<Self> {
        let entries = map_entries(node, cx)?;
        Some(Fields {
            node,
            entries,
            used: vec![false; entries.len()],
            known: Vec::new(),
            what: what.into(),
        })
    }

    pub fn span(&self) -> Span {
        self.node.span
    }

    /// The node of `key`; a null value counts as absent.
    pub fn take(&mut self, key: &'static str) -> Option<&'n Node> {
        self.known.push(key);
        let mut found = None;
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if k.as_str() == Some(key) {
                self.used[i] = true;
                found.get_or_insert(v);
            }
        }
        found.filter(|n| n.kind != NodeKind::Null)
    }

    pub fn has(&self, key: &str) -> bool {
        self.entries
            .iter()
            .any(|(k, v)| k.as_str() == Some(key) && v.kind != NodeKind::Null)
    }

    pub fn optional<T: FromNode>(&mut self, key: &'static str, cx: &mut Cx) -> Option<T> {
        self.take(key).and_then(|n| T::from_node(n, cx))
    }

    /// Like `optional`, but `Err(Reported)` when present and invalid, so
    /// callers can tell "absent" from "already reported".
    pub fn maybe<T: FromNode>(
        &mut self,
        key: &'static str,
        cx: &mut Cx,
    ) -> Result<Option<T>, Reported> {
        match self.take(key) {
            None => Ok(None),
            Some(n) => T::from_node(n, cx).map(Some).ok_or(Reported),
        }
    }

    pub fn required<T: FromNode>(&mut self, key: &'static str, cx: &mut Cx) -> Option<T> {
        match self.take(key) {
            Some(n) => T::from_node(n, cx),
            None => {
                cx.push(
                    Diagnostic::error(
                        "missing-field",
                        self.key_span(),
                        format!("missing field `{key}` in {}", self.what),
                    )
                    .with_help(format!("add `{key}:` to {}", self.what)),
                );
                None
            }
        }
    }

    /// Where to point for a problem with the mapping as a whole.
    fn key_span(&self) -> Span {
        self.node.span
    }

    pub fn finish(self, cx: &mut Cx) {
        for (i, (key, _)) in self.entries.iter().enumerate() {
            if self.used[i] {
                continue;
            }
            let Some(name) = key.as_str() else { continue };
            let mut d = Diagnostic::error(
                "unknown-field",
                key.span,
                format!("unknown field `{name}` in {}", self.what),
            );
            let mut known = self.known.clone();
            known.sort_unstable();
            known.dedup();
            d = match did_you_mean(name, known.iter().copied()) {
                Some(s) => d
                    .with_label(format!("did you mean `{s}`?"))
                    .with_help(format!(
                        "rename it to `{s}`; the fields of {} are: {}",
                        self.what,
                        known.join(", ")
                    )),
                None => d.with_help(format!(
                    "remove it; the fields of {} are: {}",
                    self.what,
                    known.join(", ")
                )),
            };
            cx.push(d);
        }
    }
}

/// Reads the `tags` and `depends-on` every declaration may carry; `None`
/// for a field that was present but invalid (already reported).
/// The fields every declaration may have: `tags`, `depends-on` and `import-id`.
#[allow(clippy::type_complexity)]
pub fn common_fields(
    f: &mut Fields<'_>,
    cx: &mut Cx,
) -> (
    Option<crate::model::Tags>,
    Option<Vec<crate::model::Ref>>,
    Option<Option<crate::model::At<String>>>,
) {
    let tags = f
        .maybe::<crate::model::Tags>("tags", cx)
        .ok()
        .map(Option::unwrap_or_default);
    let deps = f
        .maybe::<Vec<crate::model::Ref>>("depends-on", cx)
        .ok()
        .map(Option::unwrap_or_default);
    let import_id = f.maybe::<crate::model::At<String>>("import-id", cx).ok();
    (tags, deps, import_id)
}

/// Decodes every item of a list, reporting all failures; `None` if any failed.
pub fn list_of<T>(
    node: &Node,
    cx: &mut Cx,
    decode: impl Fn(&Node, &mut Cx) -> Option<T>,
) -> Option<Vec<T>> {
    match &node.kind {
        NodeKind::Seq(items) => {
            let items: Vec<Option<T>> = items.iter().map(|n| decode(n, cx)).collect();
            items.into_iter().collect()
        }
        NodeKind::Null => Some(Vec::new()),
        _ => {
            cx.push(Diagnostic::error(
                "wrong-type",
                node.span,
                format!("expected a list, found {}", node.type_name()),
            ));
            None
        }
    }
}
