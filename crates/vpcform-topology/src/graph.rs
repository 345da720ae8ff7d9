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
use crate::diagnostic::{Diagnostic, Span};
use crate::model::Ref;

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
    /// The graph of what `b` holds plus each declaration's explicit `depends-on`.
    pub(crate) fn assemble(
        mut b: Builder,
        explicit_dependencies: Vec<(ResourceKind, &str, &[Ref])>,
    ) -> Self {
        use ResourceKind as K;
        // Explicit `depends-on`, between primary nodes.
        let primary_of: HashMap<String, ResourceKind> = b
            .graph
            .node_weights()
            .filter(|n| n.address.key.is_none() && n.address.kind != K::InternetGatewayAttachment)
            .map(|n| (n.address.name.clone(), n.address.kind))
            .collect();
        let mut explicit = Vec::new();
        for (kind, name, deps) in explicit_dependencies {
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

    /// Where `address` is declared: its node's span, else its container's
    /// (an object the topology implies without a node, such as AWS's own
    /// egress rule of a group); unknown when neither is in the graph.
    pub fn span_of(&self, address: &Address) -> Span {
        self.index_of(address)
            .or_else(|| self.index_of(&ResourceKind::container_of(address)?))
            .map_or(Span::UNKNOWN, |i| self.node(i).span)
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
        let (nodes, id) = self.numbered_nodes();
        for (n, node) in nodes.iter().enumerate() {
            let _ = writeln!(out, "  n{n} [label=\"{}\"];", node.address);
        }
        for (from, to) in self.sorted_edges() {
            let _ = writeln!(out, "  n{} -> n{};", id[&from], id[&to]);
        }
        out.push_str("}\n");
        out
    }

    /// A Mermaid flowchart (GitHub renders ```mermaid blocks). Arrows point
    /// from a dependency to what needs it, the order of creation.
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        let (nodes, id) = self.numbered_nodes();
        for (n, node) in nodes.iter().enumerate() {
            let label = node.address.to_string().replace('"', "#quot;");
            let _ = writeln!(out, "  n{n}[\"{label}\"]");
        }
        for (from, to) in self.sorted_edges() {
            let _ = writeln!(out, "  n{} --> n{}", id[&to], id[&from]);
        }
        out
    }

    /// Nodes by address, and each node's number in that order: renderings
    /// name nodes by these numbers, which depend on the file alone.
    fn numbered_nodes(&self) -> (Vec<&GraphNode>, HashMap<NodeIndex, usize>) {
        let sorted = self.sorted_nodes();
        let id = sorted
            .iter()
            .enumerate()
            .map(|(n, (i, _))| (*i, n))
            .collect();
        (sorted.into_iter().map(|(_, node)| node).collect(), id)
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

/// Collects nodes and edges while each kind adds its section.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    graph: DiGraph<GraphNode, EdgeKind>,
    by_address: HashMap<Address, NodeIndex>,
    /// Edges whose target may be declared later; resolved in `finish`.
    deferred: Vec<(NodeIndex, Address, EdgeKind)>,
}

impl Builder {
    pub(crate) fn node(&mut self, address: Address, span: Span) -> NodeIndex {
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

    pub(crate) fn edge(&mut self, from: NodeIndex, to: Address) {
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
