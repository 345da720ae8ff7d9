//! The reachability corpus (`data/scenarios.yaml`): each scenario changes the
//! seed, asks one flow, and must block on exactly the settings it names.
//! The full verdicts are pinned in one snapshot for review.

use serde::Deserialize;
use vpcform_reach::{Answer, EndpointSpec, Network, Route, RouteTarget, Service, evaluate};
use vpcform_topology::TargetKind;

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct Scenario {
    name: String,
    /// The topology changed: `seed.yaml` unless named.
    base: Option<String>,
    #[serde(default)]
    replace: Vec<(String, String)>,
    #[serde(default)]
    peering_status: std::collections::BTreeMap<String, String>,
    add_route: Option<AddRoute>,
    /// AWS's published addresses of a service's prefix list (`s3: [CIDR, …]`).
    #[serde(default)]
    service_entries: std::collections::BTreeMap<String, Vec<String>>,
    /// The component an `unknown` answer names, when no `add-route` says it.
    unknown_names: Option<String>,
    /// Over IPv6 (implied by an IPv6 address or block).
    #[serde(default)]
    ipv6: bool,
    from: String,
    to: String,
    protocol: String,
    port: Option<u16>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "kebab-case")]
struct AddRoute {
    table: String,
    #[serde(default)]
    destination: String,
    /// A peering's key, or the id of a target the model does not know (`tgw-…`).
    peering: Option<String>,
    unmodeled: Option<String>,
    /// A prefix list's id instead of `destination` (a gateway endpoint's route).
    prefix_list: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Expect {
    Word(String),
    Blocked(Vec<String>),
}

fn network(s: &Scenario) -> Network {
    let base = s.base.as_deref().unwrap_or("seed.yaml");
    let mut text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(base),
    )
    .unwrap();
    for (from, to) in &s.replace {
        assert!(
            text.contains(from.as_str()),
            "{}: `{from}` is not in the seed",
            s.name
        );
        text = text.replacen(from.as_str(), to, 1);
    }
    let loaded = vpcform_topology::load(&s.name, text.as_bytes());
    let errors: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| &d.message)
        .collect();
    assert!(errors.is_empty(), "{}: {errors:?}", s.name);
    let mut n = vpcform_reach::from_topology(loaded.topology.as_ref().unwrap());
    for (key, status) in &s.peering_status {
        n.peerings
            .iter_mut()
            .find(|p| &p.key == key)
            .unwrap()
            .status = status.clone();
    }
    for (service, entries) in &s.service_entries {
        let list = n
            .prefix_lists
            .iter_mut()
            .find(|l| l.service.as_deref() == Some(service.as_str()))
            .unwrap_or_else(|| panic!("{}: no list of {service}", s.name));
        list.entries = Some(entries.iter().map(|e| e.parse().unwrap()).collect());
        list.id = Some("pl-63a5400a".into());
    }
    if let Some(r) = &s.add_route {
        let table = n
            .route_tables
            .iter_mut()
            .find(|t| t.key == r.table)
            .unwrap();
        if let (Some(list), Some(id)) = (&r.prefix_list, &r.unmodeled) {
            let via = RouteTarget::Unmodeled {
                what: "VPC endpoint".into(),
                id: id.clone(),
            };
            table.prefix_list_routes.push((list.clone(), via));
            return n;
        }
        table.routes.push(Route {
            destination: r.destination.parse().unwrap(),
            target: match (&r.peering, &r.unmodeled) {
                (Some(p), None) => RouteTarget::To(TargetKind::Peering, p.clone()),
                (None, Some(id)) => RouteTarget::Unmodeled {
                    what: "transit gateway".into(),
                    id: id.clone(),
                },
                _ => panic!("{}: add-route needs one of peering, unmodeled", s.name),
            },
        });
    }
    n
}

fn service(s: &Scenario) -> Service {
    let service = match s.protocol.as_str() {
        "icmp" => Service::icmp(),
        "tcp" => Service::tcp(s.port.unwrap()),
        "udp" => Service::udp(s.port.unwrap()),
        other => panic!("{}: protocol {other}", s.name),
    };
    if s.ipv6 { service.over_ipv6() } else { service }
}

#[test]
fn every_scenario_blocks_exactly_where_it_says() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/scenarios.yaml"
    ))
    .unwrap();
    let scenarios: Vec<Scenario> = serde_saphyr::from_str(&text).unwrap();
    assert!(scenarios.len() >= 15);
    let mut report = String::new();
    for s in &scenarios {
        let n = network(s);
        let from: EndpointSpec = s.from.parse().unwrap();
        let to: EndpointSpec = s.to.parse().unwrap();
        let v = match evaluate(&n, &from, &to, service(s)) {
            Ok(v) => v,
            // The question does not apply (an endpoint without an address of the family).
            Err(e) => {
                assert!(
                    matches!(&s.expect, Expect::Word(w) if w == "error"),
                    "{}: {e}",
                    s.name
                );
                report.push_str(&format!(
                    "## {}
error: {e}
",
                    s.name
                ));
                continue;
            }
        };
        assert!(
            !matches!(&s.expect, Expect::Word(w) if w == "error"),
            "{}: expected an error\n{}",
            s.name,
            v.to_text()
        );
        let got: Vec<String> = v
            .blocked
            .iter()
            .map(|b| format!("{} {} {}", b.code, b.component, b.leg))
            .collect();
        match &s.expect {
            Expect::Word(w) if w == "unknown" => {
                assert_eq!(v.answer, Answer::Unknown, "{}\n{}", s.name, v.to_text());
                assert!(!v.reachable && got.is_empty(), "{}: {got:?}", s.name);
                // Named: the prefix list, else the target.
                let id = s.unknown_names.as_deref().or_else(|| {
                    s.add_route
                        .as_ref()
                        .and_then(|r| r.prefix_list.as_deref().or(r.unmodeled.as_deref()))
                });
                assert!(
                    v.unknown.iter().any(|u| Some(u.component.as_str()) == id),
                    "{}: the unknown names the target\n{}",
                    s.name,
                    v.to_text()
                );
            }
            Expect::Word(w) => {
                assert_eq!(w, "reachable", "{}", s.name);
                assert!(
                    v.reachable,
                    "{}: expected reachable, got {got:#?}\n{}",
                    s.name,
                    v.to_text()
                );
            }
            Expect::Blocked(want) => {
                assert!(
                    !v.reachable,
                    "{}: expected blocked\n{}",
                    s.name,
                    v.to_text()
                );
                assert_eq!(&got, want, "{}\n{}", s.name, v.to_text());
            }
        }
        report.push_str(&format!("## {}\n{}\n", s.name, v.to_text()));
    }
    insta::assert_snapshot!(report);
}
