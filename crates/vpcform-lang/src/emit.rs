//! A small YAML writer for the topologies `vpcform import` writes: block
//! mappings, short lists and maps in flow style, comments, and scalars
//! quoted whenever a plain one could read as something else.

use std::fmt::Write as _;

use serde_json::Value;

/// A YAML value to write.
#[derive(Clone, Debug, PartialEq)]
pub enum Yaml {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
    List(Vec<Yaml>),
    Map(Map),
}

/// A mapping in insertion order, with comment lines before some entries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map {
    entries: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq)]
struct Entry {
    comments: Vec<String>,
    key: String,
    value: Yaml,
}

/// Width up to which a list or map of scalars is written on one line.
const FLOW_WIDTH: usize = 96;

impl Map {
    pub fn new() -> Self {
        Map::default()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `key: value`.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<Yaml>) -> &mut Self {
        self.entries.push(Entry {
            comments: Vec::new(),
            key: key.into(),
            value: value.into(),
        });
        self
    }

    /// Adds `key: value` when there is a value.
    pub fn maybe(&mut self, key: impl Into<String>, value: Option<impl Into<Yaml>>) -> &mut Self {
        if let Some(value) = value {
            self.set(key, value);
        }
        self
    }

    /// Adds `key: [...]` unless the list is empty.
    pub fn list(&mut self, key: impl Into<String>, items: Vec<Yaml>) -> &mut Self {
        if !items.is_empty() {
            self.set(key, Yaml::List(items));
        }
        self
    }

    /// Adds `key: value` with comment lines before it.
    pub fn commented(
        &mut self,
        comments: Vec<String>,
        key: impl Into<String>,
        value: impl Into<Yaml>,
    ) -> &mut Self {
        self.entries.push(Entry {
            comments,
            key: key.into(),
            value: value.into(),
        });
        self
    }

    /// The mapping as a YAML document body.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        write_block_map(&mut out, self, 0);
        out
    }
}

impl From<&str> for Yaml {
    fn from(s: &str) -> Yaml {
        Yaml::Str(s.to_string())
    }
}

impl From<String> for Yaml {
    fn from(s: String) -> Yaml {
        Yaml::Str(s)
    }
}

impl From<i64> for Yaml {
    fn from(n: i64) -> Yaml {
        Yaml::Int(n)
    }
}

impl From<bool> for Yaml {
    fn from(b: bool) -> Yaml {
        Yaml::Bool(b)
    }
}

impl From<Map> for Yaml {
    fn from(m: Map) -> Yaml {
        Yaml::Map(m)
    }
}

impl From<&Value> for Yaml {
    /// A JSON document (an IAM policy) as YAML.
    fn from(v: &Value) -> Yaml {
        match v {
            Value::Null => Yaml::Null,
            Value::Bool(b) => Yaml::Bool(*b),
            Value::Number(n) => n
                .as_i64()
                .map_or_else(|| Yaml::Float(n.as_f64().unwrap_or(0.0)), Yaml::Int),
            Value::String(s) => Yaml::Str(s.clone()),
            Value::Array(items) => Yaml::List(items.iter().map(Yaml::from).collect()),
            Value::Object(fields) => {
                let mut m = Map::new();
                for (k, v) in fields {
                    m.set(k.clone(), Yaml::from(v));
                }
                Yaml::Map(m)
            }
        }
    }
}

impl Yaml {
    fn is_scalar(&self) -> bool {
        !matches!(self, Yaml::List(_) | Yaml::Map(_))
    }

    /// Written on one line: scalars, and lists or maps of scalars that fit.
    fn flow(&self) -> Option<String> {
        match self {
            Yaml::List(items) if items.iter().all(Yaml::is_scalar) => {
                let inner: Vec<String> = items.iter().map(|i| scalar(i, true)).collect();
                Some(format!("[{}]", inner.join(", "))).filter(|s| s.len() <= FLOW_WIDTH)
            }
            Yaml::Map(m) if !m.is_empty() && m.entries.iter().all(|e| e.value.is_scalar()) => {
                let inner: Vec<String> = m
                    .entries
                    .iter()
                    .filter(|e| e.comments.is_empty())
                    .map(|e| format!("{}: {}", quoted(&e.key, true), scalar(&e.value, true)))
                    .collect();
                Some(format!("{{ {} }}", inner.join(", ")))
                    .filter(|s| s.len() <= FLOW_WIDTH && inner.len() == m.entries.len())
            }
            Yaml::Map(m) if m.is_empty() => Some("{}".into()),
            Yaml::List(items) if items.is_empty() => Some("[]".into()),
            Yaml::List(_) | Yaml::Map(_) => None,
            _ => Some(scalar(self, false)),
        }
    }
}

fn write_block_map(out: &mut String, m: &Map, indent: usize) {
    let pad = " ".repeat(indent);
    for e in &m.entries {
        for c in &e.comments {
            // A comment quotes the account: it never ends its line early.
            let _ = writeln!(out, "{pad}# {}", crate::escape::terminal(c));
        }
        let key = quoted(&e.key, false);
        match e.value.flow() {
            Some(flow) => {
                let _ = writeln!(out, "{pad}{key}: {flow}");
            }
            None => {
                let _ = writeln!(out, "{pad}{key}:");
                write_block(out, &e.value, indent + 2);
            }
        }
    }
}

fn write_block(out: &mut String, value: &Yaml, indent: usize) {
    match value {
        Yaml::Map(m) => write_block_map(out, m, indent),
        Yaml::List(items) => {
            let pad = " ".repeat(indent);
            for item in items {
                match (item, item.flow()) {
                    (_, Some(flow)) => {
                        let _ = writeln!(out, "{pad}- {flow}");
                    }
                    (Yaml::Map(m), None) => {
                        // The first entry follows the dash; the rest line up with it.
                        let mut text = String::new();
                        write_block_map(&mut text, m, indent + 2);
                        let _ = write!(out, "{pad}- {}", &text[indent + 2..]);
                    }
                    (other, None) => {
                        let _ = writeln!(out, "{pad}-");
                        write_block(out, other, indent + 2);
                    }
                }
            }
        }
        scalar_value => {
            let _ = writeln!(out, "{}{}", " ".repeat(indent), scalar(scalar_value, false));
        }
    }
}

fn scalar(v: &Yaml, in_flow: bool) -> String {
    match v {
        Yaml::Str(s) => quoted(s, in_flow),
        Yaml::Int(n) => n.to_string(),
        Yaml::Float(f) => f.to_string(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Null => "null".into(),
        Yaml::List(_) | Yaml::Map(_) => String::new(),
    }
}

/// `s` as a plain scalar when it cannot read as anything else, else double-quoted.
pub fn quoted(s: &str, in_flow: bool) -> String {
    if plain_is_safe(s, in_flow) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

/// A YAML double-quoted scalar that reads back as exactly `s`: quotes and
/// backslashes escaped, and every character YAML does not print (controls,
/// line separators, bidi marks) as a `\u` escape, so no value ends a line.
fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if crate::escape::is_unsafe_char(c) || c == '\u{85}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn plain_is_safe(s: &str, in_flow: bool) -> bool {
    const RESERVED: [&str; 11] = [
        "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~", "",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || " _./@+=<>()-".contains(c)
            || (c == ':' && !in_flow)
            || (c == ',' && !in_flow)
    };
    let looks_numeric = first.is_ascii_digit() && !s.contains('/')
        || first == '.'
        || (first == '-' || first == '+') && s[1..].starts_with(|c: char| c.is_ascii_digit());
    (first.is_ascii_alphanumeric() || first == '/' || first == '_')
        && !looks_numeric
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && !s.contains(" #")
        && s.chars().all(allowed)
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

/// A parsed node as a value to write (`vpcform render`): map keys as text,
/// positions dropped.
pub fn from_node(node: &crate::yaml::Node) -> Yaml {
    use crate::yaml::NodeKind;
    match &node.kind {
        NodeKind::Null => Yaml::Null,
        NodeKind::Bool(b) => Yaml::Bool(*b),
        NodeKind::Int(i) => Yaml::Int(*i),
        NodeKind::Float(f) => Yaml::Float(*f),
        NodeKind::Str(s) => Yaml::Str(s.clone()),
        NodeKind::Seq(items) => Yaml::List(items.iter().map(from_node).collect()),
        NodeKind::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                let key = match &k.kind {
                    NodeKind::Str(s) => s.clone(),
                    NodeKind::Int(i) => i.to_string(),
                    NodeKind::Bool(b) => b.to_string(),
                    NodeKind::Float(f) => f.to_string(),
                    NodeKind::Null | NodeKind::Seq(_) | NodeKind::Map(_) => "~".to_string(),
                };
                map.set(key, from_node(v));
            }
            Yaml::Map(map)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_plain_only_when_nothing_else_reads_them() {
        for plain in [
            "us-east-1a",
            "10.1.0.0/16",
            "t3.micro",
            "VPC1<>VPC2",
            "/aws/vpc",
        ] {
            assert_eq!(quoted(plain, true), plain);
        }
        for quoted_text in [
            "true",
            "No",
            "",
            "7",
            "2012-10-17",
            "10.1.0.5",
            "a: b",
            "x #y",
            "a,b",
            "{x}",
            "-1",
            "*",
            "&a",
            "!x",
            "'",
            "trailing ",
        ] {
            assert!(
                quoted(quoted_text, true).starts_with('"'),
                "{quoted_text:?} must be quoted"
            );
        }
    }

    #[test]
    fn short_collections_go_on_one_line_and_long_ones_in_blocks() {
        let mut rule = Map::new();
        rule.set("protocol", "tcp")
            .set("port", 22)
            .set("cidr", "0.0.0.0/0");
        let mut statement = Map::new();
        statement.set("Effect", "Allow").set(
            "Action",
            Yaml::List(
                (0..12)
                    .map(|i| Yaml::Str(format!("logs:Action{i}")))
                    .collect(),
            ),
        );
        let mut m = Map::new();
        m.set("ingress", Yaml::List(vec![rule.into()]));
        m.commented(
            vec!["why".into()],
            "statement",
            Yaml::List(vec![statement.into()]),
        );
        m.set("tags", {
            let mut t = Map::new();
            t.set("Name", "web");
            t
        });
        let text = m.to_text();
        assert_eq!(
            text,
            "ingress:\n  - { protocol: tcp, port: 22, cidr: 0.0.0.0/0 }\n# why\nstatement:\n  - Effect: Allow\n    Action:\n      - logs:Action0\n      - logs:Action1\n      - logs:Action2\n      - logs:Action3\n      - logs:Action4\n      - logs:Action5\n      - logs:Action6\n      - logs:Action7\n      - logs:Action8\n      - logs:Action9\n      - logs:Action10\n      - logs:Action11\ntags: { Name: web }\n"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..Default::default()
        })]

        /// Whatever a tag or a name holds, the written scalar reads back as
        /// exactly it, on one line, in a block map and in a flow one.
        #[test]
        fn every_string_reads_back_as_itself(s in proptest::prelude::any::<String>()) {
            for (text, in_flow) in [(format!("k: {}\n", quoted(&s, false)), false), (format!("k: {{ a: {} }}\n", quoted(&s, true)), true)] {
                proptest::prop_assert_eq!(text.lines().count(), 1);
                let node = crate::yaml::parse(text.as_bytes()).map_err(|d| proptest::test_runner::TestCaseError::fail(d.message.clone()))?;
                let crate::yaml::NodeKind::Map(entries) = &node.kind else { panic!("a map") };
                let value = if in_flow {
                    let crate::yaml::NodeKind::Map(inner) = &entries[0].1.kind else { panic!("a flow map") };
                    &inner[0].1
                } else {
                    &entries[0].1
                };
                let read = match &value.kind {
                    crate::yaml::NodeKind::Str(v) => v.clone(),
                    other => panic!("{s:?} read back as {other:?}"),
                };
                proptest::prop_assert_eq!(&read, &s);
            }
        }
    }
}
