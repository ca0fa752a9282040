//! The analysis the reports and the dashboard share, as pure functions over measured points:
//!
//! - [`pareto`]: the frontier of a point set for any two metrics, each maximised or minimised;
//! - [`economics`]: cost per million tokens, tokens per second per provisioned megawatt and
//!   modelled energy per token, from the catalog's prices and power;
//! - [`interp`]: values along a frontier at a target interactivity (monotone Steffen spline,
//!   never beyond the measured range), and comparisons at equal interactivity.
//!
//! Definitions: `docs/analysis.md`.

pub mod distribution;
pub mod economics;
pub mod grouping;
pub mod history;
pub mod interp;
pub mod pareto;
