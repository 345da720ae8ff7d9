//! CloudWatch dashboards. AWS keeps no tags on a dashboard, so the body
//! records its owner: vpcform writes a first text widget naming the stack
//! and address (see vpcform-aws), which the reader takes out again. The
//! declared body is the widgets without it; metric and log widgets get
//! the stack's region where they name none.

use schemars::JsonSchema;
use serde_json::{Value, json};

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
use crate::registry::Topology;
use crate::validate::{NameIndex, UniqueNames};
use crate::yaml::{Node, NodeKind};

pub const DASHBOARD_NAME: Attr = Attr::new("dashboard_name");
pub const DASHBOARD_BODY: Attr = Attr::new("dashboard_body");

/// The lookup (in the live state's `lookups`) that holds the region the
/// account was read in: a widget naming it says what vpcform fills in.
pub const REGION_LOOKUP: &str = "aws:region";

/// Widget types CloudWatch dashboards draw.
pub const WIDGET_TYPES: &[&str] = &["metric", "text", "log", "alarm", "explorer"];

/// A dashboard.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Dashboard {
    /// 1-255 letters, digits, `-` and `_`. Changing it replaces the dashboard.
    #[schemars(with = "String")]
    pub name: At<String>,
    /// CloudWatch widget objects (`type`, `x`, `y`, `width`, `height`, `properties`).
    #[schemars(with = "Vec<serde_json::Value>")]
    pub widgets: At<Value>,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// Refused: AWS keeps no tags on a dashboard, so vpcform cannot adopt one.
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
    #[schemars(skip)]
    pub widgets_node: Node,
}

/// A JSON document given as text (as AWS returns it) or as structure.
pub fn parse_json(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) => serde_json::from_str(s).ok(),
        other => Some(other.clone()),
    }
}

impl Kind for Dashboard {
    const KIND: ResourceKind = ResourceKind::Dashboard;
    const NAME_IS_IDENTITY: bool = true;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(DASHBOARD_NAME, Compare::Exact),
        AttrSpec::update(DASHBOARD_BODY, Compare::Json),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::CreateFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let d = cx.index.dashboards.get(a.name.as_str())?;
        let mut widgets = d.widgets.value.clone();
        // A widget naming the stack's own region says what vpcform fills in
        // anyway, and the read leaves it out: compare it the same way.
        if let (Some(region), Some(list)) = (cx.lookups.get(REGION_LOOKUP), widgets.as_array_mut())
        {
            for w in list {
                let regional = matches!(w["type"].as_str(), Some("metric" | "log"));
                if let Some(p) = w.get_mut("properties").and_then(Value::as_object_mut)
                    && regional
                    && p.get("region").and_then(Value::as_str) == Some(region)
                {
                    p.remove("region");
                }
            }
        }
        Some(DesiredAttrs::from([
            (DASHBOARD_NAME, Desired::known(d.name.value.clone())),
            (
                DASHBOARD_BODY,
                Desired::Known(json!({ "widgets": widgets })),
            ),
        ]))
    }
}

impl Declared for Dashboard {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let name = f.required("name", cx);
        let widgets_node = f.take("widgets").cloned();
        let widgets = f.required("widgets", cx);
        let deps = f.maybe("depends-on", cx);
        let import_id = f.maybe("import-id", cx);
        f.finish(cx);
        Some(Dashboard {
            name: name?,
            widgets: widgets?,
            depends_on: deps.ok()?.unwrap_or_default(),
            import_id: import_id.ok()?,
            widgets_node: widgets_node?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, _: &NameIndex<'_>, cx: &mut Cx) {
        let mut names = UniqueNames::new(
            "duplicate-dashboard",
            "dashboard",
            "dashboard names are unique in an account",
        );
        for item in items {
            let name = &item.spec.name;
            let ok = !name.value.is_empty()
                && name.value.len() <= 255
                && name
                    .value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                cx.push(
                    Diagnostic::error(
                        "invalid-dashboard",
                        name.span,
                        format!("`{}` is not a valid dashboard name", name.value),
                    )
                    .with_help("use 1-255 letters, digits, `-` and `_`"),
                );
            }
            names.check(name, cx);
            check_widgets(&item.spec.widgets_node, cx);
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for r in items {
            b.node(
                Address::new(ResourceKind::Dashboard, &r.name.value),
                r.name.span,
            );
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::NotAdoptable;

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = Some(DASHBOARD_NAME);

    /// Never called: `vpcform import` does not scan dashboards (see the AWS side).
    fn export(_: &Observed, _: &mut ExportCx) -> Option<Map> {
        None
    }
}

fn check_widgets(node: &Node, cx: &mut Cx) {
    let NodeKind::Seq(widgets) = &node.kind else {
        cx.push(
            Diagnostic::error(
                "invalid-dashboard",
                node.span,
                "`widgets` is a list of widgets",
            )
            .with_help("write `- type: metric` entries"),
        );
        return;
    };
    for w in widgets {
        let NodeKind::Map(entries) = &w.kind else {
            cx.push(
                Diagnostic::error("invalid-dashboard", w.span, "a widget is a mapping")
                    .with_help("give at least `type` and `properties`"),
            );
            continue;
        };
        let get = |key: &str| {
            entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v)
        };
        match get("type").and_then(Node::as_str) {
            Some(t) if WIDGET_TYPES.contains(&t) => {}
            _ => cx.push(
                Diagnostic::error(
                    "invalid-dashboard",
                    get("type").map_or(w.span, |n| n.span),
                    "a widget's `type` is one of metric, text, log, alarm, explorer",
                )
                .with_help("set `type`"),
            ),
        }
        for (key, max) in [("width", 24), ("height", 1000), ("x", 23), ("y", 100_000)] {
            let Some(n) = get(key) else { continue };
            let ok = matches!(n.kind, NodeKind::Int(i) if (0..=max).contains(&i))
                && !(matches!(key, "width" | "height") && matches!(n.kind, NodeKind::Int(0)));
            if !ok {
                cx.push(
                    Diagnostic::error(
                        "invalid-dashboard",
                        n.span,
                        format!("a widget's `{key}` is a whole number up to {max}"),
                    )
                    .with_help("the dashboard grid is 24 units wide"),
                );
            }
        }
    }
}
