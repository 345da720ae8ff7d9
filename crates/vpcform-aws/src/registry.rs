//! The AWS side of the registry: from `vpcform_topology::with_registry!`,
//! the apply dispatch and the list of readers. Each line's `module::Type`
//! must exist in `kinds/` and implement [`AwsKind`], or this does not compile.

use vpcform_exec::{Operation, Outcome, Verb};
use vpcform_topology::ResourceKind;

use aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder as CreateRoute;
use aws_sdk_ec2::operation::replace_route::builders::ReplaceRouteFluentBuilder as ReplaceRoute;

use crate::kind::{AwsKind, AwsRoutable, Read, Scan};
use crate::{Aws, AwsError};

macro_rules! aws_registry {
    ($(
        $kind:ident => $module:ident :: $ty:ident, $name:literal, $article:literal,
        $( section($field:ident = $key:literal) )? $( part_of($container:ident $([$keyed:ident])?) )?
        $( , route_target($target:ident = $target_key:literal) )? ;
    )*) => {
        /// Performs one operation with its kind's AWS side.
        pub(crate) async fn apply(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
            match op.kind {
                $( ResourceKind::$kind => apply_with::<crate::kinds::$module::$ty>(aws, op).await, )*
            }
        }

        /// How `vpcform import` finds each kind's objects.
        pub(crate) fn scan_of(kind: ResourceKind) -> Scan {
            match kind {
                $( ResourceKind::$kind => <crate::kinds::$module::$ty as AwsKind>::SCAN, )*
            }
        }

        /// CreateRoute with the target's field, chosen by its kind.
        pub(crate) fn create_route_to(
            kind: vpcform_topology::TargetKind,
            call: CreateRoute,
            id: &str,
        ) -> CreateRoute {
            match kind {
                $( $( vpcform_topology::TargetKind::$target => <crate::kinds::$module::$ty as AwsRoutable>::create_route(call, id), )? )*
            }
        }

        /// ReplaceRoute with the target's field, chosen by its kind.
        pub(crate) fn replace_route_to(
            kind: vpcform_topology::TargetKind,
            call: ReplaceRoute,
            id: &str,
        ) -> ReplaceRoute {
            match kind {
                $( $( vpcform_topology::TargetKind::$target => <crate::kinds::$module::$ty as AwsRoutable>::replace_route(call, id), )? )*
            }
        }

        /// How each kind's live objects are read.
        pub(crate) fn read_of(kind: ResourceKind) -> Read {
            match kind {
                $( ResourceKind::$kind => <crate::kinds::$module::$ty as AwsKind>::READ, )*
            }
        }
    };
}

vpcform_topology::with_registry!(aws_registry);

async fn apply_with<K: AwsKind>(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
    match op.verb {
        Verb::Create => K::create(aws, op).await,
        Verb::Update => K::update(aws, op).await,
        Verb::Adopt => K::adopt(aws, op).await,
        Verb::Retag => K::retag(aws, op).await,
        Verb::Delete => K::delete(aws, op).await,
        Verb::StandIn => K::stand_in(aws, op).await,
        Verb::StandOut => K::stand_out(aws, op).await,
    }
}

/// The kinds whose reads run: every kind that reads itself, once.
pub(crate) fn own_readers() -> Vec<(ResourceKind, crate::kind::ReadFn)> {
    ResourceKind::ALL
        .iter()
        .filter_map(|&kind| match read_of(kind) {
            Read::Own(read) => Some((kind, read)),
            Read::With(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_read_by_a_kind_that_reads_itself() {
        for &kind in ResourceKind::ALL {
            if let Read::With(by) = read_of(kind) {
                assert!(
                    matches!(read_of(by), Read::Own(_)),
                    "{kind} is read with {by}, which has no read of its own"
                );
            }
        }
    }
}
