//! vpcform's AWS provider: the only crate that talks to AWS. One module per
//! resource kind holds that kind's AWS side; `read` reads the whole stack's
//! live state with one paginated call per kind, all kinds concurrently.

mod apply;
mod client;
mod error;
mod lock;
mod read;

mod flow_log;
mod iam;
mod instance;
mod internet_gateway;
mod log_group;
mod peering;
mod route_table;
mod security_group;
mod subnet;
mod vpc;

pub use client::{Aws, AwsOptions, CallCounter};
pub use error::AwsError;
pub use lock::{LOCK_GROUP, Lock, LockInfo};
pub use read::read_live_state;

#[cfg(feature = "testkit")]
pub mod fault_proxy;
#[cfg(feature = "testkit")]
pub mod testkit;
