//! servebench's reports over the store, shared by `servebench report` and the dashboard:
//!
//! - [`curves`]: a view's curves (a config's points in one run), picked by source and run,
//!   matched by selectors;
//! - [`reports`]: frontiers, values at target interactivities with cost and power,
//!   comparisons at equal interactivity, history and regressions, and charts;
//! - [`figures`]: what the dashboard draws, per view and grouping;
//! - [`movements`]: why a series moved between two runs (images, changelog entries);
//! - [`table`]: the tables they produce, written as text, CSV or JSON.

pub mod curves;
pub mod figures;
pub mod movements;
pub mod reliability;
pub mod reports;
pub mod request;
pub mod table;
