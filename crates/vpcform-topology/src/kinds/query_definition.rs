//! Logs Insights query definitions: saved queries the CloudWatch console
//! lists under "Queries". AWS keeps no tags on them, so the name records
//! the owner, `vpcform/STACK/ADDRESS` (the console shows it as folders).

use schemars::JsonSchema;
use serde_json::Value;

use crate::address::{Address, ResourceKind};
use crate::decode::{Cx, Fields};
use crate::diagnostic::Diagnostic;
use crate::emit::Map;
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::model::{At, Named, Ref};
use crate::registry::{Topology, TopologyIndex};
use crate::validate::NameIndex;
use crate::yaml::Node;

pub const QUERY_NAME: Attr = Attr::new("query_name");
pub const QUERY_STRING: Attr = Attr::new("query_string");
pub const LOG_GROUP_NAMES: Attr = Attr::new("log_group_names");

/// A saved Logs Insights query.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct QueryDefinition {
    /// The Logs Insights query, e.g. `filter action = 'REJECT' | stats count() by srcAddr`.
    #[schemars(with = "String")]
    pub query: At<String>,
    /// Logical names of the log groups it reads (default: the flow logs' groups).
    #[schemars(default)]
    pub log_groups: Vec<Ref>,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// Refused: AWS keeps no tags on a query definition, so vpcform cannot adopt one.
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl QueryDefinition {
    /// The definition's name in AWS, which records its owner.
    pub fn aws_name(stack: &str, address: &Address) -> String {
        format!("vpcform/{stack}/{}", address.tag_value())
    }

    /// The AWS names of the log groups it reads, sorted.
    pub fn group_names(&self, t: &TopologyIndex<'_>) -> Vec<String> {
        let logical: Vec<&str> = match self.log_groups.is_empty() {
            false => self.log_groups.iter().map(|r| r.value.as_str()).collect(),
            true => t
                .flow_logs
                .values()
                .map(|l| l.log_group.value.as_str())
                .collect(),
        };
        let mut names: Vec<String> = logical
            .into_iter()
            .map(|l| {
                t.log_groups
                    .get(l)
                    .map_or(l.to_string(), |g| g.name.value.clone())
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

impl Kind for QueryDefinition {
    const KIND: ResourceKind = ResourceKind::QueryDefinition;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::update(QUERY_NAME, Compare::Exact),
        AttrSpec::update(QUERY_STRING, Compare::Exact),
        AttrSpec::update(LOG_GROUP_NAMES, Compare::StringSet),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::CreateFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let q = cx.index.query_definitions.get(a.name.as_str())?;
        let groups: Vec<Value> = q
            .group_names(&cx.index)
            .into_iter()
            .map(Value::from)
            .collect();
        Some(DesiredAttrs::from([
            (
                QUERY_NAME,
                Desired::known(QueryDefinition::aws_name(cx.stack, a)),
            ),
            (QUERY_STRING, Desired::known(q.query.value.clone())),
            (LOG_GROUP_NAMES, Desired::Known(Value::Array(groups))),
        ]))
    }
}

impl Declared for QueryDefinition {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let query = f.required("query", cx);
        let log_groups = f.maybe("log-groups", cx);
        let deps = f.maybe("depends-on", cx);
        let import_id = f.maybe("import-id", cx);
        f.finish(cx);
        Some(QueryDefinition {
            query: query?,
            log_groups: log_groups.ok()?.unwrap_or_default(),
            depends_on: deps.ok()?.unwrap_or_default(),
            import_id: import_id.ok()?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        for item in items {
            let q = &item.spec;
            for g in &q.log_groups {
                index.check(g, ResourceKind::LogGroup, "log-groups", cx);
            }
            if !crate::queries::placeholders(&q.query.value).is_empty() {
                cx.push(
                    Diagnostic::error(
                        "invalid-query",
                        q.query.span,
                        "a saved query cannot name `${instance.NAME.ATTRIBUTE}`: the value is known only after apply",
                    )
                    .with_help("keep such queries in `queries:` (run with `vpcform query NAME`), or write the address"),
                );
            } else if let Err(e) = vpcform_insights::compile(&q.query.value) {
                cx.push(
                    Diagnostic::error(
                        "invalid-query",
                        q.query.span,
                        format!("this Logs Insights query does not parse: {}", e.message),
                    )
                    .with_help("see docs/topology.md (Queries) for the Logs Insights commands vpcform runs"),
                );
            }
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for r in items {
            let at = b.node(
                Address::new(ResourceKind::QueryDefinition, &r.name.value),
                r.name.span,
            );
            for g in &r.spec.log_groups {
                b.edge(at, Address::new(ResourceKind::LogGroup, &g.value));
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::NotAdoptable;

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    /// Never called: `vpcform import` does not scan query definitions.
    fn export(_: &Observed, _: &mut ExportCx) -> Option<Map> {
        None
    }
}
