//! The runner's integration tests: scheduling semantics with synthetic checks, and the reporters against
//! their contracts (JSON Schema, JUnit XSD, golden files).

mod common;
mod reporters;
mod scheduling;
mod terminal;
