//! `snapshot dump`: the nvlist sections in the text form; memory and raw
//! sections summarised.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use snapshot_core::image::{Image, SectionKind};
use snapshot_core::text::{self, shown};

use snapshot_core::compat::{read_schemas, History, SCHEMAS_SECTION};

use crate::commands::common::{open, IdentArgs};
use crate::commands::typed;
use crate::exit::UsageError;
use crate::io::Stream;

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
    let mut schemas = typed::Schemas::default();
    if has_section {
        let section = image
            .read_nvlist(SCHEMAS_SECTION)
            .with_context(|| name.clone())?;
        for recorded in read_schemas(&section).into_values() {
            schemas.add(recorded);
        }
    }
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
                schemas.add(rec.clone());
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
    let mut out = Stream::stdout();
    if args.json {
        let nvlists = sections.iter().filter(|s| s.kind == SectionKind::NvList);
        let json = Sections {
            image: &image,
            names: nvlists.map(|s| s.name.as_str()).collect(),
        };
        serde_json::to_writer_pretty(&mut *out.bytes(), &json).with_context(|| name.clone())?;
        out.bytes().write_all(b"\n")?;
        return out.finish().map(|()| ExitCode::SUCCESS);
    }
    let schemas = match args.typed {
        true => Some(typed_schemas(&image, &args)?),
        false => None,
    };
    for s in &sections {
        let shown_name = shown(&s.name);
        let rendered = match s.kind {
            SectionKind::NvList => {
                let nv = image.read_nvlist(&s.name).with_context(|| name.clone())?;
                match &schemas {
                    Some(_) if s.name == SCHEMAS_SECTION => continue,
                    Some(schemas) => writeln!(out, "# section `{shown_name}`: nvlist, typed")
                        .and_then(|()| typed::render(&nv, schemas, 0, &mut out)),
                    None => writeln!(
                        out,
                        "# section `{shown_name}`: nvlist, {} bytes at byte {}",
                        s.size, s.offset
                    )
                    .and_then(|()| text::write_text(&nv, &mut out)),
                }
            }
            SectionKind::Raw => writeln!(
                out,
                "# section `{shown_name}`: raw, {} bytes at byte {} (not printed; use extract)",
                s.size, s.offset
            ),
            SectionKind::Memory => {
                let st = image.memory(&s.name).with_context(|| name.clone())?.stats();
                writeln!(
                    out,
                    "# section `{shown_name}`: memory, {} bytes in {} chunks ({} zero, {} \
                     compressed), {} bytes stored (not printed; use extract)",
                    st.size, st.chunks, st.zero_chunks, st.compressed_chunks, st.stored_bytes
                )
            }
        };
        out.check(rendered)?;
    }
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// The nvlist sections as one JSON object, each section read as it is
/// written out: a dump holds one decoded section at a time.
struct Sections<'a> {
    image: &'a Image,
    names: Vec<&'a str>,
}

impl serde::Serialize for Sections<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap};
        let mut map = serializer.serialize_map(Some(self.names.len()))?;
        for name in &self.names {
            let nv = self.image.read_nvlist(name).map_err(S::Error::custom)?;
            map.serialize_entry(name, &nv)?;
        }
        map.end()
    }
}
