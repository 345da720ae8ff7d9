//! SNS topics that alarms notify, with their email and HTTPS subscriptions
//! (implicit objects of the topic, keyed `protocol:endpoint`, so they
//! compare as the set they are).

use std::collections::HashMap;

use schemars::JsonSchema;

use crate::address::{Address, ResourceKind};
use crate::attr::TAGS;
use crate::decode::{Cx, Fields, common_fields, list_of};
use crate::diagnostic::{Diagnostic, Span};
use crate::emit::{Map, Yaml};
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

pub const TOPIC_NAME: Attr = Attr::new("topic_name");
pub const DISPLAY_NAME: Attr = Attr::new("display_name");
pub const TOPIC_ARN: Attr = Attr::new("topic_arn");
pub const PROTOCOL: Attr = Attr::new("protocol");
pub const ENDPOINT: Attr = Attr::new("endpoint");

/// An SNS topic (its id is its ARN).
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SnsTopic {
    /// The topic's name: 1-256 letters, digits, `-` and `_`. Changing it replaces the topic.
    pub name: At<String>,
    /// The sender name of email notifications.
    pub display_name: Option<At<String>>,
    /// Who is notified: `- email: ops@example.com` or `- https: https://…`.
    /// An email address must confirm before it receives anything.
    #[schemars(default)]
    pub subscriptions: Vec<Subscription>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The ARN of an existing topic this declaration adopts.
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

/// One subscription: a protocol and where it delivers.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub protocol: SubscriptionProtocol,
    pub endpoint: At<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriptionProtocol {
    Email,
    Https,
}

impl SubscriptionProtocol {
    pub const ALL: [SubscriptionProtocol; 2] =
        [SubscriptionProtocol::Email, SubscriptionProtocol::Https];

    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionProtocol::Email => "email",
            SubscriptionProtocol::Https => "https",
        }
    }
}

impl Subscription {
    /// The address key: `email:ops@example.com`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.protocol.as_str(), self.endpoint.value)
    }
}

impl JsonSchema for Subscription {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SnsSubscription".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "One subscription: `email: ADDRESS` or `https: URL`.",
            "type": "object",
            "properties": {
                "email": { "description": "An email address (it must confirm the subscription).", "type": "string" },
                "https": { "description": "An HTTPS endpoint that receives each notification as a POST.", "type": "string" }
            },
            "additionalProperties": false,
            "minProperties": 1,
            "maxProperties": 1
        })
    }
}

impl Kind for SnsTopic {
    const KIND: ResourceKind = ResourceKind::SnsTopic;
    const NAME_IS_IDENTITY: bool = true;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(TOPIC_NAME, Compare::Exact),
        AttrSpec::update(DISPLAY_NAME, Compare::Exact),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::CreateFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let t = cx.index.sns_topics.get(a.name.as_str())?;
        Some(DesiredAttrs::from([
            (TOPIC_NAME, Desired::known(t.name.value.clone())),
            (DISPLAY_NAME, Desired::optional(t.display_name.as_ref())),
            (TAGS, cx.tags(a, &t.tags)),
        ]))
    }
}

impl Declared for SnsTopic {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let name = f.required("name", cx);
        let display_name = f.maybe("display-name", cx);
        let subscriptions = f
            .take("subscriptions")
            .map(|n| list_of(n, cx, decode_subscription));
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(SnsTopic {
            name: name?,
            display_name: display_name.ok()?,
            subscriptions: subscriptions.unwrap_or(Some(Vec::new()))?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, _: &NameIndex<'_>, cx: &mut Cx) {
        let mut names = UniqueNames::new(
            "duplicate-topic-name",
            "SNS topic",
            "topic names are unique in an account and region",
        );
        for topic in items {
            let name = &topic.spec.name;
            check_topic_name(name, cx);
            crate::validate::check_import_name(topic.spec.import_id.as_ref(), name, cx);
            names.check(name, cx);
            let mut seen: HashMap<String, Span> = HashMap::new();
            for s in &topic.spec.subscriptions {
                check_endpoint(s, cx);
                if let Some(first) = seen.insert(s.key(), s.endpoint.span) {
                    cx.push(
                        Diagnostic::error(
                            "duplicate-subscription",
                            s.endpoint.span,
                            format!("`{}` is already subscribed", s.endpoint.value),
                        )
                        .with_related(first, "first subscribed here")
                        .with_help("list each endpoint once"),
                    );
                }
            }
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for t in items {
            let name = &t.name.value;
            b.node(Address::new(ResourceKind::SnsTopic, name), t.name.span);
            for s in &t.spec.subscriptions {
                let at = b.node(
                    Address::keyed(ResourceKind::SnsSubscription, name, s.key()),
                    s.endpoint.span,
                );
                b.edge(at, Address::new(ResourceKind::SnsTopic, name));
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::TopicArn;

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = Some(TOPIC_NAME);

    fn export(o: &Observed, _: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        m.set("name", o.str(TOPIC_NAME)?);
        m.maybe(
            "display-name",
            o.str(DISPLAY_NAME).filter(|d| !d.is_empty()),
        );
        let subscriptions = o
            .children_of(ResourceKind::SnsSubscription)
            .filter_map(|s| {
                let mut one = Map::new();
                one.set(PROTOCOL.str(s)?, ENDPOINT.str(s)?);
                Some(Yaml::from(one))
            })
            .collect();
        m.list("subscriptions", subscriptions);
        Some(m)
    }
}

fn decode_subscription(node: &Node, cx: &mut Cx) -> Option<Subscription> {
    let mut f = Fields::new(node, "a subscription", cx)?;
    let mut found = Vec::new();
    for protocol in SubscriptionProtocol::ALL {
        if let Ok(Some(endpoint)) = f.maybe::<At<String>>(protocol.as_str(), cx) {
            found.push(Subscription { protocol, endpoint });
        }
    }
    let span = f.span();
    f.finish(cx);
    if found.len() != 1 {
        cx.push(
            Diagnostic::error(
                "invalid-subscription",
                span,
                "a subscription names one protocol and its endpoint",
            )
            .with_help(
                "write `- email: ops@example.com` or `- https: https://hooks.example.com/alerts`",
            ),
        );
        return None;
    }
    found.pop()
}

fn check_topic_name(name: &At<String>, cx: &mut Cx) {
    let valid = !name.value.is_empty()
        && name.value.len() <= 256
        && name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        cx.push(
            Diagnostic::error(
                "invalid-topic-name",
                name.span,
                format!("`{}` is not a valid SNS topic name", name.value),
            )
            .with_help("use 1-256 letters, digits, `-` and `_` (FIFO topics cannot notify email)"),
        );
    }
}

fn check_endpoint(s: &Subscription, cx: &mut Cx) {
    let e = &s.endpoint.value;
    let problem = match s.protocol {
        SubscriptionProtocol::Email => {
            let parts: Vec<&str> = e.split('@').collect();
            let ok = parts.len() == 2
                && !parts[0].is_empty()
                && parts[1].contains('.')
                && !e
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c));
            (!ok).then_some("an email address such as `ops@example.com`")
        }
        SubscriptionProtocol::Https => {
            let host = e.strip_prefix("https://").unwrap_or_default();
            let authority = host.split(['/', '?', '#']).next().unwrap_or_default();
            if authority.contains('@') {
                cx.push(
                    Diagnostic::error(
                        "invalid-subscription",
                        s.endpoint.span,
                        "this endpoint holds credentials (`user:password@`), which every plan and pull-request comment would show",
                    )
                    .with_help("keep secrets out of the topology: authenticate the endpoint another way (a signed path, or SNS's message signature)"),
                );
                return;
            }
            let ok =
                !authority.is_empty() && !e.chars().any(|c| c.is_whitespace() || c.is_control());
            (!ok).then_some("an `https://` URL")
        }
    };
    if let Some(want) = problem {
        cx.push(
            Diagnostic::error(
                "invalid-subscription",
                s.endpoint.span,
                format!("`{e}` is not a valid {} endpoint", s.protocol.as_str()),
            )
            .with_help(format!("write {want}")),
        );
    }
}

/// One subscription of a topic (address key: `protocol:endpoint`).
#[derive(Debug)]
pub struct SubscriptionKind;

impl Kind for SubscriptionKind {
    const KIND: ResourceKind = ResourceKind::SnsSubscription;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(TOPIC_ARN, Compare::Id),
        AttrSpec::replace(PROTOCOL, Compare::Exact),
        AttrSpec::replace(ENDPOINT, Compare::Exact),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::CreateFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let key = a.key.as_deref()?;
        let topic = cx.index.sns_topics.get(a.name.as_str())?;
        let s = topic.subscriptions.iter().find(|s| s.key() == key)?;
        Some(DesiredAttrs::from([
            (TOPIC_ARN, Desired::id_of(ResourceKind::SnsTopic, &a.name)),
            (PROTOCOL, Desired::known(s.protocol.as_str())),
            (ENDPOINT, Desired::known(s.endpoint.value.clone())),
        ]))
    }
}
