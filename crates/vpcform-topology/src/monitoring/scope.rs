//! Which flow logs record a `rejects` entry's traffic, and what in their
//! records tells that traffic apart from the rest of the log group.

use crate::decode::Cx;
use crate::diagnostic::Diagnostic;
use crate::kinds::flow_log::FlowLog;
use crate::kinds::metric_filter::{ID_PLACEHOLDER, Subject, SubjectKind};
use crate::model::Named;
use crate::registry::Topology;

use super::{RejectAlarm, Watched};

/// The VPC a subnet is in.
fn vpc_of<'t>(t: &'t Topology, subnet: &str) -> Option<&'t str> {
    t.subnets
        .iter()
        .find(|s| s.name.value == subnet)
        .map(|s| s.spec.vpc.value.as_str())
}

fn subnet_of<'t>(t: &'t Topology, instance: &str) -> Option<&'t str> {
    t.instances
        .iter()
        .find(|i| i.name.value == instance)
        .map(|i| i.spec.subnet.value.as_str())
}

/// Whether the flow log records traffic in `subnet` (itself or its VPC).
fn covers_subnet(t: &Topology, log: &FlowLog, subnet: &str) -> bool {
    log.subnet.as_ref().is_some_and(|s| s.value == subnet)
        || log.vpc.as_ref().map(|v| v.value.as_str()) == vpc_of(t, subnet)
}

/// The flow logs that record the entry's traffic; `None` (reported) when
/// the entry names nothing of its kind.
pub(super) fn covering<'t>(
    t: &'t Topology,
    r: &RejectAlarm,
    cx: &mut Cx,
) -> Option<Vec<&'t Named<FlowLog>>> {
    let name = r.target.value.as_str();
    let wanted = r.scope.resource_kind().article_name();
    match t.declared.iter().find(|(n, _)| n.value == name) {
        Some((_, kind)) if *kind == r.scope.resource_kind() => {}
        Some((first, kind)) => {
            cx.push(
                Diagnostic::error(
                    "wrong-reference-kind",
                    r.target.span,
                    format!("`{name}` is {}, not {wanted}", kind.article_name()),
                )
                .with_related(first.span, "declared here")
                .with_help("name the object under the key of its kind: `vpc`, `subnet`, `instance` or `log-group`"),
            );
            return None;
        }
        None => {
            cx.push(
                Diagnostic::error(
                    "undefined-reference",
                    r.target.span,
                    format!("`{name}` is not declared; a `rejects` entry watches {wanted} of the topology"),
                )
                .with_help("check the name"),
            );
            return None;
        }
    }
    let logs = t.flow_logs.iter();
    Some(match r.scope {
        Watched::Vpc => logs
            .filter(|l| l.spec.vpc.as_ref().is_some_and(|v| v.value == name))
            .collect(),
        Watched::Subnet => logs.filter(|l| covers_subnet(t, &l.spec, name)).collect(),
        Watched::Instance => {
            let subnet = subnet_of(t, name)?;
            logs.filter(|l| covers_subnet(t, &l.spec, subnet)).collect()
        }
        Watched::LogGroup => logs.filter(|l| l.spec.log_group.value == name).collect(),
    })
}

/// The record fields of `group`, one format for all the flow logs writing
/// it; patterns read fields by position, so two formats are reported.
pub(super) fn group_fields(
    t: &Topology,
    group: &str,
    r: &RejectAlarm,
    cx: &mut Cx,
) -> Option<Vec<String>> {
    let mut writers = t
        .flow_logs
        .iter()
        .filter(|l| l.spec.log_group.value == group);
    let first = writers.next()?;
    let fields = super::fields_of(&first.spec);
    if let Some(other) = writers.find(|l| super::fields_of(&l.spec) != fields) {
        cx.push(
            Diagnostic::error(
                "invalid-monitoring",
                r.target.span,
                format!(
                    "flow logs `{}` and `{}` write log group `{group}` in two record formats; a filter pattern reads fields by position",
                    first.name.value, other.name.value
                ),
            )
            .with_help("give the flow logs of one log group one format, or separate log groups"),
        );
        return None;
    }
    Some(fields)
}

/// Conditions on record fields (`vpc-id = {id}`), and the object whose id fills `{id}`.
pub(super) type Distinction = (Vec<(&'static str, String)>, Option<Subject>);

/// Conditions that keep only the entry's records of `group` (and whose id
/// they name), or a located reason the records cannot tell.
pub(super) fn distinguish(
    t: &Topology,
    r: &RejectAlarm,
    group: &str,
    fields: &[String],
    cx: &mut Cx,
) -> Option<Distinction> {
    let name = r.target.value.as_str();
    let has = |f: &str| fields.iter().any(|x| x == f);
    let by_id = |field: &'static str, kind| {
        let subject = Subject {
            kind,
            name: name.to_string(),
        };
        Some((vec![(field, ID_PLACEHOLDER.to_string())], Some(subject)))
    };
    let (exclusive, field, kind) = match r.scope {
        Watched::Vpc => (group_is_only(t, r, group), "vpc-id", SubjectKind::Vpc),
        Watched::Subnet => (group_is_only(t, r, group), "subnet-id", SubjectKind::Subnet),
        Watched::Instance if has("instance-id") => {
            return by_id("instance-id", SubjectKind::Instance);
        }
        Watched::Instance if has("interface-id") => {
            return by_id("interface-id", SubjectKind::InstanceInterface);
        }
        Watched::Instance => (false, "instance-id", SubjectKind::Instance),
        Watched::LogGroup => return Some((Vec::new(), None)),
    };
    if exclusive {
        return Some((Vec::new(), None));
    }
    if has(field) {
        return by_id(field, kind);
    }
    cx.push(
        Diagnostic::error(
            "invalid-monitoring",
            r.target.span,
            format!(
                "log group `{group}` also holds other traffic's records, and their format has no `{field}` to tell `{name}`'s apart"
            ),
        )
        .with_help(format!(
            "add `{field}` to the flow log's `format`, give `{name}` a flow log of its own log group, or watch `log-group: {group}`"
        )),
    );
    None
}

/// Whether every flow log writing `group` records only the entry's VPC or subnet.
fn group_is_only(t: &Topology, r: &RejectAlarm, group: &str) -> bool {
    let name = r.target.value.as_str();
    let mut writers = t
        .flow_logs
        .iter()
        .filter(|l| l.spec.log_group.value == group)
        .map(|l| &l.spec);
    match r.scope {
        Watched::Vpc => writers.all(|l| {
            l.vpc.as_ref().is_some_and(|v| v.value == name)
                || l.subnet
                    .as_ref()
                    .is_some_and(|s| vpc_of(t, &s.value) == Some(name))
        }),
        Watched::Subnet => writers.all(|l| l.subnet.as_ref().is_some_and(|s| s.value == name)),
        // An instance's records are never a log group's alone (no instance flow logs here).
        Watched::Instance | Watched::LogGroup => false,
    }
}
