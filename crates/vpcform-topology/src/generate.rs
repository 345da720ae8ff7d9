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
        let _ = writeln!(y, "  spoke-{i}: {{ cidr: {}/20 }}", cidr(i));
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
