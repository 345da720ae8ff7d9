//! Logs Insights query definitions. DescribeQueryDefinitions lists those
//! whose names start with `vpcform/` (one paginated call); the stack's are
//! those whose name records it. PutQueryDefinition creates, or with the
//! definition's id rewrites name, query and log groups at once.

use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::kinds::metric_filter::owner_of_name;
use vpcform_topology::kinds::query_definition::{LOG_GROUP_NAMES, QUERY_NAME, QUERY_STRING};

use crate::apply::{id, outcome, required, unless_gone};
use crate::kind::{AwsKind, Read, Scan};
use crate::read::{Found, ReadCx, owner_tags, placed};
use crate::{Aws, AwsError};

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let mut found = Found::default();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .logs
            .describe_query_definitions()
            .query_definition_name_prefix("vpcform/")
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws.error("logs:DescribeQueryDefinitions", e))?;
        for q in page.query_definitions() {
            let name = q.name().unwrap_or_default();
            let Some((stack, address)) = owner_of_name(name) else {
                continue;
            };
            let id = q.query_definition_id().unwrap_or_default();
            let Some(tags) = owner_tags(ResourceKind::QueryDefinition, stack, address) else {
                continue;
            };
            let kind = ResourceKind::QueryDefinition;
            let Some(place) = cx.place(kind, &tags, id, &mut found.conflicts) else {
                continue;
            };
            let groups: Vec<Value> = q
                .log_group_names()
                .iter()
                .map(|g| Value::from(g.as_str()))
                .collect();
            found.objects.push(placed(
                place,
                id,
                vec![
                    (QUERY_NAME, Value::from(name)),
                    (
                        QUERY_STRING,
                        Value::from(q.query_string().unwrap_or_default()),
                    ),
                    (LOG_GROUP_NAMES, Value::Array(groups)),
                ],
            ));
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(found),
        }
    }
}

/// Writes the definition: a new one without `existing`, else that one rewritten.
async fn put(aws: &Aws, op: &Operation, existing: Option<&str>) -> Result<String, AwsError> {
    let groups: Vec<String> = LOG_GROUP_NAMES
        .get(&op.attrs)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str().map(str::to_string))
        .collect();
    let put = aws
        .logs
        .put_query_definition()
        .name(required(op, QUERY_NAME)?)
        .query_string(required(op, QUERY_STRING)?)
        .set_log_group_names(Some(groups))
        .set_query_definition_id(existing.map(str::to_string))
        .send()
        .await
        .map_err(|e| aws.error("logs:PutQueryDefinition", e))?;
    Ok(put.query_definition_id().unwrap_or_default().to_string())
}

/// A Logs Insights query definition (id: its query definition id).
pub(crate) struct QueryDefinition;

impl AwsKind for QueryDefinition {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::Never;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(put(aws, op, None).await?))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let existing = id(op)?;
        put(aws, op, Some(existing)).await?;
        Ok(outcome(existing))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(id(op)?))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let existing = id(op)?;
        unless_gone(
            aws.logs
                .delete_query_definition()
                .query_definition_id(existing)
                .send()
                .await
                .map_err(|e| aws.error("logs:DeleteQueryDefinition", e)),
            existing,
        )
    }
}
