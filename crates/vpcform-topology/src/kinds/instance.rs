//! EC2 instances: launched into a subnet with security groups of its VPC.

use schemars::JsonSchema;
use serde_json::Value;

use crate::address::{Address, ResourceKind};
use crate::attr::{SUBNET_ID, TAGS};
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
use crate::validate::{NameIndex, by_name};
use crate::yaml::Node;

pub const AMI: Attr = Attr::new("ami");
pub const INSTANCE_TYPE: Attr = Attr::new("instance_type");
pub const SECURITY_GROUP_IDS: Attr = Attr::new("security_group_ids");
pub const KEY_NAME: Attr = Attr::new("key_name");
/// How many IPv6 addresses the instance asks for at launch; compared only when declared.
pub const IPV6_ADDRESS_COUNT: Attr = Attr::new("ipv6_address_count");
/// Read but not planned: the instance's state and private address.
pub const STATE: Attr = Attr::new("state");
pub const PRIVATE_IP_ADDRESS: Attr = Attr::new("private_ip_address");
/// Read but not planned: the primary network interface (flow-log records name it).
pub const NETWORK_INTERFACE_ID: Attr = Attr::new("network_interface_id");

/// An EC2 instance. Exactly one of `ami` and `ami-ssm-parameter`.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Instance {
    /// An AMI id, e.g. `ami-0123456789abcdef0`.
    pub ami: Option<At<String>>,
    /// A public SSM parameter that names the AMI, e.g.
    /// `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64`.
    pub ami_ssm_parameter: Option<At<String>>,
    pub instance_type: At<String>,
    pub subnet: Ref,
    #[schemars(default)]
    pub security_groups: Vec<Ref>,
    /// Name of an existing EC2 key pair.
    pub key_name: Option<At<String>>,
    /// IPv6 addresses to launch with, from its subnet's /64 (changing it
    /// replaces the instance). Its subnet may give one by itself
    /// (`assign-ipv6-on-creation`).
    pub ipv6_address_count: Option<At<i64>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`vpcform import` writes it).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl Kind for Instance {
    const KIND: ResourceKind = ResourceKind::Instance;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(AMI, Compare::Exact),
        AttrSpec::update(INSTANCE_TYPE, Compare::Exact),
        AttrSpec::replace(SUBNET_ID, Compare::Exact),
        AttrSpec::update(SECURITY_GROUP_IDS, Compare::StringSet),
        AttrSpec::replace(KEY_NAME, Compare::Exact),
        AttrSpec::replace(IPV6_ADDRESS_COUNT, Compare::Exact),
        crate::attr::TAGS_SPEC,
    ];

    /// A replacement instance can run beside the old one, which keeps the
    /// workload reachable during the swap.
    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::CreateFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let i = cx.index.instances.get(a.name.as_str())?;
        let mut d = DesiredAttrs::from([
            (INSTANCE_TYPE, Desired::known(i.instance_type.value.clone())),
            (
                SUBNET_ID,
                Desired::id_of(ResourceKind::Subnet, &i.subnet.value),
            ),
            (
                SECURITY_GROUP_IDS,
                Desired::RefList(
                    i.security_groups
                        .iter()
                        .map(|g| Address::new(ResourceKind::SecurityGroup, &g.value))
                        .collect(),
                ),
            ),
            (KEY_NAME, Desired::optional(i.key_name.as_ref())),
            (TAGS, cx.tags(a, &i.tags)),
        ]);
        match (&i.ami, &i.ami_ssm_parameter) {
            (Some(ami), _) => {
                d.insert(AMI, Desired::known(ami.value.clone()));
            }
            (None, Some(p)) => {
                let ami = cx.lookups.get(&p.value).map_or_else(
                    || Desired::Ssm(p.value.clone()),
                    |ami| Desired::Known(Value::String(ami.clone())),
                );
                d.insert(AMI, ami);
            }
            (None, None) => {}
        }
        if let Some(count) = &i.ipv6_address_count {
            d.insert(IPV6_ADDRESS_COUNT, Desired::known(count.value));
        }
        Some(d)
    }
}

impl Declared for Instance {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let ami = f.maybe("ami", cx);
        let ami_ssm = f.maybe("ami-ssm-parameter", cx);
        let instance_type = f.required("instance-type", cx);
        let subnet = f.required("subnet", cx);
        let sgs = f.maybe("security-groups", cx);
        let key_name = f.maybe("key-name", cx);
        let ipv6_count = f.maybe("ipv6-address-count", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        let span = f.span();
        f.finish(cx);
        let (ami, ami_ssm): (Option<At<String>>, Option<At<String>>) = (ami.ok()?, ami_ssm.ok()?);
        if ami.is_some() == ami_ssm.is_some() {
            cx.push(
                Diagnostic::error("instance-ami", span, format!("{what} needs exactly one of `ami` and `ami-ssm-parameter`"))
                    .with_help("e.g. `ami-ssm-parameter: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64`"),
            );
            return None;
        }
        Some(Instance {
            ami,
            ami_ssm_parameter: ami_ssm,
            instance_type: instance_type?,
            subnet: subnet?,
            security_groups: sgs.ok()?.unwrap_or_default(),
            key_name: key_name.ok()?,
            ipv6_address_count: ipv6_count.ok()?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let subnets = by_name(&t.subnets);
        let sgs = by_name(&t.security_groups);
        for inst in items {
            let i = &inst.spec;
            check_values(i, cx);
            if !index.check(&i.subnet, ResourceKind::Subnet, "subnet", cx) {
                continue;
            }
            let subnet = subnets.get(i.subnet.value.as_str());
            check_ipv6_count(inst, subnet.map(|s| &s.spec), cx);
            let vpc = subnet.map(|s| &s.spec.vpc.value);
            for sg_ref in &i.security_groups {
                if !index.check(sg_ref, ResourceKind::SecurityGroup, "security-groups", cx) {
                    continue;
                }
                let (Some(vpc), Some(sg)) = (vpc, sgs.get(sg_ref.value.as_str())) else {
                    continue;
                };
                if &sg.spec.vpc.value != vpc {
                    cx.push(
                        Diagnostic::error(
                            "instance-group-other-vpc",
                            sg_ref.span,
                            format!("security group `{}` is in VPC `{}`, but instance `{}` is launched into VPC `{vpc}`", sg_ref.value, sg.spec.vpc.value, inst.name.value),
                        )
                        .with_help("use security groups of the instance's own VPC"),
                    );
                }
            }
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for r in items {
            let a = b.node(
                Address::new(ResourceKind::Instance, &r.name.value),
                r.name.span,
            );
            b.edge(a, Address::new(ResourceKind::Subnet, &r.spec.subnet.value));
            for sg in &r.spec.security_groups {
                b.edge(a, Address::new(ResourceKind::SecurityGroup, &sg.value));
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("i-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        m.set("ami", o.str(AMI)?);
        m.set("instance-type", o.str(INSTANCE_TYPE)?);
        if !cx.reference(o, SUBNET_ID, ResourceKind::Subnet, "subnet", &mut m) {
            return None;
        }
        let mut groups = Vec::new();
        for id in o
            .get(SECURITY_GROUP_IDS)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            match cx.name_of(ResourceKind::SecurityGroup, id) {
                Some(name) => groups.push(Yaml::from(name)),
                None => cx.leave_out(
                    &o.id,
                    format!("security group {id} of the instance"),
                    "it is not declared (the VPC's default group?); the plan will propose removing it from the instance unless you declare it",
                ),
            }
        }
        m.list("security-groups", groups);
        m.maybe("key-name", o.str(KEY_NAME));
        Some(m)
    }
}

impl Instance {
    /// Whether it launches with an IPv6 address (asked for, or given by its subnet).
    pub fn has_ipv6(&self, subnet: &crate::kinds::subnet::Subnet) -> bool {
        subnet.assigns_ipv6()
            || self
                .ipv6_address_count
                .as_ref()
                .is_some_and(|c| c.value > 0)
    }
}

/// IPv6 addresses come from the subnet's /64: it needs one.
fn check_ipv6_count(
    inst: &Named<Instance>,
    subnet: Option<&crate::kinds::subnet::Subnet>,
    cx: &mut Cx,
) {
    let Some(count) = &inst.spec.ipv6_address_count else {
        return;
    };
    if count.value < 0 {
        cx.push(
            Diagnostic::error(
                "ipv6-address-count",
                count.span,
                "`ipv6-address-count` cannot be negative",
            )
            .with_help("give a count from 0 up"),
        );
    } else if count.value > 0 && subnet.is_some_and(|s| s.ipv6_index.is_none()) {
        cx.push(
            Diagnostic::error(
                "subnet-ipv6-without-vpc-block",
                count.span,
                format!(
                    "instance `{}` asks for IPv6 addresses, but subnet `{}` has no IPv6 block",
                    inst.name.value, inst.spec.subnet.value
                ),
            )
            .with_help("give the subnet an `ipv6-index` (its VPC needs `ipv6: true`)"),
        );
    }
}

/// The AMI, its SSM parameter and the instance type look like AWS's.
fn check_values(i: &Instance, cx: &mut Cx) {
    if let Some(ami) = &i.ami
        && !ami.value.starts_with("ami-")
    {
        cx.push(
            Diagnostic::error(
                "invalid-ami",
                ami.span,
                format!("`{}` is not an AMI id", ami.value),
            )
            .with_help("AMI ids look like `ami-0123456789abcdef0`; or use `ami-ssm-parameter`"),
        );
    }
    if let Some(p) = &i.ami_ssm_parameter
        && !p.value.starts_with('/')
    {
        cx.push(
            Diagnostic::error("invalid-ssm-parameter", p.span, format!("`{}` is not an SSM parameter path", p.value))
                .with_help("SSM parameter names start with `/`, e.g. /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"),
        );
    }
    if !i.instance_type.value.contains('.') {
        cx.push(
            Diagnostic::error(
                "invalid-instance-type",
                i.instance_type.span,
                format!("`{}` is not an instance type", i.instance_type.value),
            )
            .with_help("instance types look like `t3.micro`"),
        );
    }
}
