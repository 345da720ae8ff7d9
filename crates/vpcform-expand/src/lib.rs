//! vpcform's expansion: parameters, environments, `for-each` and blueprints
//! turned into a plain topology.
//!
//! It works on the node tree of `vpcform-lang`, before any kind decodes it,
//! and knows no resource kind. Every node it makes keeps the position the
//! user wrote, and its [`Span::origin`] says which use of the text it is (an
//! instance of a `for-each`, a use of a blueprint, another file), so that
//! every diagnostic points at a line the user wrote and names the instance.

mod blueprint;
mod env;
mod func;
mod params;
mod scope;
mod splat;
mod template;
mod value;
mod walk;

use std::collections::BTreeMap;

use vpcform_lang::diagnostic::{Diagnostic, Origin, Span, did_you_mean};
use vpcform_lang::yaml::{Node, NodeKind};

pub use env::Environment;
pub use value::Value;

/// Reads the other files a topology names (blueprints, environment values),
/// by a path relative to the topology's directory: the name to show for it
/// (as the user would open it from where the command ran) and its text.
pub trait Files {
    fn read(&self, path: &str) -> Result<(String, String), String>;
}

/// No other files: `file:` and `values-file:` are refused.
#[derive(Debug, Default)]
pub struct NoFiles;

impl Files for NoFiles {
    fn read(&self, _path: &str) -> Result<(String, String), String> {
        Err("this topology was given without a directory; other files cannot be read".into())
    }
}

/// What the user chose on the command line.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// `--env NAME`.
    pub env: Option<String>,
    /// `--param NAME=VALUE`, in order.
    pub params: Vec<(String, String)>,
    /// `--param-file FILE`: its name and text, in order.
    pub param_files: Vec<(String, String)>,
}

/// The plain topology and what the expansion learnt on the way.
#[derive(Debug)]
pub struct Expanded {
    pub root: Node,
    /// Whether the topology used the language (else `root` is the file as parsed).
    pub expanded: bool,
    /// Files read besides the topology, indexed from 1 by `Origin::file`.
    pub others: Vec<(String, String)>,
    /// Indexed by `Span::origin`.
    pub origins: Vec<Origin>,
    /// The environment selected with `--env`.
    pub environment: Option<Environment>,
    /// Every environment the topology declares, in order.
    pub environments: Vec<String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The keys of the language that the plain topology does not have.
pub const LANGUAGE_KEYS: &[&str] = &["parameters", "environments", "blueprints", "use"];

/// Expands `root` (the topology file `file_name`).
pub fn expand(root: Node, file_name: &str, options: &Options, files: &dyn Files) -> Expanded {
    let mut x = walk::Expander::new(file_name, files);
    let mut expanded = false;
    let root = match &root.kind {
        NodeKind::Map(entries)
            if needs_expansion(&root)
                || !options.params.is_empty()
                || options.env.is_some()
                || !options.param_files.is_empty() =>
        {
            expanded = true;
            x.topology(entries, root.span, options)
        }
        _ => root,
    };
    Expanded {
        root,
        expanded,
        others: x.others,
        origins: x.origins,
        environment: x.environment,
        environments: x.environment_names,
        diagnostics: x.diags,
    }
}

/// Whether the tree uses anything of the expansion language.
fn needs_expansion(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Str(s) => template::has_template(s) || s.ends_with("[*]"),
        NodeKind::Seq(items) => items.iter().any(needs_expansion),
        NodeKind::Map(entries) => entries.iter().any(|(k, v)| {
            k.as_str()
                .is_some_and(|k| LANGUAGE_KEYS.contains(&k) || walk::CONTROL_KEYS.contains(&k))
                || needs_expansion(v)
        }),
        NodeKind::Null | NodeKind::Bool(_) | NodeKind::Int(_) | NodeKind::Float(_) => false,
    }
}

/// A key given twice in a map the expansion reads (YAML keeps both; the
/// last would silently win).
pub(crate) fn duplicate_keys(node: &Node, what: &str, diags: &mut Vec<Diagnostic>) {
    let NodeKind::Map(entries) = &node.kind else {
        return;
    };
    let mut seen: Vec<(String, Span)> = Vec::with_capacity(entries.len());
    for (k, _) in entries {
        let Some(name) = value::scalar_text(k) else {
            continue;
        };
        match seen.iter().find(|(n, _)| *n == name) {
            Some((_, first)) => diags.push(
                Diagnostic::error(
                    "duplicate-key",
                    k.span,
                    format!("`{name}` is given twice in {what}"),
                )
                .with_related(*first, "first given here")
                .with_help("keep one"),
            ),
            None => seen.push((name, k.span)),
        }
    }
}

/// Every node of a tree moved to `origin`.
pub(crate) fn retag(node: &mut Node, origin: u32) {
    node.span = node.span.from_origin(origin);
    match &mut node.kind {
        NodeKind::Seq(items) => items.iter_mut().for_each(|n| retag(n, origin)),
        NodeKind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            retag(k, origin);
            retag(v, origin);
        }),
        NodeKind::Null
        | NodeKind::Bool(_)
        | NodeKind::Int(_)
        | NodeKind::Float(_)
        | NodeKind::Str(_) => {}
    }
}

/// An unknown name among candidates, with a suggestion.
pub(crate) fn unknown(
    code: &'static str,
    span: Span,
    what: &str,
    name: &str,
    candidates: &[&str],
) -> Diagnostic {
    let d = Diagnostic::error(code, span, format!("there is no {what} `{name}`"));
    match did_you_mean(name, candidates.iter().copied()) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None if candidates.is_empty() => d.with_help(format!("declare the {what} first")),
        None => d.with_help(format!("declared: {}", candidates.join(", "))),
    }
}

/// Parameter values by name, for templates.
pub(crate) type Params = BTreeMap<String, Value>;
