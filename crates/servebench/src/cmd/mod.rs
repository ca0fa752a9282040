pub mod bench;
pub mod selfbench;
pub mod sim;
pub mod simulate;
