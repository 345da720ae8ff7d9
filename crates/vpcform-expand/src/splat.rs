//! `NAME[*]` in a list: every instance of a repeated declaration.

use vpcform_lang::diagnostic::Diagnostic;
use vpcform_lang::yaml::{Node, NodeKind};

/// Replaces each list item `NAME[*]` (or `KIND.NAME[*]`, or `NAME[*].PART`
/// for a declaration inside every instance of a blueprint use) by the
/// names it stands for, in the order they were declared.
pub(crate) fn expand(root: &mut Node, diags: &mut Vec<Diagnostic>) {
    let declared = Declared(declared(root));
    walk(root, &declared, diags, false);
}

/// Every declared name with an instance key, in order, once.
fn declared(root: &Node) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let NodeKind::Map(sections) = &root.kind else {
        return out;
    };
    for (_, section) in sections {
        let NodeKind::Map(entries) = &section.kind else {
            continue;
        };
        for name in entries.iter().filter_map(|(k, _)| k.as_str()) {
            if name.contains('[') && seen.insert(name) {
                out.push(name.to_string());
            }
        }
    }
    out
}

struct Declared(Vec<String>);

impl Declared {
    /// The names `BASE[k]REST` for every instance key `k`.
    fn matching(&self, base: &str, rest: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|n| {
                n.strip_prefix(base)
                    .and_then(|n| n.strip_prefix('['))
                    .and_then(|n| n.strip_suffix(rest))
                    .and_then(|n| n.strip_suffix(']'))
                    .is_some_and(vpcform_lang::model::is_valid_instance_key)
            })
            .cloned()
            .collect()
    }
}

fn walk(node: &mut Node, declared: &Declared, diags: &mut Vec<Diagnostic>, in_list: bool) {
    match &mut node.kind {
        NodeKind::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for mut item in std::mem::take(items) {
                match splat_names(&item, declared) {
                    Some(Ok(names)) => out.extend(names.into_iter().map(|n| Node {
                        kind: NodeKind::Str(n),
                        span: item.span,
                    })),
                    Some(Err(d)) => {
                        diags.push(d);
                        out.push(item);
                    }
                    None => {
                        walk(&mut item, declared, diags, true);
                        out.push(item);
                    }
                }
            }
            *items = out;
        }
        NodeKind::Map(entries) => entries
            .iter_mut()
            .for_each(|(_, v)| walk(v, declared, diags, false)),
        NodeKind::Str(_) if !in_list => {
            if let Some(Ok(names)) = splat_names(node, declared) {
                diags.push(
                    Diagnostic::error(
                        "splat",
                        node.span,
                        format!(
                            "`{}` names {} objects, but this field takes one",
                            node.as_str().unwrap_or_default(),
                            names.len()
                        ),
                    )
                    .with_help("`NAME[*]` stands for every instance only in a list; name one instance, e.g. `NAME[a]`"),
                );
            }
        }
        NodeKind::Str(_)
        | NodeKind::Null
        | NodeKind::Bool(_)
        | NodeKind::Int(_)
        | NodeKind::Float(_) => {}
    }
}

/// The names `NAME[*]` stands for; `None` when the item is no splat.
fn splat_names(item: &Node, declared: &Declared) -> Option<Result<Vec<String>, Diagnostic>> {
    let text = item.as_str()?;
    let (base, rest) = text.split_once("[*]")?;
    let names = declared.matching(base, rest);
    if !names.is_empty() {
        return Some(Ok(names));
    }
    if let Some((kind, base)) = base.split_once('.') {
        let names = declared.matching(base, rest);
        if !names.is_empty() {
            return Some(Ok(names.iter().map(|n| format!("{kind}.{n}")).collect()));
        }
    }
    Some(Err(Diagnostic::error(
        "splat",
        item.span,
        format!("`{text}`: nothing declared with `for-each:` is named `{base}[…]{rest}`"),
    )
    .with_help(
        "`NAME[*]` stands for every instance of a declaration that has `for-each:`",
    )))
}
