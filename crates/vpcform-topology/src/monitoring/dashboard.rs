//! The stack's dashboard: REJECT records per alarm with its threshold,
//! the Contributor Insights rules' top contributor, and the topology's
//! saved queries as Logs Insights widgets.

use serde_json::{Value, json};

use crate::diagnostic::Span;
use crate::registry::Topology;
use crate::yaml::{Node, NodeKind};

use super::Expanded;

/// Widgets two to a row, 12 units wide (24 for a table).
struct Grid {
    x: i64,
    y: i64,
    widgets: Vec<Value>,
}

impl Grid {
    fn place(&mut self, width: i64, kind: &str, properties: Value) {
        if self.x + width > 24 {
            self.x = 0;
            self.y += 6;
        }
        self.widgets.push(json!({
            "type": kind, "x": self.x, "y": self.y, "width": width, "height": 6,
            "properties": properties,
        }));
        self.x += width;
    }
}

pub(super) fn widgets(t: &Topology, out: &Expanded) -> Value {
    let mut grid = Grid {
        x: 0,
        y: 0,
        widgets: Vec::new(),
    };
    alarm_widgets(&t.stack.value, out, &mut grid);
    query_widgets(t, &mut grid);
    Value::Array(grid.widgets)
}

/// A REJECT series per alarm, with its threshold; a rule's top contributor.
fn alarm_widgets(stack: &str, out: &Expanded, grid: &mut Grid) {
    for (alarm, filter) in out.alarms.iter().zip(&out.filters) {
        let f = &filter.spec;
        grid.place(12, "metric", json!({
            "title": format!("REJECT records: {}", alarm.name.value.trim_start_matches("rejects-")),
            "metrics": [[f.namespace(stack), f.metric_name.value]],
            "stat": "Sum",
            "period": alarm.spec.period(),
            "view": "timeSeries",
            "annotations": { "horizontal": [{ "label": "alarm threshold", "value": alarm.spec.threshold.value }] },
        }));
    }
    // INSIGHT_RULE_METRIC is CloudWatch's metric-math view of a rule.
    for rule in &out.rules {
        grid.place(12, "metric", json!({
            "title": format!("Top contributor: {}", rule.name.value),
            "metrics": [[{
                "expression": format!("INSIGHT_RULE_METRIC('{}', 'MaxContributorValue')", rule.spec.name.value),
                "label": "top contributor", "id": "e1"
            }]],
            "period": 300,
            "view": "timeSeries",
        }));
    }
}

/// The saved queries as Logs Insights tables; those naming instance
/// addresses (known only after apply) named in a note instead.
fn query_widgets(t: &Topology, grid: &mut Grid) {
    let mut later = Vec::new();
    for q in t.queries.iter() {
        if !crate::queries::placeholders(&q.spec.query.value).is_empty() {
            later.push(format!("`{}`", q.name.value));
            continue;
        }
        let sources: Vec<String> = query_groups(t, &q.spec.log_groups)
            .iter()
            .map(|g| format!("SOURCE '{g}'"))
            .collect();
        let title = q
            .spec
            .description
            .as_ref()
            .map_or(q.name.value.clone(), |d| d.value.clone());
        let query = format!("{} | {}", sources.join(" | "), q.spec.query.value);
        grid.place(
            24,
            "log",
            json!({ "title": title, "query": query, "view": "table" }),
        );
    }
    if later.is_empty() {
        return;
    }
    let verb = match later.len() {
        1 => "names an instance address",
        _ => "name instance addresses",
    };
    let markdown = format!(
        "Not shown here: {} {verb} known only after apply; run `vpcform query NAME`.",
        later.join(", ")
    );
    grid.place(24, "text", json!({ "markdown": markdown }));
}

/// The AWS names of a query's log groups: its own, or the flow logs'.
fn query_groups(t: &Topology, declared: &[crate::model::Ref]) -> Vec<String> {
    let logical: Vec<&str> = match declared.is_empty() {
        false => declared.iter().map(|r| r.value.as_str()).collect(),
        true => {
            let mut v: Vec<&str> = t
                .flow_logs
                .iter()
                .map(|l| l.spec.log_group.value.as_str())
                .collect();
            v.sort();
            v.dedup();
            v
        }
    };
    logical
        .into_iter()
        .map(|l| {
            t.log_groups
                .iter()
                .find(|g| g.name.value == l)
                .map_or(l.to_string(), |g| g.spec.name.value.clone())
        })
        .collect()
}

/// A YAML node tree of a JSON value, every node at `span` (generated
/// declarations are validated like written ones, errors at the line that asked).
pub(super) fn node_of(v: &Value, span: Span) -> Node {
    let kind = match v {
        Value::Null => NodeKind::Null,
        Value::Bool(b) => NodeKind::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => NodeKind::Int(i),
            None => NodeKind::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => NodeKind::Str(s.clone()),
        Value::Array(items) => NodeKind::Seq(items.iter().map(|i| node_of(i, span)).collect()),
        Value::Object(m) => NodeKind::Map(
            m.iter()
                .map(|(k, v)| {
                    (
                        Node {
                            kind: NodeKind::Str(k.clone()),
                            span,
                        },
                        node_of(v, span),
                    )
                })
                .collect(),
        ),
    };
    Node { kind, span }
}
