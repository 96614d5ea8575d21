//! Renderers of a finished [`Report`](crate::Report): a human table, the JSON contract and JUnit XML for CI.
//! Each returns a `String` ending in a newline; where it goes (stdout or `--json`/`--junit` files) is the
//! caller's choice.

pub mod json;
pub mod junit;
pub mod metrics;
pub mod table;
