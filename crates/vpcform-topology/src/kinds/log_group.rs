//! CloudWatch Logs log groups: a name unique in the region and a retention.

use schemars::JsonSchema;
use serde_json::{Value, json};

use crate::address::{Address, ResourceKind};
use crate::attr::TAGS;
use crate::decode::{Cx, Fields, common_fields};
use crate::diagnostic::Diagnostic;
use crate::emit::Map;
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::model::{At, Named, Ref, Tags};
use crate::registry::Topology;
use crate::validate::{NameIndex, UniqueNames};
use crate::yaml::Node;

pub const LOG_GROUP_NAME: Attr = Attr::new("log_group_name");
pub const RETENTION_IN_DAYS: Attr = Attr::new("retention_in_days");
pub const KMS_KEY_ID: Attr = Attr::new("kms_key_id");

/// CloudWatch Logs retention values AWS accepts.
pub const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LogGroup {
    /// The log group name in CloudWatch Logs.
    pub name: At<String>,
    /// One of AWS's values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    /// 1096, 1827, 2192, 2557, 2922, 3288, 3653. Omit to keep logs forever.
    pub retention_days: Option<At<i64>>,
    /// The ARN of a KMS key that encrypts the logs (its policy must let
    /// `logs.REGION.amazonaws.com` use it); omit for CloudWatch's own key.
    pub kms_key_id: Option<At<String>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`vpcform import` writes it).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl Kind for LogGroup {
    const KIND: ResourceKind = ResourceKind::LogGroup;
    const NAME_IS_IDENTITY: bool = true;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(LOG_GROUP_NAME, Compare::Exact),
        AttrSpec::update(RETENTION_IN_DAYS, Compare::Exact),
        AttrSpec::update(KMS_KEY_ID, Compare::Exact),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let l = cx.index.log_groups.get(a.name.as_str())?;
        Some(DesiredAttrs::from([
            (LOG_GROUP_NAME, Desired::known(l.name.value.clone())),
            (
                RETENTION_IN_DAYS,
                Desired::Known(
                    l.retention_days
                        .as_ref()
                        .map_or(Value::Null, |r| json!(r.value)),
                ),
            ),
            (KMS_KEY_ID, Desired::optional(l.kms_key_id.as_ref())),
            (TAGS, cx.tags(a, &l.tags)),
        ]))
    }
}

impl Declared for LogGroup {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let name = f.required("name", cx);
        let retention = f.maybe("retention-days", cx);
        let kms_key_id = f.maybe("kms-key-id", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(LogGroup {
            name: name?,
            retention_days: retention.ok()?,
            kms_key_id: kms_key_id.ok()?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, _: &NameIndex<'_>, cx: &mut Cx) {
        let mut names = UniqueNames::new(
            "duplicate-log-group-name",
            "log group",
            "log group names are unique in a region",
        );
        for lg in items {
            let name = &lg.spec.name;
            check_name(name, cx);
            crate::validate::check_import_name(lg.spec.import_id.as_ref(), name, cx);
            names.check(name, cx);
            if let Some(days) = &lg.spec.retention_days {
                check_retention(days, cx);
            }
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for r in items {
            b.node(
                Address::new(ResourceKind::LogGroup, &r.name.value),
                r.name.span,
            );
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Name;

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = Some(LOG_GROUP_NAME);

    fn export(o: &Observed, _: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        m.set("name", o.str(LOG_GROUP_NAME)?);
        m.maybe(
            "retention-days",
            o.get(RETENTION_IN_DAYS).and_then(Value::as_i64),
        );
        m.maybe("kms-key-id", o.str(KMS_KEY_ID));
        Some(m)
    }
}

fn check_name(name: &At<String>, cx: &mut Cx) {
    let valid = !name.value.is_empty()
        && name.value.len() <= 512
        && name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c));
    if !valid {
        cx.push(
            Diagnostic::error(
                "invalid-log-group-name",
                name.span,
                format!("`{}` is not a valid log group name", name.value),
            )
            .with_help("use 1-512 characters from a-z, A-Z, 0-9, `.`, `_`, `-`, `/` and `#`"),
        );
    }
}

fn check_retention(days: &At<i64>, cx: &mut Cx) {
    if RETENTION_DAYS.contains(&days.value) {
        return;
    }
    let nearest = RETENTION_DAYS
        .iter()
        .min_by_key(|d| (*d - days.value).abs())
        .copied()
        .unwrap_or(7);
    cx.push(
        Diagnostic::error(
            "invalid-retention",
            days.span,
            format!(
                "CloudWatch Logs does not accept a retention of {} days",
                days.value
            ),
        )
        .with_help(format!(
            "use one of {} (nearest: {nearest})",
            RETENTION_DAYS
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    );
}
