//! Policy checks see IPv6: `::/0` is the whole internet as much as 0.0.0.0/0
//! (checkov's CKV_AWS_24/25 check both), and a group in a VPC with IPv6
//! gets AWS's `::/0` egress rule too.

use vpcform_topology::load;

const TOPOLOGY: &str = r#"
stack: demo
vpcs:
  dual: { cidr: 10.1.0.0/16, ipv6: true }
security-groups:
  admin:
    vpc: dual
    description: Administration
    ingress:
      - { protocol: tcp, port: 22, cidr: "::/0", description: SSH from anywhere over IPv6 }
      - { protocol: tcp, port: 3389, cidr: "2001:db8::/32", description: RDP from the office }
    egress: []
  web:
    vpc: dual
    description: Web servers
    ingress:
      - { protocol: tcp, port: 443, cidr: "::/0", description: HTTPS }
"#;

fn findings(rule: &str) -> Vec<String> {
    let loaded = load("dual.yaml", TOPOLOGY.as_bytes());
    assert!(loaded.graph.is_some(), "{:?}", loaded.diagnostics);
    loaded
        .findings
        .iter()
        .filter(|f| f.finding.rule == rule)
        .map(|f| format!("{}: {}", f.finding.address, f.finding.message))
        .collect()
}

#[test]
fn ssh_open_to_all_of_ipv6_is_found_and_a_narrow_ipv6_block_is_not() {
    assert_eq!(
        findings("CKV_AWS_24"),
        [
            "security-group-rule.admin[ingress/tcp/22..22/::/0]: SSH (port 22) is open to the whole internet (::/0)"
        ]
    );
    assert_eq!(findings("CKV_AWS_25"), Vec::<String>::new());
}

#[test]
fn a_group_with_unmanaged_egress_in_an_ipv6_vpc_may_send_anywhere_over_both_families() {
    assert_eq!(
        findings("AVD-AWS-0104"),
        [
            "security-group-rule.web[egress/-1/-1..-1/0.0.0.0/0]: all traffic may leave to anywhere (0.0.0.0/0)",
            "security-group-rule.web[egress/-1/-1..-1/::/0]: all traffic may leave to anywhere (::/0)",
        ]
    );
}
