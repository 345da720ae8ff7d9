//! Reading flow logs back: the events of log groups (FilterLogEvents, one
//! log stream per task, for the local engine) and Logs Insights queries on
//! AWS's own engine (StartQuery / GetQueryResults / StopQuery).

use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use futures::StreamExt as _;
use vpcform_insights::{Event, QueryResult, Statistics};

use crate::{Aws, AwsError};

/// A time window in milliseconds since the epoch.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub start_ms: i64,
    pub end_ms: i64,
}

/// Sends every event of `groups` in `window` to `tx`, reading the groups'
/// log streams concurrently (FilterLogEvents, paginated). Returns how many
/// events were sent; stops early when the receiver is gone.
pub async fn send_events(
    aws: &Aws,
    groups: &[String],
    window: Window,
    tx: SyncSender<Event>,
) -> Result<u64, AwsError> {
    let mut streams = Vec::new();
    let mut logs: std::collections::HashMap<String, Arc<str>> = std::collections::HashMap::new();
    for group in groups {
        logs.insert(
            group.clone(),
            Arc::from(log_label(aws, group).await?.as_str()),
        );
        let mut pages = aws
            .logs
            .describe_log_streams()
            .log_group_name(group)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws.error("logs:DescribeLogStreams", e))?;
            for s in page.log_streams() {
                if let Some(name) = s.log_stream_name() {
                    streams.push((group.clone(), name.to_string()));
                }
            }
        }
    }
    let reads = streams.into_iter().map(|(group, stream)| {
        let tx = tx.clone();
        let log = logs[&group].clone();
        async move {
            let stream_name: Arc<str> = Arc::from(stream.as_str());
            let mut pages = aws
                .logs
                .filter_log_events()
                .log_group_name(&group)
                .log_stream_names(&stream)
                .start_time(window.start_ms)
                .end_time(window.end_ms)
                .into_paginator()
                .send();
            let mut sent = 0u64;
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| aws.error("logs:FilterLogEvents", e))?;
                for e in page.events() {
                    let event = Event {
                        timestamp: e.timestamp().unwrap_or_default(),
                        message: e.message().unwrap_or_default().trim_end().to_string(),
                        log_stream: e.log_stream_name().map_or(stream_name.clone(), Arc::from),
                        log: log.clone(),
                        ingestion_time: e.ingestion_time(),
                    };
                    if tx.send(event).is_err() {
                        return Ok(sent);
                    }
                    sent += 1;
                }
            }
            Ok::<_, AwsError>(sent)
        }
    });
    let mut total = 0;
    let mut results = futures::stream::iter(reads).buffer_unordered(8);
    while let Some(r) = results.next().await {
        total += r?;
    }
    Ok(total)
}

/// Logs Insights' `@log`: `account-id:log-group-name`, the account from the group's ARN.
async fn log_label(aws: &Aws, group: &str) -> Result<String, AwsError> {
    let found = aws
        .logs
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .map_err(|e| aws.error("logs:DescribeLogGroups", e))?;
    let account = found
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(group))
        .and_then(|g| g.arn())
        .and_then(|arn| arn.split(':').nth(4))
        .unwrap_or_default()
        .to_string();
    Ok(format!("{account}:{group}"))
}

/// Progress of a query on AWS's engine, reported while it runs.
#[derive(Clone, Debug)]
pub struct QueryProgress {
    pub status: String,
    pub statistics: Statistics,
}

/// Runs a query on Logs Insights itself: StartQuery, then GetQueryResults
/// until it completes (reporting progress), StopQuery when `stop` resolves first.
pub async fn run_insights_query(
    aws: &Aws,
    groups: &[String],
    query: &str,
    window: Window,
    mut progress: impl FnMut(&QueryProgress),
    stop: impl std::future::Future<Output = ()>,
) -> Result<QueryResult, AwsError> {
    let started = aws
        .logs
        .start_query()
        .set_log_group_names(Some(groups.to_vec()))
        .start_time(window.start_ms / 1000)
        .end_time(window.end_ms / 1000)
        .query_string(query)
        .send()
        .await
        .map_err(|e| aws.error("logs:StartQuery", e))?;
    let id = started.query_id().unwrap_or_default().to_string();
    tokio::pin!(stop);
    let mut delay = Duration::from_millis(200);
    loop {
        let r = aws
            .logs
            .get_query_results()
            .query_id(&id)
            .send()
            .await
            .map_err(|e| aws.error("logs:GetQueryResults", e))?;
        let status = r.status().map_or("Unknown", |s| s.as_str()).to_string();
        let statistics = r
            .statistics()
            .map_or_else(Statistics::default, |s| Statistics {
                records_matched: s.records_matched(),
                records_scanned: s.records_scanned(),
                bytes_scanned: s.bytes_scanned(),
            });
        progress(&QueryProgress {
            status: status.clone(),
            statistics,
        });
        match status.as_str() {
            "Complete" => return Ok(result_of(&r, statistics)),
            "Failed" | "Cancelled" | "Timeout" | "Unknown" => {
                return Err(AwsError::QueryEnded {
                    query_id: id,
                    status,
                });
            }
            _ => {}
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = &mut stop => {
                let _ = aws.logs.stop_query().query_id(&id).send().await;
                return Err(AwsError::QueryEnded { query_id: id, status: "Cancelled".into() });
            }
        }
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// Rows as AWS returns them (without `@ptr`), columns in first-seen order.
fn result_of(
    r: &aws_sdk_cloudwatchlogs::operation::get_query_results::GetQueryResultsOutput,
    statistics: Statistics,
) -> QueryResult {
    let mut fields: Vec<String> = Vec::new();
    let rows = r
        .results()
        .iter()
        .map(|row| {
            row.iter()
                .filter_map(|c| Some((c.field()?.to_string(), c.value()?.to_string())))
                .filter(|(f, _)| f != "@ptr")
                .inspect(|(f, _)| {
                    if !fields.contains(f) {
                        fields.push(f.clone());
                    }
                })
                .collect()
        })
        .collect();
    QueryResult {
        fields,
        rows,
        statistics,
    }
}
