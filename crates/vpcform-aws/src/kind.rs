//! What every kind's AWS side provides (in the spirit of crossplane's
//! Observe/Create/Update/Delete): how its live objects are read, and the
//! four operations the executor asks for. The registry (`registry.rs`)
//! dispatches to these; a kind without them does not compile.

use vpcform_exec::{BoxFuture, Operation, Outcome};
use vpcform_topology::ResourceKind;

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

pub(crate) trait AwsKind {
    const READ: Read;

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
}
