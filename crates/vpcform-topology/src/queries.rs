//! `queries:`: named Logs Insights queries kept beside the network they
//! watch. Placeholders `${instance.NAME.private-ip}` (or `id`) are filled
//! from live state when the query runs.

use schemars::JsonSchema;

use crate::address::ResourceKind;
use crate::decode::{Cx, Fields, map_entries};
use crate::diagnostic::{Diagnostic, Span};
use crate::model::{At, Named, Ref};
use crate::validate::NameIndex;
use crate::yaml::Node;

/// A named query.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SavedQuery {
    /// The Logs Insights query, e.g. `stats count() by protocol`.
    #[schemars(with = "String")]
    pub query: At<String>,
    /// Logical names of the log groups to read; default: the flow logs' groups.
    #[schemars(default)]
    pub log_groups: Vec<Ref>,
    pub description: Option<At<String>>,
}

/// Attributes a placeholder may ask for.
pub const PLACEHOLDER_ATTRIBUTES: &[&str] = &["private-ip", "id"];

/// One `${kind.name.attribute}` of a query, with its byte range in the query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placeholder {
    pub kind: String,
    pub name: String,
    pub attribute: String,
    pub range: std::ops::Range<usize>,
}

/// The placeholders of a query text.
pub fn placeholders(text: &str) -> Vec<Placeholder> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = text[from..].find("${").map(|i| i + from) {
        let Some(end) = text[start..].find('}').map(|i| i + start) else {
            break;
        };
        let inner = &text[start + 2..end];
        // The name may hold dots of its own (`spoke-a.app`): the kind is
        // before the first, the attribute after the last.
        let split = inner
            .split_once('.')
            .and_then(|(kind, rest)| Some((kind, rest.rsplit_once('.')?)));
        if let Some((kind, (name, attribute))) = split {
            out.push(Placeholder {
                kind: kind.to_string(),
                name: name.to_string(),
                attribute: attribute.to_string(),
                range: start..end + 1,
            });
        }
        from = end + 1;
    }
    out
}

/// The query with each placeholder replaced by `value` (`None`: left as is).
pub fn fill(
    text: &str,
    mut value: impl FnMut(&Placeholder) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for p in placeholders(text) {
        out.push_str(&text[at..p.range.start]);
        match value(&p) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(format!(
                    "`${{{}.{}.{}}}` has no value yet (the instance does not exist or has no such address)",
                    p.kind, p.name, p.attribute
                ));
            }
        }
        at = p.range.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

pub(crate) fn decode(node: &Node, cx: &mut Cx) -> Vec<Named<SavedQuery>> {
    let Some(entries) = map_entries(node, cx) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        let Some(name) = key.as_str() else { continue };
        if !crate::model::is_valid_name(name) {
            cx.push(crate::model::invalid_name(name, key.span));
            continue;
        }
        let Some(mut f) = Fields::new(value, format!("query `{name}`"), cx) else {
            continue;
        };
        let query = f.required("query", cx);
        let groups = f.maybe("log-groups", cx);
        let description = f.maybe("description", cx);
        f.finish(cx);
        let (Some(query), Ok(groups), Ok(description)) = (query, groups, description) else {
            continue;
        };
        out.push(Named {
            name: At::new(name.to_string(), key.span),
            spec: SavedQuery {
                query,
                log_groups: groups.unwrap_or_default(),
                description,
            },
        });
    }
    out
}

/// Each query parses (placeholders stand for an address), its placeholders
/// name declared instances, and its log groups are declared.
pub(crate) fn validate(queries: &[Named<SavedQuery>], index: &NameIndex<'_>, cx: &mut Cx) {
    for q in queries {
        let text = &q.spec.query;
        for p in placeholders(&text.value) {
            let span = offset_span(text, p.range.start);
            if p.kind != "instance" || !PLACEHOLDER_ATTRIBUTES.contains(&p.attribute.as_str()) {
                cx.push(
                    Diagnostic::error(
                        "invalid-placeholder",
                        span,
                        format!(
                            "`${{{}.{}.{}}}` is not a placeholder vpcform fills",
                            p.kind, p.name, p.attribute
                        ),
                    )
                    .with_help("use ${instance.NAME.private-ip} or ${instance.NAME.id}"),
                );
                continue;
            }
            index.check(
                &At::new(p.name.clone(), span),
                ResourceKind::Instance,
                "a query placeholder",
                cx,
            );
        }
        let sample = fill(&text.value, |_| Some("10.0.0.1".into())).unwrap_or_default();
        if let Err(e) = vpcform_insights::compile(&sample) {
            // Columns of the sample match the text's until the first placeholder.
            let span = offset_span(text, e.column.saturating_sub(1));
            cx.push(
                Diagnostic::error(
                    "invalid-query",
                    span,
                    format!("query `{}`: {}", q.name.value, e.message),
                )
                .with_help(
                    "see docs/topology.md (Queries) for the Logs Insights commands vpcform runs",
                ),
            );
        }
        for g in &q.spec.log_groups {
            index.check(g, ResourceKind::LogGroup, "log-groups", cx);
        }
    }
}

/// The position of byte `offset` of a one-line scalar (its quotes aside).
fn offset_span(text: &At<String>, offset: usize) -> Span {
    let mut span = text.span;
    if span.line > 0 {
        span.column +=
            u32::try_from(text.value[..offset.min(text.value.len())].chars().count()).unwrap_or(0);
    }
    span
}
