use std::process::ExitCode;

#[derive(clap::Args)]
pub struct SelfbenchArgs {}

pub fn run(_args: SelfbenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet implemented")
}
