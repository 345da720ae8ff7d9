//! `NAME[*]` in a list: every instance of a repeated declaration.

use std::collections::BTreeMap;

use vpcform_lang::diagnostic::Diagnostic;
use vpcform_lang::yaml::{Node, NodeKind};

/// Replaces each list item `NAME[*]` (or `KIND.NAME[*]`) by the names of
/// NAME's instances, in the order they were declared.
pub(crate) fn expand(root: &mut Node, diags: &mut Vec<Diagnostic>) {
    let instances = instances(root);
    walk(root, &instances, diags, false);
}

/// Instance names by their base (`spoke` → `spoke[a]`, `spoke[b]`), from every section.
fn instances(root: &Node) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let NodeKind::Map(sections) = &root.kind else {
        return out;
    };
    for (_, section) in sections {
        let NodeKind::Map(entries) = &section.kind else {
            continue;
        };
        for (k, _) in entries {
            let Some(name) = k.as_str() else { continue };
            if let Some(base) = name
                .strip_suffix(']')
                .and_then(|n| n.rsplit_once('['))
                .map(|(b, _)| b)
            {
                let list = out.entry(base.to_string()).or_default();
                if !list.iter().any(|n| n == name) {
                    list.push(name.to_string());
                }
            }
        }
    }
    out
}

fn walk(
    node: &mut Node,
    instances: &BTreeMap<String, Vec<String>>,
    diags: &mut Vec<Diagnostic>,
    in_list: bool,
) {
    match &mut node.kind {
        NodeKind::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for mut item in std::mem::take(items) {
                match splat_names(&item, instances) {
                    Some(Ok(names)) => out.extend(names.into_iter().map(|n| Node {
                        kind: NodeKind::Str(n),
                        span: item.span,
                    })),
                    Some(Err(d)) => {
                        diags.push(d);
                        out.push(item);
                    }
                    None => {
                        walk(&mut item, instances, diags, true);
                        out.push(item);
                    }
                }
            }
            *items = out;
        }
        NodeKind::Map(entries) => entries
            .iter_mut()
            .for_each(|(_, v)| walk(v, instances, diags, false)),
        NodeKind::Str(_) if !in_list => {
            if let Some(Ok(names)) = splat_names(node, instances) {
                diags.push(Diagnostic::error("splat", node.span, format!("`{}` names {} objects, but this field takes one", node.as_str().unwrap_or_default(), names.len()))
                    .with_help("`NAME[*]` stands for every instance only in a list; name one instance, e.g. `NAME[a]`"));
            }
        }
        _ => {}
    }
}

/// The names `NAME[*]` stands for; `None` when the item is no splat.
fn splat_names(
    item: &Node,
    instances: &BTreeMap<String, Vec<String>>,
) -> Option<Result<Vec<String>, Diagnostic>> {
    let text = item.as_str()?;
    let base = text.strip_suffix("[*]")?;
    if let Some(names) = instances.get(base) {
        return Some(Ok(names.clone()));
    }
    if let Some((kind, rest)) = base.split_once('.')
        && let Some(names) = instances.get(rest)
    {
        return Some(Ok(names.iter().map(|n| format!("{kind}.{n}")).collect()));
    }
    Some(Err(Diagnostic::error(
        "splat",
        item.span,
        format!("`{text}`: nothing named `{base}` is declared with `for-each:`"),
    )
    .with_help(
        "`NAME[*]` stands for every instance of a declaration that has `for-each:`",
    )))
}
