//! Blueprints: a named, parameterised group of declarations written once and
//! used with arguments, in the topology or in another file of the repository.
//!
//! A use named `spoke-a` declares `spoke-a.NAME` for each of the blueprint's
//! declarations. Inside a blueprint, a value that names one of its own
//! declarations (`vpc: vpc`, `subnets: [public[*]]`, `from: vpc.app`) refers
//! to that instance's; free text (descriptions, tags, AWS names, documents)
//! is never rewritten.

use std::collections::{BTreeMap, BTreeSet};

use vpcform_lang::diagnostic::{Diagnostic, Span};
use vpcform_lang::yaml::{Node, NodeKind};

use crate::params::{self, Given, ParamSpec};
use crate::scope::Scope;
use crate::unknown;
use crate::value::{Value, scalar_text};
use crate::walk::Expander;

/// Values under these keys are text, never references.
const FREE_TEXT: &[&str] = &[
    "description",
    "tags",
    "name",
    "document",
    "assume-role-policy",
    "policy",
    "domain-name",
    "path",
    "key-name",
    "kms-key-id",
    "ami",
    "ami-ssm-parameter",
    "format",
    "query",
    "reason",
    "instance-type",
    "service",
    "stack",
    "region",
];

#[derive(Clone, Debug)]
pub(crate) struct Blueprint {
    pub(crate) span: Span,
    /// The file it is written in (`Origin::file`).
    pub(crate) file: u16,
    pub(crate) params: Vec<ParamSpec>,
    /// Its sections (`vpcs:`, `subnets:`, `expect:`, a nested `use:`), as written.
    pub(crate) sections: Vec<(Node, Node)>,
}

impl Expander<'_> {
    pub(crate) fn decode_blueprints(&mut self, node: &Node) {
        crate::duplicate_keys(node, "`blueprints:`", &mut self.diags);
        let NodeKind::Map(entries) = &node.kind else {
            self.diags.push(Diagnostic::error(
                "blueprint",
                node.span,
                "`blueprints:` must be a map of name → blueprint",
            ));
            return;
        };
        for (key, body) in entries {
            let Some(name) = scalar_text(key) else {
                continue;
            };
            if !vpcform_lang::model::is_valid_name(&name) {
                self.diags
                    .push(vpcform_lang::model::invalid_name(&name, key.span));
                continue;
            }
            let body = match file_of(body) {
                Some((path, at)) => match self.read_file(&path, at, "the blueprint file") {
                    Some(node) => node,
                    None => {
                        // Reported; its uses would only repeat it.
                        self.unreadable.insert(name);
                        continue;
                    }
                },
                None => body.clone(),
            };
            let NodeKind::Map(fields) = &body.kind else {
                self.diags.push(Diagnostic::error(
                    "blueprint",
                    body.span,
                    format!("blueprint `{name}` must be a map of `parameters:` and sections"),
                ));
                continue;
            };
            let file = self
                .origins
                .get(body.span.origin as usize)
                .map_or(0, |o| o.file);
            let mut bp = Blueprint {
                span: key.span,
                file,
                params: Vec::new(),
                sections: Vec::new(),
            };
            for (k, v) in fields {
                match k.as_str() {
                    Some("parameters") => bp.params = params::decode(v, &mut self.diags),
                    Some("stack" | "region" | "environments" | "blueprints") => self.diags.push(
                        Diagnostic::error("blueprint", k.span, format!("a blueprint cannot set `{}`", k.as_str().unwrap_or_default()))
                            .with_help("a blueprint holds `parameters:` and declarations; stack, region, environments and blueprints belong to the topology"),
                    ),
                    _ => bp.sections.push((k.clone(), v.clone())),
                }
            }
            self.blueprints.insert(name, bp);
        }
    }

    /// Expands `use:` (a map of instance → `blueprint:` and arguments) into `out`.
    pub(crate) fn uses(
        &mut self,
        prefix: &str,
        uses: &Node,
        scope: &Scope<'_>,
        out: &mut Vec<(Node, Node)>,
    ) {
        crate::duplicate_keys(uses, "`use:`", &mut self.diags);
        let NodeKind::Map(entries) = &self.node(uses, scope).kind else {
            self.diags.push(Diagnostic::error(
                "blueprint",
                uses.span,
                "`use:` must be a map of instance name → `blueprint:` and its arguments",
            ));
            return;
        };
        for (key, args) in entries {
            let Some(name) = scalar_text(key) else {
                continue;
            };
            let full = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}.{name}")
            };
            self.instantiate(&full, key.span, args, out);
        }
    }

    fn instantiate(&mut self, instance: &str, at: Span, args: &Node, out: &mut Vec<(Node, Node)>) {
        let NodeKind::Map(fields) = &args.kind else {
            self.diags.push(Diagnostic::error(
                "blueprint",
                args.span,
                format!("`{instance}` must be a map with `blueprint:` and its arguments"),
            ));
            return;
        };
        let Some((bp_key, bp_name)) = fields.iter().find(|(k, _)| k.as_str() == Some("blueprint"))
        else {
            self.diags.push(Diagnostic::error(
                "blueprint",
                at,
                format!("`{instance}` names no `blueprint:`"),
            ));
            return;
        };
        let name = bp_name.as_str().unwrap_or_default().to_string();
        if self.unreadable.contains(&name) {
            return;
        }
        let Some(bp) = self.blueprints.get(&name).cloned() else {
            let names: Vec<String> = self.blueprints.keys().cloned().collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            self.diags.push(unknown(
                "unknown-blueprint",
                bp_name.span,
                "blueprint",
                &name,
                &names,
            ));
            return;
        };
        if self.using.contains(&name) {
            let chain = format!("{} → {name}", self.using.join(" → "));
            self.diags.push(
                Diagnostic::error(
                    "blueprint-cycle",
                    bp_key.span,
                    format!("blueprints use each other in a cycle: {chain}"),
                )
                .with_related(bp.span, format!("blueprint `{name}` is declared here"))
                .with_help("a blueprint may use others, never itself through them"),
            );
            return;
        }
        let given: BTreeMap<String, Given> = fields
            .iter()
            .filter(|(k, _)| k.as_str() != Some("blueprint"))
            .filter_map(|(k, v)| {
                Some((
                    scalar_text(k)?,
                    Given {
                        value: Value::from_node(v),
                        span: v.span,
                        source: format!(
                            "this use of blueprint `{}`",
                            bp_name.as_str().unwrap_or_default()
                        ),
                    },
                ))
            })
            .collect();
        let before = self.diags.len();
        let values = params::resolve(
            &bp.params,
            &given,
            Some(at),
            &format!("blueprint `{name}`"),
            &mut self.diags,
        );
        if self.diags[before..].iter().any(Diagnostic::is_error) {
            return; // its body would only echo the missing or wrong values
        }
        let note = format!(
            "in `{instance}`, a use of blueprint `{name}` at {}",
            self.place(at)
        );
        let origin = self.origin(at.origin, Some(bp.file), Some(note));
        let whose = format!("blueprint `{name}`");
        let view = self.env_view.clone();
        let scope = Scope {
            params: &values,
            params_of: &whose,
            each: None,
            env: view.as_ref(),
        };
        self.using.push(name.clone());
        let mut sections: Vec<(Node, Node)> = Vec::new();
        let mut nested: Vec<(Node, Node)> = Vec::new();
        for (k, v) in &bp.sections {
            let mut v = v.clone();
            crate::retag(&mut v, origin);
            if k.as_str() == Some("use") {
                let mut inner = Vec::new();
                self.uses(instance, &v, &scope, &mut inner);
                nested.extend(inner);
            } else {
                let mut entry = Vec::new();
                let mut key = k.clone();
                key.span = key.span.from_origin(origin);
                self.map_entry(&key, &v, &scope, &mut entry);
                sections.extend(entry);
            }
        }
        self.using.pop();
        let locals = Locals::of(&sections, &bp.sections);
        for (key, mut value) in sections {
            prefix_declarations(&mut value, instance);
            rewrite(&mut value, &locals, instance, None);
            merge(out, key, value);
        }
        for (key, value) in nested {
            merge(out, key, value);
        }
    }
}

/// `{ file: PATH }`: a blueprint in another file.
fn file_of(body: &Node) -> Option<(String, Span)> {
    let NodeKind::Map(fields) = &body.kind else {
        return None;
    };
    match fields.as_slice() {
        [(k, v)] if k.as_str() == Some("file") => Some((v.as_str()?.to_string(), v.span)),
        _ => None,
    }
}

/// The names a blueprint declares, and the names of its nested uses.
struct Locals {
    names: BTreeSet<String>,
    uses: BTreeSet<String>,
}

impl Locals {
    fn of(sections: &[(Node, Node)], written: &[(Node, Node)]) -> Locals {
        let mut names = BTreeSet::new();
        for (_, v) in sections {
            if let NodeKind::Map(entries) = &v.kind {
                names.extend(entries.iter().filter_map(|(k, _)| scalar_text(k)));
            }
        }
        let uses = written
            .iter()
            .filter(|(k, _)| k.as_str() == Some("use"))
            .filter_map(|(_, v)| match &v.kind {
                NodeKind::Map(entries) => Some(
                    entries
                        .iter()
                        .filter_map(|(k, _)| scalar_text(k))
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .flatten()
            .collect();
        Locals { names, uses }
    }

    /// Whether `text` refers to one of the blueprint's own declarations.
    fn refers(&self, text: &str) -> bool {
        let name = text.strip_suffix("[*]").unwrap_or(text);
        if self.names.contains(name)
            || (text.ends_with("[*]")
                && self
                    .names
                    .iter()
                    .any(|n| n.starts_with(&format!("{name}["))))
        {
            return true;
        }
        let first = name.split(['.', '[']).next().unwrap_or_default();
        name.contains('.') && self.uses.contains(first)
    }
}

/// Section entries become `INSTANCE.NAME`.
fn prefix_declarations(section: &mut Node, instance: &str) {
    if let NodeKind::Map(entries) = &mut section.kind {
        for (k, _) in entries.iter_mut() {
            if let NodeKind::Str(name) = &mut k.kind {
                *name = format!("{instance}.{name}");
            }
        }
    }
}

/// Rewrites references to the blueprint's own declarations, outside free text.
fn rewrite(node: &mut Node, locals: &Locals, instance: &str, key: Option<&str>) {
    if key.is_some_and(|k| FREE_TEXT.contains(&k)) {
        return;
    }
    match &mut node.kind {
        NodeKind::Str(s) => {
            if locals.refers(s) {
                *s = format!("{instance}.{s}");
            } else if let Some((kind, rest)) = s.split_once('.')
                && kind.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                && locals.refers(rest)
            {
                *s = format!("{kind}.{instance}.{rest}");
            }
        }
        NodeKind::Seq(items) => items
            .iter_mut()
            .for_each(|n| rewrite(n, locals, instance, key)),
        NodeKind::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                let field = k.as_str().map(str::to_string);
                rewrite(v, locals, instance, field.as_deref());
            }
        }
        NodeKind::Null | NodeKind::Bool(_) | NodeKind::Int(_) | NodeKind::Float(_) => {}
    }
}

/// Adds a section's entries (a map) or items (a list) to the topology's.
fn merge(out: &mut Vec<(Node, Node)>, key: Node, value: Node) {
    let Some((_, existing)) = out
        .iter_mut()
        .find(|(k, _)| k.as_str().is_some() && k.as_str() == key.as_str())
    else {
        out.push((key, value));
        return;
    };
    match (&mut existing.kind, value.kind) {
        (NodeKind::Map(a), NodeKind::Map(b)) => a.extend(b),
        (NodeKind::Seq(a), NodeKind::Seq(b)) => a.extend(b),
        (NodeKind::Null, kind) => existing.kind = kind,
        (_, kind) => out.push((
            key,
            Node {
                kind,
                span: value.span,
            },
        )),
    }
}
