//! `vpcform import`'s writer: objects observed in the account become a
//! topology that adopts each of them (`import-id`). Pure: the AWS side
//! hands over what it read; each kind's module writes its own declaration
//! ([`Declared::export`](crate::kind::Declared)); this module names the
//! objects, resolves ids to logical names and lays out the file.

pub(crate) mod cx;
mod writer;

pub use cx::{ExportCx, LeftOut, Observed};
pub use writer::{Origin, Written, kebab_case, write};
