//! What every kind's AWS side provides (in the spirit of crossplane's
//! Observe/Create/Update/Delete): how its live objects are read, and the
//! four operations the executor asks for. The registry (`registry.rs`)
//! dispatches to these; a kind without them does not compile.

use vpcform_exec::{BoxFuture, Operation, Outcome};
use vpcform_topology::export::LeftOut;
use vpcform_topology::{Attr, ResourceKind};

use crate::read::{Found, ReadCx};
use crate::{Aws, AwsError};

/// A batched read of one kind (and of the implicit kinds it contains).
pub(crate) type ReadFn =
    for<'a> fn(&'a Aws, &'a ReadCx<'a>) -> BoxFuture<'a, Result<Found, AwsError>>;

/// How a kind's live objects are found.
#[derive(Clone, Copy)]
pub(crate) enum Read {
    /// By its own batched, stack-filtered read.
    Own(ReadFn),
    /// By the read of another kind that returns them too (a route by its
    /// table's DescribeRouteTables, a role by the IAM batch call). The kind
    /// is documentation checked by a test: that kind must read itself.
    With(#[cfg_attr(not(test), allow(dead_code))] ResourceKind),
}

/// What a kind's scan found in the VPCs `vpcform import` reads: the ids
/// of what the topology can declare, and what it cannot.
#[derive(Debug, Default)]
pub(crate) struct Scanned {
    pub(crate) ids: Vec<String>,
    pub(crate) left_out: Vec<LeftOut>,
}

impl Scanned {
    pub(crate) fn leave_out(&mut self, id: &str, what: impl Into<String>, why: impl Into<String>) {
        self.left_out.push(LeftOut {
            id: id.to_string(),
            what: what.into(),
            why: why.into(),
        });
    }
}

/// A scan of one kind in the given VPCs.
pub(crate) type ScanFn =
    for<'a> fn(&'a Aws, &'a [String]) -> BoxFuture<'a, Result<Scanned, AwsError>>;

/// How `vpcform import` finds a kind's objects.
#[derive(Clone, Copy)]
pub(crate) enum Scan {
    /// By a describe call filtered by the VPCs.
    InVpcs(ScanFn),
    /// Through the objects of other kinds: the ids `id` makes of each
    /// one's `attr` (a flow log's log group, a role's attached policies,
    /// the lists rules and routes name).
    Through {
        from: &'static [(ResourceKind, Attr)],
        id: fn(&str) -> Option<String>,
    },
    /// With its container (routes, rules, associations, attachments).
    WithContainer,
    /// Not at all: it belongs to no VPC (monitoring objects); a topology
    /// adopts one with `import-id`, where the kind can be adopted.
    Never,
}

pub(crate) trait AwsKind {
    const READ: Read;

    /// How `vpcform import` finds this kind's objects.
    const SCAN: Scan;

    /// Creates the object; every create call carries the ownership tags.
    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError>;

    /// Changes the attributes in `op.changed` in place.
    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError>;

    /// Takes over an existing object the topology adopts (`import-id`).
    /// The ownership tags arrive as a tag change in `op.changed`, so an
    /// update does it; a kind whose ownership is not in its tags attribute
    /// (IAM policies) overrides this. Implicit kinds are never adopted.
    async fn adopt(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Self::update(aws, op).await
    }

    /// Records the declaration hash (`vpcform:config`) on an object whose
    /// children changed; kinds without tags of their own report their id.
    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError>;

    /// Deletes the object; an object already gone counts as deleted.
    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError>;

    /// Before a replacement delete-first: a temporary copy of the object
    /// takes its place wherever it is used. Only kinds whose topology side
    /// sets `Kind::STAND_IN` are asked.
    async fn stand_in(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Err(AwsError::Unsupported {
            operation: format!("{} {}", op.verb, op.address),
        })
    }

    /// After the replacement: what still uses the stand-in moves to the new
    /// object (`op.id`), and the stand-in is deleted.
    async fn stand_out(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Err(AwsError::Unsupported {
            operation: format!("{} {}", op.verb, op.address),
        })
    }
}

/// The AWS side of a route target: which field of CreateRoute and
/// ReplaceRoute holds its id. Every kind whose registry line says
/// `route_target` implements it, or the registry does not compile.
pub(crate) trait AwsRoutable {
    fn create_route(
        call: aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder,
        id: &str,
    ) -> aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder;

    fn replace_route(
        call: aws_sdk_ec2::operation::replace_route::builders::ReplaceRouteFluentBuilder,
        id: &str,
    ) -> aws_sdk_ec2::operation::replace_route::builders::ReplaceRouteFluentBuilder;
}
