//! VPC endpoints: one DescribeVpcEndpoints for the stack's, the service
//! named short (`s3`) when it is AWS's in the region. Route tables,
//! subnets, groups, private DNS and the policy change in place with one
//! ModifyVpcEndpoint; an interface endpoint is waited for until available.

use std::time::Duration;

use aws_sdk_ec2::types::{ResourceType, VpcEndpoint as Vpce, VpcEndpointType};
use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::attr::{TAGS, VPC_ID};
use vpcform_topology::kinds::vpc_endpoint::{
    ENDPOINT_TYPE, EndpointType, NETWORK_INTERFACES, POLICY_DOCUMENT, PRIVATE_DNS_ENABLED,
    ROUTE_TABLE_IDS, SECURITY_GROUP_IDS, SERVICE, SUBNET_IDS, service_name, short_service,
};

use crate::apply::{
    changed, client_token, delete, ec2_tag_spec, id, outcome, required, update_ec2_tags, wait_for,
};
use crate::kind::{AwsKind, Read, Scan, Scanned};
use crate::read::{Found, ReadCx, Select, describe_ec2, ec2_tags, in_vpcs, placed, tags_value};
use crate::{Aws, AwsError};

/// How long an interface endpoint may take to become available, or to go.
const ENDPOINT_WAIT: Duration = Duration::from_secs(600);

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let items = cx
        .select(
            ResourceKind::VpcEndpoint,
            |x: &Vpce| x.vpc_endpoint_id(),
            |s| describe(aws, s),
        )
        .await?;
    Ok(endpoints_found(&items, aws.region(), cx))
}

/// Whether the endpoint's state is `state`. AWS (and moto) answer in
/// lower case (`available`), which the SDK's `State` does not parse.
pub(crate) fn state_is(e: &Vpce, state: &str) -> bool {
    e.state()
        .is_some_and(|s| s.as_str().eq_ignore_ascii_case(state))
}

/// Whether an endpoint still exists as far as plans go.
fn exists(e: &Vpce) -> bool {
    !["deleted", "deleting", "failed", "rejected", "expired"]
        .iter()
        .any(|s| state_is(e, s))
}

fn strings(items: &[String]) -> Value {
    let mut sorted = items.to_vec();
    sorted.sort();
    Value::from(sorted)
}

/// The stack's endpoints, as the plan compares them.
pub(crate) fn endpoints_found(items: &[Vpce], region: &str, cx: &ReadCx<'_>) -> Found {
    let mut found = Found::default();
    for e in items.iter().filter(|e| exists(e)) {
        let Some(id) = e.vpc_endpoint_id() else {
            continue;
        };
        let tags = ec2_tags(e.tags());
        let Some(place) = cx.place(ResourceKind::VpcEndpoint, &tags, id, &mut found.conflicts)
        else {
            continue;
        };
        let kind = if e.vpc_endpoint_type() == Some(&VpcEndpointType::Gateway) {
            EndpointType::Gateway
        } else {
            EndpointType::Interface
        };
        let groups: Vec<String> = e
            .groups()
            .iter()
            .filter_map(|g| g.group_id())
            .map(str::to_string)
            .collect();
        let service = short_service(e.service_name().unwrap_or_default(), region);
        found.objects.push(placed(
            place,
            id,
            vec![
                (VPC_ID, Value::from(e.vpc_id().unwrap_or_default())),
                (SERVICE, Value::from(service)),
                (ENDPOINT_TYPE, Value::from(kind.as_str())),
                (ROUTE_TABLE_IDS, strings(e.route_table_ids())),
                (SUBNET_IDS, strings(e.subnet_ids())),
                (SECURITY_GROUP_IDS, strings(&groups)),
                (
                    PRIVATE_DNS_ENABLED,
                    Value::from(e.private_dns_enabled().unwrap_or(false)),
                ),
                (
                    POLICY_DOCUMENT,
                    e.policy_document().map_or(Value::Null, Value::from),
                ),
                (NETWORK_INTERFACES, strings(e.network_interface_ids())),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    found
}

pub(crate) async fn describe(aws: &Aws, select: Select) -> Result<Vec<Vpce>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_vpc_endpoints,
        filters,
        set_vpc_endpoint_ids,
        vpc_endpoints,
        "ec2:DescribeVpcEndpoints"
    )
}

async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let items = describe(aws, Select::Filter(in_vpcs("vpc-id", vpcs))).await?;
    let mut out = Scanned::default();
    for e in items.iter().filter(|e| exists(e)) {
        let Some(id) = e.vpc_endpoint_id() else {
            continue;
        };
        match e.vpc_endpoint_type() {
            Some(VpcEndpointType::Gateway | VpcEndpointType::Interface) => {
                out.ids.push(id.to_string());
            }
            other => out.leave_out(
                id,
                format!(
                    "the {} endpoint {id}",
                    other.map_or("unknown", VpcEndpointType::as_str)
                ),
                "vpcform declares gateway and interface endpoints only; it stays as it is",
            ),
        }
    }
    Ok(out)
}

/// The ids a list attribute names.
fn ids(
    attrs: &std::collections::BTreeMap<String, Value>,
    name: vpcform_topology::Attr,
) -> Vec<String> {
    name.get(attrs)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The policy as JSON text, as AWS takes it.
fn policy_text(op: &Operation) -> Option<String> {
    POLICY_DOCUMENT
        .get(&op.attrs)
        .filter(|p| !p.is_null())
        .map(|p| match p {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
}

/// A VPC endpoint.
pub(crate) struct VpcEndpoint;

impl AwsKind for VpcEndpoint {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan(aws, vpcs)));

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let gateway = required(op, ENDPOINT_TYPE)? == EndpointType::Gateway.as_str();
        let kind = if gateway {
            VpcEndpointType::Gateway
        } else {
            VpcEndpointType::Interface
        };
        let list = |name| Some(ids(&op.attrs, name)).filter(|v| !v.is_empty());
        let created = aws
            .ec2
            .create_vpc_endpoint()
            .vpc_endpoint_type(kind)
            .vpc_id(required(op, VPC_ID)?)
            .service_name(service_name(required(op, SERVICE)?, aws.region()))
            .set_route_table_ids(list(ROUTE_TABLE_IDS))
            .set_subnet_ids(list(SUBNET_IDS))
            .set_security_group_ids(list(SECURITY_GROUP_IDS))
            .set_private_dns_enabled((!gateway).then(|| {
                PRIVATE_DNS_ENABLED
                    .get(&op.attrs)
                    .and_then(Value::as_bool)
                    .unwrap_or(true)
            }))
            .set_policy_document(policy_text(op))
            .tag_specifications(ec2_tag_spec(ResourceType::VpcEndpoint, op))
            .client_token(client_token(op))
            .send()
            .await
            .map_err(|e| aws.error("ec2:CreateVpcEndpoint", e))?;
        let endpoint = created
            .vpc_endpoint()
            .and_then(|e| e.vpc_endpoint_id())
            .ok_or_else(|| AwsError::MissingId {
                operation: format!("{} {}", op.verb, op.address),
            })?;
        wait_for_state(aws, endpoint, true).await?;
        Ok(outcome(endpoint))
    }

    /// One ModifyVpcEndpoint: what joins and leaves each set, private DNS, the policy.
    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let endpoint = id(op)?;
        let delta = |name| {
            let want = ids(&op.attrs, name);
            let have = ids(&op.before, name);
            let add: Vec<String> = want.iter().filter(|x| !have.contains(x)).cloned().collect();
            let remove: Vec<String> = have.iter().filter(|x| !want.contains(x)).cloned().collect();
            let some = |v: Vec<String>| (changed(op, name) && !v.is_empty()).then_some(v);
            (some(add), some(remove))
        };
        let (add_tables, remove_tables) = delta(ROUTE_TABLE_IDS);
        let (add_subnets, remove_subnets) = delta(SUBNET_IDS);
        let (add_groups, remove_groups) = delta(SECURITY_GROUP_IDS);
        let modifies = [
            ROUTE_TABLE_IDS,
            SUBNET_IDS,
            SECURITY_GROUP_IDS,
            PRIVATE_DNS_ENABLED,
            POLICY_DOCUMENT,
        ]
        .iter()
        .any(|a| changed(op, *a));
        if modifies {
            aws.ec2
                .modify_vpc_endpoint()
                .vpc_endpoint_id(endpoint)
                .set_add_route_table_ids(add_tables)
                .set_remove_route_table_ids(remove_tables)
                .set_add_subnet_ids(add_subnets)
                .set_remove_subnet_ids(remove_subnets)
                .set_add_security_group_ids(add_groups)
                .set_remove_security_group_ids(remove_groups)
                .set_private_dns_enabled(
                    changed(op, PRIVATE_DNS_ENABLED)
                        .then(|| PRIVATE_DNS_ENABLED.get(&op.attrs).and_then(Value::as_bool))
                        .flatten(),
                )
                .set_policy_document(
                    changed(op, POLICY_DOCUMENT)
                        .then(|| policy_text(op))
                        .flatten(),
                )
                .send()
                .await
                .map_err(|e| aws.error("ec2:ModifyVpcEndpoint", e))?;
        }
        update_ec2_tags(aws, endpoint, op).await?;
        Ok(outcome(endpoint))
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        crate::apply::update_tags_only(aws, op).await
    }

    /// Deletes it and waits until it is gone (its routes and interfaces with it).
    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let endpoint = id(op)?;
        delete("VPC endpoint", endpoint, || async {
            aws.ec2
                .delete_vpc_endpoints()
                .vpc_endpoint_ids(endpoint)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteVpcEndpoints", e))
        })
        .await?;
        wait_for_state(aws, endpoint, false).await?;
        Ok(outcome(endpoint))
    }
}

/// Waits until the endpoint is available (`up`) or gone.
async fn wait_for_state(aws: &Aws, endpoint: &str, up: bool) -> Result<(), AwsError> {
    let what = if up { "available" } else { "deleted" };
    wait_for(
        &format!("VPC endpoint {endpoint} to be {what}"),
        ENDPOINT_WAIT,
        || async {
            let found = match describe(aws, Select::Ids(vec![endpoint.to_string()])).await {
                Ok(found) => found,
                Err(e) if crate::apply::gone(&e) => Vec::new(),
                Err(e) => return Err(e),
            };
            let Some(e) = found.first() else {
                return Ok((!up).then_some(()));
            };
            if up && (state_is(e, "failed") || state_is(e, "rejected")) {
                return Err(AwsError::PlanMoved {
                    operation: format!("creating VPC endpoint {endpoint}"),
                    detail: "AWS reports it failed".into(),
                });
            }
            let done = if up {
                state_is(e, "available")
            } else {
                state_is(e, "deleted")
            };
            Ok(done.then_some(()))
        },
    )
    .await
}
