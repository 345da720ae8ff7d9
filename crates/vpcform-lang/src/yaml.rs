//! YAML text → a spanned tree of nodes, under size and work budgets.
//!
//! The typed topology is decoded from this tree (see `decode`) rather than
//! with serde derive, so that one run reports every problem instead of the first.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::diagnostic::{Diagnostic, Span};

/// Files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

impl Node {
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Parses `bytes` (the whole file) into a node tree.
pub fn parse(bytes: &[u8]) -> Result<Node, Box<Diagnostic>> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(Box::new(too_large(bytes.len() as u64)));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let before = &bytes[..e.valid_up_to()];
            let line = before.iter().filter(|b| **b == b'\n').count() as u32 + 1;
            let line_start = before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |p| p + 1);
            let column = String::from_utf8_lossy(&before[line_start..])
                .chars()
                .count() as u32
                + 1;
            return Err(Box::new(
                Diagnostic::error(
                    "not-utf8",
                    Span::new(line, column, 1),
                    format!(
                        "the file is not valid UTF-8 (byte offset {})",
                        e.valid_up_to()
                    ),
                )
                .with_help("save the file as UTF-8"),
            ));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if is_blank(text) {
        return Err(Box::new(
            Diagnostic::error("empty-file", Span::UNKNOWN, "the topology file is empty")
                .with_help("declare at least `stack:`; see docs/topology.md or `vpcform schema`"),
        ));
    }
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        budget: serde_saphyr::budget! {
            max_events: 8_000_000,
            max_nodes: 4_000_000,
            max_aliases: 10_000,
            max_recorded_anchor_events: 200_000,
            max_depth: 64,
            max_documents: 1,
        },
    };
    serde_saphyr::from_str_with_options::<Node>(text, options).map_err(|e| Box::new(yaml_error(e)))
}

/// The refusal of a file over [`MAX_FILE_BYTES`].
pub fn too_large(len: u64) -> Diagnostic {
    Diagnostic::error(
        "file-too-large",
        Span::UNKNOWN,
        format!("the file is {len} bytes; topologies are limited to {MAX_FILE_BYTES} bytes"),
    )
    .with_help("split the topology into several stacks")
}

/// A file that went on past the limit while it was read.
pub fn too_large_read() -> Diagnostic {
    Diagnostic::error(
        "file-too-large",
        Span::UNKNOWN,
        format!("the file goes on past {MAX_FILE_BYTES} bytes, the limit of a topology; reading stopped there"),
    )
    .with_help("split the topology into several stacks; a device or a pipe is no topology")
}

fn is_blank(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#') || l == "---" || l == "...")
}

fn yaml_error(err: serde_saphyr::Error) -> Diagnostic {
    let span = err
        .location()
        .map(|l| Span::new(l.line() as u32, l.column() as u32, 1))
        .unwrap_or(Span::UNKNOWN);
    let raw = err.to_string();
    let first = raw.lines().next().unwrap_or("invalid YAML").trim();
    // serde-saphyr words it "error: line L column C: what"; the position is printed separately.
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_string();
    if message.starts_with("line ")
        && let Some((_, rest)) = message.split_once(": ")
    {
        message = rest.to_string();
    }
    if let Some(cut) = message.find(" at line ") {
        message.truncate(cut);
    }
    let lower = message.to_ascii_lowercase();
    let (code, help) = if lower.contains("budget") {
        message =
            "the document expands beyond vpcform's parsing budget (aliases, nodes or nesting)"
                .into();
        (
            "yaml-budget",
            "write the topology without chains of YAML aliases; large topologies should be split into stacks",
        )
    } else if lower.contains("flow sequence")
        || lower.contains("flow mapping")
        || lower.contains("anchor")
    {
        (
            "yaml-syntax",
            "fix the YAML syntax at this position; inside `[…]` or `{…}`, quote a name with brackets: `[\"app[a]\", \"web[*]\"]`",
        )
    } else {
        ("yaml-syntax", "fix the YAML syntax at this position")
    };
    Diagnostic::error(code, span, format!("invalid YAML: {message}")).with_help(help)
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<RawNode>::deserialize(deserializer)?;
        let loc = spanned.referenced;
        let (len, inside_quotes) = match &spanned.value.0 {
            NodeKind::Str(s) => {
                let chars = s.chars().count();
                // A one-line scalar longer in the source than its value is
                // quoted: point at its first character, not the quote.
                let quoted = !s.contains('\n') && loc.span().len() >= s.len() as u64 + 2;
                (chars as u32, u32::from(quoted))
            }
            NodeKind::Seq(_) | NodeKind::Map(_) => (1, 0),
            _ => (loc.span().len().max(1) as u32, 0),
        };
        Ok(Node {
            kind: spanned.value.0,
            span: Span::new(loc.line() as u32, loc.column() as u32 + inside_quotes, len),
        })
    }
}

struct RawNode(NodeKind);

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor).map(RawNode)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeKind;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeKind, E> {
        Ok(NodeKind::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeKind, E> {
        Ok(NodeKind::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeKind, E> {
        Ok(i64::try_from(v).map_or(NodeKind::Float(v as f64), NodeKind::Int))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeKind, E> {
        Ok(i64::try_from(v).map_or(NodeKind::Float(v as f64), NodeKind::Int))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeKind, E> {
        Ok(i64::try_from(v).map_or(NodeKind::Float(v as f64), NodeKind::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeKind, E> {
        Ok(NodeKind::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeKind, E> {
        Ok(NodeKind::Str(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeKind, E> {
        Ok(NodeKind::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<NodeKind, E> {
        Ok(NodeKind::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<NodeKind, E> {
        Ok(NodeKind::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeKind, D::Error> {
        RawNode::deserialize(d).map(|n| n.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeKind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeKind::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeKind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(NodeKind::Map(entries))
    }
}
