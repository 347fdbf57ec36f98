//! `snapshot dump`: the nvlist sections in the text form; memory and raw
//! sections summarised.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use snapshot_core::image::{Image, SectionKind};
use snapshot_core::text;

use snapshot_core::compat::{read_schemas, History, SCHEMAS_SECTION};

use crate::commands::common::{open, IdentArgs};
use crate::commands::typed;
use crate::exit::UsageError;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The image.
    image: PathBuf,
    /// Only this section (its text packs back with `snapshot nv pack`).
    section: Option<String>,
    /// Print JSON instead: an object of the nvlist sections.
    #[arg(long, conflicts_with = "typed")]
    json: bool,
    /// Show records typed by the image's `schemas` section: signed
    /// numbers, floats, options and field types, as the program that
    /// wrote the image reads them (not packable text).
    #[arg(long)]
    typed: bool,
    /// With --typed, also the schema files of DIR (the `schemas/` layout)
    /// for record versions the image's `schemas` section lacks; by default
    /// `schemas` when that directory exists.
    #[arg(long, value_name = "DIR", requires = "typed")]
    schemas: Option<PathBuf>,
    #[command(flatten)]
    ident: IdentArgs,
}

/// The schemas `--typed` works from: the image's own, then those of the
/// schema directory for versions the image lacks.
fn typed_schemas(image: &Image, args: &Args) -> Result<typed::Schemas> {
    let name = args.image.display().to_string();
    let has_section = image
        .header()
        .sections
        .iter()
        .any(|s| s.name == SCHEMAS_SECTION);
    let mut schemas = match has_section {
        true => read_schemas(
            &image
                .read_nvlist(SCHEMAS_SECTION)
                .with_context(|| name.clone())?,
        ),
        false => typed::Schemas::new(),
    };
    let default = Path::new("schemas");
    let dir = args
        .schemas
        .as_deref()
        .or_else(|| default.is_dir().then_some(default));
    match dir {
        Some(dir) if !dir.is_dir() => {
            return Err(UsageError(format!("no schema history at {}", dir.display())).into())
        }
        Some(dir) => {
            let mut history = History::new();
            history
                .add_dir(dir)
                .with_context(|| format!("schema history {}", dir.display()))?;
            for rec in history.schemas() {
                schemas
                    .entry((rec.name.clone(), rec.version))
                    .or_insert_with(|| rec.clone());
            }
        }
        None if !has_section => {
            return Err(UsageError(format!(
                "{name}: --typed needs a `{SCHEMAS_SECTION}` section or the schema files \
                 (--schemas DIR)"
            ))
            .into())
        }
        None => {}
    }
    Ok(schemas)
}

pub fn run(args: Args) -> Result<ExitCode> {
    let image = open(&args.image, &args.ident)?;
    let name = args.image.display().to_string();
    let sections: Vec<_> = match &args.section {
        Some(s) => vec![image.section(s).with_context(|| name.clone())?.clone()],
        None => image.header().sections.clone(),
    };
    let mut out = String::new();
    let mut json = serde_json::Map::new();
    let schemas = match args.typed {
        true => Some(typed_schemas(&image, &args)?),
        false => None,
    };
    for s in &sections {
        match s.kind {
            SectionKind::NvList => {
                let nv = image.read_nvlist(&s.name).with_context(|| name.clone())?;
                if args.json {
                    json.insert(s.name.clone(), serde_json::to_value(&nv)?);
                } else if let Some(schemas) = &schemas {
                    if s.name == SCHEMAS_SECTION {
                        continue;
                    }
                    let _ = writeln!(out, "# section `{}`: nvlist, typed", s.name);
                    typed::render(&nv, schemas, 0, &mut out);
                } else {
                    let _ = writeln!(
                        out,
                        "# section `{}`: nvlist, {} bytes at byte {}",
                        s.name, s.size, s.offset
                    );
                    out.push_str(&text::to_text(&nv));
                }
            }
            SectionKind::Raw if !args.json => {
                let _ = writeln!(
                    out,
                    "# section `{}`: raw, {} bytes at byte {} (not printed; use extract)",
                    s.name, s.size, s.offset
                );
            }
            SectionKind::Memory if !args.json => {
                let st = image.memory(&s.name).with_context(|| name.clone())?.stats();
                let _ = writeln!(
                    out,
                    "# section `{}`: memory, {} bytes in {} chunks ({} zero, {} compressed), {} bytes stored (not printed; use extract)",
                    s.name, st.size, st.chunks, st.zero_chunks, st.compressed_chunks, st.stored_bytes
                );
            }
            SectionKind::Raw | SectionKind::Memory => {}
        }
    }
    if args.json {
        out = serde_json::to_string_pretty(&json)?;
        out.push('\n');
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
