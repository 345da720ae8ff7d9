//! The plan's policy findings: the checks of `vpcform_topology::policy` on
//! what the account holds and on what the plan builds, so each finding is
//! one the change introduces, resolves or leaves unchanged, waived or not.

use std::collections::{BTreeMap, HashMap};
use vpcform_topology::escape::{md_cell, terminal};

use serde::{Deserialize, Serialize};
use vpcform_topology::policy::{Fact, Facts, RawFinding, desired_facts, findings};
use vpcform_topology::{Address, DependencyGraph, Topology, attr};

use crate::{LiveState, Value};

/// What the plan does to a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingStatus {
    /// Found on what the plan builds, not on what the account holds.
    Introduced,
    /// Found on the account, gone once the plan is applied.
    Resolved,
    /// Found on both.
    Unchanged,
}

impl FindingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingStatus::Introduced => "introduced",
            FindingStatus::Resolved => "resolved",
            FindingStatus::Unchanged => "unchanged",
        }
    }
}

/// One finding of a policy check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyFinding {
    pub rule: String,
    pub address: Address,
    pub status: FindingStatus,
    pub message: String,
    /// Where the topology declares it (0 when it no longer does).
    pub line: u32,
    pub column: u32,
    /// The waiver's reason, when one accepts the finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// Findings on the live state and on the planned one, compared.
pub(crate) fn policy_findings(
    topology: &Topology,
    graph: &DependencyGraph,
    live: &LiveState,
) -> Vec<PolicyFinding> {
    let key = |f: &RawFinding| (f.rule, f.address.clone());
    let planned: BTreeMap<_, RawFinding> = findings(&desired_facts(topology, graph))
        .into_iter()
        .map(|f| (key(&f), f))
        .collect();
    let found: BTreeMap<_, RawFinding> = findings(&live_facts(live))
        .into_iter()
        .map(|f| (key(&f), f))
        .collect();
    let mut out = Vec::new();
    for (k, f) in &planned {
        let status = match found.contains_key(k) {
            true => FindingStatus::Unchanged,
            false => FindingStatus::Introduced,
        };
        let waiver = topology.waivers.iter().find(|w| w.covers(f));
        let span = graph.span_of(&f.address);
        out.push(PolicyFinding {
            rule: f.rule.to_string(),
            address: f.address.clone(),
            status,
            message: f.message.clone(),
            line: span.line,
            column: span.column,
            waived: waiver.map(|w| w.reason.value.trim().to_string()),
            expires: waiver
                .and_then(|w| w.expires.as_ref())
                .map(|e| e.value.clone()),
        });
    }
    for (_, f) in found.iter().filter(|(k, _)| !planned.contains_key(k)) {
        out.push(PolicyFinding {
            rule: f.rule.to_string(),
            address: f.address.clone(),
            status: FindingStatus::Resolved,
            message: f.message.clone(),
            line: 0,
            column: 0,
            waived: None,
            expires: None,
        });
    }
    out.sort_by(|a, b| (a.status, &a.rule, &a.address).cmp(&(b.status, &b.rule, &b.address)));
    out
}

/// What the account holds, as the checks see it: references by id or ARN
/// become the addresses of the objects they name.
fn live_facts(live: &LiveState) -> Facts {
    let mut addresses: HashMap<&str, String> = HashMap::new();
    for o in live.objects.values() {
        addresses.insert(&o.id, o.address.to_string());
        if let Some(Value::String(arn)) = o.attrs.get(attr::ARN.as_str()) {
            addresses.insert(arn, o.address.to_string());
        }
    }
    fn resolve(v: &Value, addresses: &HashMap<&str, String>) -> Value {
        match v {
            Value::String(s) => addresses
                .get(s.as_str())
                .map_or_else(|| v.clone(), |a| Value::String(a.clone())),
            Value::Array(items) => {
                Value::Array(items.iter().map(|i| resolve(i, addresses)).collect())
            }
            other => other.clone(),
        }
    }
    Facts(
        live.objects
            .values()
            .map(|o| {
                let attrs = o
                    .attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), resolve(v, &addresses)))
                    .collect();
                (
                    o.address.clone(),
                    Fact {
                        kind: o.address.kind,
                        attrs,
                    },
                )
            })
            .collect(),
    )
}

/// `Policy checks: 1 introduced, 0 resolved, 6 unchanged (6 waived)`.
fn headline(findings: &[PolicyFinding]) -> String {
    let count = |s: FindingStatus| findings.iter().filter(|f| f.status == s).count();
    let waived = findings.iter().filter(|f| f.waived.is_some()).count();
    format!(
        "Policy checks: {} introduced, {} resolved, {} unchanged ({waived} waived)",
        count(FindingStatus::Introduced),
        count(FindingStatus::Resolved),
        count(FindingStatus::Unchanged)
    )
}

fn symbol(f: &PolicyFinding) -> &'static str {
    match (f.status, &f.waived) {
        (FindingStatus::Resolved, _) => "-",
        (_, Some(_)) => "=",
        (FindingStatus::Introduced, None) => "+",
        (FindingStatus::Unchanged, None) => "!",
    }
}

/// The findings under the plan, one line each; waived ones with their reason.
pub(crate) fn text(plan: &crate::Plan, style: &vpcform_topology::Style) -> String {
    let findings = &plan.policy_findings;
    if findings.is_empty() {
        return String::new();
    }
    let mut out = format!("\n{}\n", style.bold(&format!("{}:", headline(findings))));
    for f in findings {
        let line = format!(
            "  {} {} {} {}: {}",
            symbol(f),
            f.status.as_str(),
            terminal(&f.rule),
            terminal(&f.address.to_string()),
            terminal(&f.message)
        );
        match &f.waived {
            Some(reason) => out.push_str(&format!("{line} (waived: {})\n", terminal(reason))),
            None if f.status == FindingStatus::Introduced => {
                out.push_str(&style.yellow(&line));
                out.push('\n');
            }
            None => {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
    out
}

/// The findings as a table for the pull request, those needing attention first.
pub(crate) fn markdown(plan: &crate::Plan) -> String {
    let findings = &plan.policy_findings;
    if findings.is_empty() {
        return String::new();
    }
    let mut shown: Vec<&PolicyFinding> = findings.iter().collect();
    shown.sort_by_key(|f| (f.waived.is_some(), f.status));
    let hidden = shown.len().saturating_sub(MARKDOWN_ROWS);
    shown.truncate(MARKDOWN_ROWS);
    let mut out = format!(
        "#### {}\n\n| status | rule | resource | finding | waiver |\n|---|---|---|---|---|\n",
        headline(findings)
    );
    for f in shown {
        let waiver = f.waived.as_deref().map_or(String::new(), |r| {
            let until = f
                .expires
                .as_deref()
                .map_or(String::new(), |e| format!(" (until {})", md_cell(e)));
            format!("waived: {}{until}", md_cell(r))
        });
        out.push_str(&format!(
            "| {} | {} | {} | {} | {waiver} |\n",
            f.status.as_str(),
            md_cell(&f.rule),
            md_cell(&f.address.to_string()),
            md_cell(&f.message)
        ));
    }
    if hidden > 0 {
        out.push_str(&format!(
            "\n{hidden} more finding(s) are left out here; `vpcform plan` lists them all.\n"
        ));
    }
    out.push('\n');
    out
}

/// Rows of the findings table a pull-request comment shows.
const MARKDOWN_ROWS: usize = 40;
