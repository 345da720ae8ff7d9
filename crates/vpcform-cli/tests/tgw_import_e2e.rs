//! Issue 20's "done when", end to end against a private moto: a transit
//! gateway between two VPCs built by hand with plain SDK calls, the way the
//! console builds it (default route table association and propagation on,
//! so AWS's default table associates and propagates both attachments; a
//! second table with a blackhole and a static route; VPC routes through the
//! gateway; groups and an instance on each side), is imported and adopted
//! with nothing but tags changed; `reach --live` answers across it as AWS
//! would; a blackhole added by hand to the default table for the other
//! VPC's block (a static route beats the propagated one for the same
//! prefix) makes `reach --live` say not reachable with
//! TGW_RTB_BAD_STATE_ROUTE, and the plan deletes that route.
//!
//! Every fact asserted is AWS's documented behaviour. Where moto 5.2.5
//! answers otherwise, the server the tests run (`VPCFORM_MOTO_SERVER`,
//! scripts/moto-server, docs/moto.md) corrects it.

mod common;

/// The logical name import gives AWS's default table (no Name tag): its gateway's and its kind.
const DEFAULT_NAME: &str = "hub-transit-gateway-route-table";

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use ec2::types::{
    DefaultRouteTableAssociationValue, DefaultRouteTablePropagationValue, DnsSupportValue, Filter,
    IpPermission, IpRange, ResourceType, Tag, TagSpecification, TransitGatewayRequestOptions,
    VpnEcmpSupportValue,
};
use serde_json::{Value, json};

const STACK: &str = "console";
const FILE: &str = "network.yaml";

fn named(resource: ResourceType, name: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .tags(Tag::builder().key("Name").value(name).build())
        .build()
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// One VPC of the two, as built.
#[derive(Debug, Clone)]
struct Side {
    vpc: String,
    /// The subnets, us-east-1a first.
    subnets: Vec<String>,
    rtb: String,
    sg: String,
    instance: String,
    attachment: String,
}

/// The ids of what the console built.
#[derive(Debug, Clone)]
struct Built {
    sides: [Side; 2],
    tgw: String,
    /// AWS's default table (association and propagation).
    default_rtb: String,
    /// The table made by hand: a blackhole and a static route to an attachment.
    inspect_rtb: String,
}

impl Built {
    /// Every id `import` should declare, with the address it gets.
    fn addresses(&self) -> BTreeMap<String, String> {
        let [one, two] = &self.sides;
        let default = &self.default_rtb;
        [
            (&one.vpc, "vpc.network-1".to_string()),
            (&two.vpc, "vpc.network-2".into()),
            (&one.subnets[0], "subnet.network-1-a".into()),
            (&one.subnets[1], "subnet.network-1-b".into()),
            (&two.subnets[0], "subnet.network-2-a".into()),
            (&one.rtb, "route-table.network-1-rt".into()),
            (&two.rtb, "route-table.network-2-rt".into()),
            (&one.sg, "security-group.web-1-sg".into()),
            (&two.sg, "security-group.web-2-sg".into()),
            (&one.instance, "instance.web-1".into()),
            (&two.instance, "instance.web-2".into()),
            (&self.tgw, "transit-gateway.hub".into()),
            (
                &one.attachment,
                "transit-gateway-attachment.network-1-att".into(),
            ),
            (
                &two.attachment,
                "transit-gateway-attachment.network-2-att".into(),
            ),
            (
                &self.inspect_rtb,
                "transit-gateway-route-table.inspect".into(),
            ),
            // No Name tag on AWS's default table: named after its gateway.
            (
                default,
                format!("transit-gateway-route-table.{DEFAULT_NAME}"),
            ),
        ]
        .into_iter()
        .map(|(id, address)| (id.clone(), address))
        .collect()
    }
}

/// The console's transit gateway: its defaults, default association and propagation on.
async fn create_gateway(ec2: &ec2::Client) -> (String, String) {
    let options = TransitGatewayRequestOptions::builder()
        .amazon_side_asn(64512)
        .dns_support(DnsSupportValue::Enable)
        .vpn_ecmp_support(VpnEcmpSupportValue::Enable)
        .default_route_table_association(DefaultRouteTableAssociationValue::Enable)
        .default_route_table_propagation(DefaultRouteTablePropagationValue::Enable)
        .build();
    let tgw = ec2
        .create_transit_gateway()
        .description("between network-1 and network-2")
        .options(options)
        .tag_specifications(named(ResourceType::TransitGateway, "hub"))
        .send()
        .await
        .unwrap()
        .transit_gateway()
        .unwrap()
        .transit_gateway_id()
        .unwrap()
        .to_string();
    let found = ec2
        .describe_transit_gateways()
        .transit_gateway_ids(&tgw)
        .send()
        .await
        .unwrap();
    let o = found.transit_gateways()[0].options().unwrap();
    let association = o.association_default_route_table_id().unwrap().to_string();
    assert_eq!(
        o.propagation_default_route_table_id(),
        Some(association.as_str()),
        "one default table for both"
    );
    (tgw, association)
}

/// Network-N: its VPC, subnets (us-east-1a, and for network-1 us-east-1b
/// too), the attachment on them, a route table with the route to the other
/// VPC through the gateway, a group admitting ICMP and HTTPS from the other
/// VPC, and an instance in us-east-1a.
async fn side_by_hand(ec2: &ec2::Client, n: u8, tgw: &str) -> Side {
    let other = 3 - n;
    let vpc = ec2
        .create_vpc()
        .cidr_block(format!("10.{n}.0.0/16"))
        .tag_specifications(named(ResourceType::Vpc, &format!("network-{n}")))
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_string();
    let zones: &[&str] = if n == 1 { &["a", "b"] } else { &["a"] };
    let mut subnets = Vec::new();
    for (i, zone) in zones.iter().enumerate() {
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.{n}.{i}.0/24"))
            .availability_zone(format!("us-east-1{zone}"))
            .tag_specifications(named(ResourceType::Subnet, &format!("network-{n}-{zone}")))
            .send()
            .await
            .unwrap()
            .subnet()
            .unwrap()
            .subnet_id()
            .unwrap()
            .to_string();
        subnets.push(subnet);
    }
    let attachment = ec2
        .create_transit_gateway_vpc_attachment()
        .transit_gateway_id(tgw)
        .vpc_id(&vpc)
        .set_subnet_ids(Some(subnets.clone()))
        .tag_specifications(named(
            ResourceType::TransitGatewayAttachment,
            &format!("network-{n}-att"),
        ))
        .send()
        .await
        .unwrap()
        .transit_gateway_vpc_attachment()
        .unwrap()
        .transit_gateway_attachment_id()
        .unwrap()
        .to_string();
    let rtb = ec2
        .create_route_table()
        .vpc_id(&vpc)
        .tag_specifications(named(ResourceType::RouteTable, &format!("network-{n}-rt")))
        .send()
        .await
        .unwrap()
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_string();
    for subnet in &subnets {
        ec2.associate_route_table()
            .route_table_id(&rtb)
            .subnet_id(subnet)
            .send()
            .await
            .unwrap();
    }
    ec2.create_route()
        .route_table_id(&rtb)
        .destination_cidr_block(format!("10.{other}.0.0/16"))
        .transit_gateway_id(tgw)
        .send()
        .await
        .unwrap();
    let group = format!("web-{n}-sg");
    let sg = ec2
        .create_security_group()
        .vpc_id(&vpc)
        .group_name(&group)
        .description(format!("web servers of network-{n}"))
        .tag_specifications(named(ResourceType::SecurityGroup, &group))
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    let from_other = |description: &str| {
        IpRange::builder()
            .cidr_ip(format!("10.{other}.0.0/16"))
            .description(description)
            .build()
    };
    ec2.authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("icmp")
                .from_port(-1)
                .to_port(-1)
                .ip_ranges(from_other("ping from the other network"))
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(from_other("HTTPS from the other network"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let instance = ec2
        .run_instances()
        .image_id("ami-0123456789abcdef0")
        .instance_type(ec2::types::InstanceType::T3Micro)
        .subnet_id(&subnets[0])
        .security_group_ids(&sg)
        .min_count(1)
        .max_count(1)
        .tag_specifications(named(ResourceType::Instance, &format!("web-{n}")))
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    Side {
        vpc,
        subnets,
        rtb,
        sg,
        instance,
        attachment,
    }
}

/// The whole network clicked together.
async fn build_by_hand(sdk: &Sdk) -> Built {
    let ec2 = &sdk.ec2;
    let (tgw, default_rtb) = create_gateway(ec2).await;
    let one = side_by_hand(ec2, 1, &tgw).await;
    let two = side_by_hand(ec2, 2, &tgw).await;
    let inspect_rtb = ec2
        .create_transit_gateway_route_table()
        .transit_gateway_id(&tgw)
        .tag_specifications(named(ResourceType::TransitGatewayRouteTable, "inspect"))
        .send()
        .await
        .unwrap()
        .transit_gateway_route_table()
        .unwrap()
        .transit_gateway_route_table_id()
        .unwrap()
        .to_string();
    ec2.create_transit_gateway_route()
        .transit_gateway_route_table_id(&inspect_rtb)
        .destination_cidr_block("192.168.0.0/16")
        .blackhole(true)
        .send()
        .await
        .unwrap();
    ec2.create_transit_gateway_route()
        .transit_gateway_route_table_id(&inspect_rtb)
        .destination_cidr_block("10.2.0.0/16")
        .transit_gateway_attachment_id(&two.attachment)
        .send()
        .await
        .unwrap();
    Built {
        sides: [one, two],
        tgw,
        default_rtb,
        inspect_rtb,
    }
}

fn option<T: AsRef<str> + ?Sized>(v: Option<&T>) -> &str {
    v.map_or("-", |v| v.as_ref())
}

/// The routes of a gateway table, `TYPE DESTINATION STATE via ATTACHMENT`, sorted.
async fn tgw_routes(sdk: &Sdk, table: &str) -> Vec<String> {
    let mut out = Vec::new();
    for kind in ["static", "propagated"] {
        let found = sdk
            .ec2
            .search_transit_gateway_routes()
            .transit_gateway_route_table_id(table)
            .filters(filter("type", kind))
            .send()
            .await
            .unwrap();
        for r in found.routes() {
            let via: Vec<&str> = r
                .transit_gateway_attachments()
                .iter()
                .filter_map(|a| a.transit_gateway_attachment_id())
                .collect();
            out.push(format!(
                "{kind} {} {} via {}",
                r.destination_cidr_block().unwrap_or("-"),
                option(r.state()),
                if via.is_empty() {
                    "-".to_string()
                } else {
                    via.join(",")
                }
            ));
        }
    }
    out.sort();
    out
}

/// Everything AWS holds of the network but tags, as sorted lines: what must
/// not change when the network is adopted.
async fn facts(sdk: &Sdk, built: &Built) -> Vec<String> {
    let ec2 = &sdk.ec2;
    let mut facts = Vec::new();
    let gateways = ec2
        .describe_transit_gateways()
        .transit_gateway_ids(&built.tgw)
        .send()
        .await
        .unwrap();
    for g in gateways.transit_gateways() {
        let o = g.options().unwrap();
        facts.push(format!(
            "tgw {} {} description={} asn={} dns={} ecmp={} association={} propagation={} association-table={} propagation-table={}",
            option(g.transit_gateway_id()),
            option(g.state()),
            g.description().unwrap_or("-"),
            o.amazon_side_asn().unwrap_or_default(),
            option(o.dns_support()),
            option(o.vpn_ecmp_support()),
            option(o.default_route_table_association()),
            option(o.default_route_table_propagation()),
            option(o.association_default_route_table_id()),
            option(o.propagation_default_route_table_id()),
        ));
    }
    let attachments = ec2
        .describe_transit_gateway_vpc_attachments()
        .filters(filter("transit-gateway-id", &built.tgw))
        .send()
        .await
        .unwrap();
    for a in attachments.transit_gateway_vpc_attachments() {
        let o = a.options().unwrap();
        let mut subnets = a.subnet_ids().to_vec();
        subnets.sort();
        facts.push(format!(
            "attachment {} {} vpc={} subnets={} dns={} ipv6={} appliance={}",
            option(a.transit_gateway_attachment_id()),
            option(a.state()),
            option(a.vpc_id()),
            subnets.join(","),
            option(o.dns_support()),
            option(o.ipv6_support()),
            option(o.appliance_mode_support()),
        ));
    }
    let attachments = ec2
        .describe_transit_gateway_attachments()
        .filters(filter("transit-gateway-id", &built.tgw))
        .send()
        .await
        .unwrap();
    for a in attachments.transit_gateway_attachments() {
        let association = a.association();
        facts.push(format!(
            "attachment {} associated with {} {}",
            option(a.transit_gateway_attachment_id()),
            option(association.and_then(|x| x.transit_gateway_route_table_id())),
            option(association.and_then(|x| x.state())),
        ));
    }
    let tables = ec2
        .describe_transit_gateway_route_tables()
        .filters(filter("transit-gateway-id", &built.tgw))
        .send()
        .await
        .unwrap();
    for t in tables.transit_gateway_route_tables() {
        let id = t.transit_gateway_route_table_id().unwrap();
        facts.push(format!(
            "table {id} {} default-association={:?} default-propagation={:?}",
            option(t.state()),
            t.default_association_route_table(),
            t.default_propagation_route_table(),
        ));
        let associations = ec2
            .get_transit_gateway_route_table_associations()
            .transit_gateway_route_table_id(id)
            .send()
            .await
            .unwrap();
        for a in associations.associations() {
            facts.push(format!(
                "table {id} association {} {}",
                option(a.transit_gateway_attachment_id()),
                option(a.state())
            ));
        }
        let propagations = ec2
            .get_transit_gateway_route_table_propagations()
            .transit_gateway_route_table_id(id)
            .send()
            .await
            .unwrap();
        for p in propagations.transit_gateway_route_table_propagations() {
            facts.push(format!(
                "table {id} propagation {} {}",
                option(p.transit_gateway_attachment_id()),
                option(p.state())
            ));
        }
        for r in tgw_routes(sdk, id).await {
            facts.push(format!("table {id} route {r}"));
        }
    }
    let vpcs: Vec<String> = built.sides.iter().map(|s| s.vpc.clone()).collect();
    let in_vpcs = Filter::builder()
        .name("vpc-id")
        .set_values(Some(vpcs.clone()))
        .build();
    let found = ec2
        .describe_vpcs()
        .set_vpc_ids(Some(vpcs))
        .send()
        .await
        .unwrap();
    for v in found.vpcs() {
        facts.push(format!(
            "vpc {} {} {}",
            option(v.vpc_id()),
            option(v.cidr_block()),
            option(v.state())
        ));
    }
    let subnets = ec2
        .describe_subnets()
        .filters(in_vpcs.clone())
        .send()
        .await
        .unwrap();
    for s in subnets.subnets() {
        facts.push(format!(
            "subnet {} vpc={} {} {}",
            option(s.subnet_id()),
            option(s.vpc_id()),
            option(s.cidr_block()),
            option(s.availability_zone()),
        ));
    }
    let tables = ec2
        .describe_route_tables()
        .filters(in_vpcs.clone())
        .send()
        .await
        .unwrap();
    for t in tables.route_tables() {
        let id = option(t.route_table_id());
        for r in t.routes() {
            facts.push(format!(
                "rtb {id} route {} via {} {} {}",
                option(r.destination_cidr_block()),
                r.transit_gateway_id().or(r.gateway_id()).unwrap_or("-"),
                option(r.state()),
                option(r.origin()),
            ));
        }
        for a in t.associations() {
            facts.push(format!(
                "rtb {id} association {} main={:?}",
                option(a.subnet_id()),
                a.main()
            ));
        }
    }
    let groups = ec2
        .describe_security_groups()
        .filters(in_vpcs.clone())
        .send()
        .await
        .unwrap();
    for g in groups.security_groups() {
        facts.push(format!(
            "sg {} {} in={:?} out={:?}",
            option(g.group_id()),
            option(g.group_name()),
            g.ip_permissions(),
            g.ip_permissions_egress()
        ));
    }
    let instances = ec2
        .describe_instances()
        .filters(in_vpcs)
        .send()
        .await
        .unwrap();
    for i in instances.reservations().iter().flat_map(|r| r.instances()) {
        let groups: Vec<&str> = i
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id())
            .collect();
        facts.push(format!(
            "instance {} {} subnet={} ip={} groups={}",
            option(i.instance_id()),
            option(i.state().and_then(|s| s.name())),
            option(i.subnet_id()),
            option(i.private_ip_address()),
            groups.join(","),
        ));
    }
    facts.sort();
    facts
}

/// Each EC2 id carrying tag `key`, with its value.
async fn tagged(sdk: &Sdk, key: &str) -> BTreeMap<String, String> {
    let found = sdk
        .ec2
        .describe_tags()
        .filters(filter("key", key))
        .send()
        .await
        .unwrap();
    found
        .tags()
        .iter()
        .filter_map(|t| Some((t.resource_id()?.to_string(), t.value()?.to_string())))
        .collect()
}

fn run_json(moto: &Moto, dir: &Path, args: &[&str]) -> (Run, Value) {
    let run = vpcform(moto, dir, args);
    let json = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}\n{}\n{}", run.stdout, run.stderr));
    (run, json)
}

fn plan_json(moto: &Moto, dir: &Path) -> Value {
    let (run, json) = run_json(moto, dir, &["plan", "-f", FILE, "--format", "json"]);
    ok(&run);
    json
}

/// The plan's changes other than no-ops: (address, actions).
fn changes(plan: &Value) -> Vec<(String, Value)> {
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["actions"] != json!(["no-op"]))
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_string(),
                c["actions"].clone(),
            )
        })
        .collect()
}

fn replan_is_clean(moto: &Moto, dir: &Path) {
    let plan = vpcform(moto, dir, &["plan", "-f", FILE, "--detailed-exitcode"]);
    assert_eq!(
        plan.code, 0,
        "re-plan is clean:\n{}\n{}",
        plan.stdout, plan.stderr
    );
}

/// `vpcform reach -f FILE --live FROM TO --protocol … --format json`.
fn reach(moto: &Moto, dir: &Path, from: &str, to: &str, service: &[&str]) -> (Run, Value) {
    let mut args = vec![
        "reach",
        "-f",
        FILE,
        "--live",
        from,
        to,
        "--format",
        "json",
        "--protocol",
    ];
    args.extend_from_slice(service);
    run_json(moto, dir, &args)
}

/// A leg's hops as `step: detail` lines.
fn hops(answer: &Value, leg: &str) -> Vec<String> {
    answer[leg]
        .as_array()
        .unwrap_or_else(|| panic!("no {leg} leg: {answer:#}"))
        .iter()
        .map(|h| {
            format!(
                "{}: {}",
                h["step"].as_str().unwrap_or_default(),
                h["detail"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

fn has_hop(answer: &Value, leg: &str, wanted: &str) -> bool {
    hops(answer, leg).iter().any(|h| h == wanted)
}

#[test]
fn a_console_built_transit_gateway_is_imported_adopted_with_tags_only_and_reach_crosses_it() {
    let moto = Moto::start();
    let rt = runtime();
    let sdk = rt.block_on(moto.sdk());
    let built = rt.block_on(build_by_hand(&sdk));
    let [one, two] = &built.sides;
    let default = built.default_rtb.as_str();

    // What AWS did with the console's defaults: its default table
    // associates and propagates both attachments; the custom table holds
    // its two static routes, a static route hiding nothing yet.
    let before = rt.block_on(facts(&sdk, &built));
    for fact in [
        format!("table {default} association {} associated", one.attachment),
        format!("table {default} association {} associated", two.attachment),
        format!("table {default} propagation {} enabled", one.attachment),
        format!("table {default} propagation {} enabled", two.attachment),
        format!(
            "table {default} route propagated 10.1.0.0/16 active via {}",
            one.attachment
        ),
        format!(
            "table {default} route propagated 10.2.0.0/16 active via {}",
            two.attachment
        ),
        format!(
            "table {} route static 10.2.0.0/16 active via {}",
            built.inspect_rtb, two.attachment
        ),
        format!(
            "table {} route static 192.168.0.0/16 blackhole via -",
            built.inspect_rtb
        ),
    ] {
        assert!(before.contains(&fact), "{fact}\n{before:#?}");
    }
    let names_before = rt.block_on(tagged(&sdk, "Name"));
    let census_before = rt.block_on(census(&sdk));

    // Import: the gateway, its attachments and both tables are declared.
    let dir = tempfile::tempdir().unwrap();
    let imported = vpcform(
        &moto,
        dir.path(),
        &[
            "import", "--vpc", &one.vpc, "--vpc", &two.vpc, "--stack", STACK, "-o", FILE,
        ],
    );
    ok(&imported);
    let written = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
    let expected_sections = [
        format!(
            "transit-gateways:\n  # {} (hub)\n  hub:\n    description: between network-1 and network-2\n    default-route-table-association: true\n    default-route-table-propagation: true\n    tags: {{ Name: hub }}\n    import-id: {}\n",
            built.tgw, built.tgw
        ),
        format!(
            "  network-1-att:\n    transit-gateway: hub\n    vpc: network-1\n    subnets: [network-1-a, network-1-b]\n    route-table: {DEFAULT_NAME}\n    tags: {{ Name: network-1-att }}\n    import-id: {}\n",
            one.attachment
        ),
        format!(
            "  network-2-att:\n    transit-gateway: hub\n    vpc: network-2\n    subnets: [network-2-a]\n    route-table: {DEFAULT_NAME}\n    tags: {{ Name: network-2-att }}\n    import-id: {}\n",
            two.attachment
        ),
        format!(
            "  inspect:\n    transit-gateway: hub\n    routes:\n      - {{ destination: 10.2.0.0/16, attachment: network-2-att }}\n      - {{ destination: 192.168.0.0/16, blackhole: true }}\n    tags: {{ Name: inspect }}\n    import-id: {}\n",
            built.inspect_rtb
        ),
        format!(
            "  {DEFAULT_NAME}:\n    transit-gateway: hub\n    propagations: [network-1-att, network-2-att]\n    import-id: {default}"
        ),
        "  network-1-rt:\n    vpc: network-1\n    subnets: [network-1-a, network-1-b]\n    routes:\n      - { destination: 10.2.0.0/16, transit-gateway: hub }\n".to_string(),
        "  network-2-rt:\n    vpc: network-2\n    subnets: [network-2-a]\n    routes:\n      - { destination: 10.1.0.0/16, transit-gateway: hub }\n".to_string(),
        "      - { protocol: icmp, cidr: 10.2.0.0/16, description: ping from the other network }\n      - { protocol: tcp, port: 443, cidr: 10.2.0.0/16, description: HTTPS from the other network }\n".to_string(),
        "      - { protocol: icmp, cidr: 10.1.0.0/16, description: ping from the other network }\n      - { protocol: tcp, port: 443, cidr: 10.1.0.0/16, description: HTTPS from the other network }\n".to_string(),
        "Nothing in these VPCs was left out.".to_string(),
    ];
    for wanted in &expected_sections {
        assert!(
            written.contains(wanted.as_str()),
            "{wanted}\n---\n{written}"
        );
    }
    assert!(
        imported
            .stderr
            .contains("Imported 16 object(s) from 2 VPC(s)")
            && imported.stderr.contains("0 left out"),
        "{}",
        imported.stderr
    );
    assert!(
        !imported.stderr.contains("left out ") && !written.contains("# Left out"),
        "nothing transit-related (nor anything else) is left out:\n{}\n{written}",
        imported.stderr
    );
    // Importing reads; it changes nothing.
    assert_eq!(rt.block_on(census(&sdk)), census_before);
    assert_eq!(rt.block_on(facts(&sdk, &built)), before);
    ok(&vpcform(&moto, dir.path(), &["validate", "-f", FILE]));

    // The plan adopts the 16 objects (tags only); every implicit object,
    // the transit ones included, is already as declared.
    let plan = plan_json(&moto, dir.path());
    assert_eq!(plan["errors"], json!([]), "{plan:#}");
    let summary = &plan["summary"];
    assert_eq!(
        ["adopt", "add", "change", "destroy"].map(|k| summary[k].as_u64()),
        [Some(16), Some(0), Some(0), Some(0)],
        "{plan:#}"
    );
    let mut adopted = Vec::new();
    let mut no_ops = Vec::new();
    for c in plan["resource_changes"].as_array().unwrap() {
        let address = c["address"].as_str().unwrap().to_string();
        if c["actions"] == json!(["adopt"]) {
            assert_eq!(c["changed_attributes"], json!(["tags"]), "{c:#}");
            adopted.push(address);
        } else {
            assert_eq!(c["actions"], json!(["no-op"]), "only adoptions: {c:#}");
            no_ops.push(address);
        }
    }
    adopted.sort();
    let mut wanted: Vec<String> = built.addresses().into_values().collect();
    wanted.sort();
    assert_eq!(adopted, wanted);
    for implicit in [
        "transit-gateway-association.network-1-att".to_string(),
        "transit-gateway-association.network-2-att".into(),
        format!("transit-gateway-propagation.{DEFAULT_NAME}[network-1-att]"),
        format!("transit-gateway-propagation.{DEFAULT_NAME}[network-2-att]"),
        "transit-gateway-route.inspect[10.2.0.0/16]".into(),
        "transit-gateway-route.inspect[192.168.0.0/16]".into(),
        "route.network-1-rt[10.2.0.0/16]".into(),
        "route.network-2-rt[10.1.0.0/16]".into(),
    ] {
        assert!(no_ops.contains(&implicit), "{implicit}: {no_ops:#?}");
    }
    let text = vpcform(&moto, dir.path(), &["plan", "-f", FILE]);
    ok(&text);
    assert!(
        text.stdout
            .contains("Plan: 16 to adopt, 0 to add, 0 to change, 0 to destroy."),
        "{}",
        text.stdout
    );

    // Apply: the same objects, now the stack's; nothing else changed.
    ok(&vpcform(
        &moto,
        dir.path(),
        &["apply", "-f", FILE, "--auto-approve"],
    ));
    assert_eq!(rt.block_on(census(&sdk)), census_before);
    assert_eq!(
        rt.block_on(facts(&sdk, &built)),
        before,
        "nothing but tags changed"
    );
    assert_eq!(
        rt.block_on(tagged(&sdk, "vpcform:address")),
        built.addresses(),
        "each object carries its address"
    );
    let stacks = rt.block_on(tagged(&sdk, "vpcform:stack"));
    let ids: Vec<&String> = stacks.keys().collect();
    assert_eq!(ids, built.addresses().keys().collect::<Vec<_>>());
    assert!(stacks.values().all(|s| s == STACK), "{stacks:#?}");
    assert_eq!(
        rt.block_on(tagged(&sdk, "Name")),
        names_before,
        "Name tags kept"
    );
    replan_is_clean(&moto, dir.path());

    // Reach crosses the gateway: the VPC route, the attachment subnet in
    // the source's zone, the default table's propagated route, and back.
    let (run, answer) = reach(
        &moto,
        dir.path(),
        "instance.web-1",
        "instance.web-2",
        &["icmp"],
    );
    assert_eq!(run.code, 0, "{answer:#}\n{}", run.stderr);
    assert_eq!(answer["answer"], "reachable", "{answer:#}");
    for (leg, hop) in [
        (
            "forward",
            format!(
                "route table: 10.2.0.0/16 → transit-gateway.hub ({})",
                built.tgw
            ),
        ),
        (
            "forward",
            "transit gateway attachment: in through transit-gateway-attachment.network-1-att (subnet.network-1-a)".into(),
        ),
        (
            "forward",
            format!(
                "transit gateway route table: 10.2.0.0/16 (propagated: transit-gateway-propagation.{DEFAULT_NAME}[network-2-att]) → transit-gateway-attachment.network-2-att"
            ),
        ),
        (
            "forward",
            "transit gateway attachment: into vpc.network-2".into(),
        ),
        (
            "return",
            format!(
                "route table: 10.1.0.0/16 → transit-gateway.hub ({})",
                built.tgw
            ),
        ),
        (
            "return",
            "transit gateway attachment: in through transit-gateway-attachment.network-2-att (subnet.network-2-a)".into(),
        ),
        (
            "return",
            format!(
                "transit gateway route table: 10.1.0.0/16 (propagated: transit-gateway-propagation.{DEFAULT_NAME}[network-1-att]) → transit-gateway-attachment.network-1-att"
            ),
        ),
    ] {
        assert!(has_hop(&answer, leg, &hop), "{leg}: {hop}\n{answer:#}");
    }
    let table_hop = answer["forward"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["step"] == "transit gateway route table")
        .unwrap();
    assert_eq!(
        table_hop["component"],
        json!({
            "kind": "transit-gateway-route-table",
            "name": format!("transit-gateway-route-table.{DEFAULT_NAME}"),
            "id": default,
        })
    );
    let (run, answer) = reach(
        &moto,
        dir.path(),
        "instance.web-2",
        "instance.web-1",
        &["tcp", "--port", "443"],
    );
    assert_eq!(run.code, 0, "{answer:#}\n{}", run.stderr);
    assert_eq!(answer["answer"], "reachable", "{answer:#}");
    // From network-1's second zone: in through the attachment's subnet in
    // that zone; network-2 has no attachment subnet there, so AWS delivers
    // through the one it has.
    let (run, answer) = reach(
        &moto,
        dir.path(),
        "subnet.network-1-b",
        "instance.web-2",
        &["tcp", "--port", "443"],
    );
    assert_eq!(run.code, 0, "{answer:#}\n{}", run.stderr);
    assert_eq!(answer["answer"], "reachable", "{answer:#}");
    assert!(
        has_hop(
            &answer,
            "forward",
            "transit gateway attachment: in through transit-gateway-attachment.network-1-att (subnet.network-1-b)"
        ),
        "{answer:#}"
    );
    let text = vpcform(
        &moto,
        dir.path(),
        &[
            "reach",
            "-f",
            FILE,
            "--live",
            "instance.web-1",
            "instance.web-2",
            "--protocol",
            "icmp",
        ],
    );
    ok(&text);
    assert!(
        text.stdout.contains("(icmp echo): reachable")
            && text.stdout.contains(&format!(
                "(propagated: transit-gateway-propagation.{DEFAULT_NAME}[network-2-att])"
            )),
        "{}",
        text.stdout
    );

    // By hand, a blackhole for network-2's block in the default table: the
    // static route beats the propagated one for the same prefix.
    rt.block_on(
        sdk.ec2
            .create_transit_gateway_route()
            .transit_gateway_route_table_id(default)
            .destination_cidr_block("10.2.0.0/16")
            .blackhole(true)
            .send(),
    )
    .unwrap();
    let routes = rt.block_on(tgw_routes(&sdk, default));
    assert_eq!(
        routes,
        [
            format!("propagated 10.1.0.0/16 active via {}", one.attachment),
            "static 10.2.0.0/16 blackhole via -".to_string(),
        ],
        "AWS hides the propagated route behind the static one"
    );
    let blocked = |leg: &str| {
        json!([{
            "code": "TGW_RTB_BAD_STATE_ROUTE",
            "component": format!("transit-gateway-route-table.{DEFAULT_NAME}"),
            "kind": "transit-gateway-route-table",
            "id": default,
            "leg": leg,
            "reason": format!("the route to 10.2.0.0/16 (static) in transit-gateway-route-table.{DEFAULT_NAME} ({default}) is a blackhole: it drops instance.web-2 ({})", two.instance),
            "fix": format!("remove the blackhole route to 10.2.0.0/16 from transit-gateway-route-table.{DEFAULT_NAME}, or point it at the attachment of vpc.network-2"),
        }])
    };
    let (run, answer) = reach(
        &moto,
        dir.path(),
        "instance.web-1",
        "instance.web-2",
        &["icmp"],
    );
    assert_eq!(run.code, 2, "{answer:#}\n{}", run.stderr);
    assert_eq!(answer["answer"], "not-reachable", "{answer:#}");
    assert_eq!(answer["blocked"], blocked("forward"), "{answer:#}");
    assert_eq!(answer["unknown"], json!([]), "{answer:#}");
    // The other way the request arrives; its reply meets the blackhole.
    let (run, answer) = reach(
        &moto,
        dir.path(),
        "instance.web-2",
        "instance.web-1",
        &["tcp", "--port", "443"],
    );
    assert_eq!(run.code, 2, "{answer:#}\n{}", run.stderr);
    assert_eq!(answer["blocked"], blocked("return"), "{answer:#}");
    let text = vpcform(
        &moto,
        dir.path(),
        &[
            "reach",
            "-f",
            FILE,
            "--live",
            "instance.web-1",
            "instance.web-2",
        ],
    );
    assert_eq!(text.code, 2, "{}\n{}", text.stdout, text.stderr);
    assert!(
        text.stdout.contains("(icmp echo): NOT reachable")
            && text.stdout.contains(&format!(
                "[TGW_RTB_BAD_STATE_ROUTE] transit-gateway-route-table.{DEFAULT_NAME} ({default}), forward leg"
            )),
        "{}",
        text.stdout
    );

    // The route was added by hand to a table the topology declares: the
    // plan deletes it, and says the flows it cut come back.
    let plan = plan_json(&moto, dir.path());
    let route = format!("transit-gateway-route.{DEFAULT_NAME}[10.2.0.0/16]");
    assert_eq!(
        changes(&plan),
        [(route.clone(), json!(["delete"]))],
        "{plan:#}"
    );
    let change = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == route.as_str())
        .unwrap();
    assert_eq!(
        change["drift"]["summary"], "added outside vpcform",
        "{change:#}"
    );
    assert_eq!(
        change["before"],
        json!({
            "blackhole": true,
            "destination_cidr_block": "10.2.0.0/16",
            "transit_gateway_attachment_id": null,
            "transit_gateway_route_table_id": default,
        }),
        "{change:#}"
    );
    let summary = &plan["summary"];
    assert_eq!(
        ["adopt", "add", "change", "destroy"].map(|k| summary[k].as_u64()),
        [Some(0), Some(0), Some(0), Some(1)],
        "{plan:#}"
    );
    let mut flows: Vec<(String, String, Value, Value)> = plan["connectivity"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["from"]
                    .as_str()
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_string(),
                c["service"].as_str().unwrap().to_string(),
                c["before"].clone(),
                c["after"].clone(),
            )
        })
        .collect();
    flows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let back = |from: &str, service: &str| {
        (
            from.to_string(),
            service.to_string(),
            json!(false),
            json!(true),
        )
    };
    assert_eq!(
        flows,
        [
            back("instance.web-1", "icmp echo"),
            back("instance.web-1", "tcp/443"),
            back("instance.web-2", "icmp echo"),
            back("instance.web-2", "tcp/443"),
        ],
        "{:#}",
        plan["connectivity"]
    );
    let text = vpcform(
        &moto,
        dir.path(),
        &["plan", "-f", FILE, "--detailed-exitcode"],
    );
    assert_eq!(text.code, 2, "{}\n{}", text.stdout, text.stderr);
    assert!(
        text.stdout.contains(&format!("  - {route} {{"))
            && text.stdout.contains("# (added outside vpcform)")
            && text
                .stdout
                .contains("Plan: 0 to add, 0 to change, 1 to destroy."),
        "{}",
        text.stdout
    );

    // Applied: the blackhole is gone, the propagated route shows again,
    // the rest is as adopted, and reach crosses again.
    ok(&vpcform(
        &moto,
        dir.path(),
        &["apply", "-f", FILE, "--auto-approve"],
    ));
    assert_eq!(rt.block_on(facts(&sdk, &built)), before);
    let (run, answer) = reach(
        &moto,
        dir.path(),
        "instance.web-1",
        "instance.web-2",
        &["icmp"],
    );
    assert_eq!(run.code, 0, "{answer:#}\n{}", run.stderr);
    assert_eq!(answer["answer"], "reachable", "{answer:#}");
    replan_is_clean(&moto, dir.path());
}
