//! A flow log's role must trust the flow-logs service and hold the
//! permissions delivery needs; otherwise AWS accepts the flow log and it
//! silently delivers nothing (the seed's step 5).

use serde_json::Value;

use crate::address::ResourceKind;
use crate::decode::Cx;
use crate::derived;
use crate::diagnostic::Diagnostic;
use crate::kinds::flow_log::{FLOW_LOG_ACTIONS, FLOW_LOGS_SERVICE};
use crate::registry::Topology;
use crate::validate::{NameIndex, by_name};

pub(super) fn check(t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
    let roles = by_name(&t.iam_roles);
    let policies = by_name(&t.iam_policies);
    for fl in &t.flow_logs {
        let f = &fl.spec;
        if index.kind_of(&f.role.value) != Some(ResourceKind::IamRole) {
            continue; // reported as a reference error
        }
        let Some(role) = roles.get(f.role.value.as_str()) else {
            continue;
        };
        let trust = Topology::role_trust_document(&role.spec);
        if !derived::trusts_service(&trust, FLOW_LOGS_SERVICE) {
            cx.push(
                Diagnostic::warning(
                    "flow-log-role-untrusted",
                    f.role.span,
                    format!("role `{}` does not trust {FLOW_LOGS_SERVICE}, so the flow log cannot deliver records", role.name.value),
                )
                .with_help(format!("add `{FLOW_LOGS_SERVICE}` to the role's `trusted-services`")),
            );
        }
        let docs: Vec<&Value> = role
            .spec
            .policies
            .iter()
            .filter_map(|p| policies.get(p.value.as_str()))
            .map(|p| &p.spec.document.value)
            .collect();
        let missing: Vec<&str> = FLOW_LOG_ACTIONS
            .iter()
            .copied()
            .filter(|a| !docs.iter().any(|d| derived::allows_action(d, a)))
            .collect();
        if !missing.is_empty() {
            cx.push(
                Diagnostic::warning(
                    "flow-log-role-permissions",
                    f.role.span,
                    format!("the policies of role `{}` do not allow {}", role.name.value, missing.join(", ")),
                )
                .with_help("attach a policy that allows logs:CreateLogGroup, logs:CreateLogStream, logs:PutLogEvents, logs:DescribeLogGroups and logs:DescribeLogStreams"),
            );
        }
    }
}
