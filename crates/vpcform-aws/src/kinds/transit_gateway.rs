//! Transit gateways, their VPC attachments, and each attachment's
//! association with a transit-gateway route table (an implicit object of
//! the attachment: moving it to another table is an in-place change).
//!
//! Reads: one paginated DescribeTransitGateways for the gateways; one
//! paginated DescribeTransitGatewayVpcAttachments for the attachments and
//! one paginated DescribeTransitGatewayAttachments, by the ids of the
//! attachments found (none when there are none), for their associations:
//! AWS reports an attachment's association only there.
//!
//! AWS takes no client token for CreateTransitGateway or
//! CreateTransitGatewayVpcAttachment: both are sent once (`create_once`)
//! and looked up by their ownership tags after an ambiguous failure. Creates
//! wait until the object is available, deletes until it is gone; an
//! association is waited for on its table (GetTransitGatewayRouteTableAssociations).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_ec2::types::{
    ApplianceModeSupportValue, CreateTransitGatewayVpcAttachmentRequestOptions,
    DefaultRouteTableAssociationValue, DefaultRouteTablePropagationValue, DnsSupportValue, Filter,
    Ipv6SupportValue, ModifyTransitGatewayOptions, ModifyTransitGatewayVpcAttachmentRequestOptions,
    ResourceType, Tag, TransitGateway as Tgw, TransitGatewayAttachment as TgwAttachment,
    TransitGatewayRequestOptions, TransitGatewayVpcAttachment as TgwVpcAttachment,
};
use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::attr::{TAGS, VPC_ID};
use vpcform_topology::kinds::transit_gateway::{
    AMAZON_SIDE_ASN, APPLIANCE_MODE, ATTACHMENT_ID, DEFAULT_ASSOCIATION, DEFAULT_PROPAGATION,
    DESCRIPTION, DNS_SUPPORT, IPV6_SUPPORT, TGW_ROUTE_TABLE_ID, TRANSIT_GATEWAY_ID,
};
use vpcform_topology::kinds::vpc_endpoint::SUBNET_IDS;
use vpcform_topology::{Address, Attr, ResourceKind};

use crate::apply::{
    attr, attr_i64, before_str, changed, create_once, create_tags, created_filters, delete,
    desired_or_before, ec2_tag_spec, gone, id, is_code, no_retries, outcome, owned_by, required,
    unless_gone, update_ec2_tags, update_tags_only, wait_for,
};
use crate::kind::{AwsKind, AwsRoutable, Read, Scan, Scanned};
use crate::read::{
    Found, ReadCx, Select, describe_ec2, ec2_tags, object, opt_str, placed, tags_value,
};
use crate::{Aws, AwsError};

/// How long a gateway or an attachment may take to become available, or to go.
pub(crate) const TGW_WAIT: Duration = Duration::from_secs(600);
/// How long an association or a propagation may take to settle.
pub(crate) const ASSOCIATION_WAIT: Duration = Duration::from_secs(300);

/// `enable` / `disable`, as AWS spells the transit-gateway options.
pub(crate) fn enable(on: bool) -> &'static str {
    if on { "enable" } else { "disable" }
}

/// Whether an option AWS reports is `enable`.
fn enabled(value: Option<&str>) -> bool {
    value == Some("enable")
}

/// A boolean the plan must give: never guessed.
pub(crate) fn required_bool(op: &Operation, name: Attr) -> Result<bool, AwsError> {
    name.get(&op.attrs)
        .and_then(Value::as_bool)
        .ok_or_else(|| AwsError::MissingAttr {
            address: op.address.to_string(),
            attr: name.to_string(),
        })
}

/// The Amazon-side ASN the plan must give.
fn required_asn(op: &Operation) -> Result<i64, AwsError> {
    attr_i64(op, AMAZON_SIDE_ASN).ok_or_else(|| AwsError::MissingAttr {
        address: op.address.to_string(),
        attr: AMAZON_SIDE_ASN.to_string(),
    })
}

/// The ids a list attribute names, sorted.
pub(crate) fn id_list(
    attrs: &std::collections::BTreeMap<String, Value>,
    name: Attr,
) -> Vec<String> {
    let mut ids: Vec<String> = name
        .get(attrs)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    ids.sort();
    ids
}

/// Whether `tags` are those this operation's create gave its object: the
/// stack, the address and the declaration hash. Checked on what a lookup by
/// those tags returns (moto 5.2.5 ignores tag filters on transit-gateway
/// route tables and attachments; AWS applies them).
pub(crate) fn made_by(op: &Operation, tags: &[Tag]) -> bool {
    let tags = ec2_tags(tags);
    let hash = create_tags(op).remove(vpcform_diff::TAG_CONFIG);
    owned_by(op, |k| tags.get(k).map(String::as_str))
        && hash.is_none_or(|h| tags.get(vpcform_diff::TAG_CONFIG) == Some(&h))
}

fn op_name(op: &Operation) -> String {
    format!("{} {}", op.verb, op.address)
}

/// Waits until `state` (the object's state; `None` once AWS no longer
/// knows it) is `available` (`up`) or the object is deleted or gone.
/// A failed or rejected object fails the wait.
pub(crate) async fn wait_for_state<F, Fut>(what: &str, up: bool, state: F) -> Result<(), AwsError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>, AwsError>>,
{
    let target = if up { "available" } else { "deleted" };
    wait_for(&format!("{what} to be {target}"), TGW_WAIT, || async {
        let now = match state().await {
            Ok(now) => now,
            Err(e) if gone(&e) => None,
            Err(e) => return Err(e),
        };
        match (up, now.as_deref()) {
            (true, Some("available")) | (false, None | Some("deleted")) => Ok(Some(())),
            (true, Some(s @ ("failed" | "failing" | "rejected" | "rejecting" | "deleted"))) => {
                Err(AwsError::PlanMoved {
                    operation: format!("waiting for {what}"),
                    detail: format!("AWS reports it {s}"),
                })
            }
            // Just created and not yet visible (AWS is eventually consistent), or on its way.
            _ => Ok(None),
        }
    })
    .await
}

// ---------------------------------------------------------------- gateways

/// Whether a gateway still exists as far as plans go.
fn gateway_exists(g: &Tgw) -> bool {
    !matches!(g.state().map(|s| s.as_str()), Some("deleting" | "deleted"))
}

async fn read_gateways(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let items = cx
        .select(
            ResourceKind::TransitGateway,
            |g: &Tgw| g.transit_gateway_id(),
            |s| describe_gateways(aws, s),
        )
        .await?;
    Ok(gateways_found(&items, cx))
}

/// The stack's gateways, as the plan compares them.
pub(crate) fn gateways_found(items: &[Tgw], cx: &ReadCx<'_>) -> Found {
    let mut found = Found::default();
    for g in items.iter().filter(|g| gateway_exists(g)) {
        let Some(id) = g.transit_gateway_id() else {
            continue;
        };
        let tags = ec2_tags(g.tags());
        let Some(place) = cx.place(
            ResourceKind::TransitGateway,
            &tags,
            id,
            &mut found.conflicts,
        ) else {
            continue;
        };
        let o = g.options();
        let option = |f: fn(&aws_sdk_ec2::types::TransitGatewayOptions) -> Option<&str>| {
            Value::from(enabled(o.and_then(f)))
        };
        found.objects.push(placed(
            place,
            id,
            vec![
                (
                    AMAZON_SIDE_ASN,
                    o.and_then(|o| o.amazon_side_asn())
                        .map_or(Value::Null, Value::from),
                ),
                (
                    DESCRIPTION,
                    opt_str(g.description().filter(|d| !d.is_empty())),
                ),
                (DNS_SUPPORT, option(|o| o.dns_support().map(|v| v.as_str()))),
                (
                    DEFAULT_ASSOCIATION,
                    option(|o| o.default_route_table_association().map(|v| v.as_str())),
                ),
                (
                    DEFAULT_PROPAGATION,
                    option(|o| o.default_route_table_propagation().map(|v| v.as_str())),
                ),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    found
}

pub(crate) async fn describe_gateways(aws: &Aws, select: Select) -> Result<Vec<Tgw>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_transit_gateways,
        filters,
        set_transit_gateway_ids,
        transit_gateways,
        "ec2:DescribeTransitGateways"
    )
}

/// A gateway's state (`None`: gone).
async fn gateway_state(aws: &Aws, tgw: &str) -> Result<Option<String>, AwsError> {
    let found = describe_gateways(aws, Select::Ids(vec![tgw.to_string()])).await?;
    Ok(found
        .first()
        .and_then(|g| g.state())
        .map(|s| s.as_str().to_string()))
}

/// The gateways the VPCs' own attachments name.
async fn scan_gateways(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let attachments = attachments_in(aws, vpcs).await?;
    Ok(Scanned {
        ids: gateways_of(&attachments),
        left_out: Vec::new(),
    })
}

/// The gateways `attachments` name, each once (those other accounts share left out).
pub(crate) fn gateways_of(attachments: &[TgwAttachment]) -> Vec<String> {
    attachments
        .iter()
        .filter(|a| !shared_with_us(a))
        .filter_map(|a| a.transit_gateway_id())
        .map(str::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A transit gateway.
pub(crate) struct TransitGateway;

impl AwsKind for TransitGateway {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read_gateways(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan_gateways(aws, vpcs)));

    /// Creates it with its options and waits until it is available:
    /// attachments are refused before.
    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let options = TransitGatewayRequestOptions::builder()
            .amazon_side_asn(required_asn(op)?)
            .dns_support(DnsSupportValue::from(enable(required_bool(
                op,
                DNS_SUPPORT,
            )?)))
            .default_route_table_association(DefaultRouteTableAssociationValue::from(enable(
                required_bool(op, DEFAULT_ASSOCIATION)?,
            )))
            .default_route_table_propagation(DefaultRouteTablePropagationValue::from(enable(
                required_bool(op, DEFAULT_PROPAGATION)?,
            )))
            .build();
        let send = || async {
            let created = aws
                .ec2
                .create_transit_gateway()
                .set_description(attr(op, DESCRIPTION).map(str::to_string))
                .options(options.clone())
                .tag_specifications(ec2_tag_spec(ResourceType::TransitGateway, op))
                .customize()
                .config_override(no_retries())
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateTransitGateway", e))?;
            created
                .transit_gateway()
                .and_then(|g| g.transit_gateway_id())
                .map(str::to_string)
                .ok_or_else(|| AwsError::MissingId {
                    operation: op_name(op),
                })
        };
        let find = || async {
            let found = aws
                .ec2
                .describe_transit_gateways()
                .set_filters(Some(created_filters(op)))
                .send()
                .await
                .map_err(|e| aws.error("ec2:DescribeTransitGateways", e))?;
            Ok(found
                .transit_gateways()
                .iter()
                .filter(|g| gateway_exists(g) && made_by(op, g.tags()))
                .find_map(|g| g.transit_gateway_id())
                .map(str::to_string))
        };
        let tgw = create_once(&format!("creating {}", op.address), send, find).await?;
        wait_for_state(&format!("transit gateway {tgw}"), true, || {
            gateway_state(aws, &tgw)
        })
        .await?;
        Ok(outcome(tgw))
    }

    /// One ModifyTransitGateway with the options (and description) that
    /// changed, waited for; then the tags.
    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let tgw = id(op)?;
        let flag = |name: Attr| -> Result<Option<&'static str>, AwsError> {
            Ok(if changed(op, name) {
                Some(enable(required_bool(op, name)?))
            } else {
                None
            })
        };
        let options = ModifyTransitGatewayOptions::builder()
            .set_amazon_side_asn(if changed(op, AMAZON_SIDE_ASN) {
                Some(required_asn(op)?)
            } else {
                None
            })
            .set_dns_support(flag(DNS_SUPPORT)?.map(DnsSupportValue::from))
            .set_default_route_table_association(
                flag(DEFAULT_ASSOCIATION)?.map(DefaultRouteTableAssociationValue::from),
            )
            .set_default_route_table_propagation(
                flag(DEFAULT_PROPAGATION)?.map(DefaultRouteTablePropagationValue::from),
            )
            .build();
        let options_changed = [
            AMAZON_SIDE_ASN,
            DNS_SUPPORT,
            DEFAULT_ASSOCIATION,
            DEFAULT_PROPAGATION,
        ]
        .iter()
        .any(|a| changed(op, *a));
        if options_changed || changed(op, DESCRIPTION) {
            aws.ec2
                .modify_transit_gateway()
                .transit_gateway_id(tgw)
                .set_options(options_changed.then_some(options))
                // A description removed from the topology is cleared.
                .set_description(
                    changed(op, DESCRIPTION)
                        .then(|| attr(op, DESCRIPTION).unwrap_or("").to_string()),
                )
                .send()
                .await
                .map_err(|e| aws.error("ec2:ModifyTransitGateway", e))?;
            wait_for_state(&format!("transit gateway {tgw}"), true, || {
                gateway_state(aws, tgw)
            })
            .await?;
        }
        update_ec2_tags(aws, tgw, op).await?;
        Ok(outcome(tgw))
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    /// Deletes it (its attachments and tables are gone first: they name it)
    /// and waits until it is gone.
    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let tgw = id(op)?;
        delete("transit gateway", tgw, || async {
            aws.ec2
                .delete_transit_gateway()
                .transit_gateway_id(tgw)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteTransitGateway", e))
        })
        .await?;
        wait_for_state(&format!("transit gateway {tgw}"), false, || {
            gateway_state(aws, tgw)
        })
        .await?;
        Ok(outcome(tgw))
    }
}

impl AwsRoutable for TransitGateway {
    fn create_route(
        call: aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder,
        id: &str,
    ) -> aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder {
        call.transit_gateway_id(id)
    }

    fn replace_route(
        call: aws_sdk_ec2::operation::replace_route::builders::ReplaceRouteFluentBuilder,
        id: &str,
    ) -> aws_sdk_ec2::operation::replace_route::builders::ReplaceRouteFluentBuilder {
        call.transit_gateway_id(id)
    }
}

// ------------------------------------------------------------- attachments

/// Whether an attachment still exists as far as plans go (deleted, failed
/// and rejected ones stay visible for a while, and count as gone).
pub(crate) fn attachment_exists(state: Option<&str>) -> bool {
    !matches!(
        state,
        Some("deleting" | "deleted" | "failed" | "failing" | "rejected" | "rejecting")
    )
}

async fn read_attachments(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let items = cx
        .select(
            ResourceKind::TransitGatewayAttachment,
            |a: &TgwVpcAttachment| a.transit_gateway_attachment_id(),
            |s| describe_attachments(aws, s),
        )
        .await?;
    // Only the attachments the stack holds: their associations, in one call.
    let ours: Vec<String> = items
        .iter()
        .filter(|a| attachment_exists(a.state().map(|s| s.as_str())))
        .filter_map(|a| {
            let id = a.transit_gateway_attachment_id()?;
            let tags = ec2_tags(a.tags());
            cx.place(
                ResourceKind::TransitGatewayAttachment,
                &tags,
                id,
                &mut Vec::new(),
            )
            .map(|_| id.to_string())
        })
        .collect();
    let associations = if ours.is_empty() {
        Vec::new()
    } else {
        describe_any_attachments(aws, Select::Ids(ours)).await?
    };
    Ok(attachments_found(&items, &associations, cx))
}

/// The table an attachment is associated with, as DescribeTransitGatewayAttachments
/// reports it (associated, or on its way).
fn association(a: &TgwAttachment) -> Option<&str> {
    let association = a.association()?;
    matches!(
        association.state().map(|s| s.as_str()),
        Some("associated" | "associating")
    )
    .then_some(())?;
    association.transit_gateway_route_table_id()
}

/// The stack's attachments with their associations (from `attachments`,
/// DescribeTransitGatewayAttachments' answer), as the plan compares them.
pub(crate) fn attachments_found(
    items: &[TgwVpcAttachment],
    attachments: &[TgwAttachment],
    cx: &ReadCx<'_>,
) -> Found {
    let tables: HashMap<&str, &str> = attachments
        .iter()
        .filter_map(|a| Some((a.transit_gateway_attachment_id()?, association(a)?)))
        .collect();
    let mut found = Found::default();
    for a in items
        .iter()
        .filter(|a| attachment_exists(a.state().map(|s| s.as_str())))
    {
        let Some(id) = a.transit_gateway_attachment_id() else {
            continue;
        };
        let tags = ec2_tags(a.tags());
        let Some(place) = cx.place(
            ResourceKind::TransitGatewayAttachment,
            &tags,
            id,
            &mut found.conflicts,
        ) else {
            continue;
        };
        if let Some(table) = tables.get(id) {
            found.objects.push(object(
                Address::new(
                    ResourceKind::TransitGatewayAssociation,
                    place.0.name.clone(),
                ),
                association_id(id),
                vec![
                    (ATTACHMENT_ID, Value::from(id)),
                    (TGW_ROUTE_TABLE_ID, Value::from(*table)),
                ],
            ));
        }
        let mut subnets: Vec<&str> = a.subnet_ids().iter().map(String::as_str).collect();
        subnets.sort_unstable();
        let o = a.options();
        found.objects.push(placed(
            place,
            id,
            vec![
                (TRANSIT_GATEWAY_ID, opt_str(a.transit_gateway_id())),
                (VPC_ID, opt_str(a.vpc_id())),
                (SUBNET_IDS, Value::from(subnets)),
                (
                    APPLIANCE_MODE,
                    Value::from(enabled(
                        o.and_then(|o| o.appliance_mode_support())
                            .map(|v| v.as_str()),
                    )),
                ),
                (
                    DNS_SUPPORT,
                    Value::from(enabled(o.and_then(|o| o.dns_support()).map(|v| v.as_str()))),
                ),
                (
                    IPV6_SUPPORT,
                    Value::from(enabled(
                        o.and_then(|o| o.ipv6_support()).map(|v| v.as_str()),
                    )),
                ),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    found
}

pub(crate) async fn describe_attachments(
    aws: &Aws,
    select: Select,
) -> Result<Vec<TgwVpcAttachment>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_transit_gateway_vpc_attachments,
        filters,
        set_transit_gateway_attachment_ids,
        transit_gateway_vpc_attachments,
        "ec2:DescribeTransitGatewayVpcAttachments"
    )
}

/// DescribeTransitGatewayAttachments: attachments of every kind, with
/// their association and their gateway's owner.
pub(crate) async fn describe_any_attachments(
    aws: &Aws,
    select: Select,
) -> Result<Vec<TgwAttachment>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_transit_gateway_attachments,
        filters,
        set_transit_gateway_attachment_ids,
        transit_gateway_attachments,
        "ec2:DescribeTransitGatewayAttachments"
    )
}

/// An attachment's state (`None`: gone).
async fn attachment_state(aws: &Aws, attachment: &str) -> Result<Option<String>, AwsError> {
    let found = describe_attachments(aws, Select::Ids(vec![attachment.to_string()])).await?;
    Ok(found
        .first()
        .and_then(|a| a.state())
        .map(|s| s.as_str().to_string()))
}

/// The VPC attachments of `vpcs` that exist, each naming its gateway and
/// that gateway's owner (DescribeTransitGatewayAttachments, one paginated call).
pub(crate) async fn attachments_in(
    aws: &Aws,
    vpcs: &[String],
) -> Result<Vec<TgwAttachment>, AwsError> {
    let vpc = Filter::builder()
        .name("resource-type")
        .values("vpc")
        .build();
    let mut pages = aws
        .ec2
        .describe_transit_gateway_attachments()
        .filters(vpc)
        .filters(crate::read::in_vpcs("resource-id", vpcs))
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:DescribeTransitGatewayAttachments", e))?;
        out.extend(
            page.transit_gateway_attachments
                .unwrap_or_default()
                .into_iter()
                .filter(|a| attachment_exists(a.state().map(|s| s.as_str())))
                // The filter selects these; checked again, as for every scan.
                .filter(|a| a.resource_id().is_some_and(|r| vpcs.iter().any(|v| v == r))),
        );
    }
    Ok(out)
}

/// An attachment to a gateway another account owns and shares (RAM): the
/// gateway is not the account's to declare.
fn shared_with_us(a: &TgwAttachment) -> bool {
    matches!(
        (a.transit_gateway_owner_id(), a.resource_owner_id()),
        (Some(gateway), Some(vpc)) if gateway != vpc
    )
}

/// The VPCs' attachments to the account's own gateways; those to shared
/// gateways are left out, with the gateway.
async fn scan_attachments(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let mut out = Scanned::default();
    for a in attachments_in(aws, vpcs).await? {
        let Some(id) = a.transit_gateway_attachment_id() else {
            continue;
        };
        if shared_with_us(&a) {
            let tgw = a.transit_gateway_id().unwrap_or("a transit gateway");
            let owner = a.transit_gateway_owner_id().unwrap_or_default();
            let vpc = a.resource_id().unwrap_or_default();
            out.leave_out(
                id,
                format!("the attachment of {vpc} to {tgw}, which account {owner} owns and shares"),
                "vpcform declares only the account's own transit gateways; it stays as it is, and routes through the gateway are left out too",
            );
            continue;
        }
        out.ids.push(id.to_string());
    }
    Ok(out)
}

/// A VPC's attachment to a transit gateway.
pub(crate) struct VpcAttachment;

impl AwsKind for VpcAttachment {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read_attachments(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan_attachments(aws, vpcs)));

    /// Creates it in its subnets and waits until it is available: routes
    /// through the gateway and associations are refused before.
    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let tgw = required(op, TRANSIT_GATEWAY_ID)?;
        let vpc = required(op, VPC_ID)?;
        let subnets = id_list(&op.attrs, SUBNET_IDS);
        let options = CreateTransitGatewayVpcAttachmentRequestOptions::builder()
            .appliance_mode_support(ApplianceModeSupportValue::from(enable(required_bool(
                op,
                APPLIANCE_MODE,
            )?)))
            .dns_support(DnsSupportValue::from(enable(required_bool(
                op,
                DNS_SUPPORT,
            )?)))
            .ipv6_support(Ipv6SupportValue::from(enable(required_bool(
                op,
                IPV6_SUPPORT,
            )?)))
            .build();
        let send = || async {
            let created = aws
                .ec2
                .create_transit_gateway_vpc_attachment()
                .transit_gateway_id(tgw)
                .vpc_id(vpc)
                .set_subnet_ids(Some(subnets.clone()))
                .options(options.clone())
                .tag_specifications(ec2_tag_spec(ResourceType::TransitGatewayAttachment, op))
                .customize()
                .config_override(no_retries())
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateTransitGatewayVpcAttachment", e))?;
            created
                .transit_gateway_vpc_attachment()
                .and_then(|a| a.transit_gateway_attachment_id())
                .map(str::to_string)
                .ok_or_else(|| AwsError::MissingId {
                    operation: op_name(op),
                })
        };
        let find = || async {
            let found = aws
                .ec2
                .describe_transit_gateway_vpc_attachments()
                .set_filters(Some(created_filters(op)))
                .send()
                .await
                .map_err(|e| aws.error("ec2:DescribeTransitGatewayVpcAttachments", e))?;
            Ok(found
                .transit_gateway_vpc_attachments()
                .iter()
                .filter(|a| attachment_exists(a.state().map(|s| s.as_str())))
                .filter(|a| made_by(op, a.tags()))
                .find_map(|a| a.transit_gateway_attachment_id())
                .map(str::to_string))
        };
        let attachment = create_once(&format!("creating {}", op.address), send, find).await?;
        wait_for_state(&format!("attachment {attachment}"), true, || {
            attachment_state(aws, &attachment)
        })
        .await?;
        Ok(outcome(attachment))
    }

    /// One ModifyTransitGatewayVpcAttachment with the subnets that join and
    /// leave and the options that changed, waited for; then the tags.
    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let attachment = id(op)?;
        let (add, remove) = if changed(op, SUBNET_IDS) {
            let want = id_list(&op.attrs, SUBNET_IDS);
            let have = id_list(&op.before, SUBNET_IDS);
            let add: Vec<String> = want.iter().filter(|s| !have.contains(s)).cloned().collect();
            let remove: Vec<String> = have.iter().filter(|s| !want.contains(s)).cloned().collect();
            (
                Some(add).filter(|v| !v.is_empty()),
                Some(remove).filter(|v| !v.is_empty()),
            )
        } else {
            (None, None)
        };
        let flag = |name: Attr| -> Result<Option<&'static str>, AwsError> {
            Ok(if changed(op, name) {
                Some(enable(required_bool(op, name)?))
            } else {
                None
            })
        };
        let options = ModifyTransitGatewayVpcAttachmentRequestOptions::builder()
            .set_appliance_mode_support(flag(APPLIANCE_MODE)?.map(ApplianceModeSupportValue::from))
            .set_dns_support(flag(DNS_SUPPORT)?.map(DnsSupportValue::from))
            .set_ipv6_support(flag(IPV6_SUPPORT)?.map(Ipv6SupportValue::from))
            .build();
        let options_changed = [APPLIANCE_MODE, DNS_SUPPORT, IPV6_SUPPORT]
            .iter()
            .any(|a| changed(op, *a));
        if options_changed || add.is_some() || remove.is_some() {
            aws.ec2
                .modify_transit_gateway_vpc_attachment()
                .transit_gateway_attachment_id(attachment)
                .set_add_subnet_ids(add)
                .set_remove_subnet_ids(remove)
                .set_options(options_changed.then_some(options))
                .send()
                .await
                .map_err(|e| aws.error("ec2:ModifyTransitGatewayVpcAttachment", e))?;
            wait_for_state(&format!("attachment {attachment}"), true, || {
                attachment_state(aws, attachment)
            })
            .await?;
        }
        update_ec2_tags(aws, attachment, op).await?;
        Ok(outcome(attachment))
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    /// Deletes it and waits until it is gone, so its subnets and gateway can go.
    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let attachment = id(op)?;
        delete("transit gateway attachment", attachment, || async {
            aws.ec2
                .delete_transit_gateway_vpc_attachment()
                .transit_gateway_attachment_id(attachment)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteTransitGatewayVpcAttachment", e))
        })
        .await?;
        wait_for_state(&format!("attachment {attachment}"), false, || {
            attachment_state(aws, attachment)
        })
        .await?;
        Ok(outcome(attachment))
    }
}

// ------------------------------------------------------------ associations

/// The table `attachment` is associated with now, as AWS reports it on the attachment.
async fn associated_table(aws: &Aws, attachment: &str) -> Result<Option<String>, AwsError> {
    let found = describe_any_attachments(aws, Select::Ids(vec![attachment.to_string()])).await?;
    Ok(found
        .iter()
        .filter(|a| a.transit_gateway_attachment_id() == Some(attachment))
        .find_map(association)
        .map(str::to_string))
}

/// The state of `attachment`'s association in `table` (`None`: not in it,
/// or the table is gone), from GetTransitGatewayRouteTableAssociations.
async fn association_state(
    aws: &Aws,
    table: &str,
    attachment: &str,
) -> Result<Option<String>, AwsError> {
    let by_attachment = Filter::builder()
        .name("transit-gateway-attachment-id")
        .values(attachment)
        .build();
    let mut pages = aws
        .ec2
        .get_transit_gateway_route_table_associations()
        .transit_gateway_route_table_id(table)
        .filters(by_attachment)
        .into_paginator()
        .items()
        .send();
    while let Some(a) = pages.next().await {
        let a = match a.map_err(|e| aws.error("ec2:GetTransitGatewayRouteTableAssociations", e)) {
            Ok(a) => a,
            Err(e) if gone(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        if a.transit_gateway_attachment_id() == Some(attachment) {
            return Ok(a.state().map(|s| s.as_str().to_string()));
        }
    }
    Ok(None)
}

/// Waits until `attachment` is associated with `table` (`present`), or no longer is.
async fn wait_for_association(
    aws: &Aws,
    table: &str,
    attachment: &str,
    present: bool,
) -> Result<(), AwsError> {
    let what = if present {
        format!("{attachment} to be associated with {table}")
    } else {
        format!("{attachment} to leave {table}")
    };
    wait_for(&what, ASSOCIATION_WAIT, || async {
        let state = association_state(aws, table, attachment).await?;
        let done = match state.as_deref() {
            Some("associated") => present,
            None | Some("disassociated") => !present,
            _ => false,
        };
        Ok(done.then_some(()))
    })
    .await
}

/// AssociateTransitGatewayRouteTable, waited for. An attachment already
/// associated is fine only with `table` (an earlier attempt whose answer was
/// lost); with another table it is refused: never moved unless planned.
async fn associate(
    aws: &Aws,
    op: &Operation,
    table: &str,
    attachment: &str,
) -> Result<(), AwsError> {
    let result = aws
        .ec2
        .associate_transit_gateway_route_table()
        .transit_gateway_route_table_id(table)
        .transit_gateway_attachment_id(attachment)
        .send()
        .await
        .map_err(|e| aws.error("ec2:AssociateTransitGatewayRouteTable", e));
    match result {
        Err(e) if is_code(&e, &["Resource.AlreadyAssociated"]) => {
            let current = associated_table(aws, attachment).await?;
            // AWS's own association with the gateway's default table, made
            // because the gateway's declared option asks for it: moved to the
            // declared table, the end state the plan showed.
            if let Some(default) = current.as_deref().filter(|c| *c != table)
                && default_association_table(aws, attachment).await?.as_deref() == Some(default)
            {
                disassociate(aws, default, attachment).await?;
                aws.ec2
                    .associate_transit_gateway_route_table()
                    .transit_gateway_route_table_id(table)
                    .transit_gateway_attachment_id(attachment)
                    .send()
                    .await
                    .map_err(|e| aws.error("ec2:AssociateTransitGatewayRouteTable", e))?;
                return wait_for_association(aws, table, attachment, true).await;
            }
            if current.as_deref() != Some(table) {
                return Err(AwsError::PlanMoved {
                    operation: op_name(op),
                    detail: format!(
                        "{attachment} is already associated with {}, which the plan did not show; vpcform never moves an association it did not plan",
                        current.as_deref().unwrap_or("another route table")
                    ),
                });
            }
        }
        other => {
            other?;
        }
    }
    wait_for_association(aws, table, attachment, true).await
}

/// The table AWS associates new attachments of `attachment`'s gateway
/// with, when the gateway's default association is on.
async fn default_association_table(
    aws: &Aws,
    attachment: &str,
) -> Result<Option<String>, AwsError> {
    let found = describe_any_attachments(aws, Select::Ids(vec![attachment.to_string()])).await?;
    let Some(gateway) = found.iter().find_map(|a| a.transit_gateway_id()) else {
        return Ok(None);
    };
    let gateways = aws
        .ec2
        .describe_transit_gateways()
        .transit_gateway_ids(gateway)
        .send()
        .await
        .map_err(|e| aws.error("ec2:DescribeTransitGateways", e))?;
    Ok(gateways
        .transit_gateways()
        .iter()
        .filter_map(|g| g.options())
        .filter(|o| {
            o.default_route_table_association()
                .is_some_and(|v| v.as_str() == "enable")
        })
        .find_map(|o| o.association_default_route_table_id())
        .map(str::to_string))
}

/// DisassociateTransitGatewayRouteTable (an association or table already
/// gone counts as done), waited for.
async fn disassociate(aws: &Aws, table: &str, attachment: &str) -> Result<(), AwsError> {
    unless_gone(
        aws.ec2
            .disassociate_transit_gateway_route_table()
            .transit_gateway_route_table_id(table)
            .transit_gateway_attachment_id(attachment)
            .send()
            .await
            .map_err(|e| aws.error("ec2:DisassociateTransitGatewayRouteTable", e)),
        attachment,
    )?;
    wait_for_association(aws, table, attachment, false).await
}

/// An association's id: its attachment's, marked, so that it never stands
/// for the attachment when deletes are ordered by the ids objects name.
fn association_id(attachment: &str) -> String {
    format!("{attachment}|association")
}

/// An attachment's association with its route table.
pub(crate) struct Association;

impl AwsKind for Association {
    const READ: Read = Read::With(ResourceKind::TransitGatewayAttachment);
    const SCAN: Scan = Scan::WithContainer;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let attachment = required(op, ATTACHMENT_ID)?;
        associate(aws, op, required(op, TGW_ROUTE_TABLE_ID)?, attachment).await?;
        Ok(outcome(association_id(attachment)))
    }

    /// A move to another table, in place: the old association goes (AWS
    /// holds one per attachment), then the new one is made.
    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let attachment = required(op, ATTACHMENT_ID)?;
        let table = required(op, TGW_ROUTE_TABLE_ID)?;
        if changed(op, TGW_ROUTE_TABLE_ID) {
            if let Some(old) = before_str(op, TGW_ROUTE_TABLE_ID).filter(|old| *old != table) {
                disassociate(aws, old, attachment).await?;
            }
            associate(aws, op, table, attachment).await?;
        }
        Ok(outcome(association_id(attachment)))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(id(op)?))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let attachment = desired_or_before(op, ATTACHMENT_ID)?;
        let table = desired_or_before(op, TGW_ROUTE_TABLE_ID)?;
        disassociate(aws, &table, &attachment).await?;
        Ok(outcome(association_id(&attachment)))
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::{
        TransitGatewayAssociationState, TransitGatewayAttachmentAssociation,
        TransitGatewayAttachmentState, TransitGatewayOptions, TransitGatewayState,
        TransitGatewayVpcAttachmentOptions,
    };

    use super::*;

    fn topology(text: &str) -> vpcform_topology::Topology {
        let loaded = vpcform_topology::load("t.yaml", text.as_bytes());
        loaded.topology.expect("the test topology decodes")
    }

    fn tag(k: &str, v: &str) -> Tag {
        Tag::builder().key(k).value(v).build()
    }

    fn owned(address: &str) -> Vec<Tag> {
        vec![tag("vpcform:stack", "s"), tag("vpcform:address", address)]
    }

    fn lines(found: &Found) -> String {
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
        lines.join("\n")
    }

    #[test]
    fn gateways_are_read_with_their_options_and_deleted_ones_are_gone() {
        let t = topology("stack: s\n");
        let cx = ReadCx::new(&t);
        let gateway = |id: &str, state, description: Option<&str>, tags| {
            Tgw::builder()
                .transit_gateway_id(id)
                .state(state)
                .set_description(description.map(str::to_string))
                .options(
                    TransitGatewayOptions::builder()
                        .amazon_side_asn(64512)
                        .dns_support(DnsSupportValue::Enable)
                        .default_route_table_association(DefaultRouteTableAssociationValue::Disable)
                        .default_route_table_propagation(DefaultRouteTablePropagationValue::Enable)
                        .build(),
                )
                .set_tags(Some(tags))
                .build()
        };
        let items = vec![
            gateway(
                "tgw-0a",
                TransitGatewayState::Available,
                Some(""),
                owned("transit-gateway.hub"),
            ),
            gateway(
                "tgw-0b",
                TransitGatewayState::Deleted,
                None,
                owned("transit-gateway.hub"),
            ),
            gateway(
                "tgw-0c",
                TransitGatewayState::Available,
                Some("someone else's"),
                vec![tag("vpcform:stack", "other")],
            ),
        ];
        insta::assert_snapshot!(lines(&gateways_found(&items, &cx)), @r#"transit-gateway.hub tgw-0a unowned=false {"amazon_side_asn":64512,"default_route_table_association":false,"default_route_table_propagation":true,"description":null,"dns_support":true,"tags":{"vpcform:address":"transit-gateway.hub","vpcform:stack":"s"}}"#);
    }

    fn vpc_attachment(id: &str, state: TransitGatewayAttachmentState) -> TgwVpcAttachment {
        TgwVpcAttachment::builder()
            .transit_gateway_attachment_id(id)
            .transit_gateway_id("tgw-0a")
            .vpc_id("vpc-0a")
            .state(state)
            .subnet_ids("subnet-0b")
            .subnet_ids("subnet-0a")
            .options(
                TransitGatewayVpcAttachmentOptions::builder()
                    .dns_support(DnsSupportValue::Enable)
                    .ipv6_support(Ipv6SupportValue::Disable)
                    .appliance_mode_support(ApplianceModeSupportValue::Enable)
                    .build(),
            )
            .set_tags(Some(owned(&format!("transit-gateway-attachment.{id}"))))
            .build()
    }

    fn attachment(id: &str, table: &str, state: TransitGatewayAssociationState) -> TgwAttachment {
        TgwAttachment::builder()
            .transit_gateway_attachment_id(id)
            .association(
                TransitGatewayAttachmentAssociation::builder()
                    .transit_gateway_route_table_id(table)
                    .state(state)
                    .build(),
            )
            .build()
    }

    #[test]
    fn attachments_carry_their_association_from_the_attachments_answer() {
        let t = topology("stack: s\n");
        let cx = ReadCx::new(&t);
        let items = vec![
            vpc_attachment("a", TransitGatewayAttachmentState::Available),
            vpc_attachment("b", TransitGatewayAttachmentState::Modifying),
            vpc_attachment("c", TransitGatewayAttachmentState::Available),
            vpc_attachment("gone", TransitGatewayAttachmentState::Deleted),
        ];
        let answers = vec![
            attachment("a", "tgw-rtb-1", TransitGatewayAssociationState::Associated),
            attachment(
                "b",
                "tgw-rtb-2",
                TransitGatewayAssociationState::Associating,
            ),
            // Leaving its table: no association.
            attachment(
                "c",
                "tgw-rtb-1",
                TransitGatewayAssociationState::Disassociating,
            ),
        ];
        insta::assert_snapshot!(lines(&attachments_found(&items, &answers, &cx)), @r#"
        transit-gateway-association.a a|association unowned=false {"transit_gateway_attachment_id":"a","transit_gateway_route_table_id":"tgw-rtb-1"}
        transit-gateway-association.b b|association unowned=false {"transit_gateway_attachment_id":"b","transit_gateway_route_table_id":"tgw-rtb-2"}
        transit-gateway-attachment.a a unowned=false {"appliance_mode":true,"dns_support":true,"ipv6_support":false,"subnet_ids":["subnet-0a","subnet-0b"],"tags":{"vpcform:address":"transit-gateway-attachment.a","vpcform:stack":"s"},"transit_gateway_id":"tgw-0a","vpc_id":"vpc-0a"}
        transit-gateway-attachment.b b unowned=false {"appliance_mode":true,"dns_support":true,"ipv6_support":false,"subnet_ids":["subnet-0a","subnet-0b"],"tags":{"vpcform:address":"transit-gateway-attachment.b","vpcform:stack":"s"},"transit_gateway_id":"tgw-0a","vpc_id":"vpc-0a"}
        transit-gateway-attachment.c c unowned=false {"appliance_mode":true,"dns_support":true,"ipv6_support":false,"subnet_ids":["subnet-0a","subnet-0b"],"tags":{"vpcform:address":"transit-gateway-attachment.c","vpcform:stack":"s"},"transit_gateway_id":"tgw-0a","vpc_id":"vpc-0a"}
        "#);
    }

    #[test]
    fn gateways_shared_by_other_accounts_are_not_scanned() {
        let a = |tgw: &str, owner: &str| {
            TgwAttachment::builder()
                .transit_gateway_attachment_id(format!("att-{tgw}"))
                .transit_gateway_id(tgw)
                .transit_gateway_owner_id(owner)
                .resource_owner_id("111111111111")
                .build()
        };
        let found = gateways_of(&[
            a("tgw-own", "111111111111"),
            a("tgw-own", "111111111111"),
            a("tgw-shared", "222222222222"),
        ]);
        assert_eq!(found, ["tgw-own"]);
    }
}
