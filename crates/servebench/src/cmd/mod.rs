pub mod bench;
pub mod calibrate;
pub mod deployment;
pub mod plan;
pub mod selfbench;
pub mod sim;
pub mod simulate;
pub mod sweep;
