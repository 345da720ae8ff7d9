//! Generators of large, valid topologies for benchmarks and tests.

use std::fmt::Write as _;

/// A topology of `vpcs` independent VPC stacks, each with a subnet, an
/// internet gateway, a route table with a default route, a security group
/// with two rules and an instance: 11 graph nodes per VPC (the gateway
/// attachment, route-table association and route are implicit nodes).
pub fn wide_topology(stack: &str, vpcs: usize) -> String {
    let mut y = String::with_capacity(vpcs * 900);
    let _ = writeln!(y, "stack: {stack}\nregion: us-east-1\nvpcs:");
    let cidr = |i: usize| format!("10.{}.{}.0", i / 16, (i % 16) * 16);
    for i in 0..vpcs {
        let _ = writeln!(
            y,
            "  vpc-{i}: {{ cidr: {}/20, tags: {{ Name: vpc-{i} }} }}",
            cidr(i)
        );
    }
    y.push_str("subnets:\n");
    for i in 0..vpcs {
        let _ = writeln!(
            y,
            "  subnet-{i}: {{ vpc: vpc-{i}, cidr: {}/24, map-public-ip-on-launch: true }}",
            cidr(i)
        );
    }
    y.push_str("internet-gateways:\n");
    for i in 0..vpcs {
        let _ = writeln!(y, "  igw-{i}: {{ vpc: vpc-{i} }}");
    }
    y.push_str("route-tables:\n");
    for i in 0..vpcs {
        let _ = writeln!(
            y,
            "  rt-{i}:\n    vpc: vpc-{i}\n    subnets: [subnet-{i}]\n    routes:\n      - {{ destination: 0.0.0.0/0, internet-gateway: igw-{i} }}"
        );
    }
    y.push_str("security-groups:\n");
    for i in 0..vpcs {
        let _ = writeln!(
            y,
            "  group-{i}:\n    vpc: vpc-{i}\n    description: ssh and ping\n    ingress:\n      - {{ protocol: tcp, port: 22, cidr: 0.0.0.0/0 }}\n      - {{ protocol: icmp, cidr: 0.0.0.0/0 }}"
        );
    }
    y.push_str("instances:\n");
    for i in 0..vpcs {
        let _ = writeln!(
            y,
            "  instance-{i}: {{ ami: ami-0123456789abcdef0, instance-type: t3.micro, subnet: subnet-{i}, security-groups: [group-{i}] }}"
        );
    }
    y
}

/// The network of [`wide_topology`] written once, as a blueprint used
/// `vpcs` times with `for-each` (the expansion's cost: compare with the
/// plain topology it renders to).
pub fn blueprint_topology(stack: &str, vpcs: usize) -> String {
    let mut y = String::with_capacity(1200);
    let _ = writeln!(y, "stack: {stack}\nregion: us-east-1");
    y.push_str(concat!(
        "blueprints:\n  net:\n    parameters:\n      cidr: { type: cidr }\n",
        "    vpcs:\n      vpc: { cidr: \"${param.cidr}\", tags: { Name: \"${param.cidr}\" } }\n",
        "    subnets:\n      subnet: { vpc: vpc, cidr: \"${cidrsubnet(param.cidr, 4, 0)}\", map-public-ip-on-launch: true }\n",
        "    internet-gateways:\n      igw: { vpc: vpc }\n",
        "    route-tables:\n      rt: { vpc: vpc, subnets: [subnet], routes: [{ destination: 0.0.0.0/0, internet-gateway: igw }] }\n",
        "    security-groups:\n      group:\n        vpc: vpc\n        description: ssh and ping\n        ingress:\n",
        "          - { protocol: tcp, port: 22, cidr: 0.0.0.0/0 }\n          - { protocol: icmp, cidr: 0.0.0.0/0 }\n",
        "    instances:\n      instance: { ami: ami-0123456789abcdef0, instance-type: t3.micro, subnet: subnet, security-groups: [group] }\n",
    ));
    let _ = writeln!(
        y,
        "use:\n  net:\n    for-each: ${{range({vpcs})}}\n    blueprint: net\n    cidr: ${{cidrsubnet(\"10.0.0.0/8\", 12, each.index)}}"
    );
    y
}

/// `vpcs` production-shaped VPCs (issue 19's layout): two zones of public
/// and app subnets, an internet gateway, a NAT gateway per zone with its
/// Elastic IP, a table per tier and zone, an office prefix list on a
/// bastion group's rule (without a description: moto drops a prefix-list
/// peer's), an S3 gateway endpoint and an SSM interface
/// endpoint behind their own group; dual-stack: an IPv6 block, a /64 per
/// subnet, `::/0` out of the app tier through an egress-only gateway.
pub fn production_vpcs(stack: &str, vpcs: usize) -> String {
    let mut y = String::with_capacity(vpcs * 2400);
    let _ = writeln!(y, "stack: {stack}\nregion: us-east-1");
    let mut sections: Vec<(&str, String)> = [
        "vpcs",
        "subnets",
        "internet-gateways",
        "egress-only-gateways",
        "elastic-ips",
        "nat-gateways",
        "route-tables",
        "prefix-lists",
        "security-groups",
        "vpc-endpoints",
    ]
    .iter()
    .map(|s| (*s, String::new()))
    .collect();
    for i in 0..vpcs {
        let [
            vpc,
            subnets,
            igws,
            eigws,
            eips,
            nats,
            tables,
            lists,
            groups,
            endpoints,
        ] = sections_mut(&mut sections);
        let _ = writeln!(
            vpc,
            "  v{i}: {{ cidr: 10.{i}.0.0/16, ipv6: true, enable-dns-hostnames: true }}"
        );
        for (z, az) in [("a", "us-east-1a"), ("b", "us-east-1b")] {
            let n = usize::from(z == "b");
            let _ = writeln!(
                subnets,
                "  v{i}-pub-{z}: {{ vpc: v{i}, cidr: 10.{i}.{n}.0/24, availability-zone: {az}, map-public-ip-on-launch: true, ipv6-index: {n} }}"
            );
            let _ = writeln!(
                subnets,
                "  v{i}-app-{z}: {{ vpc: v{i}, cidr: 10.{i}.1{n}.0/24, availability-zone: {az}, ipv6-index: 1{n}, assign-ipv6-on-creation: true }}"
            );
            let _ = writeln!(eips, "  v{i}-eip-{z}: {{}}");
            let _ = writeln!(
                nats,
                "  v{i}-nat-{z}: {{ subnet: v{i}-pub-{z}, elastic-ip: v{i}-eip-{z} }}"
            );
            let _ = writeln!(
                tables,
                "  v{i}-app-{z}-rt:\n    vpc: v{i}\n    subnets: [v{i}-app-{z}]\n    routes:\n      - {{ destination: 0.0.0.0/0, nat-gateway: v{i}-nat-{z} }}\n      - {{ destination: \"::/0\", egress-only-gateway: v{i}-eigw }}"
            );
        }
        let _ = writeln!(igws, "  v{i}-igw: {{ vpc: v{i} }}");
        let _ = writeln!(eigws, "  v{i}-eigw: {{ vpc: v{i} }}");
        let _ = writeln!(
            tables,
            "  v{i}-pub-rt:\n    vpc: v{i}\n    subnets: [v{i}-pub-a, v{i}-pub-b]\n    routes:\n      - {{ destination: 0.0.0.0/0, internet-gateway: v{i}-igw }}\n      - {{ destination: \"::/0\", internet-gateway: v{i}-igw }}"
        );
        let _ = writeln!(
            lists,
            "  v{i}-office:\n    entries:\n      - {{ cidr: 203.0.113.0/24, description: head office }}"
        );
        let _ = writeln!(
            groups,
            "  v{i}-bastion:\n    vpc: v{i}\n    description: SSH from the office\n    ingress:\n      - {{ protocol: tcp, port: 22, prefix-list: v{i}-office }}"
        );
        let _ = writeln!(
            groups,
            "  v{i}-endpoints:\n    vpc: v{i}\n    description: interface endpoints\n    ingress:\n      - {{ protocol: tcp, port: 443, cidr: 10.{i}.0.0/16, description: HTTPS }}"
        );
        let _ = writeln!(
            endpoints,
            "  v{i}-s3: {{ vpc: v{i}, service: s3, route-tables: [v{i}-app-a-rt, v{i}-app-b-rt] }}"
        );
        let _ = writeln!(
            endpoints,
            "  v{i}-ssm: {{ vpc: v{i}, service: ssm, subnets: [v{i}-app-a, v{i}-app-b], security-groups: [v{i}-endpoints] }}"
        );
    }
    for (name, body) in sections {
        let _ = write!(y, "{name}:\n{body}");
    }
    y
}

/// The ten section buffers of [`production_vpcs`], by position.
fn sections_mut<'s>(sections: &'s mut [(&str, String)]) -> [&'s mut String; 10] {
    let mut it = sections.iter_mut().map(|(_, b)| b);
    std::array::from_fn(|_| it.next().expect("ten sections"))
}

/// A hub VPC (172.16.0.0/16, with an internet gateway) peered with `spokes`
/// spoke VPCs (`add-routes`: a route each way), one subnet, security group
/// and instance in every VPC; spokes allow ICMP and SSH from the hub.
pub fn hub_and_spokes(stack: &str, spokes: usize) -> String {
    let mut y = String::with_capacity(spokes * 1200);
    let cidr = |i: usize| format!("10.{}.{}.0", i / 16, (i % 16) * 16);
    let _ = writeln!(
        y,
        "stack: {stack}\nregion: us-east-1\nvpcs:\n  hub: {{ cidr: 172.16.0.0/16 }}"
    );
    for i in 0..spokes {
        let _ = writeln!(
            y,
            "  spoke-{i}: {{ cidr: {}/20, tags: {{ role: spoke }} }}",
            cidr(i)
        );
    }
    let _ = writeln!(
        y,
        "subnets:\n  hub-subnet: {{ vpc: hub, cidr: 172.16.0.0/24, map-public-ip-on-launch: true }}"
    );
    for i in 0..spokes {
        let _ = writeln!(
            y,
            "  spoke-{i}-subnet: {{ vpc: spoke-{i}, cidr: {}/24 }}",
            cidr(i)
        );
    }
    let _ = writeln!(y, "internet-gateways:\n  hub-igw: {{ vpc: hub }}");
    let _ = writeln!(
        y,
        "route-tables:\n  hub-rt:\n    vpc: hub\n    subnets: [hub-subnet]\n    routes:\n      - {{ destination: 0.0.0.0/0, internet-gateway: hub-igw }}"
    );
    for i in 0..spokes {
        let _ = writeln!(
            y,
            "  spoke-{i}-rt: {{ vpc: spoke-{i}, subnets: [spoke-{i}-subnet] }}"
        );
    }
    let _ = writeln!(
        y,
        "security-groups:\n  hub-sg:\n    vpc: hub\n    ingress:\n      - {{ protocol: tcp, port: 22, cidr: 0.0.0.0/0 }}\n      - {{ protocol: tcp, port: 443, cidr: 10.0.0.0/8 }}"
    );
    for i in 0..spokes {
        let _ = writeln!(
            y,
            "  spoke-{i}-sg:\n    vpc: spoke-{i}\n    ingress:\n      - {{ protocol: icmp, cidr: 172.16.0.0/16 }}\n      - {{ protocol: tcp, port: 22, cidr: 172.16.0.0/16 }}"
        );
    }
    let _ = writeln!(
        y,
        "instances:\n  hub-host: {{ ami: ami-0123456789abcdef0, instance-type: t3.micro, subnet: hub-subnet, security-groups: [hub-sg] }}"
    );
    for i in 0..spokes {
        let _ = writeln!(
            y,
            "  spoke-{i}-host: {{ ami: ami-0123456789abcdef0, instance-type: t3.micro, subnet: spoke-{i}-subnet, security-groups: [spoke-{i}-sg] }}"
        );
    }
    y.push_str("peerings:\n");
    for i in 0..spokes {
        let _ = writeln!(
            y,
            "  hub-spoke-{i}: {{ requester: hub, accepter: spoke-{i}, add-routes: true }}"
        );
    }
    y
}

/// The segments of [`transit_segments`], by spoke number.
pub const SEGMENTS: [&str; 3] = ["prod", "dev", "test"];

/// A shared-services VPC (172.16.0.0/16) and `spokes` spoke VPCs on one
/// transit gateway, the spokes in three segments (`env` tag, spoke `i` in
/// `SEGMENTS[i % 3]`): each segment's route table learns shared services
/// and its own spokes, shared services' table learns everyone. One subnet
/// (also the attachment's), route table, group and instance per VPC.
pub fn transit_segments(stack: &str, spokes: usize) -> String {
    let mut y = String::with_capacity(spokes * 1500);
    let cidr = |i: usize| format!("10.{}.{}.0", i / 16, (i % 16) * 16);
    let segment = |i: usize| SEGMENTS[i % 3];
    let _ = writeln!(
        y,
        "stack: {stack}\nregion: us-east-1\nvpcs:\n  shared: {{ cidr: 172.16.0.0/16, tags: {{ env: shared }} }}"
    );
    for i in 0..spokes {
        let _ = writeln!(
            y,
            "  spoke-{i}: {{ cidr: {}/20, tags: {{ env: {} }} }}",
            cidr(i),
            segment(i)
        );
    }
    let zone = "availability-zone: us-east-1a";
    let _ = writeln!(
        y,
        "subnets:\n  shared-subnet: {{ vpc: shared, cidr: 172.16.0.0/24, {zone} }}"
    );
    for i in 0..spokes {
        let _ = writeln!(
            y,
            "  spoke-{i}-subnet: {{ vpc: spoke-{i}, cidr: {}/24, {zone} }}",
            cidr(i)
        );
    }
    let to_hub = "routes: [{ destination: 10.0.0.0/8, transit-gateway: hub }]";
    let _ = writeln!(
        y,
        "route-tables:\n  shared-rt: {{ vpc: shared, subnets: [shared-subnet], {to_hub} }}"
    );
    for i in 0..spokes {
        let _ = writeln!(
            y,
            "  spoke-{i}-rt: {{ vpc: spoke-{i}, subnets: [spoke-{i}-subnet], routes: [{{ destination: 172.16.0.0/16, transit-gateway: hub }}, {{ destination: 10.0.0.0/8, transit-gateway: hub }}] }}"
        );
    }
    let _ = writeln!(y, "transit-gateways:\n  hub: {{}}");
    let _ = writeln!(
        y,
        "transit-gateway-attachments:\n  shared-att: {{ transit-gateway: hub, vpc: shared, subnets: [shared-subnet], route-table: shared-tgw-rt }}"
    );
    for i in 0..spokes {
        let _ = writeln!(
            y,
            "  spoke-{i}-att: {{ transit-gateway: hub, vpc: spoke-{i}, subnets: [spoke-{i}-subnet], route-table: {}-tgw-rt }}",
            segment(i)
        );
    }
    let attachments = |keep: &dyn Fn(usize) -> bool| {
        (0..spokes)
            .filter(|&i| keep(i))
            .map(|i| format!("spoke-{i}-att"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        y,
        "transit-gateway-route-tables:\n  shared-tgw-rt: {{ transit-gateway: hub, propagations: [{}] }}",
        attachments(&|_| true)
    );
    for (n, s) in SEGMENTS.iter().enumerate() {
        let own = attachments(&|i| i % 3 == n);
        let sep = if own.is_empty() { "" } else { ", " };
        let _ = writeln!(
            y,
            "  {s}-tgw-rt: {{ transit-gateway: hub, propagations: [shared-att{sep}{own}] }}"
        );
    }
    let _ = writeln!(
        y,
        "security-groups:\n  shared-sg:\n    vpc: shared\n    ingress:\n      - {{ protocol: tcp, port: 443, cidr: 10.0.0.0/8 }}"
    );
    for i in 0..spokes {
        let _ = writeln!(
            y,
            "  spoke-{i}-sg:\n    vpc: spoke-{i}\n    ingress:\n      - {{ protocol: icmp, cidr: 172.16.0.0/16 }}\n      - {{ protocol: tcp, port: 22, cidr: 172.16.0.0/16 }}"
        );
    }
    let _ = writeln!(
        y,
        "instances:\n  shared-host: {{ ami: ami-0123456789abcdef0, instance-type: t3.micro, subnet: shared-subnet, security-groups: [shared-sg] }}"
    );
    for i in 0..spokes {
        let _ = writeln!(
            y,
            "  spoke-{i}-host: {{ ami: ami-0123456789abcdef0, instance-type: t3.micro, subnet: spoke-{i}-subnet, security-groups: [spoke-{i}-sg] }}"
        );
    }
    y
}
