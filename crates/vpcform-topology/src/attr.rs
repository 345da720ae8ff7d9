//! Attribute names several kinds share. A kind's own attribute names are
//! constants of its module in `kinds/`.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// The object's AWS id (not an attribute of the table: every object has it).
pub const ID: Attr = Attr::new("id");
/// The object's ARN, for kinds that others refer to by ARN (roles, policies).
pub const ARN: Attr = Attr::new("arn");
pub const TAGS: Attr = Attr::new("tags");
pub const VPC_ID: Attr = Attr::new("vpc_id");
pub const SUBNET_ID: Attr = Attr::new("subnet_id");
pub const DESCRIPTION: Attr = Attr::new("description");

/// The tags row every taggable kind's table ends with.
pub const TAGS_SPEC: AttrSpec = AttrSpec::update(TAGS, Compare::Tags);

/// The name of one attribute of a kind, as planned, read and applied.
/// Every name is a constant of its kind's module (or of [`crate::attr`] for
/// names several kinds share), so the crates cannot disagree on spelling.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Attr(&'static str);

impl Attr {
    pub const fn new(name: &'static str) -> Self {
        Attr(name)
    }

    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// This attribute's value in a map keyed by attribute name.
    pub fn get(self, attrs: &BTreeMap<String, Value>) -> Option<&Value> {
        attrs.get(self.0)
    }

    /// This attribute's value as a string, if it is one.
    pub fn str(self, attrs: &BTreeMap<String, Value>) -> Option<&str> {
        attrs.get(self.0).and_then(Value::as_str)
    }
}

impl fmt::Debug for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<str> for Attr {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<String> for Attr {
    fn eq(&self, other: &String) -> bool {
        self.0 == other
    }
}

impl PartialEq<Attr> for String {
    fn eq(&self, other: &Attr) -> bool {
        self == other.0
    }
}

impl From<Attr> for String {
    fn from(a: Attr) -> String {
        a.0.to_string()
    }
}

/// How two values of an attribute are compared (after normalisation, equal means no change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    Exact,
    /// Another object's AWS id or ARN, compared exactly. An implicit object
    /// (a route, a rule) that points outside the stack (a peering another
    /// team owns, a default group, an AWS-managed policy) is not vpcform's.
    Id,
    /// IPv4 CIDR in canonical form.
    Cidr,
    /// An IAM policy document: URL-decoded, statement and action order ignored.
    Policy,
    /// Tags, ignoring AWS's own `aws:` tags and vpcform's config hash.
    Tags,
    /// A list compared as a set.
    StringSet,
    /// A flow-log format, where absent means AWS's default format.
    FlowLogFormat,
    /// A JSON document, as text or as structure: compared parsed, object
    /// keys in any order, `1` and `1.0` alike (rule bodies, dashboards).
    Json,
    /// Not returned by AWS's batched read: set at creation, never compared.
    Unread,
}

/// One row of a kind's attribute table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttrSpec {
    pub attr: Attr,
    pub forces_replacement: bool,
    pub compare: Compare,
}

impl AttrSpec {
    /// An attribute whose change replaces the object.
    pub const fn replace(attr: Attr, compare: Compare) -> Self {
        AttrSpec {
            attr,
            forces_replacement: true,
            compare,
        }
    }

    /// An attribute AWS changes in place.
    pub const fn update(attr: Attr, compare: Compare) -> Self {
        AttrSpec {
            attr,
            forces_replacement: false,
            compare,
        }
    }
}

/// The form of the AWS identifier a kind's `import-id` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdShape {
    /// An EC2 id such as `vpc-0abc…`.
    Prefix(&'static str),
    /// The object's name, which must equal its declared `name`.
    Name,
    /// An IAM policy's ARN (`arn:aws:iam::ACCOUNT:policy/PATH/NAME`).
    PolicyArn,
    /// An SNS topic's ARN (`arn:aws:sns:REGION:ACCOUNT:NAME`).
    TopicArn,
    /// Nothing: the kind carries no tags, so vpcform cannot own an object
    /// it did not create (metric filters, dashboards).
    NotAdoptable,
}

impl IdShape {
    /// Whether `id` has this shape.
    pub fn admits(self, id: &str) -> bool {
        match self {
            IdShape::Prefix(prefix) => id.strip_prefix(prefix).is_some_and(|rest| {
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric())
            }),
            IdShape::Name => !id.is_empty(),
            IdShape::PolicyArn => id.starts_with("arn:") && id.contains(":policy/"),
            IdShape::TopicArn => id.starts_with("arn:") && id.split(':').nth(2) == Some("sns"),
            IdShape::NotAdoptable => false,
        }
    }

    /// An example, for messages.
    pub fn example(self) -> String {
        match self {
            IdShape::Prefix(prefix) => format!("{prefix}0123456789abcdef0"),
            IdShape::Name => "the object's name".into(),
            IdShape::PolicyArn => "arn:aws:iam::123456789012:policy/NAME".into(),
            IdShape::TopicArn => "arn:aws:sns:us-east-1:123456789012:NAME".into(),
            IdShape::NotAdoptable => "nothing: this kind cannot be adopted".into(),
        }
    }
}
