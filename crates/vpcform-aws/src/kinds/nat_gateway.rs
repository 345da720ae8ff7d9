//! Elastic IPs and NAT gateways. Each read is a call and a pure mapping
//! (`elastic_ips_found`, `nat_gateways_found`) from the SDK's types to the
//! live objects, unit-tested on AWS-shaped responses.

use std::time::Duration;

use aws_sdk_ec2::types::{
    Address as Eip, ConnectivityType, DomainType, NatGateway as Ngw, NatGatewayState, ResourceType,
};
use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::attr::{SUBNET_ID, TAGS, VPC_ID};
use vpcform_topology::kinds::nat_gateway::{
    ALLOCATION_ID, CONNECTIVITY_TYPE, PRIVATE_IP, PUBLIC_IP,
};

use crate::apply::{
    attr, client_token, create_once, created_filters, delete, ec2_tag_spec, id, no_retries,
    outcome, required, update_tags_only, wait_for,
};
use crate::kind::{AwsKind, AwsRoutable, Read, Scan, Scanned};
use crate::read::{
    Found, ReadCx, Select, describe_ec2, ec2_tags, in_vpcs, opt_str, placed, tags_value,
};
use crate::{Aws, AwsError};

/// How long a NAT gateway may take to become available, or to go.
const NAT_WAIT: Duration = Duration::from_secs(600);

async fn read_eips(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let items = cx
        .select(
            ResourceKind::ElasticIp,
            |x: &Eip| x.allocation_id(),
            |s| describe_eips(aws, s),
        )
        .await?;
    Ok(elastic_ips_found(&items, cx))
}

/// The stack's Elastic IPs, as the plan compares them.
pub(crate) fn elastic_ips_found(items: &[Eip], cx: &ReadCx<'_>) -> Found {
    let mut found = Found::default();
    for e in items {
        let Some(id) = e.allocation_id() else {
            continue;
        };
        let tags = ec2_tags(e.tags());
        let Some(place) = cx.place(ResourceKind::ElasticIp, &tags, id, &mut found.conflicts) else {
            continue;
        };
        found.objects.push(placed(
            place,
            id,
            vec![
                (TAGS, tags_value(&tags)),
                (PUBLIC_IP, opt_str(e.public_ip())),
            ],
        ));
    }
    found
}

/// DescribeAddresses has no pages: one call answers for every address.
pub(crate) async fn describe_eips(aws: &Aws, select: Select) -> Result<Vec<Eip>, AwsError> {
    let call = match select {
        Select::Filter(f) => aws.ec2.describe_addresses().filters(f),
        Select::Ids(ids) => aws.ec2.describe_addresses().set_allocation_ids(Some(ids)),
    };
    let answer = call
        .send()
        .await
        .map_err(|e| aws.error("ec2:DescribeAddresses", e))?;
    Ok(answer.addresses.unwrap_or_default())
}

/// An Elastic IP address.
pub(crate) struct ElasticIp;

impl AwsKind for ElasticIp {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read_eips(aws, cx)));
    /// Found through the NAT gateways that use them.
    const SCAN: Scan = Scan::Through {
        from: &[(ResourceKind::NatGateway, ALLOCATION_ID)],
        id: |id| Some(id.to_string()),
    };

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let send = || async {
            let created = aws
                .ec2
                .allocate_address()
                .domain(DomainType::Vpc)
                .tag_specifications(ec2_tag_spec(ResourceType::ElasticIp, op))
                .customize()
                .config_override(no_retries())
                .send()
                .await
                .map_err(|e| aws.error("ec2:AllocateAddress", e))?;
            created
                .allocation_id()
                .map(str::to_string)
                .ok_or_else(|| AwsError::MissingId {
                    operation: format!("{} {}", op.verb, op.address),
                })
        };
        let find = || async {
            let found = aws
                .ec2
                .describe_addresses()
                .set_filters(Some(created_filters(op)))
                .send()
                .await
                .map_err(|e| aws.error("ec2:DescribeAddresses", e))?;
            Ok(found
                .addresses()
                .first()
                .and_then(|a| a.allocation_id())
                .map(str::to_string))
        };
        let id = create_once(&format!("creating {}", op.address), send, find).await?;
        Ok(outcome(id))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    /// Released once nothing uses it (a NAT gateway being deleted holds it until it is gone).
    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let allocation = id(op)?;
        delete("Elastic IP", allocation, || async {
            aws.ec2
                .release_address()
                .allocation_id(allocation)
                .send()
                .await
                .map_err(|e| aws.error("ec2:ReleaseAddress", e))
        })
        .await
    }
}

async fn read_nats(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let items = cx
        .select(
            ResourceKind::NatGateway,
            |x: &Ngw| x.nat_gateway_id(),
            |s| describe(aws, s),
        )
        .await?;
    Ok(nat_gateways_found(&items, cx))
}

/// Whether a NAT gateway still exists as far as plans go: deleted and
/// failed ones stay visible for about an hour, and count as gone.
fn exists(n: &Ngw) -> bool {
    !matches!(
        n.state(),
        Some(NatGatewayState::Deleted | NatGatewayState::Deleting | NatGatewayState::Failed)
    )
}

/// The stack's NAT gateways, as the plan compares them.
pub(crate) fn nat_gateways_found(items: &[Ngw], cx: &ReadCx<'_>) -> Found {
    let mut found = Found::default();
    for n in items.iter().filter(|n| exists(n)) {
        let Some(id) = n.nat_gateway_id() else {
            continue;
        };
        let tags = ec2_tags(n.tags());
        let Some(place) = cx.place(ResourceKind::NatGateway, &tags, id, &mut found.conflicts)
        else {
            continue;
        };
        let address = n.nat_gateway_addresses().first();
        let connectivity = n
            .connectivity_type()
            .map_or("public", ConnectivityType::as_str);
        found.objects.push(placed(
            place,
            id,
            vec![
                (SUBNET_ID, opt_str(n.subnet_id())),
                (VPC_ID, opt_str(n.vpc_id())),
                (CONNECTIVITY_TYPE, Value::from(connectivity)),
                (
                    ALLOCATION_ID,
                    opt_str(address.and_then(|a| a.allocation_id())),
                ),
                (PRIVATE_IP, opt_str(address.and_then(|a| a.private_ip()))),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    found
}

async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let items = describe(aws, Select::Filter(in_vpcs("vpc-id", vpcs))).await?;
    Ok(Scanned {
        ids: items
            .iter()
            .filter(|n| exists(n))
            .filter_map(|n| n.nat_gateway_id())
            .map(str::to_string)
            .collect(),
        left_out: Vec::new(),
    })
}

pub(crate) async fn describe(aws: &Aws, select: Select) -> Result<Vec<Ngw>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_nat_gateways,
        filter,
        set_nat_gateway_ids,
        nat_gateways,
        "ec2:DescribeNatGateways"
    )
}

/// A NAT gateway.
pub(crate) struct NatGateway;

impl AwsKind for NatGateway {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read_nats(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan(aws, vpcs)));

    /// Creates it and waits until it is available: routes through a
    /// pending gateway are accepted but carry nothing.
    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let connectivity = match required(op, CONNECTIVITY_TYPE)? {
            "private" => ConnectivityType::Private,
            _ => ConnectivityType::Public,
        };
        let created = aws
            .ec2
            .create_nat_gateway()
            .subnet_id(required(op, SUBNET_ID)?)
            .set_allocation_id(attr(op, ALLOCATION_ID).map(str::to_string))
            .connectivity_type(connectivity)
            .tag_specifications(ec2_tag_spec(ResourceType::Natgateway, op))
            .client_token(client_token(op))
            .send()
            .await
            .map_err(|e| aws.error("ec2:CreateNatGateway", e))?;
        let nat = created
            .nat_gateway()
            .and_then(|n| n.nat_gateway_id())
            .ok_or_else(|| AwsError::MissingId {
                operation: format!("{} {}", op.verb, op.address),
            })?;
        wait_for_state(aws, nat, NatGatewayState::Available).await?;
        Ok(outcome(nat))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    /// Deletes it and waits until it is gone, so its Elastic IP can be released.
    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let nat = id(op)?;
        delete("NAT gateway", nat, || async {
            aws.ec2
                .delete_nat_gateway()
                .nat_gateway_id(nat)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteNatGateway", e))
        })
        .await?;
        wait_for_state(aws, nat, NatGatewayState::Deleted).await?;
        Ok(outcome(nat))
    }
}

/// Waits for a NAT gateway to reach `state` (a gateway that disappears counts as deleted).
async fn wait_for_state(aws: &Aws, nat: &str, state: NatGatewayState) -> Result<(), AwsError> {
    wait_for(
        &format!("NAT gateway {nat} to be {state}"),
        NAT_WAIT,
        || async {
            let found = match describe(aws, Select::Ids(vec![nat.to_string()])).await {
                Ok(found) => found,
                Err(e) if crate::apply::gone(&e) => Vec::new(),
                Err(e) => return Err(e),
            };
            let now = found.first().and_then(|n| n.state().cloned());
            match now {
                Some(NatGatewayState::Failed) if state != NatGatewayState::Deleted => {
                    let why = found
                        .first()
                        .and_then(|n| n.failure_message())
                        .unwrap_or("no reason given");
                    Err(AwsError::PlanMoved {
                        operation: format!("creating NAT gateway {nat}"),
                        detail: format!("AWS reports it failed: {why}"),
                    })
                }
                None if state == NatGatewayState::Deleted => Ok(Some(())),
                Some(s) if s == state => Ok(Some(())),
                _ => Ok(None),
            }
        },
    )
    .await
}

impl AwsRoutable for NatGateway {
    fn create_route(
        call: aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder,
        id: &str,
    ) -> aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder {
        call.nat_gateway_id(id)
    }

    fn replace_route(
        call: aws_sdk_ec2::operation::replace_route::builders::ReplaceRouteFluentBuilder,
        id: &str,
    ) -> aws_sdk_ec2::operation::replace_route::builders::ReplaceRouteFluentBuilder {
        call.nat_gateway_id(id)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::{NatGatewayAddress, Tag};

    use super::*;

    fn topology(text: &str) -> vpcform_topology::Topology {
        let loaded = vpcform_topology::load("t.yaml", text.as_bytes());
        loaded.topology.expect("the test topology decodes")
    }

    fn tag(k: &str, v: &str) -> Tag {
        Tag::builder().key(k).value(v).build()
    }

    fn nat(id: &str, state: NatGatewayState, tags: Vec<Tag>) -> Ngw {
        Ngw::builder()
            .nat_gateway_id(id)
            .subnet_id("subnet-0a")
            .vpc_id("vpc-0a")
            .state(state)
            .connectivity_type(ConnectivityType::Public)
            .nat_gateway_addresses(
                NatGatewayAddress::builder()
                    .allocation_id("eipalloc-0a")
                    .private_ip("10.0.0.9")
                    .public_ip("203.0.113.9")
                    .build(),
            )
            .set_tags(Some(tags))
            .build()
    }

    #[test]
    fn nat_gateways_are_read_as_planned_and_deleted_ones_are_gone() {
        let t = topology(
            "stack: s\nnat-gateways:\n  adopted: { subnet: x, elastic-ip: e, import-id: nat-0b }\n",
        );
        let cx = ReadCx::new(&t);
        let owned = vec![
            tag("vpcform:stack", "s"),
            tag("vpcform:address", "nat-gateway.a"),
        ];
        let items = vec![
            nat("nat-0a", NatGatewayState::Available, owned.clone()),
            nat("nat-0d", NatGatewayState::Deleted, owned),
            nat(
                "nat-0b",
                NatGatewayState::Pending,
                vec![tag("Name", "by hand")],
            ),
            nat(
                "nat-0c",
                NatGatewayState::Available,
                vec![tag("vpcform:stack", "other")],
            ),
        ];
        let found = nat_gateways_found(&items, &cx);
        let mut lines: Vec<String> = found
            .objects
            .iter()
            .map(|o| {
                format!(
                    "{} {} unowned={} {}",
                    o.address,
                    o.id,
                    o.unowned,
                    serde_json::to_string(&o.attrs).unwrap()
                )
            })
            .collect();
        lines.sort();
        insta::assert_snapshot!(lines.join("\n"));
    }

    #[test]
    fn elastic_ips_are_read_by_allocation_id() {
        let t = topology("stack: s\n");
        let cx = ReadCx::new(&t);
        let items = vec![
            Eip::builder()
                .allocation_id("eipalloc-0a")
                .public_ip("203.0.113.9")
                .tags(tag("vpcform:stack", "s"))
                .tags(tag("vpcform:address", "elastic-ip.a"))
                .build(),
            Eip::builder()
                .allocation_id("eipalloc-0z")
                .public_ip("203.0.113.10")
                .build(),
        ];
        let found = elastic_ips_found(&items, &cx);
        assert_eq!(found.objects.len(), 1);
        let o = &found.objects[0];
        assert_eq!(
            (o.address.to_string(), o.id.as_str()),
            ("elastic-ip.a".to_string(), "eipalloc-0a")
        );
        assert_eq!(o.attrs["public_ip"], "203.0.113.9");
    }
}
