//! The terminal rendering of a plan, in the shape Terraform users read at a glance.

use std::fmt::Write as _;

use vpcform_topology::escape::{terminal, terminal_json};
use vpcform_topology::{Style, attr};

use crate::{Action, Plan, ResourceChange, Value};

pub fn to_text(plan: &Plan, style: &Style) -> String {
    let mut out = String::new();
    for error in &plan.errors {
        let _ = writeln!(
            out,
            "{} {}: {}",
            style.error("error:"),
            safe(&error.address),
            safe(&error.message)
        );
    }
    if !plan.errors.is_empty() {
        out.push('\n');
    }
    let connectivity = plan
        .connectivity
        .as_ref()
        .map(|c| crate::render_connectivity::text(c, style))
        .unwrap_or_default();
    if !plan.has_changes() {
        let _ = writeln!(
            out,
            "{} The account matches the topology of stack `{}`.",
            style.green("No changes."),
            plan.stack
        );
        out.push_str(&crate::policy::text(plan, style));
        out.push_str(&connectivity);
        return out;
    }
    let _ = writeln!(out, "vpcform will perform the following actions:\n");
    let referents = Referents::of(plan);
    for change in plan.actions() {
        render_change(&mut out, change, style, &referents);
        out.push('\n');
    }
    let s = plan.summary();
    let _ = writeln!(out, "{} {}.", style.bold("Plan:"), s.counts());
    if s.adopt > 0 {
        let _ = writeln!(
            out,
            "Adopting an object adds the stack's ownership tags to it; nothing is recreated."
        );
    }
    if s.drifted > 0 {
        let _ = writeln!(
            out,
            "{} of these revert changes made outside vpcform.",
            s.drifted
        );
    }
    out.push_str(&crate::security::text(plan, style));
    out.push_str(&crate::policy::text(plan, style));
    out.push_str(&connectivity);
    out
}

fn headline(change: &ResourceChange) -> &'static str {
    if change.takes_over.is_some() {
        return "will replace a route vpcform does not manage";
    }
    match change.action {
        Action::NoOp => "is unchanged",
        Action::Create => "will be created",
        Action::Update => "will be updated in-place",
        Action::Replace {
            create_before_destroy: false,
        } => "must be replaced (destroy, then create)",
        Action::Replace {
            create_before_destroy: true,
        } => "must be replaced (create the new one, then destroy the old)",
        Action::Delete => "will be destroyed",
        Action::Adopt => "will be adopted (ownership tags added, nothing recreated)",
    }
}

fn paint_symbol(symbol: &str, action: Action, style: &Style) -> String {
    match action {
        Action::Create => style.green(symbol),
        Action::Update | Action::Adopt => style.yellow(symbol),
        Action::Replace { .. } | Action::Delete => style.red(symbol),
        Action::NoOp => symbol.to_string(),
    }
}

/// Data for one line of a terminal: see [`terminal`].
pub(crate) fn safe(x: &impl std::fmt::Display) -> String {
    terminal(&x.to_string()).into_owned()
}

/// What an apply that stopped left of this object.
pub(crate) fn unfinished_note(change: &ResourceChange) -> &'static str {
    match change.action {
        Action::Create => "not created yet: an earlier apply stopped before it",
        Action::Update if change.changes.is_empty() => {
            "not recorded as finished: an earlier apply stopped after creating it; only its vpcform:config tag is written"
        }
        _ => "not finished yet: an earlier apply stopped while creating it",
    }
}

/// What a replacement with a stand-in means for what uses the object.
pub(crate) const STAND_IN_NOTE: &str = "whatever uses it is held meanwhile by a temporary copy of it, a stand-in, removed once the new one is in place";

fn render_change(
    out: &mut String,
    change: &ResourceChange,
    style: &Style,
    referents: &Referents<'_>,
) {
    let _ = writeln!(
        out,
        "  {} {}",
        style.bold(&format!("# {}", safe(&change.address))),
        headline(change)
    );
    if let Some(drift) = &change.drift {
        let _ = writeln!(out, "  # ({})", safe(&drift.summary));
    }
    if change.stand_in {
        let _ = writeln!(out, "  # ({STAND_IN_NOTE})");
    }
    if change.unfinished {
        let _ = writeln!(out, "  # ({})", unfinished_note(change));
    }
    if let Some(note) = change.takes_over_note() {
        let _ = writeln!(out, "  # ({})", safe(&note));
    }
    let symbol = change.symbol();
    let _ = writeln!(
        out,
        "{:>3} {} {{",
        paint_symbol(symbol, change.action, style),
        safe(&change.address)
    );
    let mut lines: Vec<(String, String, String)> = Vec::new(); // (marker, name, value)
    match change.action {
        Action::Create => {
            lines.push((
                "+".into(),
                attr::ID.as_str().into(),
                "(known after apply)".into(),
            ));
            for c in &change.changes {
                let value = match &c.after {
                    Some(v) => flat_map(v)
                        .map_or_else(|| referents.value(change, v), |m| map_block('+', &m)),
                    None => referents.unknown(change, &c.name),
                };
                lines.push(("+".into(), c.name.clone(), value));
            }
        }
        Action::Delete => {
            if let Some(id) = &change.id {
                lines.push((
                    "-".into(),
                    attr::ID.as_str().into(),
                    show(&Value::String(id.clone())),
                ));
            }
            for (name, value) in &change.before {
                if !value.is_null() {
                    let text = flat_map(value).map_or_else(|| show(value), |m| map_block('-', &m));
                    lines.push(("-".into(), name.clone(), text));
                }
            }
        }
        Action::Update | Action::Adopt | Action::Replace { .. } | Action::NoOp => {
            if let Some(id) = &change.id {
                let replaced = matches!(change.action, Action::Replace { .. });
                let value = if replaced {
                    format!(
                        "{} -> (known after apply)",
                        show(&Value::String(id.clone()))
                    )
                } else {
                    show(&Value::String(id.clone()))
                };
                lines.push((
                    if replaced { "~" } else { " " }.into(),
                    attr::ID.as_str().into(),
                    value,
                ));
            }
            for c in &change.changes {
                let before = c
                    .before
                    .as_ref()
                    .map_or("null".into(), |v| referents.value(change, v));
                let after = c.after.as_ref().map_or_else(
                    || referents.unknown(change, &c.name),
                    |v| referents.value(change, v),
                );
                // An empty map changed into a map (tags on an adopted
                // object that had none) reads as entries added, like any other.
                let entries = |v: &Value| match v.as_object() {
                    Some(m) if m.is_empty() => Some(Vec::new()),
                    _ => flat_map(v),
                };
                let maps = (
                    c.before.as_ref().and_then(entries),
                    c.after.as_ref().and_then(entries),
                );
                let mut value = if let (Some(old), Some(new)) = maps {
                    map_diff(&old, &new)
                } else if before.contains('\n') || after.contains('\n') {
                    line_diff(&before, &after)
                } else {
                    format!("{before} -> {after}")
                };
                if c.forces_replacement {
                    value.push_str(" # forces replacement");
                }
                lines.push(("~".into(), c.name.clone(), value));
            }
        }
    }
    let width = lines.iter().map(|(_, n, _)| n.len()).max().unwrap_or(0);
    for (marker, name, value) in lines {
        let marker_text = match marker.as_str() {
            "+" => style.green("+"),
            "-" => style.red("-"),
            "~" => style.yellow("~"),
            other => other.to_string(),
        };
        // Structural line breaks (maps, documents) stay; data never starts
        // a line. Values are JSON: their backslashes are escapes already.
        let value = value
            .lines()
            .map(|l| terminal_json(l).into_owned())
            .collect::<Vec<_>>()
            .join("\n        ");
        let _ = writeln!(out, "      {marker_text} {name:<width$} = {value}");
    }
    let _ = writeln!(out, "    }}");
}

/// The entries of a map of scalars (tags), sorted, or `None` for anything else.
fn flat_map(value: &Value) -> Option<Vec<(String, String)>> {
    let map = value.as_object()?;
    if map.is_empty() || map.values().any(|v| v.is_object() || v.is_array()) {
        return None;
    }
    let mut entries: Vec<(String, String)> = map
        .iter()
        .map(|(k, v)| (format!("{k:?}"), v.to_string()))
        .collect();
    entries.sort();
    Some(entries)
}

/// A map of scalars, one entry a line, as Terraform prints it.
fn map_block(marker: char, entries: &[(String, String)]) -> String {
    let width = entries.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::from("{\n");
    for (k, v) in entries {
        let _ = writeln!(out, "  {marker} {k:<width$} = {v}");
    }
    out.push('}');
    out
}

/// The entries of two maps of scalars that differ; unchanged ones are counted.
fn map_diff(before: &[(String, String)], after: &[(String, String)]) -> String {
    let old: std::collections::BTreeMap<&str, &str> = before
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let new: std::collections::BTreeMap<&str, &str> = after
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let keys: std::collections::BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
    let width = keys.iter().map(|k| k.len()).max().unwrap_or(0);
    let mut out = String::from("{\n");
    let mut unchanged = 0;
    for k in keys {
        match (old.get(k), new.get(k)) {
            (Some(a), Some(b)) if a == b => unchanged += 1,
            (Some(a), Some(b)) => {
                let _ = writeln!(out, "  ~ {k:<width$} = {a} -> {b}");
            }
            (None, Some(b)) => {
                let _ = writeln!(out, "  + {k:<width$} = {b}");
            }
            (Some(a), None) => {
                let _ = writeln!(out, "  - {k:<width$} = {a}");
            }
            (None, None) => {}
        }
    }
    if unchanged > 0 {
        let _ = writeln!(out, "    # ({unchanged} unchanged)");
    }
    out.push('}');
    out
}

/// A value as written in plans: strings quoted, documents pretty-printed.
pub(crate) fn show(value: &Value) -> String {
    match value {
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(_) | Value::Array(_) if value.to_string().len() > 60 => {
            serde_json::to_string_pretty(value).unwrap_or_default()
        }
        other => other.to_string(),
    }
}

/// The objects of a plan by their AWS ids, so that a value naming one (a
/// route table's id in an association) is shown with the object's address,
/// and a value known only after apply says whose it is.
pub(crate) struct Referents<'p>(std::collections::HashMap<&'p str, &'p vpcform_topology::Address>);

impl<'p> Referents<'p> {
    pub(crate) fn of(plan: &'p Plan) -> Self {
        Referents(
            plan.changes
                .iter()
                .filter_map(|c| Some((c.id.as_deref()?, &c.address)))
                .collect(),
        )
    }

    /// `show(value)`, with ` (ADDRESS)` when it is the id of another object of the plan.
    pub(crate) fn value(&self, own: &ResourceChange, value: &Value) -> String {
        let text = show(value);
        match value.as_str().and_then(|id| self.0.get(id)) {
            Some(address) if **address != own.address => format!("{text} ({address})"),
            _ => text,
        }
    }

    /// `(known after apply)`, naming what it waits for when that is another
    /// object: its address (an id), `ADDRESS.ATTRIBUTE` (another attribute),
    /// or each element of a list of ids.
    pub(crate) fn unknown(&self, own: &ResourceChange, name: &str) -> String {
        let awaited = |from: &vpcform_topology::Address, attribute: &crate::Awaited| match attribute
            .to_string()
        {
            a if a == vpcform_topology::attr::ID.as_str() => format!("(known after apply: {from})"),
            a => format!("(known after apply: {from}.{a})"),
        };
        match own.after_unknown.get(name) {
            Some(u) if !u.list.is_empty() => {
                let items: Vec<String> = u
                    .list
                    .iter()
                    .map(|e| match e {
                        crate::ListElement::Known(id) => self.value(own, &Value::from(id.as_str())),
                        crate::ListElement::Pending { pending } => {
                            format!("(known after apply: {pending})")
                        }
                    })
                    .collect();
                format!("[{}]", items.join(", "))
            }
            Some(u) if u.from != own.address => awaited(&u.from, &u.attribute),
            _ => "(known after apply)".into(),
        }
    }
}

/// A line-by-line diff of two multi-line values (policies, rule bodies,
/// dashboards), via `similar`: whole when short; when long (a dashboard is
/// hundreds of lines), three unchanged lines around each change and `…`
/// for the unchanged runs between.
pub(crate) fn line_diff(before: &str, after: &str) -> String {
    const WHOLE_UP_TO: usize = 40;
    let diff = similar::TextDiff::from_lines(before, after);
    let long = before.lines().count().max(after.lines().count()) > WHOLE_UP_TO;
    let context = if long { 3 } else { WHOLE_UP_TO };
    let mut out = String::from("<<-DIFF\n");
    for (i, group) in diff.grouped_ops(context).iter().enumerate() {
        if i > 0 {
            out.push_str("  …\n");
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                let _ = write!(out, "{sign} {}", change.value());
                if !change.value().ends_with('\n') {
                    out.push('\n');
                }
            }
        }
    }
    out.push_str("DIFF");
    out
}
