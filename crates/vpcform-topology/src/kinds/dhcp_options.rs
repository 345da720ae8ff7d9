//! DHCP options sets: the domain name, DNS and NTP servers a VPC hands its
//! instances. AWS never changes a set: any change makes a new one, which
//! the VPC (`dhcp-options: NAME`) is moved to before the old one goes.

use std::net::Ipv4Addr;

use schemars::JsonSchema;
use serde_json::Value;

use crate::address::{Address, ResourceKind};
use crate::attr::TAGS;
use crate::decode::{Cx, Fields, common_fields};
use crate::diagnostic::Diagnostic;
use crate::emit::{Map, Yaml};
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::model::{At, Named, Ref, Tags};
use crate::registry::Topology;
use crate::validate::NameIndex;
use crate::yaml::Node;

pub const DOMAIN_NAME: Attr = Attr::new("domain_name");
pub const DOMAIN_NAME_SERVERS: Attr = Attr::new("domain_name_servers");
pub const NTP_SERVERS: Attr = Attr::new("ntp_servers");

/// The resolver AWS provides in every VPC, as DHCP options name it.
pub const AMAZON_PROVIDED_DNS: &str = "AmazonProvidedDNS";

/// A DHCP options set.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DhcpOptions {
    /// The search domain instances get, e.g. `corp.example.com`.
    pub domain_name: Option<At<String>>,
    /// Up to four IPv4 addresses, or `AmazonProvidedDNS`; in order.
    #[schemars(default)]
    pub domain_name_servers: Vec<At<String>>,
    /// Up to eight IPv4 addresses (Amazon Time Sync is 169.254.169.123).
    #[schemars(default)]
    pub ntp_servers: Vec<At<String>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The id of an existing set this declaration adopts (`dopt-…`).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

fn strings(items: &[At<String>]) -> Value {
    Value::from(items.iter().map(|s| s.value.clone()).collect::<Vec<_>>())
}

impl Kind for DhcpOptions {
    const KIND: ResourceKind = ResourceKind::DhcpOptions;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(DOMAIN_NAME, Compare::Exact),
        AttrSpec::replace(DOMAIN_NAME_SERVERS, Compare::Exact),
        AttrSpec::replace(NTP_SERVERS, Compare::Exact),
        crate::attr::TAGS_SPEC,
    ];

    /// The VPCs move to the new set before the old one goes (AWS refuses
    /// to delete a set a VPC uses).
    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::CreateFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let d = cx.index.dhcp_options.get(a.name.as_str())?;
        Some(DesiredAttrs::from([
            (DOMAIN_NAME, Desired::optional(d.domain_name.as_ref())),
            (
                DOMAIN_NAME_SERVERS,
                Desired::Known(strings(&d.domain_name_servers)),
            ),
            (NTP_SERVERS, Desired::Known(strings(&d.ntp_servers))),
            (TAGS, cx.tags(a, &d.tags)),
        ]))
    }
}

impl Declared for DhcpOptions {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let domain_name = f.maybe("domain-name", cx);
        let dns = f.maybe("domain-name-servers", cx);
        let ntp = f.maybe("ntp-servers", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(DhcpOptions {
            domain_name: domain_name.ok()?,
            domain_name_servers: dns.ok()?.unwrap_or_default(),
            ntp_servers: ntp.ok()?.unwrap_or_default(),
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, _: &NameIndex<'_>, cx: &mut Cx) {
        for set in items {
            let d = &set.spec;
            let name = &set.name.value;
            if d.domain_name.is_none()
                && d.domain_name_servers.is_empty()
                && d.ntp_servers.is_empty()
            {
                cx.push(
                    Diagnostic::error(
                        "dhcp-options-empty",
                        set.name.span,
                        format!("DHCP options set `{name}` sets nothing"),
                    )
                    .with_help("give it `domain-name`, `domain-name-servers` or `ntp-servers`"),
                );
            }
            check_servers(
                name,
                "domain-name-servers",
                &d.domain_name_servers,
                4,
                true,
                cx,
            );
            check_servers(name, "ntp-servers", &d.ntp_servers, 8, false, cx);
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for d in items {
            b.node(
                Address::new(ResourceKind::DhcpOptions, &d.name.value),
                d.name.span,
            );
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("dopt-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, _: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        m.maybe("domain-name", o.str(DOMAIN_NAME));
        for (key, attr) in [
            ("domain-name-servers", DOMAIN_NAME_SERVERS),
            ("ntp-servers", NTP_SERVERS),
        ] {
            let items: Vec<Yaml> = o
                .get(attr)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(Yaml::from).collect())
                .unwrap_or_default();
            m.list(key, items);
        }
        Some(m)
    }
}

/// At most `max` servers, each an IPv4 address (or AWS's resolver, where allowed), each once.
fn check_servers(
    set: &str,
    field: &str,
    servers: &[At<String>],
    max: usize,
    amazon: bool,
    cx: &mut Cx,
) {
    if servers.len() > max {
        cx.push(
            Diagnostic::error(
                "dhcp-options-servers",
                servers[max].span,
                format!("`{field}` of `{set}` holds at most {max} servers"),
            )
            .with_help("AWS refuses more"),
        );
    }
    let mut seen = Vec::new();
    for s in servers {
        let ok = s.value.parse::<Ipv4Addr>().is_ok() || (amazon && s.value == AMAZON_PROVIDED_DNS);
        if !ok {
            let also = if amazon {
                format!(" or `{AMAZON_PROVIDED_DNS}`")
            } else {
                String::new()
            };
            cx.push(
                Diagnostic::error(
                    "dhcp-options-servers",
                    s.span,
                    format!("`{}` is not an IPv4 address", s.value),
                )
                .with_help(format!("write an IPv4 address{also}")),
            );
        }
        if seen.contains(&s.value) {
            cx.push(Diagnostic::error(
                "dhcp-options-servers",
                s.span,
                format!("`{}` is listed twice", s.value),
            ));
        }
        seen.push(s.value.clone());
    }
}
