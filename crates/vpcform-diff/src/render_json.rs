//! The machine-readable plan (`plan --format json`), documented in docs/plan-format.md.

use serde_json::json;

use crate::{Plan, Value};

/// Bumped on any incompatible change of the JSON plan's shape.
pub const PLAN_FORMAT_VERSION: &str = "1.4";

pub fn to_json(plan: &Plan, vpcform_version: &str) -> Value {
    let summary = plan.summary();
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .map(|c| {
            json!({
                "address": c.address,
                "kind": c.kind,
                "name": c.address.name,
                "key": c.address.key,
                "actions": c.action.terraform_actions(),
                "id": c.id,
                "before": if c.before.is_empty() && c.id.is_none() { Value::Null } else { json!(c.before) },
                "after": if matches!(c.action, crate::Action::Delete) { Value::Null } else { json!(c.after) },
                "after_unknown": c.after_unknown,
                "changed_attributes": c.changes.iter().map(|a| &a.name).collect::<Vec<_>>(),
                "replace_paths": c.replace_reasons,
                "drift": c.drift,
                "stand_in": c.stand_in,
                "unfinished": c.unfinished,
                "takes_over": c.takes_over,
                "depends_on": c.depends_on,
                "importing": (c.action == crate::Action::Adopt).then(|| json!({ "id": c.id })),
            })
        })
        .collect();
    let drift: Vec<Value> = plan
        .changes
        .iter()
        .filter_map(|c| {
            c.drift
                .as_ref()
                .map(|d| json!({ "address": c.address, "summary": d.summary }))
        })
        .collect();
    json!({
        "format_version": PLAN_FORMAT_VERSION,
        "vpcform_version": vpcform_version,
        "stack": plan.stack,
        "region": plan.region,
        "topology_hash": plan.topology_hash,
        "summary": {
            "adopt": summary.adopt,
            "add": summary.add,
            "change": summary.change,
            "destroy": summary.destroy,
            "drifted": summary.drifted,
            "has_changes": plan.has_changes(),
        },
        "api_calls": plan.api_calls,
        "errors": plan.errors,
        "security_changes": crate::security::security_changes(plan),
        "policy_findings": plan.policy_findings,
        "connectivity": plan.connectivity,
        "resource_changes": changes,
        "resource_drift": drift,
    })
}
