//! The writer: names the observed objects, asks each kind's module for its
//! declaration (through the registry), and lays out the file.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::address::ResourceKind;
use crate::emit::Map;
use crate::model::is_valid_name;

use super::cx::{ExportCx, LeftOut, Observed};
use crate::escape::terminal;
/// What the header of the written file says.
#[derive(Clone, Debug)]
pub struct Origin {
    pub stack: String,
    pub region: String,
    pub vpcs: Vec<String>,
    /// AWS's prefix lists in the region, id → name: rules name them so.
    pub aws_prefix_lists: std::collections::BTreeMap<String, String>,
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
                .map(|o| (o.id.clone(), vpc_blocks(o)))
                .collect(),
            left_out: left_out.clone(),
            aws_prefix_lists: origin.aws_prefix_lists.clone(),
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
        // Every kind whose reader reads tags declares them: the user's go back as written.
        cx.tags(o, &mut body);
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
        terminal(&origin.vpcs.join(", ")),
        terminal(&origin.region)
    );
    if left_out.is_empty() {
        text.push_str("# Nothing in these VPCs was left out.\n");
    } else {
        text.push_str(
            "#\n# Left out (vpcform cannot express these; they stay as they are in AWS):\n",
        );
        for l in left_out {
            // What was left out quotes the account: one line each, always.
            text.push_str(&format!(
                "#   {}: {} ({})\n",
                terminal(&l.id),
                terminal(&l.what),
                terminal(&l.why)
            ));
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
    let mut gateway_names: HashMap<&str, String> = HashMap::new();
    for i in order {
        let o = &observed[i];
        let mut name = preferred_name(o, &vpc_names, &gateway_names);
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
        if o.kind == ResourceKind::TransitGateway {
            gateway_names.insert(&o.id, name.clone());
        }
        names[i] = name;
    }
    names
}

/// The name vpcform gave it (re-importing a stack), else its Name tag, else its AWS name, else the name of the VPC it is in and
/// its kind (`network-1-flow-log`), else of the transit gateway it belongs
/// to (`hub-transit-gateway-route-table`), else its id.
fn preferred_name(
    o: &Observed,
    vpc_names: &HashMap<&str, String>,
    gateway_names: &HashMap<&str, String>,
) -> String {
    let from_tag = o
        .own_name()
        .or_else(|| o.user_tags().get("Name").map(|n| kebab_case(n)));
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
    let on_gateway = || {
        o.str(crate::kinds::transit_gateway::TRANSIT_GATEWAY_ID)
            .and_then(|id| gateway_names.get(id))
            .map(|g| format!("{g}-{}", o.kind))
    };
    let candidate = from_tag
        .filter(|n| !n.is_empty())
        .or_else(|| from_aws_name().filter(|n| !n.is_empty()))
        .or_else(in_vpc)
        .or_else(on_gateway)
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

/// An observed VPC's IPv4 blocks, primary first.
fn vpc_blocks(o: &Observed) -> Vec<ipnet::Ipv4Net> {
    use crate::kinds::vpc::{CIDR_BLOCK, SECONDARY_CIDR_BLOCKS};
    let secondary = o
        .get(SECONDARY_CIDR_BLOCKS)
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str);
    o.str(CIDR_BLOCK)
        .into_iter()
        .chain(secondary)
        .filter_map(|c| c.parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::TAGS;

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
