//! `completions` and `man`: shell completion scripts and man pages generated from the clap definitions at
//! run time, so they can never drift from `--help`.

use std::io::Write;

use crate::StartError;
use crate::cli::{CompletionsArgs, ManArgs, ShellArg};

/// Writes the completion script for the chosen shell to stdout. It completes the `mcp-doctor` command
/// even when started as the kubectl plugin: a shell completes the first word of a line, which for the
/// plugin is `kubectl`, whose own completion is kubectl's business.
pub fn completions(args: &CompletionsArgs) -> Result<u8, StartError> {
    let shell = match args.shell {
        ShellArg::Bash => clap_complete::Shell::Bash,
        ShellArg::Zsh => clap_complete::Shell::Zsh,
        ShellArg::Fish => clap_complete::Shell::Fish,
    };
    let mut cmd = crate::cli::command(None);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "mcp-doctor", &mut out);
    write_stdout(&out)
}

/// Writes the man page of the tool, or of one subcommand (`mcp-doctor-doctor(1)`), to stdout.
pub fn man(args: &ManArgs, mut cmd: clap::Command) -> Result<u8, StartError> {
    cmd.build();
    let page = match &args.subcommand {
        // roff fills consecutive lines into one paragraph; each line of the description (an example
        // command, the exit codes) is its own paragraph so it reads as in --help.
        None => match cmd.get_long_about().map(|a| a.to_string()) {
            Some(about) => {
                let paragraphs: Vec<&str> =
                    about.lines().filter(|l| !l.trim().is_empty()).collect();
                let about = paragraphs.join("\n\n");
                cmd.long_about(about)
            }
            None => cmd,
        },
        Some(name) => {
            let parent = cmd.get_name().replace(' ', "-");
            let Some(sub) = cmd.find_subcommand(name).cloned() else {
                let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                return Err(StartError(format!(
                    "no subcommand {name:?}; man pages exist for: {}",
                    names.join(", ")
                )));
            };
            let title = format!("{parent}-{}", sub.get_name());
            sub.name(title)
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .map_err(|e| StartError(format!("cannot render the man page: {e}")))?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> Result<u8, StartError> {
    std::io::stdout()
        .write_all(bytes)
        .map_err(|e| StartError(format!("cannot write to stdout: {e}")))?;
    Ok(0)
}
