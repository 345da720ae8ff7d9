//! Metric filters. DescribeMetricFilters lists every filter of the region
//! in one paginated call; the stack's are those whose name records it
//! (`vpcform/STACK/ADDRESS`). Id: `LOG-GROUP:FILTER-NAME` (neither name
//! may hold `:`). PutMetricFilter creates and overwrites alike.

use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::kinds::log_group::LOG_GROUP_NAME;
use vpcform_topology::kinds::metric_filter::{
    DEFAULT_VALUE, FILTER_NAME, FILTER_PATTERN, ID_PLACEHOLDER, METRIC_NAME, METRIC_NAMESPACE,
    METRIC_VALUE, PATTERN_SUBJECT, owner_of_name, split_subject,
};

use crate::apply::{attr, id, outcome, required, unless_gone};
use crate::kind::{AwsKind, Read, Scan};
use crate::read::{Found, ReadCx, opt_str, owner_tags, placed};
use crate::{Aws, AwsError};

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let mut pages = aws.logs.describe_metric_filters().into_paginator().send();
    let mut found = Found::default();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("logs:DescribeMetricFilters", e))?;
        for f in page.metric_filters() {
            let name = f.filter_name().unwrap_or_default();
            let Some((stack, address)) = owner_of_name(name) else {
                continue;
            };
            let group = f.log_group_name().unwrap_or_default();
            let id = format!("{group}:{name}");
            let Some(tags) = owner_tags(ResourceKind::MetricFilter, stack, address) else {
                continue;
            };
            let Some(place) =
                cx.place(ResourceKind::MetricFilter, &tags, &id, &mut found.conflicts)
            else {
                continue;
            };
            let (pattern, subject) = split_subject(f.filter_pattern().unwrap_or_default());
            let metric = f.metric_transformations().first();
            found.objects.push(placed(
                place,
                id,
                vec![
                    (LOG_GROUP_NAME, Value::from(group)),
                    (FILTER_NAME, Value::from(name)),
                    (FILTER_PATTERN, Value::from(pattern)),
                    (PATTERN_SUBJECT, subject.map_or(Value::Null, Value::from)),
                    (
                        METRIC_NAMESPACE,
                        opt_str(metric.map(|m| m.metric_namespace())),
                    ),
                    (METRIC_NAME, opt_str(metric.map(|m| m.metric_name()))),
                    (METRIC_VALUE, opt_str(metric.map(|m| m.metric_value()))),
                    (
                        DEFAULT_VALUE,
                        metric
                            .and_then(|m| m.default_value())
                            .map_or(Value::Null, Value::from),
                    ),
                ],
            ));
        }
    }
    Ok(found)
}

/// Writes the filter as the operation describes it (create or overwrite).
async fn put(aws: &Aws, op: &Operation) -> Result<String, AwsError> {
    use aws_sdk_cloudwatchlogs::types::MetricTransformation;
    let group = required(op, LOG_GROUP_NAME)?;
    let name = required(op, FILTER_NAME)?;
    let mut pattern = required(op, FILTER_PATTERN)?.to_string();
    if let Some(subject) = attr(op, PATTERN_SUBJECT) {
        pattern = pattern.replace(ID_PLACEHOLDER, subject);
    }
    let default = DEFAULT_VALUE.get(&op.attrs).and_then(Value::as_f64);
    let metric = MetricTransformation::builder()
        .metric_namespace(required(op, METRIC_NAMESPACE)?)
        .metric_name(required(op, METRIC_NAME)?)
        .metric_value(required(op, METRIC_VALUE)?)
        .set_default_value(default)
        .build()
        .map_err(|e| AwsError::Unsupported {
            operation: format!("{}: {e}", op.address),
        })?;
    aws.logs
        .put_metric_filter()
        .log_group_name(group)
        .filter_name(name)
        .filter_pattern(pattern)
        .metric_transformations(metric)
        .send()
        .await
        .map_err(|e| aws.error("logs:PutMetricFilter", e))?;
    Ok(format!("{group}:{name}"))
}

/// A metric filter (id: `LOG-GROUP:FILTER-NAME`).
pub(crate) struct MetricFilter;

impl AwsKind for MetricFilter {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::Never;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(put(aws, op).await?))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(put(aws, op).await?))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(id(op)?))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let id = id(op)?;
        let (group, name) = id.split_once(':').unwrap_or((id, ""));
        unless_gone(
            aws.logs
                .delete_metric_filter()
                .log_group_name(group)
                .filter_name(name)
                .send()
                .await
                .map_err(|e| aws.error("logs:DeleteMetricFilter", e)),
            id,
        )
    }
}
