//! `vpcform import`'s writer: objects observed in the account become a
//! topology that adopts each of them (`import-id`). Pure: the AWS side
//! hands over what it read; each kind's module writes its own declaration
//! ([`Declared::export`](crate::kind::Declared)); this module names the
//! objects, resolves ids to logical names and lays out the file.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::address::ResourceKind;
use crate::attr::TAGS;
use crate::emit::{Map, Yaml};
use crate::kind::Attr;
use crate::model::is_valid_name;

/// An object read from the account, with the implicit objects it contains.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub kind: ResourceKind,
    /// AWS's identifier: what `import-id` holds.
    pub id: String,
    /// Attributes under the kind's attribute names, as the reader reports them.
    pub attrs: BTreeMap<String, Value>,
    /// Routes, rules, associations, attachments and entries, with their kind.
    pub children: Vec<(ResourceKind, BTreeMap<String, Value>)>,
}

impl Observed {
    pub fn get(&self, attr: Attr) -> Option<&Value> {
        attr.get(&self.attrs)
    }

    pub fn str(&self, attr: Attr) -> Option<&str> {
        attr.str(&self.attrs)
    }

    /// The children of one kind.
    pub fn children_of(
        &self,
        kind: ResourceKind,
    ) -> impl Iterator<Item = &BTreeMap<String, Value>> {
        self.children
            .iter()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, attrs)| attrs)
    }

    /// The user's tags: AWS's own (`aws:…`) and vpcform's bookkeeping left out.
    pub fn user_tags(&self) -> BTreeMap<&str, &str> {
        let Some(Value::Object(tags)) = self.get(TAGS) else {
            return BTreeMap::new();
        };
        tags.iter()
            .filter(|(k, _)| !k.starts_with("aws:") && !k.starts_with("vpcform:"))
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
            .collect()
    }
}

/// Something in the account that the written topology does not express.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LeftOut {
    /// The id of the object that holds it (the object itself, or its container).
    pub id: String,
    /// What it is, e.g. "a NAT gateway" or "a route to 0.0.0.0/0 through nat-0abc".
    pub what: String,
    /// What happens to it, and what the user can do.
    pub why: String,
}

/// What the header of the written file says.
#[derive(Clone, Debug)]
pub struct Origin {
    pub stack: String,
    pub region: String,
    pub vpcs: Vec<String>,
}

/// A written topology.
#[derive(Debug)]
pub struct Written {
    pub text: String,
    /// How many declarations adopt an object.
    pub declarations: usize,
    /// Everything left out, including what the kinds found they could not write.
    pub left_out: Vec<LeftOut>,
}

/// What a kind's `export` may consult: the logical names given to the
/// other observed objects, by id; and where to report what it leaves out.
#[derive(Debug)]
pub struct ExportCx {
    names: HashMap<(ResourceKind, String), String>,
    /// Each observed VPC's primary CIDR block, by id.
    vpc_cidrs: HashMap<String, String>,
    left_out: Vec<LeftOut>,
}

impl ExportCx {
    /// The logical name of the object of `kind` with AWS id `id`, if it is written.
    pub fn name_of(&self, kind: ResourceKind, id: &str) -> Option<&str> {
        self.names.get(&(kind, id.to_string())).map(String::as_str)
    }

    /// The primary CIDR block of the observed VPC `id`.
    pub fn vpc_cidr(&self, id: &str) -> Option<&str> {
        self.vpc_cidrs.get(id).map(String::as_str)
    }

    /// Records something the declaration of `id` cannot express.
    pub fn leave_out(&mut self, id: &str, what: impl Into<String>, why: impl Into<String>) {
        self.left_out.push(LeftOut {
            id: id.to_string(),
            what: what.into(),
            why: why.into(),
        });
    }

    /// `tags:` with the user's tags, when there are any.
    pub fn tags(&self, o: &Observed, m: &mut Map) {
        let tags = o.user_tags();
        if !tags.is_empty() {
            let mut t = Map::new();
            for (k, v) in tags {
                t.set(k, v);
            }
            m.set("tags", t);
        }
    }

    /// `key: <logical name>` of the object of `kind` that `attr` refers to
    /// by id; false when it is not written.
    pub fn reference(
        &self,
        o: &Observed,
        attr: Attr,
        kind: ResourceKind,
        key: &str,
        m: &mut Map,
    ) -> bool {
        match o.str(attr).and_then(|id| self.name_of(kind, id)) {
            Some(name) => {
                m.set(key, name);
                true
            }
            None => false,
        }
    }
}

impl ExportCx {
    /// `vpc:` and `subnets:` of a table or ACL: its VPC by name, and the
    /// subnets its `association` objects name; false when the VPC is not written.
    pub fn vpc_and_subnets(&self, o: &Observed, association: ResourceKind, m: &mut Map) -> bool {
        if !self.reference(o, crate::attr::VPC_ID, ResourceKind::Vpc, "vpc", m) {
            return false;
        }
        let subnets =
            self.names_in_children(o, association, crate::attr::SUBNET_ID, ResourceKind::Subnet);
        m.list("subnets", subnets);
        true
    }

    /// The logical names, sorted, of the objects of `kind` that `o`'s
    /// implicit objects of kind `child` name in `attr` (a table's subnets).
    pub fn names_in_children(
        &self,
        o: &Observed,
        child: ResourceKind,
        attr: Attr,
        kind: ResourceKind,
    ) -> Vec<Yaml> {
        let mut names: Vec<&str> = o
            .children_of(child)
            .filter_map(|c| self.name_of(kind, attr.str(c)?))
            .collect();
        names.sort_unstable();
        names.into_iter().map(Yaml::from).collect()
    }
}

/// A kind's declaration of one observed object, as the registry dispatches it.
pub(crate) type ExportFn = fn(&Observed, &mut ExportCx) -> Option<Map>;

/// Writes the topology that adopts `observed`.
pub fn write(origin: &Origin, observed: &[Observed], left_out: Vec<LeftOut>) -> Written {
    let names = logical_names(observed);
    let mut written: Vec<bool> = observed
        .iter()
        .map(|o| o.kind.section().is_some())
        .collect();
    let mut left_out = left_out;
    // An object that cannot be declared (a peering to a VPC not imported)
    // takes the references to it along: export again without it until
    // nothing more drops out.
    loop {
        let mut cx = ExportCx {
            names: observed
                .iter()
                .zip(&names)
                .zip(&written)
                .filter(|(_, w)| **w)
                .map(|((o, n), _)| ((o.kind, o.id.clone()), n.clone()))
                .collect(),
            vpc_cidrs: observed
                .iter()
                .filter(|o| o.kind == ResourceKind::Vpc)
                .filter_map(|o| {
                    Some((
                        o.id.clone(),
                        o.str(crate::kinds::vpc::CIDR_BLOCK)?.to_string(),
                    ))
                })
                .collect(),
            left_out: left_out.clone(),
        };
        let declarations = declare_all(observed, &names, &written, &mut cx);
        let now: Vec<bool> = declarations.iter().map(Option::is_some).collect();
        // What an earlier pass left out stays left out (the objects it dropped).
        left_out = cx.left_out;
        if now == written {
            return lay_out(origin, observed, &names, declarations, left_out);
        }
        written = now;
    }
}

/// Each object's declaration (with its comments), `None` where it has none.
fn declare_all(
    observed: &[Observed],
    names: &[String],
    written: &[bool],
    cx: &mut ExportCx,
) -> Vec<Option<(Vec<String>, Map)>> {
    let mut out = Vec::with_capacity(observed.len());
    for (o, _) in observed.iter().zip(names) {
        let i = out.len();
        if !written[i] {
            out.push(None);
            continue;
        }
        let before = cx.left_out.len();
        let Some(mut body) = crate::registry::export(o, cx) else {
            out.push(None);
            continue;
        };
        body.set("import-id", o.id.as_str());
        let mut comments = vec![describe(o)];
        comments.extend(
            cx.left_out[before..]
                .iter()
                .map(|l| format!("left out: {} ({})", l.what, l.why)),
        );
        out.push(Some((comments, body)));
    }
    out
}

/// The file: header, stack and region, then one section per kind.
fn lay_out(
    origin: &Origin,
    observed: &[Observed],
    names: &[String],
    declarations: Vec<Option<(Vec<String>, Map)>>,
    mut left_out: Vec<LeftOut>,
) -> Written {
    let mut by_name: Vec<(ResourceKind, &String, Vec<String>, Map)> = observed
        .iter()
        .zip(names)
        .zip(declarations)
        .filter_map(|((o, name), d)| d.map(|(comments, body)| (o.kind, name, comments, body)))
        .collect();
    by_name.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let count = by_name.len();
    let mut sections: BTreeMap<ResourceKind, Map> = BTreeMap::new();
    for (kind, name, comments, body) in by_name {
        sections
            .entry(kind)
            .or_default()
            .commented(comments, name.clone(), body);
    }
    left_out.sort();
    left_out.dedup();
    let mut text = header(origin, &left_out);
    let mut top = Map::new();
    top.set("stack", origin.stack.as_str())
        .set("region", origin.region.as_str());
    text.push_str(&top.to_text());
    for (kind, section) in sections {
        let mut m = Map::new();
        m.set(kind.section().unwrap_or_default(), section);
        text.push('\n');
        text.push_str(&m.to_text());
    }
    Written {
        text,
        declarations: count,
        left_out,
    }
}

/// The comment above a declaration: its id and its Name tag.
fn describe(o: &Observed) -> String {
    match o.user_tags().get("Name") {
        Some(name) => format!("{} ({name})", o.id),
        None => o.id.clone(),
    }
}

fn header(origin: &Origin, left_out: &[LeftOut]) -> String {
    let mut text = format!(
        "# yaml-language-server: $schema=./docs/topology.schema.json\n#\n# Written by `vpcform import` from {} in {}.\n# Every declaration adopts the object named by its `import-id`: `vpcform plan`\n# shows each as `= … will be adopted`, and `vpcform apply` adds the ownership\n# tags without recreating anything. `import-id` may stay or go afterwards.\n",
        origin.vpcs.join(", "),
        origin.region
    );
    if left_out.is_empty() {
        text.push_str("# Nothing in these VPCs was left out.\n");
    } else {
        text.push_str(
            "#\n# Left out (vpcform cannot express these; they stay as they are in AWS):\n",
        );
        for l in left_out {
            text.push_str(&format!("#   {}: {} ({})\n", l.id, l.what, l.why));
        }
    }
    text.push('\n');
    text
}

/// A logical name for each observed object (same order), see
/// [`preferred_name`]. Unique across the topology:
/// a name another kind took first gets the kind appended, a name the same
/// kind took gets `-2`, `-3`… in id order, so the result is stable.
fn logical_names(observed: &[Observed]) -> Vec<String> {
    let mut order: Vec<usize> = (0..observed.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&observed[a], &observed[b]);
        (a.kind, &a.id).cmp(&(b.kind, &b.id))
    });
    let mut taken: HashMap<String, ResourceKind> = HashMap::new();
    let mut names = vec![String::new(); observed.len()];
    let mut vpc_names: HashMap<&str, String> = HashMap::new();
    for i in order {
        let o = &observed[i];
        let mut name = preferred_name(o, &vpc_names);
        if taken.get(&name).is_some_and(|k| *k != o.kind) {
            name = fit(&format!("{name}-{}", o.kind.as_str()));
        }
        let base = name.clone();
        let mut n = 2;
        while taken.contains_key(&name) {
            name = fit(&format!("{base}-{n}"));
            n += 1;
        }
        taken.insert(name.clone(), o.kind);
        if o.kind == ResourceKind::Vpc {
            vpc_names.insert(&o.id, name.clone());
        }
        names[i] = name;
    }
    names
}

/// Its Name tag, else its AWS name, else the name of the VPC it is in and
/// its kind (`network-1-flow-log`), else its id.
fn preferred_name(o: &Observed, vpc_names: &HashMap<&str, String>) -> String {
    let from_tag = o.user_tags().get("Name").map(|n| kebab_case(n));
    let from_aws_name = || {
        crate::registry::aws_name_attr(o.kind)
            .and_then(|a| o.str(a))
            .map(kebab_case)
    };
    let in_vpc = || {
        o.attrs
            .values()
            .filter_map(Value::as_str)
            .find_map(|id| vpc_names.get(id))
            .map(|vpc| format!("{}-{}", vpc.strip_suffix("-vpc").unwrap_or(vpc), o.kind))
    };
    let candidate = from_tag
        .filter(|n| !n.is_empty())
        .or_else(|| from_aws_name().filter(|n| !n.is_empty()))
        .or_else(in_vpc)
        .unwrap_or_else(|| kebab_case(&o.id));
    let candidate = if candidate.starts_with(|c: char| c.is_ascii_alphabetic()) {
        candidate
    } else {
        format!("{}-{candidate}", o.kind.as_str())
    };
    fit(&candidate)
}

/// Within the 64 characters a logical name may have.
fn fit(name: &str) -> String {
    let mut name: String = name.chars().take(64).collect();
    while name.ends_with('-') {
        name.pop();
    }
    debug_assert!(is_valid_name(&name), "{name}");
    name
}

/// `Network-1-vpc` → `network-1-vpc`, `ProjectVPCFlowLogGroups` →
/// `project-vpc-flow-log-groups`, `VPC1<>VPC2` → `vpc1-vpc2`.
pub fn kebab_case(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut pending_dash = false;
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            pending_dash = !out.is_empty();
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let word_starts = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
            });
        if (pending_dash || word_starts) && !out.is_empty() {
            out.push('-');
        }
        pending_dash = false;
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(kind: ResourceKind, id: &str, name: Option<&str>) -> Observed {
        let mut attrs = BTreeMap::new();
        if let Some(name) = name {
            attrs.insert(
                TAGS.as_str().to_string(),
                serde_json::json!({ "Name": name }),
            );
        }
        Observed {
            kind,
            id: id.into(),
            attrs,
            children: Vec::new(),
        }
    }

    #[test]
    fn kebab_case_splits_words_acronyms_and_separators() {
        for (text, want) in [
            ("Network-1-vpc", "network-1-vpc"),
            ("ProjectVPCFlowLogGroups", "project-vpc-flow-log-groups"),
            ("VPC1<>VPC2", "vpc1-vpc2"),
            ("instance-1-vpc", "instance-1-vpc"),
            ("  my web  SG ", "my-web-sg"),
            ("/aws/vpc/flowlogs", "aws-vpc-flowlogs"),
            ("vpc-0abc123", "vpc-0abc123"),
            ("Network1Vpc", "network1-vpc"),
        ] {
            assert_eq!(kebab_case(text), want, "{text}");
        }
    }

    #[test]
    fn names_are_unique_stable_and_valid() {
        use ResourceKind as K;
        let objects = vec![
            observed(K::Subnet, "subnet-2", Some("web")),
            observed(K::Vpc, "vpc-1", Some("web")),
            observed(K::Subnet, "subnet-1", Some("web")),
            observed(K::Subnet, "subnet-3", None),
            observed(K::Vpc, "vpc-2", Some("1st network")),
            observed(K::Vpc, "vpc-3", Some("!!!")),
        ];
        let names = logical_names(&objects);
        assert_eq!(
            names,
            vec![
                "web-subnet-2",
                "web",
                "web-subnet",
                "subnet-3",
                "vpc-1st-network",
                "vpc-3"
            ]
        );
        let unique: std::collections::HashSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        assert!(names.iter().all(|n| is_valid_name(n)));
        let mut reversed = objects.clone();
        reversed.reverse();
        let mut again = logical_names(&reversed);
        again.reverse();
        assert_eq!(again, names, "the order objects arrive in changes no name");
    }
}
