//! vpcform's AWS provider: the only crate that talks to AWS. One module per
//! resource kind (under `kinds/`) holds that kind's AWS side behind the
//! [`kind::AwsKind`] trait, joined by the registry; `read` reads the whole
//! stack's live state with one paginated call per kind, all kinds concurrently.

mod apply;
mod client;
mod error;
mod import;
mod kind;
mod kinds;
mod lock;
mod logs;
mod network;
mod read;
mod registry;
mod undeclared;

pub use client::{Aws, AwsOptions, CallCounter};
pub use error::AwsError;
pub use import::{Imported, read_vpcs};
pub use lock::{LOCK_GROUP, Lock, LockInfo};
pub use logs::{QueryProgress, Window, run_insights_query, send_events};
pub use network::read_network;
pub use read::read_live_state;

#[cfg(feature = "testkit")]
pub mod fault_proxy;
#[cfg(feature = "testkit")]
pub mod testkit;
