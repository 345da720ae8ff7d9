//! Metric alarms. The stack's come from one tagging-API listing; they,
//! the adopted ones and the declared names (PutMetricAlarm would silently
//! overwrite someone else's alarm of the same name) are described by name,
//! 100 per DescribeAlarms call.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::attr::TAGS;
use vpcform_topology::kinds::alarm::{
    ALARM_ACTIONS, ALARM_DESCRIPTION, ALARM_NAME, COMPARISON_OPERATOR, DATAPOINTS_TO_ALARM,
    DIMENSIONS, EVALUATION_PERIODS, EXTENDED_STATISTIC, INSUFFICIENT_DATA_ACTIONS, METRIC_NAME,
    METRICS, NAMESPACE, OK_ACTIONS, PERIOD, STATISTIC, THRESHOLD, TREAT_MISSING_DATA, UNIT,
};

use crate::apply::{attr, attr_i64, create_tags, id, outcome, required, tag_changes, unless_gone};
use crate::kind::{AwsKind, Read, Scan};
use crate::read::{Found, ReadCx, name_conflict, opt_str, placed, tagged, tags_value};
use crate::{Aws, AwsError};

/// An alarm's name: what follows `:alarm:` in its ARN.
fn name_of(arn: &str) -> &str {
    arn.split_once(":alarm:").map_or(arn, |(_, n)| n)
}

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let owned = tagged(aws, Some(cx.stack), "cloudwatch:alarm").await?;
    let owned: BTreeMap<&str, &BTreeMap<String, String>> = owned
        .iter()
        .map(|(arn, tags)| (name_of(arn), tags))
        .collect();
    let mut names: BTreeSet<&str> = owned.keys().copied().collect();
    names.extend(cx.adopted_ids(ResourceKind::Alarm));
    names.extend(
        cx.topology
            .alarms
            .iter()
            .map(|a| a.spec.name.value.as_str()),
    );
    let mut found = Found::default();
    let names: Vec<&str> = names.into_iter().collect();
    for chunk in names.chunks(100) {
        for alarm in describe(aws, chunk).await? {
            place(aws, cx, &owned, alarm, &mut found).await?;
        }
    }
    Ok(found)
}

async fn place(
    aws: &Aws,
    cx: &ReadCx<'_>,
    owned: &BTreeMap<&str, &BTreeMap<String, String>>,
    a: aws_sdk_cloudwatch::types::MetricAlarm,
    found: &mut Found,
) -> Result<(), AwsError> {
    let name = a.alarm_name().unwrap_or_default();
    let adopted = cx.adopts(ResourceKind::Alarm, name);
    let tags = match owned.get(name) {
        Some(tags) => (*tags).clone(),
        None if adopted => tags_of(aws, a.alarm_arn().unwrap_or_default()).await?,
        None => BTreeMap::new(),
    };
    let Some(place) = cx.place(ResourceKind::Alarm, &tags, name, &mut found.conflicts) else {
        if !adopted {
            let declared = cx
                .topology
                .alarms
                .iter()
                .map(|d| (d.name.value.as_str(), d.spec.name.value.as_str()));
            let why = "creating it would overwrite it (PutMetricAlarm replaces an alarm of the same name). Delete or rename it, or adopt it with `import-id`";
            let kind = ResourceKind::Alarm;
            found
                .conflicts
                .extend(name_conflict(cx, kind, declared, name, name, why));
        }
        return Ok(());
    };
    found.objects.push(placed(place, name, attrs(&a, &tags)));
    Ok(())
}

/// An alarm's planned attributes as DescribeAlarms reports them.
fn attrs(
    a: &aws_sdk_cloudwatch::types::MetricAlarm,
    tags: &BTreeMap<String, String>,
) -> Vec<(vpcform_topology::Attr, Value)> {
    let actions: Vec<Value> = a
        .alarm_actions()
        .iter()
        .map(|s| Value::from(s.as_str()))
        .collect();
    let number = |n: Option<i32>| n.map_or(Value::Null, Value::from);
    let strings = |v: &[String]| Value::Array(v.iter().map(|s| Value::from(s.as_str())).collect());
    let dimensions: serde_json::Map<String, Value> = a
        .dimensions()
        .iter()
        .filter_map(|d| Some((d.name()?.to_string(), Value::from(d.value()?))))
        .collect();
    let metrics: Vec<Value> = a
        .metrics()
        .iter()
        .filter_map(|m| m.id())
        .map(Value::from)
        .collect();
    vec![
        (ALARM_NAME, opt_str(a.alarm_name())),
        (ALARM_DESCRIPTION, opt_str(a.alarm_description())),
        (NAMESPACE, opt_str(a.namespace())),
        (METRIC_NAME, opt_str(a.metric_name())),
        (STATISTIC, opt_str(a.statistic().map(|s| s.as_str()))),
        (PERIOD, number(a.period())),
        (EVALUATION_PERIODS, number(a.evaluation_periods())),
        (DATAPOINTS_TO_ALARM, number(a.datapoints_to_alarm())),
        (THRESHOLD, a.threshold().map_or(Value::Null, Value::from)),
        (
            COMPARISON_OPERATOR,
            opt_str(a.comparison_operator().map(|c| c.as_str())),
        ),
        // AWS leaves it out when it is the default.
        (
            TREAT_MISSING_DATA,
            Value::from(a.treat_missing_data().unwrap_or("missing")),
        ),
        (ALARM_ACTIONS, Value::Array(actions)),
        (DIMENSIONS, Value::Object(dimensions)),
        (OK_ACTIONS, strings(a.ok_actions())),
        (
            INSUFFICIENT_DATA_ACTIONS,
            strings(a.insufficient_data_actions()),
        ),
        (UNIT, opt_str(a.unit().map(|u| u.as_str()))),
        (EXTENDED_STATISTIC, opt_str(a.extended_statistic())),
        (METRICS, Value::Array(metrics)),
        (TAGS, tags_value(tags)),
    ]
}

async fn describe(
    aws: &Aws,
    names: &[&str],
) -> Result<Vec<aws_sdk_cloudwatch::types::MetricAlarm>, AwsError> {
    let mut pages = aws
        .cloudwatch
        .describe_alarms()
        .set_alarm_names(Some(names.iter().map(|n| n.to_string()).collect()))
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("cloudwatch:DescribeAlarms", e))?;
        out.extend(page.metric_alarms.unwrap_or_default());
    }
    Ok(out)
}

async fn tags_of(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let r = aws
        .cloudwatch
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| aws.error("cloudwatch:ListTagsForResource", e))?;
    Ok(r.tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect())
}

pub(crate) fn cloudwatch_tags(
    tags: BTreeMap<String, String>,
) -> Vec<aws_sdk_cloudwatch::types::Tag> {
    tags.into_iter()
        .map(|(k, v)| {
            aws_sdk_cloudwatch::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect()
}

/// Writes the alarm as the operation describes it; tags only on creation
/// (AWS ignores them when the alarm exists).
async fn put(aws: &Aws, op: &Operation, tags: bool) -> Result<(), AwsError> {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
    let actions: Vec<String> = ALARM_ACTIONS
        .get(&op.attrs)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let mut call = aws
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(required(op, ALARM_NAME)?)
        .set_alarm_description(attr(op, ALARM_DESCRIPTION).map(str::to_string))
        .namespace(required(op, NAMESPACE)?)
        .metric_name(required(op, METRIC_NAME)?)
        .statistic(Statistic::from(required(op, STATISTIC)?))
        .set_period(attr_i64(op, PERIOD).map(|p| p as i32))
        .set_evaluation_periods(attr_i64(op, EVALUATION_PERIODS).map(|p| p as i32))
        .set_datapoints_to_alarm(attr_i64(op, DATAPOINTS_TO_ALARM).map(|p| p as i32))
        .set_threshold(THRESHOLD.get(&op.attrs).and_then(Value::as_f64))
        .comparison_operator(ComparisonOperator::from(required(op, COMPARISON_OPERATOR)?))
        .treat_missing_data(required(op, TREAT_MISSING_DATA)?)
        .set_alarm_actions(Some(actions))
        .set_dimensions(Some(dimensions(op)));
    if tags {
        call = call.set_tags(Some(cloudwatch_tags(create_tags(op))));
    }
    call.send()
        .await
        .map_err(|e| aws.error("cloudwatch:PutMetricAlarm", e))?;
    Ok(())
}

/// The alarm's dimensions as PutMetricAlarm takes them.
fn dimensions(op: &Operation) -> Vec<aws_sdk_cloudwatch::types::Dimension> {
    DIMENSIONS
        .get(&op.attrs)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name(k)
                .value(v.as_str().unwrap_or_default())
                .build()
        })
        .collect()
}

/// A metric alarm (id: its name).
pub(crate) struct Alarm;

impl AwsKind for Alarm {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::Never;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        put(aws, op, true).await?;
        Ok(outcome(required(op, ALARM_NAME)?))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let name = id(op)?;
        let own = op.changed.iter().any(|c| c != TAGS.as_str());
        if own {
            put(aws, op, false).await?;
        }
        update_tags(aws, name, op).await?;
        Ok(outcome(name))
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let name = id(op)?;
        update_tags(aws, name, op).await?;
        Ok(outcome(name))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let name = id(op)?;
        unless_gone(
            aws.cloudwatch
                .delete_alarms()
                .alarm_names(name)
                .send()
                .await
                .map_err(|e| aws.error("cloudwatch:DeleteAlarms", e)),
            name,
        )
    }
}

async fn update_tags(aws: &Aws, name: &str, op: &Operation) -> Result<(), AwsError> {
    let (set, remove) = tag_changes(op);
    if set.is_empty() && remove.is_empty() {
        return Ok(());
    }
    let arn = describe(aws, &[name])
        .await?
        .first()
        .and_then(|a| a.alarm_arn().map(str::to_string))
        .unwrap_or_default();
    crate::kinds::contributor_rule::tag_arn(aws, &arn, set, remove).await
}
