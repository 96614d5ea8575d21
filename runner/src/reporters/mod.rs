//! Renderers of a finished [`Report`](crate::Report): a human table, the JSON contract and JUnit XML for CI,
//! GitHub Actions workflow commands and a Markdown job summary.
//! Each returns a `String` ending in a newline; where it goes (stdout or `--json`/`--junit` files) is the
//! caller's choice.

pub mod github;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod metrics;
pub mod table;
