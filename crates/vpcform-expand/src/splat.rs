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
    /// The names that fill every `[*]` of `pattern` with an instance key,
    /// in declaration order (`spoke[*].app[*]` → `spoke[a].app[x]`, …).
    fn matching(&self, pattern: &str) -> Vec<String> {
        let parts: Vec<&str> = pattern.split("[*]").collect();
        self.0
            .iter()
            .filter(|n| fills(n, &parts))
            .cloned()
            .collect()
    }
}

/// Whether `name` is `parts` joined by `[KEY]`s.
fn fills(name: &str, parts: &[&str]) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return name.is_empty();
    };
    let Some(after) = name.strip_prefix(first) else {
        return false;
    };
    if rest.is_empty() {
        return after.is_empty();
    }
    let Some(inner) = after.strip_prefix('[') else {
        return false;
    };
    let Some(end) = inner.find(']') else {
        return false;
    };
    vpcform_lang::model::is_valid_instance_key(&inner[..end]) && fills(&inner[end + 1..], rest)
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
                    .with_help(format!(
                        "`NAME[*]` stands for every instance only in a list; name one instance, e.g. `{}`",
                        names.first().map_or("NAME[KEY]", String::as_str)
                    )),
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
    let (base, _) = text.split_once("[*]")?;
    let names = declared.matching(text);
    if !names.is_empty() {
        return Some(Ok(names));
    }
    if let Some((kind, _)) = base.split_once('.') {
        let names = declared.matching(&text[kind.len() + 1..]);
        if !names.is_empty() {
            return Some(Ok(names.iter().map(|n| format!("{kind}.{n}")).collect()));
        }
    }
    Some(Err(Diagnostic::error(
        "splat",
        item.span,
        format!("`{text}`: no declaration made by `for-each:` has that shape"),
    )
    .with_help(
        "`NAME[*]` stands for every instance of a declaration that has `for-each:`",
    )))
}
