//! The planner corpus (`tests/data/plans/*`, see `support/mod.rs`): each case's
//! plan pinned by a snapshot, and the corpus checked to cover, for every
//! kind, every action its attribute table allows.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use vpcform_diff::{Action, Plan};
use vpcform_topology::{ResourceKind, Style};

/// One line per change that does something: what, how, and why.
fn summary(plan: &Plan) -> String {
    let mut out = String::new();
    for c in plan.actions() {
        let order = match c.action {
            Action::Replace {
                create_before_destroy: true,
            } => " create-first",
            Action::Replace { .. } => " delete-first",
            _ => "",
        };
        let _ = write!(
            out,
            "{} {}{order}",
            c.action.terraform_actions().join(","),
            c.address
        );
        if !c.replace_reasons.is_empty() {
            let _ = write!(out, " because {}", c.replace_reasons.join(", "));
        }
        if let Some(d) = &c.drift {
            let _ = write!(out, " [drift: {}]", d.summary);
        }
        if !c.delete_after.is_empty() {
            let after: Vec<String> = c.delete_after.iter().map(ToString::to_string).collect();
            let _ = write!(out, " (deleted after {})", after.join(", "));
        }
        out.push('\n');
    }
    for e in &plan.errors {
        let _ = writeln!(out, "error {}: {}", e.address, e.message);
    }
    out
}

#[test]
fn every_case_plans_as_its_snapshot_says() {
    for dir in support::cases() {
        let case = support::run(&dir);
        let text = vpcform_diff::to_text(&case.plan, &Style::plain());
        insta::with_settings!({ snapshot_suffix => case.name.clone(), omit_expression => true }, {
            insta::assert_snapshot!("plan", format!("{}\n---\n{text}", summary(&case.plan)));
        });
    }
}

#[test]
fn a_topology_applied_as_declared_plans_no_changes() {
    for dir in support::cases() {
        let Ok(bytes) = std::fs::read(dir.join("before.yaml")) else {
            continue;
        };
        let loaded = vpcform_topology::load("before.yaml", &bytes);
        let plan = support::plan(&loaded, &support::applied(&loaded));
        assert!(
            !plan.has_changes(),
            "{}: re-planning what was applied must be clean:\n{}",
            dir.display(),
            summary(&plan)
        );
    }
}

/// The actions a kind can take: create, no-op and delete always; update when
/// an attribute changes in place; replace when one forces replacement; drift
/// where a declaration hash is kept (the kind's tags, or its container's).
fn possible(kind: ResourceKind) -> BTreeSet<&'static str> {
    let specs = kind.attr_specs();
    let mut out = BTreeSet::from(["create", "delete", "no-op"]);
    if kind.container().is_some() || specs.iter().any(|s| s.attr == vpcform_topology::attr::TAGS) {
        out.insert("drift");
    }
    if specs.iter().any(|s| !s.forces_replacement) {
        out.insert("update");
    }
    if specs.iter().any(|s| s.forces_replacement) {
        out.insert("replace");
    }
    if kind.adoptable() {
        out.insert("adopt");
    }
    out
}

#[test]
fn the_corpus_covers_every_action_of_every_kind() {
    let mut seen: BTreeMap<ResourceKind, BTreeSet<&'static str>> = BTreeMap::new();
    let mut both_orders = BTreeSet::new();
    for dir in support::cases() {
        let case = support::run(&dir);
        for c in &case.plan.changes {
            let entry = seen.entry(c.kind).or_default();
            entry.insert(match c.action {
                Action::NoOp => "no-op",
                Action::Create => "create",
                Action::Update => "update",
                Action::Replace {
                    create_before_destroy,
                } => {
                    both_orders.insert(create_before_destroy);
                    "replace"
                }
                Action::Delete => "delete",
                Action::Adopt => "adopt",
            });
            if c.drift.is_some() {
                entry.insert("drift");
            }
        }
    }
    let mut missing = Vec::new();
    for &kind in ResourceKind::ALL {
        let have = seen.remove(&kind).unwrap_or_default();
        for action in possible(kind).difference(&have) {
            missing.push(format!("{kind}: {action}"));
        }
    }
    assert!(missing.is_empty(), "no case shows: {missing:#?}");
    assert_eq!(both_orders.len(), 2, "replaces in both orders");
}
