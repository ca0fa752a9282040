//! servebench's web dashboard over the store (`docs/dashboard.md`):
//!
//! - [`api`]: the JSON API the pages read (and scripts may): what the store holds, one view's
//!   points, one point in full, the reports of `servebench report`;
//! - [`server`]: a small read-only HTTP server for it;
//! - [`site`]: the front end embedded in the binary, and the static export.

mod answers;
pub mod api;
pub mod server;
pub mod site;
