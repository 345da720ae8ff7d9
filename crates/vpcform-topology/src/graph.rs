//! The dependency graph: one node per object vpcform manages (implicit ones
//! included), edges from dependents to their dependencies.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt::Write as _;

use petgraph::Direction as EdgeDirection;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::address::{Address, ResourceKind};
use crate::derived::{Direction, Peer, RouteTarget};
use crate::diagnostic::{Diagnostic, Span};
use crate::model::Topology;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphNode {
    pub address: Address,
    /// Where the node is declared (for implicit nodes, the declaration that implies it).
    pub span: Span,
}

/// Why an edge exists; `DependsOn` edges carry where the user wrote them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeKind {
    Reference,
    DependsOn(Span),
}

#[derive(Debug, Clone, Default)]
pub struct DependencyGraph {
    graph: DiGraph<GraphNode, EdgeKind>,
    by_address: HashMap<Address, NodeIndex>,
}

impl DependencyGraph {
    pub fn build(t: &Topology) -> Self {
        let mut b = Builder::default();
        use ResourceKind as K;
        for r in &t.vpcs {
            b.node(Address::new(K::Vpc, &r.name.value), r.name.span);
        }
        for r in &t.subnets {
            let a = b.node(Address::new(K::Subnet, &r.name.value), r.name.span);
            b.edge(a, Address::new(K::Vpc, &r.spec.vpc.value));
        }
        for r in &t.internet_gateways {
            b.node(Address::new(K::InternetGateway, &r.name.value), r.name.span);
            let att = b.node(
                Address::new(K::InternetGatewayAttachment, &r.name.value),
                r.spec.vpc.span,
            );
            b.edge(att, Address::new(K::InternetGateway, &r.name.value));
            b.edge(att, Address::new(K::Vpc, &r.spec.vpc.value));
        }
        for r in &t.peerings {
            let a = b.node(Address::new(K::VpcPeering, &r.name.value), r.name.span);
            b.edge(a, Address::new(K::Vpc, &r.spec.requester.value));
            b.edge(a, Address::new(K::Vpc, &r.spec.accepter.value));
        }
        for r in &t.route_tables {
            let a = b.node(Address::new(K::RouteTable, &r.name.value), r.name.span);
            b.edge(a, Address::new(K::Vpc, &r.spec.vpc.value));
            for s in &r.spec.subnets {
                let assoc = b.node(
                    Address::keyed(K::RouteTableAssociation, &r.name.value, &s.value),
                    s.span,
                );
                b.edge(assoc, Address::new(K::RouteTable, &r.name.value));
                b.edge(assoc, Address::new(K::Subnet, &s.value));
            }
        }
        for route in t.effective_routes() {
            let a = b.node(
                Address::keyed(K::Route, &route.table, route.destination.to_string()),
                route.span,
            );
            b.edge(a, Address::new(K::RouteTable, &route.table));
            match &route.target {
                // The gateway must be attached before a route can use it.
                RouteTarget::InternetGateway(g) => {
                    b.edge(a, Address::new(K::InternetGatewayAttachment, g))
                }
                RouteTarget::Peering(p) => b.edge(a, Address::new(K::VpcPeering, p)),
            }
        }
        for r in &t.security_groups {
            let a = b.node(Address::new(K::SecurityGroup, &r.name.value), r.name.span);
            b.edge(a, Address::new(K::Vpc, &r.spec.vpc.value));
            let rules = r
                .spec
                .ingress
                .iter()
                .map(|x| (Direction::Ingress, x))
                .chain(
                    r.spec
                        .egress
                        .iter()
                        .flatten()
                        .map(|x| (Direction::Egress, x)),
                );
            for (direction, rule) in rules {
                let Some(normal) = rule.normalise(direction) else {
                    continue;
                };
                let rule_node = b.node(
                    Address::keyed(K::SecurityGroupRule, &r.name.value, normal.key()),
                    rule.span,
                );
                b.edge(rule_node, Address::new(K::SecurityGroup, &r.name.value));
                if let Peer::SecurityGroup(other) = &normal.peer {
                    b.edge(rule_node, Address::new(K::SecurityGroup, other));
                }
            }
        }
        for r in &t.instances {
            let a = b.node(Address::new(K::Instance, &r.name.value), r.name.span);
            b.edge(a, Address::new(K::Subnet, &r.spec.subnet.value));
            for sg in &r.spec.security_groups {
                b.edge(a, Address::new(K::SecurityGroup, &sg.value));
            }
        }
        for r in &t.log_groups {
            b.node(Address::new(K::LogGroup, &r.name.value), r.name.span);
        }
        for r in &t.iam_policies {
            b.node(Address::new(K::IamPolicy, &r.name.value), r.name.span);
        }
        for r in &t.iam_roles {
            b.node(Address::new(K::IamRole, &r.name.value), r.name.span);
            for p in &r.spec.policies {
                let att = b.node(
                    Address::keyed(K::IamRolePolicyAttachment, &r.name.value, &p.value),
                    p.span,
                );
                b.edge(att, Address::new(K::IamRole, &r.name.value));
                b.edge(att, Address::new(K::IamPolicy, &p.value));
            }
        }
        for r in &t.flow_logs {
            let a = b.node(Address::new(K::FlowLog, &r.name.value), r.name.span);
            if let Some(v) = &r.spec.vpc {
                b.edge(a, Address::new(K::Vpc, &v.value));
            }
            if let Some(s) = &r.spec.subnet {
                b.edge(a, Address::new(K::Subnet, &s.value));
            }
            b.edge(a, Address::new(K::LogGroup, &r.spec.log_group.value));
            b.edge(a, Address::new(K::IamRole, &r.spec.role.value));
            // The role must hold its permissions before the flow log starts delivering.
            if let Some(role) = t
                .iam_roles
                .iter()
                .find(|x| x.name.value == r.spec.role.value)
            {
                for p in &role.spec.policies {
                    b.edge(
                        a,
                        Address::keyed(K::IamRolePolicyAttachment, &role.name.value, &p.value),
                    );
                }
            }
        }

        // Explicit `depends-on`, between primary nodes.
        let primary_of: HashMap<String, ResourceKind> = b
            .graph
            .node_weights()
            .filter(|n| n.address.key.is_none() && n.address.kind != K::InternetGatewayAttachment)
            .map(|n| (n.address.name.clone(), n.address.kind))
            .collect();
        let mut explicit = Vec::new();
        for (kind, name, deps) in t.explicit_dependencies() {
            for dep in deps {
                if let Some(dep_kind) = primary_of.get(&dep.value) {
                    explicit.push((
                        Address::new(kind, name),
                        Address::new(*dep_kind, &dep.value),
                        dep.span,
                    ));
                }
            }
        }
        for (from, to, span) in explicit {
            if let Some(&from) = b.by_address.get(&from) {
                b.edge_kind(from, to, EdgeKind::DependsOn(span));
            }
        }
        b.finish()
    }

    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.graph.node_count() == 0
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    pub fn node(&self, index: NodeIndex) -> &GraphNode {
        &self.graph[index]
    }

    pub fn index_of(&self, address: &Address) -> Option<NodeIndex> {
        self.by_address.get(address).copied()
    }

    pub fn nodes(&self) -> impl Iterator<Item = (NodeIndex, &GraphNode)> {
        self.graph.node_indices().map(|i| (i, &self.graph[i]))
    }

    /// What `index` depends on.
    pub fn dependencies(&self, index: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        self.graph
            .neighbors_directed(index, EdgeDirection::Outgoing)
    }

    /// What depends on `index`.
    pub fn dependents(&self, index: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        self.graph
            .neighbors_directed(index, EdgeDirection::Incoming)
    }

    pub fn petgraph(&self) -> &DiGraph<GraphNode, EdgeKind> {
        &self.graph
    }

    /// Dependencies first; among nodes that are ready together, by address.
    /// `Err` carries one cycle, as a closed path `a → b → … → a`.
    pub fn topological_order(&self) -> Result<Vec<NodeIndex>, Vec<NodeIndex>> {
        let n = self.graph.node_count();
        let mut pending: Vec<usize> = self
            .graph
            .node_indices()
            .map(|i| {
                self.graph
                    .neighbors_directed(i, EdgeDirection::Outgoing)
                    .count()
            })
            .collect();
        let mut ready: BinaryHeap<Reverse<(&Address, NodeIndex)>> = self
            .graph
            .node_indices()
            .filter(|i| pending[i.index()] == 0)
            .map(|i| Reverse((&self.graph[i].address, i)))
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse((_, i))) = ready.pop() {
            order.push(i);
            for edge in self.graph.edges_directed(i, EdgeDirection::Incoming) {
                let dependent = edge.source();
                pending[dependent.index()] -= 1;
                if pending[dependent.index()] == 0 {
                    ready.push(Reverse((&self.graph[dependent].address, dependent)));
                }
            }
        }
        if order.len() == n {
            return Ok(order);
        }
        // Every node left waits on another node left: walk until one repeats.
        let start = self
            .graph
            .node_indices()
            .filter(|i| pending[i.index()] > 0)
            .min_by_key(|i| &self.graph[*i].address)
            .expect("a node is left when the order is incomplete");
        let mut path = vec![start];
        let mut position: HashMap<NodeIndex, usize> = HashMap::from([(start, 0)]);
        let mut current = start;
        loop {
            let next = self
                .graph
                .neighbors_directed(current, EdgeDirection::Outgoing)
                .filter(|d| pending[d.index()] > 0)
                .min_by_key(|d| &self.graph[*d].address)
                .expect("a waiting node has a waiting dependency");
            if let Some(&at) = position.get(&next) {
                let mut cycle = path.split_off(at);
                cycle.push(next);
                return Err(cycle);
            }
            position.insert(next, path.len());
            path.push(next);
            current = next;
        }
    }

    /// A diagnostic for a cycle returned by [`Self::topological_order`].
    pub fn cycle_diagnostic(&self, cycle: &[NodeIndex]) -> Diagnostic {
        let text: Vec<String> = cycle
            .iter()
            .map(|i| self.graph[*i].address.to_string())
            .collect();
        let span = cycle
            .windows(2)
            .find_map(|w| {
                let edge = self.graph.find_edge(w[0], w[1])?;
                match self.graph[edge] {
                    EdgeKind::DependsOn(span) => Some(span),
                    EdgeKind::Reference => None,
                }
            })
            .unwrap_or(self.graph[cycle[0]].span);
        Diagnostic::error(
            "dependency-cycle",
            span,
            format!("dependency cycle: {}", text.join(" → ")),
        )
        .with_help(
            "nothing in a cycle can be created first; remove one of these `depends-on` entries",
        )
    }

    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph vpcform {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n",
        );
        for (i, node) in self.sorted_nodes() {
            let _ = writeln!(out, "  n{} [label=\"{}\"];", i.index(), node.address);
        }
        for (from, to) in self.sorted_edges() {
            let _ = writeln!(out, "  n{} -> n{};", from.index(), to.index());
        }
        out.push_str("}\n");
        out
    }

    /// A Mermaid flowchart (GitHub renders ```mermaid blocks). Arrows point
    /// from a dependency to what needs it, the order of creation.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for (i, node) in self.sorted_nodes() {
            let label = node.address.to_string().replace('"', "#quot;");
            let _ = writeln!(out, "  n{}[\"{}\"]", i.index(), label);
        }
        for (from, to) in self.sorted_edges() {
            let _ = writeln!(out, "  n{} --> n{}", to.index(), from.index());
        }
        out
    }

    pub fn to_json(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct JsonNode<'a> {
            address: &'a Address,
            kind: ResourceKind,
            depends_on: Vec<&'a Address>,
        }
        let order = self
            .topological_order()
            .unwrap_or_else(|_| self.graph.node_indices().collect());
        let nodes: Vec<JsonNode<'_>> = order
            .iter()
            .map(|&i| {
                let mut deps: Vec<&Address> = self
                    .dependencies(i)
                    .map(|d| &self.graph[d].address)
                    .collect();
                deps.sort();
                deps.dedup();
                JsonNode {
                    address: &self.graph[i].address,
                    kind: self.graph[i].address.kind,
                    depends_on: deps,
                }
            })
            .collect();
        serde_json::json!({ "format_version": "1", "nodes": nodes })
    }

    fn sorted_nodes(&self) -> Vec<(NodeIndex, &GraphNode)> {
        let mut nodes: Vec<_> = self.nodes().collect();
        nodes.sort_by(|a, b| a.1.address.cmp(&b.1.address));
        nodes
    }

    fn sorted_edges(&self) -> Vec<(NodeIndex, NodeIndex)> {
        let mut edges: Vec<(NodeIndex, NodeIndex)> = self
            .graph
            .edge_references()
            .map(|e| (e.source(), e.target()))
            .collect();
        edges.sort_by(|a, b| {
            (&self.graph[a.0].address, &self.graph[a.1].address)
                .cmp(&(&self.graph[b.0].address, &self.graph[b.1].address))
        });
        edges.dedup();
        edges
    }
}

#[derive(Default)]
struct Builder {
    graph: DiGraph<GraphNode, EdgeKind>,
    by_address: HashMap<Address, NodeIndex>,
    /// Edges whose target may be declared later; resolved in `finish`.
    deferred: Vec<(NodeIndex, Address, EdgeKind)>,
}

impl Builder {
    fn node(&mut self, address: Address, span: Span) -> NodeIndex {
        if let Some(&i) = self.by_address.get(&address) {
            return i;
        }
        let i = self.graph.add_node(GraphNode {
            address: address.clone(),
            span,
        });
        self.by_address.insert(address, i);
        i
    }

    fn edge(&mut self, from: NodeIndex, to: Address) {
        self.edge_kind(from, to, EdgeKind::Reference);
    }

    fn edge_kind(&mut self, from: NodeIndex, to: Address, kind: EdgeKind) {
        self.deferred.push((from, to, kind));
    }

    /// Adds the edges whose targets exist; unresolved references are the validator's to report.
    fn finish(mut self) -> DependencyGraph {
        for (from, to, kind) in std::mem::take(&mut self.deferred) {
            if let Some(&to) = self.by_address.get(&to)
                && self.graph.find_edge(from, to).is_none()
            {
                self.graph.add_edge(from, to, kind);
            }
        }
        DependencyGraph {
            graph: self.graph,
            by_address: self.by_address,
        }
    }
}
