//! CloudWatch Contributor Insights rules over log groups ("Contributor
//! Insights rule syntax"): the rule body is declared without `Schema` and
//! `LogGroupNames`, which vpcform fills in from `log-groups`.

use schemars::JsonSchema;
use serde_json::{Value, json};

use crate::address::{Address, ResourceKind};
use crate::attr::TAGS;
use crate::decode::{Cx, Fields, common_fields};
use crate::diagnostic::{Diagnostic, Span};
use crate::emit::Map;
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::model::{At, Named, Ref, Tags};
use crate::registry::{Topology, TopologyIndex};
use crate::validate::{NameIndex, UniqueNames};
use crate::yaml::{Node, NodeKind};

pub const RULE_NAME: Attr = Attr::new("rule_name");
pub const RULE_DEFINITION: Attr = Attr::new("rule_definition");
pub const RULE_STATE: Attr = Attr::new("rule_state");

/// A Contributor Insights rule.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ContributorRule {
    /// The rule's name (1-128 printable characters). Changing it replaces the rule.
    #[schemars(with = "String")]
    pub name: At<String>,
    /// Logical names of the log groups it reads.
    pub log_groups: Vec<Ref>,
    /// The rule body without `Schema` and `LogGroupNames`: `LogFormat`
    /// (`CLF` for flow logs, with `Fields` by 1-based position), `Contribution`
    /// (`Keys`, `ValueOf`, `Filters`) and `AggregateOn` (`Count` or `Sum`).
    #[schemars(with = "serde_json::Value")]
    pub definition: At<Value>,
    /// Default true.
    #[schemars(with = "Option<bool>")]
    pub enabled: Option<At<bool>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The name of an existing rule this declaration adopts.
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
    /// Where each part of `definition` was written, for located errors.
    #[schemars(skip)]
    pub definition_node: Node,
}

impl ContributorRule {
    /// The whole rule body AWS stores.
    pub fn body(&self, t: &TopologyIndex<'_>) -> Value {
        let mut body = self.definition.value.clone();
        if let Value::Object(m) = &mut body {
            m.insert(
                "Schema".into(),
                json!({"Name": "CloudWatchLogRule", "Version": 1}),
            );
            let groups: Vec<Value> = self
                .log_groups
                .iter()
                .map(|g| {
                    let name = t
                        .log_groups
                        .get(g.value.as_str())
                        .map_or(g.value.as_str(), |l| l.name.value.as_str());
                    Value::from(name)
                })
                .collect();
            m.insert("LogGroupNames".into(), Value::Array(groups));
        }
        body
    }

    pub fn state(&self) -> &'static str {
        match self.enabled.as_ref().is_none_or(|e| e.value) {
            true => "ENABLED",
            false => "DISABLED",
        }
    }
}

impl Kind for ContributorRule {
    const KIND: ResourceKind = ResourceKind::ContributorInsightsRule;
    const NAME_IS_IDENTITY: bool = true;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(RULE_NAME, Compare::Exact),
        AttrSpec::update(RULE_DEFINITION, Compare::Json),
        AttrSpec::update(RULE_STATE, Compare::Exact),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let r = cx.index.contributor_insights_rules.get(a.name.as_str())?;
        Some(DesiredAttrs::from([
            (RULE_NAME, Desired::known(r.name.value.clone())),
            (RULE_DEFINITION, Desired::Known(r.body(&cx.index))),
            (RULE_STATE, Desired::known(r.state())),
            (TAGS, cx.tags(a, &r.tags)),
        ]))
    }
}

impl Declared for ContributorRule {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let name = f.required("name", cx);
        let log_groups = f.required("log-groups", cx);
        let definition_node = f.take("definition").cloned();
        let definition = f.required("definition", cx);
        let enabled = f.maybe("enabled", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(ContributorRule {
            name: name?,
            log_groups: log_groups?,
            definition: definition?,
            enabled: enabled.ok()?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
            definition_node: definition_node?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let mut names = UniqueNames::new(
            "duplicate-contributor-rule",
            "rule",
            "rule names are unique in an account and region",
        );
        for item in items {
            let r = &item.spec;
            let name = &r.name;
            let printable = name.value.chars().all(|c| (' '..='~').contains(&c));
            if name.value.is_empty() || name.value.len() > 128 || !printable {
                cx.push(
                    Diagnostic::error(
                        "invalid-contributor-rule",
                        name.span,
                        format!("`{}` is not a valid rule name", name.value),
                    )
                    .with_help("use 1-128 printable ASCII characters"),
                );
            }
            crate::validate::check_import_name(r.import_id.as_ref(), name, cx);
            names.check(name, cx);
            for g in &r.log_groups {
                index.check(g, ResourceKind::LogGroup, "log-groups", cx);
            }
            check_definition(&r.definition_node, cx);
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for r in items {
            let at = b.node(
                Address::new(ResourceKind::ContributorInsightsRule, &r.name.value),
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

    const IMPORT_ID: IdShape = IdShape::Name;

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = Some(RULE_NAME);

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        m.set("name", o.str(RULE_NAME)?);
        let body = crate::kinds::dashboard::parse_json(o.get(RULE_DEFINITION)?)?;
        let mut groups = Vec::new();
        for g in body.get("LogGroupNames")?.as_array()? {
            let name = g.as_str()?;
            match cx.name_of(ResourceKind::LogGroup, name) {
                Some(logical) => groups.push(crate::emit::Yaml::from(logical)),
                None => {
                    let why = format!("it reads log group {name}, which is not declared");
                    cx.leave_out(&o.id, "the Contributor Insights rule", why);
                    return None;
                }
            }
        }
        m.list("log-groups", groups);
        let mut definition = body.clone();
        if let Value::Object(d) = &mut definition {
            d.remove("Schema");
            d.remove("LogGroupNames");
        }
        m.set("definition", crate::emit::Yaml::from(&definition));
        m.maybe(
            "enabled",
            (o.str(RULE_STATE) == Some("DISABLED")).then_some(false),
        );
        Some(m)
    }
}

fn child<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    match &node.kind {
        NodeKind::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn strings(node: Option<&Node>) -> Vec<(&str, Span)> {
    match node.map(|n| &n.kind) {
        Some(NodeKind::Seq(items)) => items
            .iter()
            .filter_map(|n| Some((n.as_str()?, n.span)))
            .collect(),
        _ => Vec::new(),
    }
}

fn rule_error(cx: &mut Cx, span: Span, message: impl Into<String>, help: &str) {
    cx.push(Diagnostic::error("invalid-contributor-rule", span, message).with_help(help));
}

/// The body as AWS's rule syntax describes it, each error at its place.
fn check_definition(node: &Node, cx: &mut Cx) {
    for key in ["Schema", "LogGroupNames"] {
        if let Some(n) = child(node, key) {
            let message = format!("`{key}` is written by vpcform");
            rule_error(
                cx,
                n.span,
                message,
                "remove it: vpcform fills it in from `log-groups`",
            );
        }
    }
    let format = child(node, "LogFormat").and_then(Node::as_str);
    if !matches!(format, Some("CLF" | "JSON")) {
        let at = child(node, "LogFormat").map_or(node.span, |n| n.span);
        rule_error(
            cx,
            at,
            "`LogFormat` must be `CLF` or `JSON`",
            "flow-log records are `CLF`",
        );
    }
    let Some(contribution) = child(node, "Contribution") else {
        rule_error(
            cx,
            node.span,
            "a rule needs `Contribution`",
            "add `Contribution: {Keys: [...]}`",
        );
        return;
    };
    let keys = strings(child(contribution, "Keys"));
    if keys.is_empty() || keys.len() > 4 {
        let at = child(contribution, "Keys").map_or(contribution.span, |n| n.span);
        rule_error(
            cx,
            at,
            "`Keys` lists 1 to 4 fields",
            "list the fields a contributor is made of",
        );
    }
    check_aggregate(node, contribution, cx);
    if format == Some("CLF") {
        check_clf_fields(node, contribution, &keys, cx);
    }
}

/// `Count`, or `Sum` of the `ValueOf` field.
fn check_aggregate(node: &Node, contribution: &Node, cx: &mut Cx) {
    let aggregate = child(node, "AggregateOn").and_then(Node::as_str);
    let value_of = child(contribution, "ValueOf");
    match aggregate {
        Some("Count") => {}
        Some("Sum") if value_of.is_some() => {}
        Some("Sum") => rule_error(
            cx,
            contribution.span,
            "`AggregateOn: Sum` needs `ValueOf`",
            "name the field summed, e.g. `ValueOf: bytes`",
        ),
        _ => {
            let at = child(node, "AggregateOn").map_or(node.span, |n| n.span);
            rule_error(
                cx,
                at,
                "`AggregateOn` must be `Count` or `Sum`",
                "use `Count` or `Sum`",
            );
        }
    }
}

/// In CLF, every field a rule uses is named in `Fields` by its position.
fn check_clf_fields(node: &Node, contribution: &Node, keys: &[(&str, Span)], cx: &mut Cx) {
    let Some(NodeKind::Map(fields)) = child(node, "Fields").map(|n| &n.kind) else {
        rule_error(
            cx,
            node.span,
            "a `CLF` rule names its fields by position in `Fields`",
            "add `Fields: {\"4\": srcaddr, \"5\": dstaddr}` (positions count from 1)",
        );
        return;
    };
    let mut named = Vec::new();
    for (k, v) in fields {
        let position_ok = k
            .as_str()
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|p| p >= 1)
            || matches!(k.kind, NodeKind::Int(i) if i >= 1);
        if !position_ok {
            rule_error(
                cx,
                k.span,
                "a `Fields` key is a position counted from 1",
                "write `\"4\": srcaddr`",
            );
        }
        named.extend(v.as_str());
    }
    let mut used: Vec<(&str, Span)> = keys.to_vec();
    used.extend(child(contribution, "ValueOf").and_then(|n| Some((n.as_str()?, n.span))));
    if let Some(NodeKind::Seq(filters)) = child(contribution, "Filters").map(|n| &n.kind) {
        used.extend(filters.iter().filter_map(|f| {
            let m = child(f, "Match")?;
            Some((m.as_str()?, m.span))
        }));
    }
    for (field, span) in used {
        if !named.contains(&field) {
            let message = format!("`{field}` is not named in `Fields`");
            rule_error(
                cx,
                span,
                message,
                "name it in `Fields` at its position in the record",
            );
        }
    }
}
