//! Transit gateways end to end against a private moto: a gateway, two VPC
//! attachments (one subnet per zone), two gateway route tables with an
//! association each, propagations, a static and a blackhole route, and the
//! VPCs' routes through the gateway; applied, checked in AWS through the
//! SDK, re-planned clean; then one attachment's association moved to the
//! other table: planned as an in-place update, applied, checked, re-planned
//! clean; and destroyed.
//!
//! Every fact asserted is AWS's documented behaviour. Where moto 5.2.5
//! answers otherwise (docs/moto.md), the server the tests run
//! (`VPCFORM_MOTO_SERVER`, scripts/moto-server) corrects it; the assertions
//! are never bent to moto.

mod common;

use std::collections::HashMap;

use common::*;
use ec2::types::Filter;

const STACK: &str = "transit";

fn hub(spoke_table: &str) -> String {
    format!(
        r#"
stack: {STACK}
region: us-east-1
vpcs:
  hub-vpc: {{ cidr: 10.60.0.0/16 }}
  spoke: {{ cidr: 10.61.0.0/16 }}
subnets:
  hub-a: {{ vpc: hub-vpc, cidr: 10.60.0.0/24, availability-zone: us-east-1a }}
  hub-b: {{ vpc: hub-vpc, cidr: 10.60.1.0/24, availability-zone: us-east-1b }}
  spoke-a: {{ vpc: spoke, cidr: 10.61.0.0/24, availability-zone: us-east-1a }}
  spoke-b: {{ vpc: spoke, cidr: 10.61.1.0/24, availability-zone: us-east-1b }}
route-tables:
  hub-rt:
    vpc: hub-vpc
    subnets: [hub-a, hub-b]
    routes: [{{ destination: 10.61.0.0/16, transit-gateway: hub }}]
  spoke-rt:
    vpc: spoke
    subnets: [spoke-a, spoke-b]
    routes: [{{ destination: 10.60.0.0/16, transit-gateway: hub }}]
transit-gateways:
  hub: {{ description: e2e hub, tags: {{ Name: hub }} }}
transit-gateway-attachments:
  hub-att: {{ transit-gateway: hub, vpc: hub-vpc, subnets: [hub-a, hub-b], route-table: shared-rt, tags: {{ Name: hub-att }} }}
  spoke-att: {{ transit-gateway: hub, vpc: spoke, subnets: [spoke-a, spoke-b], route-table: {spoke_table} }}
transit-gateway-route-tables:
  shared-rt:
    transit-gateway: hub
    propagations: [spoke-att]
    tags: {{ Name: shared-rt }}
  spoke-tgw-rt:
    transit-gateway: hub
    propagations: [hub-att]
    routes:
      - {{ destination: 172.16.0.0/12, attachment: hub-att }}
      - {{ destination: 192.168.0.0/16, blackhole: true }}
"#
    )
}

/// Whether `tags` hold `vpcform:address=address` for this stack.
fn has_address(tags: &[ec2::types::Tag], address: &str) -> bool {
    let tag = |k: &str| {
        tags.iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
    };
    tag("vpcform:stack") == Some(STACK) && tag("vpcform:address") == Some(address)
}

/// The tags that say whose an object is and what it is called, sorted.
fn ownership(tags: &[ec2::types::Tag]) -> String {
    let mut out: Vec<String> = tags
        .iter()
        .filter(|t| matches!(t.key(), Some("Name" | "vpcform:stack" | "vpcform:address")))
        .filter_map(|t| Some(format!("{}={}", t.key()?, t.value()?)))
        .collect();
    out.sort();
    out.join(",")
}

/// The ids of what the stack made, found by the ownership tags their
/// create calls carried (VPC attachments by their VPC, as AWS answers for
/// any attachment): id → logical name.
struct Names {
    tgw: String,
    by_id: HashMap<String, String>,
    ids: HashMap<String, String>,
}

impl Names {
    async fn read(sdk: &Sdk) -> Names {
        let ec2 = &sdk.ec2;
        let mut by_id = HashMap::new();
        let stack = Some(vec![by_tag("vpcform:stack", STACK)]);
        let vpcs = ec2
            .describe_vpcs()
            .set_filters(stack.clone())
            .send()
            .await
            .unwrap();
        for v in vpcs.vpcs() {
            by_id.insert(v.vpc_id().unwrap().to_string(), name_of(v.tags()));
        }
        let subnets = ec2
            .describe_subnets()
            .set_filters(stack.clone())
            .send()
            .await
            .unwrap();
        for s in subnets.subnets() {
            by_id.insert(s.subnet_id().unwrap().to_string(), name_of(s.tags()));
        }
        let gateways = ec2.describe_transit_gateways().send().await.unwrap();
        let tgw = gateways
            .transit_gateways()
            .iter()
            .filter(|g| g.state().map(|s| s.as_str()) != Some("deleted"))
            .find(|g| has_address(g.tags(), "transit-gateway.hub"))
            .and_then(|g| g.transit_gateway_id())
            .expect("the gateway carries its ownership tags")
            .to_string();
        by_id.insert(tgw.clone(), "hub".into());
        for t in tables_of(sdk, &tgw).await {
            let id = t.transit_gateway_route_table_id().unwrap().to_string();
            if let Some(name) = address_name(t.tags(), "transit-gateway-route-table.") {
                by_id.insert(id, name);
            }
        }
        let rtbs = ec2
            .describe_route_tables()
            .set_filters(stack)
            .send()
            .await
            .unwrap();
        for t in rtbs.route_tables() {
            by_id.insert(t.route_table_id().unwrap().to_string(), name_of(t.tags()));
        }
        for (vpc, attachment) in [("hub-vpc", "hub-att"), ("spoke", "spoke-att")] {
            let vpc_id = id_in(&by_id, vpc);
            if let Some(a) = attachments_of(sdk, &vpc_id).await.first() {
                by_id.insert(
                    a.transit_gateway_attachment_id().unwrap().to_string(),
                    attachment.to_string(),
                );
            }
        }
        let ids = by_id
            .iter()
            .map(|(id, n)| (n.clone(), id.clone()))
            .collect();
        Names { tgw, by_id, ids }
    }

    /// The logical name of `id`, or what kind of stranger it is.
    fn name(&self, id: Option<&str>) -> String {
        match id {
            None => "-".into(),
            Some(id) => self.by_id.get(id).cloned().unwrap_or_else(|| {
                let kind = id.rsplit_once('-').map_or(id, |(k, _)| k);
                format!("other {kind}")
            }),
        }
    }

    fn id(&self, name: &str) -> &str {
        self.ids
            .get(name)
            .unwrap_or_else(|| panic!("no id for {name}"))
    }
}

fn id_in(by_id: &HashMap<String, String>, name: &str) -> String {
    by_id
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| panic!("{name} was not made"))
}

fn name_of(tags: &[ec2::types::Tag]) -> String {
    address_name(tags, "").unwrap_or_default()
}

/// The logical name in a `vpcform:address` tag (`kind.name`) of kind `prefix`.
fn address_name(tags: &[ec2::types::Tag], prefix: &str) -> Option<String> {
    let address = tags
        .iter()
        .find(|t| t.key() == Some("vpcform:address"))
        .and_then(|t| t.value())?;
    let address = address.strip_prefix(prefix)?;
    Some(
        address
            .split_once('.')
            .map_or(address, |(_, n)| n)
            .to_string(),
    )
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The gateway's route tables that exist.
async fn tables_of(sdk: &Sdk, tgw: &str) -> Vec<ec2::types::TransitGatewayRouteTable> {
    let found = sdk
        .ec2
        .describe_transit_gateway_route_tables()
        .filters(filter("transit-gateway-id", tgw))
        .send()
        .await
        .unwrap();
    found
        .transit_gateway_route_tables()
        .iter()
        .filter(|t| t.transit_gateway_id() == Some(tgw))
        .filter(|t| !matches!(t.state().map(|s| s.as_str()), Some("deleting" | "deleted")))
        .cloned()
        .collect()
}

/// The VPC's attachments that exist.
async fn attachments_of(sdk: &Sdk, vpc: &str) -> Vec<ec2::types::TransitGatewayVpcAttachment> {
    let found = sdk
        .ec2
        .describe_transit_gateway_vpc_attachments()
        .filters(filter("vpc-id", vpc))
        .send()
        .await
        .unwrap();
    found
        .transit_gateway_vpc_attachments()
        .iter()
        .filter(|a| a.vpc_id() == Some(vpc))
        .filter(|a| !matches!(a.state().map(|s| s.as_str()), Some("deleting" | "deleted")))
        .cloned()
        .collect()
}

fn option<T: AsRef<str>>(v: Option<&T>) -> &str {
    v.map_or("-", |v| v.as_ref())
}

/// What AWS holds of the network, as `subject fact` lines with logical names.
async fn facts(sdk: &Sdk, names: &Names) -> Vec<String> {
    let ec2 = &sdk.ec2;
    let mut facts = Vec::new();
    let gateways = ec2
        .describe_transit_gateways()
        .transit_gateway_ids(&names.tgw)
        .send()
        .await
        .unwrap();
    let g = &gateways.transit_gateways()[0];
    let o = g.options().unwrap();
    facts.push(format!(
        "gateway hub {} asn={} dns={} default-association={} default-propagation={} description={}",
        option(g.state()),
        o.amazon_side_asn().unwrap_or_default(),
        option(o.dns_support()),
        option(o.default_route_table_association()),
        option(o.default_route_table_propagation()),
        g.description().unwrap_or("-"),
    ));
    facts.push(format!("gateway hub tags {}", ownership(g.tags())));

    // AWS makes no default table when default association and propagation are off.
    let tables = tables_of(sdk, &names.tgw).await;
    let mut table_names: Vec<String> = tables
        .iter()
        .map(|t| names.name(t.transit_gateway_route_table_id()))
        .collect();
    table_names.sort();
    facts.push(format!("gateway hub tables {}", table_names.join(",")));

    for (vpc, attachment) in [("hub-vpc", "hub-att"), ("spoke", "spoke-att")] {
        for a in attachments_of(sdk, names.id(vpc)).await {
            let o = a.options().unwrap();
            let mut subnets: Vec<String> =
                a.subnet_ids().iter().map(|s| names.name(Some(s))).collect();
            subnets.sort();
            facts.push(format!(
                "attachment {attachment} {} gateway={} subnets={} appliance={} dns={} ipv6={}",
                option(a.state()),
                names.name(a.transit_gateway_id()),
                subnets.join(","),
                option(o.appliance_mode_support()),
                option(o.dns_support()),
                option(o.ipv6_support()),
            ));
            facts.push(format!(
                "attachment {attachment} tags {}",
                ownership(a.tags())
            ));
        }
    }
    // An attachment's association as AWS reports it on the attachment.
    let attachments = ec2
        .describe_transit_gateway_attachments()
        .transit_gateway_attachment_ids(names.id("hub-att"))
        .transit_gateway_attachment_ids(names.id("spoke-att"))
        .send()
        .await
        .unwrap();
    for a in attachments.transit_gateway_attachments() {
        let association = a.association();
        facts.push(format!(
            "attachment {} associated with {} ({})",
            names.name(a.transit_gateway_attachment_id()),
            names.name(association.and_then(|x| x.transit_gateway_route_table_id())),
            option(association.and_then(|x| x.state())),
        ));
    }

    for t in &tables {
        let table = t.transit_gateway_route_table_id().unwrap();
        let name = names.name(Some(table));
        facts.push(format!("table {name} tags {}", ownership(t.tags())));
        let associations = ec2
            .get_transit_gateway_route_table_associations()
            .transit_gateway_route_table_id(table)
            .send()
            .await
            .unwrap();
        for a in associations.associations() {
            facts.push(format!(
                "table {name} association {} {}",
                names.name(a.transit_gateway_attachment_id()),
                option(a.state())
            ));
        }
        let propagations = ec2
            .get_transit_gateway_route_table_propagations()
            .transit_gateway_route_table_id(table)
            .send()
            .await
            .unwrap();
        for p in propagations.transit_gateway_route_table_propagations() {
            facts.push(format!(
                "table {name} propagation {} {}",
                names.name(p.transit_gateway_attachment_id()),
                option(p.state())
            ));
        }
        for kind in ["static", "propagated"] {
            let routes = ec2
                .search_transit_gateway_routes()
                .transit_gateway_route_table_id(table)
                .filters(filter("type", kind))
                .send()
                .await
                .unwrap();
            for r in routes.routes() {
                let via: Vec<String> = r
                    .transit_gateway_attachments()
                    .iter()
                    .map(|a| names.name(a.transit_gateway_attachment_id()))
                    .collect();
                facts.push(format!(
                    "table {name} {kind} route {} {} via {}",
                    r.destination_cidr_block().unwrap_or("-"),
                    option(r.state()),
                    if via.is_empty() {
                        "-".to_string()
                    } else {
                        via.join(",")
                    },
                ));
            }
        }
    }

    for (rt, destination) in [("hub-rt", "10.61.0.0/16"), ("spoke-rt", "10.60.0.0/16")] {
        let found = ec2
            .describe_route_tables()
            .route_table_ids(names.id(rt))
            .send()
            .await
            .unwrap();
        for r in found.route_tables()[0].routes() {
            if r.destination_cidr_block() == Some(destination) {
                facts.push(format!(
                    "vpc route {rt} {destination} via {} {}",
                    names.name(r.transit_gateway_id()),
                    option(r.state()),
                ));
            }
        }
    }
    facts.sort();
    facts
}

fn lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// What AWS holds once the hub is applied (spoke-att associated with `spoke_table`).
fn expected(spoke_table: &str) -> Vec<String> {
    let (shared_associations, spoke_associations) = if spoke_table == "shared-rt" {
        (
            "table shared-rt association hub-att associated\ntable shared-rt association spoke-att associated",
            "",
        )
    } else {
        (
            "table shared-rt association hub-att associated",
            "table spoke-tgw-rt association spoke-att associated",
        )
    };
    lines(&format!(
        "
        gateway hub available asn=64512 dns=enable default-association=disable default-propagation=disable description=e2e hub
        gateway hub tags Name=hub,vpcform:address=transit-gateway.hub,vpcform:stack={STACK}
        gateway hub tables shared-rt,spoke-tgw-rt
        attachment hub-att available gateway=hub subnets=hub-a,hub-b appliance=disable dns=enable ipv6=disable
        attachment hub-att tags Name=hub-att,vpcform:address=transit-gateway-attachment.hub-att,vpcform:stack={STACK}
        attachment spoke-att available gateway=hub subnets=spoke-a,spoke-b appliance=disable dns=enable ipv6=disable
        attachment spoke-att tags vpcform:address=transit-gateway-attachment.spoke-att,vpcform:stack={STACK}
        attachment hub-att associated with shared-rt (associated)
        attachment spoke-att associated with {spoke_table} (associated)
        table shared-rt tags Name=shared-rt,vpcform:address=transit-gateway-route-table.shared-rt,vpcform:stack={STACK}
        table spoke-tgw-rt tags vpcform:address=transit-gateway-route-table.spoke-tgw-rt,vpcform:stack={STACK}
        {shared_associations}
        {spoke_associations}
        table shared-rt propagation spoke-att enabled
        table spoke-tgw-rt propagation hub-att enabled
        table shared-rt propagated route 10.61.0.0/16 active via spoke-att
        table spoke-tgw-rt propagated route 10.60.0.0/16 active via hub-att
        table spoke-tgw-rt static route 172.16.0.0/12 active via hub-att
        table spoke-tgw-rt static route 192.168.0.0/16 blackhole via -
        vpc route hub-rt 10.61.0.0/16 via hub active
        vpc route spoke-rt 10.60.0.0/16 via hub active
        "
    ))
}

fn replan_is_clean(moto: &Moto, dir: &std::path::Path) {
    let plan = vpcform(moto, dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(
        plan.code, 0,
        "re-plan is clean:\n{}\n{}",
        plan.stdout, plan.stderr
    );
}

#[test]
fn a_transit_gateway_hub_applies_replans_clean_and_moves_an_association_in_place() {
    let moto = Moto::start();
    let dir = workdir(&hub("spoke-tgw-rt"));
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());

    ok(&vpcform(&moto, dir.path(), &["validate"]));
    let apply = vpcform(&moto, dir.path(), &["apply", "--auto-approve"]);
    ok(&apply);
    let names = rt.block_on(Names::read(&sdk));
    assert_eq!(rt.block_on(facts(&sdk, &names)), expected("spoke-tgw-rt"));
    replan_is_clean(&moto, dir.path());

    // The spoke moves to the shared table: one in-place update, nothing else.
    std::fs::write(dir.path().join("topology.yaml"), hub("shared-rt")).unwrap();
    let plan = vpcform(&moto, dir.path(), &["plan", "--format", "json"]);
    ok(&plan);
    let json: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let changes: Vec<(String, String, String)> = json["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["actions"] != serde_json::json!(["no-op"]))
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_string(),
                c["actions"].to_string(),
                c["changed_attributes"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [(
            "transit-gateway-association.spoke-att".to_string(),
            r#"["update"]"#.to_string(),
            r#"["transit_gateway_route_table_id"]"#.to_string()
        )],
        "{}",
        plan.stdout
    );
    let text = vpcform(&moto, dir.path(), &["plan"]);
    ok(&text);
    assert!(
        text.stdout
            .contains("~ transit-gateway-association.spoke-att"),
        "{}",
        text.stdout
    );
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    assert_eq!(rt.block_on(facts(&sdk, &names)), expected("shared-rt"));
    replan_is_clean(&moto, dir.path());

    // Destroyed: the gateway, its attachments and tables are gone.
    ok(&vpcform(&moto, dir.path(), &["destroy", "--auto-approve"]));
    rt.block_on(async {
        let gateways = sdk
            .ec2
            .describe_transit_gateways()
            .transit_gateway_ids(&names.tgw)
            .send()
            .await
            .unwrap();
        assert!(
            gateways
                .transit_gateways()
                .iter()
                .all(|g| matches!(g.state().map(|s| s.as_str()), Some("deleting" | "deleted"))),
            "{gateways:?}"
        );
        assert_eq!(tables_of(&sdk, &names.tgw).await.len(), 0);
        for vpc in ["hub-vpc", "spoke"] {
            assert_eq!(attachments_of(&sdk, names.id(vpc)).await.len(), 0, "{vpc}");
        }
    });
}

/// The example applied, then a pull request that propagates dev into
/// prod's table: the plan fails on the segmentation promise, naming the
/// propagation that opens it, in text and in the Markdown comment; the
/// live network still keeps its promises (`reach --live`).
#[test]
fn propagating_dev_into_prod_fails_the_plan_naming_the_propagation() {
    let moto = Moto::start();
    let example = std::fs::read_to_string(root().join("examples/transit-hub.yaml")).unwrap();
    let dir = workdir(&example);
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    replan_is_clean(&moto, dir.path());
    let live = vpcform(
        &moto,
        dir.path(),
        &[
            "reach",
            "--live",
            "instance.prod-a-web",
            "instance.shared-svc",
            "--protocol",
            "tcp",
            "--port",
            "443",
        ],
    );
    ok(&live);
    assert!(
        live.stdout
            .contains("transit-gateway-propagation.prod-rt[shared-att]"),
        "{}",
        live.stdout
    );

    let opened = example.replacen(
        "propagations: [shared-att, prod-a-att, prod-b-att]",
        "propagations: [shared-att, prod-a-att, prod-b-att, dev-a-att]",
        1,
    );
    assert_ne!(opened, example);
    std::fs::write(dir.path().join("topology.yaml"), opened).unwrap();
    let plan = vpcform(&moto, dir.path(), &["plan"]);
    assert_ne!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    let all = format!("{}\n{}", plan.stdout, plan.stderr);
    assert!(
        all.contains("tag:env=prod → tag:env=dev any")
            && all.contains("transit-gateway-propagation.prod-rt[dev-a-att]"),
        "{all}"
    );
    let markdown = vpcform(&moto, dir.path(), &["plan", "--format", "markdown"]);
    assert_ne!(markdown.code, 0);
    assert!(
        markdown
            .stdout
            .contains("transit-gateway-propagation.prod-rt[dev-a-att]"),
        "{}",
        markdown.stdout
    );
}

/// A gateway with AWS's default association on: AWS first associates a new
/// attachment with the gateway's default table; apply moves it to the
/// declared table in the same step, and the re-plan is clean.
#[test]
fn with_default_association_on_a_new_attachment_ends_in_its_declared_table() {
    let moto = Moto::start();
    let text = hub("spoke-tgw-rt").replace(
        "  hub: { description: e2e hub, tags: { Name: hub } }",
        "  hub: { description: e2e hub, default-route-table-association: true, tags: { Name: hub } }",
    );
    assert!(text.contains("default-route-table-association: true"));
    let dir = workdir(&text);
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    ok(&vpcform(&moto, dir.path(), &["apply", "--auto-approve"]));
    let names = rt.block_on(Names::read(&sdk));
    // The gateway has a default table of AWS's, and it holds no attachment.
    let tables = rt.block_on(tables_of(&sdk, &names.tgw));
    let default = tables
        .iter()
        .find(|t| t.default_association_route_table() == Some(true))
        .expect("AWS's default table");
    let associations = rt.block_on(async {
        sdk.ec2
            .get_transit_gateway_route_table_associations()
            .transit_gateway_route_table_id(default.transit_gateway_route_table_id().unwrap())
            .send()
            .await
            .unwrap()
    });
    assert!(associations.associations().is_empty(), "{associations:?}");
    let facts = rt.block_on(facts(&sdk, &names));
    let spoke = facts
        .iter()
        .filter(|f| f.starts_with("attachment spoke-att associated"))
        .collect::<Vec<_>>();
    assert_eq!(
        spoke,
        ["attachment spoke-att associated with spoke-tgw-rt (associated)"],
        "{facts:#?}"
    );
    replan_is_clean(&moto, dir.path());
}
