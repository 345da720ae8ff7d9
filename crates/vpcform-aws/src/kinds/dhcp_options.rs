//! DHCP options sets: one DescribeDhcpOptions for the stack's. A set never
//! changes (AWS has no call for it): tags change in place, anything else
//! makes a new set the VPCs move to.

use aws_sdk_ec2::types::{DhcpOptions as Dopt, NewDhcpConfiguration, ResourceType};
use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::attr::TAGS;
use vpcform_topology::kinds::dhcp_options::{
    AMAZON_PROVIDED_DNS, DOMAIN_NAME, DOMAIN_NAME_SERVERS, NTP_SERVERS,
};

use crate::apply::{
    attr, create_once, created_filters, delete, ec2_tag_spec, id, no_retries, outcome,
    update_tags_only,
};
use crate::kind::{AwsKind, Read, Scan, Scanned};
use crate::read::{Found, ReadCx, Select, describe_ec2, ec2_tags, placed, tags_value};
use crate::{Aws, AwsError};

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let items = cx
        .select(
            ResourceKind::DhcpOptions,
            |x: &Dopt| x.dhcp_options_id(),
            |s| describe(aws, s),
        )
        .await?;
    Ok(dhcp_options_found(&items, cx))
}

/// The values of one key of a set (`domain-name-servers`), in order.
fn values<'a>(d: &'a Dopt, key: &str) -> Vec<&'a str> {
    d.dhcp_configurations()
        .iter()
        .filter(|c| c.key() == Some(key))
        .flat_map(|c| c.values())
        .filter_map(|v| v.value())
        .collect()
}

/// The stack's sets, as the plan compares them.
pub(crate) fn dhcp_options_found(items: &[Dopt], cx: &ReadCx<'_>) -> Found {
    let mut found = Found::default();
    for d in items {
        let Some(id) = d.dhcp_options_id() else {
            continue;
        };
        let tags = ec2_tags(d.tags());
        let Some(place) = cx.place(ResourceKind::DhcpOptions, &tags, id, &mut found.conflicts)
        else {
            continue;
        };
        let domain = values(d, "domain-name")
            .first()
            .map_or(Value::Null, |v| Value::from(*v));
        found.objects.push(placed(
            place,
            id,
            vec![
                (DOMAIN_NAME, domain),
                (
                    DOMAIN_NAME_SERVERS,
                    Value::from(values(d, "domain-name-servers")),
                ),
                (NTP_SERVERS, Value::from(values(d, "ntp-servers"))),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    found
}

pub(crate) async fn describe(aws: &Aws, select: Select) -> Result<Vec<Dopt>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_dhcp_options,
        filters,
        set_dhcp_options_ids,
        dhcp_options,
        "ec2:DescribeDhcpOptions"
    )
}

/// AWS's own set in each region (a domain `REGION.compute.internal`, or
/// `ec2.internal` in us-east-1, and AWS's resolver): never declared.
fn is_aws_default(d: &Dopt) -> bool {
    let domain = values(d, "domain-name");
    let default_domain = matches!(domain.as_slice(), [one] if *one == "ec2.internal" || one.ends_with(".compute.internal"));
    default_domain
        && values(d, "domain-name-servers") == [AMAZON_PROVIDED_DNS]
        && values(d, "ntp-servers").is_empty()
}

/// The sets the VPCs use, but AWS's default set.
async fn scan(aws: &Aws, vpcs: &[String]) -> Result<Scanned, AwsError> {
    let mut ids: Vec<String> = crate::kinds::vpc::describe(aws, Select::Ids(vpcs.to_vec()))
        .await?
        .iter()
        .filter_map(|v| v.dhcp_options_id())
        .filter(|d| *d != "default")
        .map(str::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Scanned::default());
    }
    let sets = describe(aws, Select::Ids(ids)).await?;
    Ok(Scanned {
        ids: sets
            .iter()
            .filter(|d| !is_aws_default(d))
            .filter_map(|d| d.dhcp_options_id())
            .map(str::to_string)
            .collect(),
        left_out: Vec::new(),
    })
}

fn configuration(key: &str, values: Vec<String>) -> NewDhcpConfiguration {
    NewDhcpConfiguration::builder()
        .key(key)
        .set_values(Some(values))
        .build()
}

/// A DHCP options set.
pub(crate) struct DhcpOptions;

impl AwsKind for DhcpOptions {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::InVpcs(|aws, vpcs| Box::pin(scan(aws, vpcs)));

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let list = |name: vpcform_topology::Attr| -> Vec<String> {
            name.get(&op.attrs)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut configurations = Vec::new();
        if let Some(domain) = attr(op, DOMAIN_NAME) {
            configurations.push(configuration("domain-name", vec![domain.to_string()]));
        }
        for (key, name) in [
            ("domain-name-servers", DOMAIN_NAME_SERVERS),
            ("ntp-servers", NTP_SERVERS),
        ] {
            let values = list(name);
            if !values.is_empty() {
                configurations.push(configuration(key, values));
            }
        }
        // AWS takes no idempotency token for this create.
        let send = || async {
            let created = aws
                .ec2
                .create_dhcp_options()
                .set_dhcp_configurations(Some(configurations.clone()))
                .tag_specifications(ec2_tag_spec(ResourceType::DhcpOptions, op))
                .customize()
                .config_override(no_retries())
                .send()
                .await
                .map_err(|e| aws.error("ec2:CreateDhcpOptions", e))?;
            let set = created.dhcp_options();
            let id = set
                .and_then(|d| d.dhcp_options_id())
                .map(str::to_string)
                .ok_or_else(|| AwsError::MissingId {
                    operation: format!("{} {}", op.verb, op.address),
                })?;
            // The answer shows the tags the set carries: a service that
            // dropped the create's tags (moto does) gets them at once.
            let tagged = set.is_some_and(|d| {
                d.tags()
                    .iter()
                    .any(|t| t.key() == Some(vpcform_topology::TAG_STACK))
            });
            if !tagged {
                crate::apply::update_ec2_tags(aws, &id, op).await?;
            }
            Ok(id)
        };
        let find = || async {
            let found = aws
                .ec2
                .describe_dhcp_options()
                .set_filters(Some(created_filters(op)))
                .send()
                .await
                .map_err(|e| aws.error("ec2:DescribeDhcpOptions", e))?;
            Ok(found
                .dhcp_options()
                .first()
                .and_then(|d| d.dhcp_options_id())
                .map(str::to_string))
        };
        let set = create_once(&format!("creating {}", op.address), send, find).await?;
        Ok(outcome(set))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags_only(aws, op).await
    }

    /// Deleted once no VPC uses it (the plan moved them first).
    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let set = id(op)?;
        delete("DHCP options set", set, || async {
            aws.ec2
                .delete_dhcp_options()
                .dhcp_options_id(set)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteDhcpOptions", e))
        })
        .await
    }
}
