//! `servebench trace`: write synthetic coding-agent sessions, and read a trace's statistics.

use anyhow::Context as _;
use servebench_dataset::generate::{profile, profile_names, Generator};
use servebench_dataset::trace::{scan, Format};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct TraceArgs {
    #[command(subcommand)]
    command: TraceCommand,
}

#[derive(clap::Subcommand, Debug)]
enum TraceCommand {
    /// Write synthetic sessions (servebench's sessions format, one per line), drawn from a
    /// profile of published trace statistics (data/agentic-sessions.yaml).
    Generate {
        /// claude-code-042026 or agentx-062126.
        #[arg(long, default_value = "claude-code-042026")]
        profile: String,
        #[arg(long, default_value_t = 100)]
        sessions: u64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The file to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Read a trace through and print what it holds: sessions, turns, subagents, tokens and
    /// the prefix-cache hit rate an unbounded cache would give it.
    Stats {
        file: PathBuf,
        /// weka (InferenceX's agentic traces), mooncake or sessions.
        #[arg(long, default_value = "weka", value_parser = parse_format)]
        format: Format,
    },
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

pub fn run(a: TraceArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        TraceCommand::Generate {
            profile: name,
            sessions,
            seed,
            out,
        } => {
            let p = profile(&name)?;
            let g = Generator::new(&p, seed)?;
            let mut w: Box<dyn Write> = match &out {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            for s in g.sessions(sessions) {
                writeln!(w, "{}", s.to_json_line())?;
            }
            w.flush()?;
            if out.is_some() {
                eprintln!(
                    "servebench: {sessions} sessions of profile {name} (seed {seed}); profiles: {}",
                    profile_names().join(", ")
                );
            }
        }
        TraceCommand::Stats { file, format } => {
            let s = scan(&file, format)?;
            println!("sessions                 {}", s.sessions);
            println!("main turns               {}", s.turns);
            println!("subagents                {}", s.subagents);
            println!("subagent turns           {}", s.subagent_turns);
            println!("input tokens             {}", s.input_tokens);
            println!("output tokens            {}", s.output_tokens);
            println!("blocks sent              {}", s.blocks);
            println!("theoretical hit rate     {:.4}", s.theoretical_hit_rate());
        }
    }
    Ok(ExitCode::SUCCESS)
}
