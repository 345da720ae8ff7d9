//! Attribute names several kinds share. A kind's own attribute names are
//! constants of its module in `kinds/`.

use crate::kind::Attr;

/// The object's AWS id (not an attribute of the table: every object has it).
pub const ID: Attr = Attr::new("id");
/// The object's ARN, for kinds that others refer to by ARN (roles, policies).
pub const ARN: Attr = Attr::new("arn");
pub const TAGS: Attr = Attr::new("tags");
pub const VPC_ID: Attr = Attr::new("vpc_id");
pub const SUBNET_ID: Attr = Attr::new("subnet_id");
pub const DESCRIPTION: Attr = Attr::new("description");

/// The tags row every taggable kind's table ends with.
pub const TAGS_SPEC: crate::kind::AttrSpec =
    crate::kind::AttrSpec::update(TAGS, crate::kind::Compare::Tags);
