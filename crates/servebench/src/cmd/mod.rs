pub mod bench;
pub mod calibrate;
pub mod selfbench;
pub mod sim;
pub mod simulate;
