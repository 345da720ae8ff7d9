//! vpcform's language layer, below every resource kind: the YAML reader
//! (a spanned node tree, bounded), decoding helpers that collect located
//! diagnostics instead of stopping at the first, rustc-style rendering of
//! diagnostics, the building blocks declarations share (`At`, `Named`,
//! `Ref`, `Protocol`), and the YAML writer `vpcform import` uses.
//! It knows no kind: vpcform-topology builds the model on it.

pub mod decode;
pub mod diagnostic;
pub mod emit;
pub mod escape;
pub mod model;
pub mod yaml;
