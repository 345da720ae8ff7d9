//! vpcform's executor. It applies a [`Plan`] and only what the plan says:
//! builds the apply graph from the plan's changes (deletes reversed), walks it
//! with tokio under a parallelism limit, starting each step as soon as what it
//! waits for is done, and reports progress as [`Event`]s. It knows no AWS: a
//! [`Provider`] performs the operations.

mod graph;
mod run;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::Value;
use vpcform_topology::{Address, ResourceKind};

pub use graph::{ApplyGraph, Step, build_apply_graph};
pub use run::{Options, Report, StepResult, StopSignal, execute};

/// What a step does to its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verb {
    Create,
    Update,
    /// Take over an existing object: ownership tags, then in-place changes.
    Adopt,
    Delete,
    /// Record the declaration hash (`vpcform:config`) on an object whose subtree
    /// changed, or that an earlier apply created and stopped before recording.
    Retag,
    /// Before an object is replaced delete-first: a temporary copy of it
    /// takes over from it wherever it is used.
    StandIn,
    /// After the replacement and its users' updates: whatever still uses
    /// the stand-in moves to the new object, and the stand-in goes.
    StandOut,
}

impl Verb {
    pub fn progressive(self) -> &'static str {
        match self {
            Verb::Create => "Creating",
            Verb::Update => "Modifying",
            Verb::Adopt => "Adopting",
            Verb::Delete => "Destroying",
            Verb::Retag => "Tagging",
            Verb::StandIn => "Moving its users to a stand-in",
            Verb::StandOut => "Removing the stand-in",
        }
    }

    pub fn past(self) -> &'static str {
        match self {
            Verb::Create => "Creation complete",
            Verb::Update => "Modifications complete",
            Verb::Adopt => "Adoption complete",
            Verb::Delete => "Destruction complete",
            Verb::Retag => "Tagging complete",
            Verb::StandIn => "Stand-in holds its users",
            Verb::StandOut => "Stand-in removed",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Adopt => "adopt",
            Verb::Delete => "delete",
            Verb::Retag => "retag",
            Verb::StandIn => "stand-in",
            Verb::StandOut => "stand-out",
        })
    }
}

/// One operation for the provider, with every value resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    pub stack: String,
    pub address: Address,
    pub kind: ResourceKind,
    pub verb: Verb,
    /// The live id (updates, deletes, retags).
    pub id: Option<String>,
    /// Desired attributes (creates, updates), references replaced by ids.
    pub attrs: BTreeMap<String, Value>,
    /// Live attributes as planned (updates, deletes).
    pub before: BTreeMap<String, Value>,
    /// Attributes that change (updates).
    pub changed: Vec<String>,
    /// Values the provider looks up itself, by attribute name.
    pub lookups: BTreeMap<String, Lookup>,
    /// The declaration hash to record in the `vpcform:config` tag.
    pub config_hash: Option<String>,
}

/// A value the provider finds itself at apply time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The value of a public SSM parameter (an AMI id).
    SsmParameter(String),
}

/// What a step produced: the object's id and attributes others may need (`arn`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    pub id: String,
    pub attrs: BTreeMap<String, Value>,
}

/// A failed operation, in AWS's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepError {
    pub message: String,
}

impl StepError {
    pub fn new(message: impl Into<String>) -> Self {
        StepError {
            message: message.into(),
        }
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Performs operations against a cloud. Implementations own every wait and
/// retry that their API needs; the executor only orders and schedules.
pub trait Provider: Send + Sync + 'static {
    fn execute(&self, operation: Operation) -> BoxFuture<'_, Result<Outcome, StepError>>;
}

/// Progress, in the order things happen.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Started {
        address: Address,
        verb: Verb,
    },
    /// Sent every `Options::heartbeat` while a step runs.
    StillRunning {
        address: Address,
        verb: Verb,
        elapsed: Duration,
    },
    Finished {
        address: Address,
        verb: Verb,
        id: String,
        elapsed: Duration,
    },
    Failed {
        address: Address,
        verb: Verb,
        message: String,
        elapsed: Duration,
    },
    Skipped {
        address: Address,
        verb: Verb,
        reason: String,
    },
}
