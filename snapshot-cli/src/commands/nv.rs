//! `snapshot nv`: bare packed nvlists to text or JSON and back.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use snapshot_core::{text, NvList};

use crate::io::{display, read_input, write_output};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a packed nvlist in the text form (or JSON).
    ///
    /// The text form is lossless: `snapshot nv pack` turns an unedited dump
    /// back into the identical bytes.
    Dump {
        /// The packed nvlist; `-` reads standard input.
        file: PathBuf,
        /// Print the JSON rendering instead (for jq and scripts).
        #[arg(long)]
        json: bool,
    },
    /// Pack the text form of an nvlist into libnv's binary format.
    Pack {
        /// The text form; `-` reads standard input.
        textfile: PathBuf,
        /// Where to write the packed nvlist; `-` writes standard output.
        #[arg(short, long, value_name = "OUT")]
        output: PathBuf,
    },
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Dump { file, json } => {
            let bytes = read_input(&file)?;
            let nv = NvList::unpack(&bytes).with_context(|| display(&file))?;
            let rendered = if json {
                let mut s = serde_json::to_string_pretty(&nv)?;
                s.push('\n');
                s
            } else {
                text::to_text(&nv)
            };
            let mut out = std::io::stdout().lock();
            out.write_all(rendered.as_bytes())?;
            out.flush()?;
        }
        Command::Pack { textfile, output } => {
            let bytes = read_input(&textfile)?;
            let source = std::str::from_utf8(&bytes).map_err(|e| {
                let line = bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                anyhow::anyhow!(
                    "{}: line {line}: the text form must be UTF-8 (write other bytes as \\xHH)",
                    display(&textfile)
                )
            })?;
            let nv = text::from_text(source).with_context(|| display(&textfile))?;
            write_output(&output, &nv.pack())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
