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
    /// Convert ShareGPT multi-turn conversations (a JSON array, streamed) into sessions
    /// (servebench's format): each human message a reply follows is a turn whose prompt is
    /// the conversation so far, its output the reply's length in tokens; prefix identity from
    /// the tokens themselves, so conversations that start alike share blocks. No pauses
    /// (ShareGPT has no timing).
    FromSharegpt {
        /// The ShareGPT file (ShareGPT_V3_unfiltered_cleaned_split.json and the like).
        file: PathBuf,
        /// The tokenizer counting and hashing the turns: a tokenizer.json file or folder, a
        /// Hugging Face id in the local cache, or a built-in encoding.
        #[arg(long, default_value = "cl100k_base")]
        tokenizer: String,
        /// Tokens per hash block.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=65536))]
        block_size: u32,
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

/// A buffered writer to `out`, else standard output.
fn writer(out: Option<&std::path::Path>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
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
            let mut w = writer(out.as_deref())?;
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
        TraceCommand::FromSharegpt {
            file,
            tokenizer,
            block_size,
            out,
        } => {
            let tok = servebench_tokenizer::Tokenizer::resolve(Some(&tokenizer), "")
                .context("--tokenizer")?
                .tokenizer;
            let mut w = writer(out.as_deref())?;
            let (mut sessions, mut turns) = (0u64, 0u64);
            let rows = servebench_dataset::sharegpt_sessions(&file, &tok, block_size, &mut |s| {
                sessions += 1;
                turns += s.turns.len() as u64;
                writeln!(w, "{}", s.to_json_line())
                    .map_err(|e| servebench_dataset::DatasetError::Invalid(format!("writing: {e}")))
            })?;
            w.flush()?;
            eprintln!(
                "servebench: {}: {rows} conversations, {sessions} with a reply ({turns} turns)",
                file.display()
            );
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
