//! Dashboards. AWS keeps no tags on them, so the first widget vpcform
//! writes is a text widget naming the stack and address; reading takes it
//! out again, with the region vpcform fills into metric and log widgets.
//! ListDashboards names every dashboard of the account; each costs one
//! GetDashboard (a dashboard's owner is in its body).

use serde_json::{Value, json};
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::kinds::dashboard::{DASHBOARD_BODY, DASHBOARD_NAME, parse_json};
use vpcform_topology::{Address, ResourceKind};

use crate::apply::{id, outcome, required, unless_gone};
use crate::kind::{AwsKind, Read, Scan};
use crate::read::{Found, ReadCx, concurrently, name_conflict, owner_tags, placed};
use crate::{Aws, AwsError};

const MARKER_START: &str = "**Managed by vpcform**: stack `";

/// The text widget that records a dashboard's owner.
fn marker(stack: &str, address: &Address) -> Value {
    json!({
        "type": "text", "x": 0, "y": 0, "width": 24, "height": 1,
        "properties": { "markdown": format!(
            "{MARKER_START}{stack}`, `{}`. Changes made here are undone by the next `vpcform apply`.",
            address.tag_value()
        )}
    })
}

/// The stack and address a body's first widget records.
fn owner(body: &Value) -> Option<(String, String)> {
    let text = body["widgets"][0]["properties"]["markdown"].as_str()?;
    let rest = text.strip_prefix(MARKER_START)?;
    let (stack, rest) = rest.split_once('`')?;
    let address = rest.strip_prefix(", `")?.split_once('`')?.0;
    Some((stack.to_string(), address.to_string()))
}

/// Widgets that draw a region's data (metrics, Logs Insights).
fn regional(widget: &Value) -> bool {
    matches!(widget["type"].as_str(), Some("metric" | "log"))
}

/// Rows the owner's widget takes at the top; declared widgets sit below it.
const MARKER_ROWS: i64 = 1;

/// Moves a widget down (or back up) by `rows`, when it says where it goes.
fn shift(widget: &mut Value, rows: i64) {
    if let Some(y) = widget.get("y").and_then(Value::as_i64) {
        widget["y"] = Value::from((y + rows).max(0));
    }
}

/// The body AWS stores: the owner's widget first, the others a row lower,
/// the region filled in.
fn stored_body(op: &Operation, region: &str) -> Result<String, AwsError> {
    let declared = DASHBOARD_BODY
        .get(&op.attrs)
        .and_then(parse_json)
        .unwrap_or_default();
    let mut widgets = vec![marker(&op.stack, &op.address)];
    for mut w in declared["widgets"].as_array().cloned().unwrap_or_default() {
        shift(&mut w, MARKER_ROWS);
        if regional(&w)
            && let Some(p) = w.get_mut("properties").and_then(Value::as_object_mut)
        {
            p.entry("region").or_insert_with(|| Value::from(region));
        }
        widgets.push(w);
    }
    Ok(json!({ "widgets": widgets }).to_string())
}

/// The declared body of a stored one: without the owner's widget (the
/// others a row higher again), and without the region where it is the stack's.
fn declared_body(stored: &Value, region: &str) -> Value {
    let widgets: Vec<Value> = stored["widgets"]
        .as_array()
        .into_iter()
        .flatten()
        .skip(1)
        .map(|w| {
            let mut w = w.clone();
            shift(&mut w, -MARKER_ROWS);
            if regional(&w)
                && let Some(p) = w.get_mut("properties").and_then(Value::as_object_mut)
                && p.get("region").and_then(Value::as_str) == Some(region)
            {
                p.remove("region");
            }
            w
        })
        .collect();
    json!({ "widgets": widgets })
}

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let names = all_names(aws).await?;
    let bodies = concurrently(names.into_iter().map(|name| async move {
        let got = aws
            .cloudwatch
            .get_dashboard()
            .dashboard_name(&name)
            .send()
            .await
            .map_err(|e| aws.error("cloudwatch:GetDashboard", e));
        match got {
            Ok(d) => Ok(Some((
                name,
                d.dashboard_body().unwrap_or_default().to_string(),
            ))),
            Err(e) if crate::apply::gone(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }))
    .await?;
    let mut found = Found::default();
    for (name, body) in bodies.into_iter().flatten() {
        let stored: Value = serde_json::from_str(&body).unwrap_or_default();
        let tags = owner(&stored)
            .and_then(|(stack, address)| owner_tags(ResourceKind::Dashboard, &stack, &address))
            .unwrap_or_default();
        let Some(place) = cx.place(ResourceKind::Dashboard, &tags, &name, &mut found.conflicts)
        else {
            let declared = cx
                .topology
                .dashboards
                .iter()
                .map(|d| (d.name.value.as_str(), d.spec.name.value.as_str()));
            let kind = ResourceKind::Dashboard;
            found
                .conflicts
                .extend(name_conflict(cx, kind, declared, &name, &name, "creating it would overwrite it (PutDashboard replaces a dashboard of the same name). Delete or rename it: a dashboard carries no tags, so vpcform cannot adopt one"));
            continue;
        };
        let attrs = vec![
            (DASHBOARD_NAME, Value::from(name.as_str())),
            (DASHBOARD_BODY, declared_body(&stored, aws.region())),
        ];
        found.objects.push(placed(place, &name, attrs));
    }
    Ok(found)
}

async fn all_names(aws: &Aws) -> Result<Vec<String>, AwsError> {
    let mut pages = aws.cloudwatch.list_dashboards().into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("cloudwatch:ListDashboards", e))?;
        out.extend(
            page.dashboard_entries()
                .iter()
                .filter_map(|d| d.dashboard_name().map(str::to_string)),
        );
    }
    Ok(out)
}

async fn put(aws: &Aws, op: &Operation) -> Result<String, AwsError> {
    let name = required(op, DASHBOARD_NAME)?;
    aws.cloudwatch
        .put_dashboard()
        .dashboard_name(name)
        .dashboard_body(stored_body(op, aws.region())?)
        .send()
        .await
        .map_err(|e| aws.error("cloudwatch:PutDashboard", e))?;
    Ok(name.to_string())
}

/// A dashboard (id: its name).
pub(crate) struct Dashboard;

impl AwsKind for Dashboard {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::Never;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(put(aws, op).await?))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        put(aws, op).await?;
        Ok(outcome(id(op)?))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(id(op)?))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let name = id(op)?;
        unless_gone(
            aws.cloudwatch
                .delete_dashboards()
                .dashboard_names(name)
                .send()
                .await
                .map_err(|e| aws.error("cloudwatch:DeleteDashboards", e)),
            name,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_widget_names_stack_and_address_and_reads_back() {
        let address = Address::new(ResourceKind::Dashboard, "spoke[a]");
        let body = json!({ "widgets": [marker("seed", &address)] });
        assert_eq!(
            owner(&body),
            Some(("seed".into(), "dashboard.spoke/a".into()))
        );
        assert_eq!(owner(&json!({ "widgets": [] })), None);
    }

    #[test]
    fn declared_widgets_sit_below_the_owner_widget_and_read_back_where_declared() {
        let op = vpcform_exec::Operation {
            stack: "seed".into(),
            address: Address::new(ResourceKind::Dashboard, "main"),
            kind: ResourceKind::Dashboard,
            verb: vpcform_exec::Verb::Create,
            id: None,
            attrs: [(
                DASHBOARD_BODY.as_str().to_string(),
                json!({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 2}]}),
            )]
            .into_iter()
            .collect(),
            before: Default::default(),
            changed: Vec::new(),
            lookups: Default::default(),
            config_hash: None,
        };
        let stored: Value = serde_json::from_str(&stored_body(&op, "us-east-1").unwrap()).unwrap();
        assert_eq!(stored["widgets"][0]["y"], 0);
        assert_eq!(stored["widgets"][1]["y"], 1);
        assert_eq!(declared_body(&stored, "us-east-1")["widgets"][0]["y"], 0);
    }

    #[test]
    fn region_goes_in_and_comes_out_only_where_it_is_the_stacks() {
        let stored = json!({ "widgets": [
            {"type": "text"},
            {"type": "metric", "properties": {"region": "us-east-1"}},
            {"type": "log", "properties": {"region": "eu-west-1"}},
        ]});
        let declared = declared_body(&stored, "us-east-1");
        assert_eq!(declared["widgets"][0]["properties"], json!({}));
        assert_eq!(declared["widgets"][1]["properties"]["region"], "eu-west-1");
    }
}
