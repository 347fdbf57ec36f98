//! `snapshot flatten` and `snapshot rebase`: a child image made whole, or
//! made to stand on another parent.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use snapshot_core::image::{
    parent_reference, replace_file, temp_beside, Builder, Chain, Image, MemoryOptions, OpenOptions,
    SectionKind,
};

use crate::commands::build::Compress;
use crate::commands::common::{open_rw, IdentArgs};
use crate::io::{display, TEMP};
use crate::progress;

#[derive(Debug, ClapArgs)]
pub struct FlattenArgs {
    /// The child image.
    image: PathBuf,
    /// The whole image to write (replaced once complete).
    #[arg(short, long, value_name = "IMAGE")]
    output: PathBuf,
    /// Compress memory chunks.
    #[arg(long, value_enum)]
    compress: Option<Compress>,
}

#[derive(Debug, ClapArgs)]
pub struct RebaseArgs {
    /// The child image, rewritten in place (replaced whole once
    /// complete, unless only its parent's path changes).
    image: PathBuf,
    /// The image it is to stand on: the same memory as its parent (a
    /// moved or copied parent: only the path is changed), or any image
    /// of the same memory size (the child then stores what differs).
    #[arg(long, value_name = "OTHER.img")]
    onto: PathBuf,
    #[command(flatten)]
    ident: IdentArgs,
}

pub fn flatten(args: FlattenArgs) -> Result<ExitCode> {
    let chain =
        Chain::open(&args.image, &OpenOptions::default()).with_context(|| display(&args.image))?;
    let level = args.compress.and_then(|c| c.level(3));
    replace_file(
        &args.output,
        TEMP,
        |tmp| whole(&chain, tmp, level).with_context(|| display(&args.output)),
        |path, e| anyhow::Error::new(e).context(format!("cannot write {}", path.display())),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the image `chain` reads, every section whole, to `path`.
fn whole(chain: &Chain, path: &Path, zstd_level: Option<i32>) -> Result<()> {
    let top = chain.top();
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut b = Builder::new(file, &top.header().ident, top.header().producer.clone())?;
    b.keep_header(top.header());
    for s in &top.header().sections {
        match s.kind {
            SectionKind::NvList => b.add_packed(&s.name, &top.read_section(&s.name)?)?,
            SectionKind::Raw => b.add_raw(&s.name, &top.read_section(&s.name)?)?,
            SectionKind::Memory => {
                let memory = chain.memory(&s.name)?;
                let options = MemoryOptions {
                    zstd_level,
                    ..MemoryOptions::default()
                };
                let bar = progress::bytes(memory.size(), "memory");
                b.add_memory_chain(&s.name, &memory, options, &mut |d| progress::set(&bar, d))?;
                progress::finish(bar);
            }
        }
    }
    b.finish()?;
    Ok(())
}

pub fn rebase(args: RebaseArgs) -> Result<ExitCode> {
    let name = display(&args.image);
    let onto = Image::open(&args.onto, &OpenOptions::default())
        .with_context(|| format!("cannot open {}", args.onto.display()))?;
    let reference = parent_reference(&args.image, &args.onto).with_context(|| name.clone())?;
    let mut child = open_rw(&args.image, &args.ident)?;
    if child.header().parent.is_none() {
        bail!("{name}: not a child image (it has no parent to change)");
    }
    // The same memory under another path: only the reference changes.
    let same = child
        .header()
        .sections
        .iter()
        .filter_map(|s| s.parent.map(|l| (s, l)))
        .all(|(s, link)| {
            onto.header().section(&s.name).and_then(|o| o.digest) == Some(link.digest)
        });
    if same {
        child.set_parent(reference).with_context(|| name.clone())?;
        println!(
            "{name}: parent is now {} (the same memory)",
            args.onto.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    drop(child);
    let chain = Chain::open(&args.image, &OpenOptions::default()).with_context(|| name.clone())?;
    let new_parent = Chain::open(&args.onto, &OpenOptions::default())
        .with_context(|| format!("new parent {}", args.onto.display()))?;
    // The child's memory as a raw file beside it, then a child of it on
    // the new parent.
    let raw = temp_beside(&args.image, ".memory").with_context(|| name.clone())?;
    let result = rebuild(&chain, &new_parent, &args.image, &raw, reference);
    let _ = std::fs::remove_file(&raw);
    result?;
    println!("{name}: rebased onto {}", args.onto.display());
    Ok(ExitCode::SUCCESS)
}

fn rebuild(chain: &Chain, onto: &Chain, image: &Path, raw: &Path, reference: String) -> Result<()> {
    let top = chain.top();
    let memory = chain.memory("memory")?;
    let mut f = File::create(raw).with_context(|| format!("cannot create {}", raw.display()))?;
    memory.copy_to(&mut f, &mut |_| {})?;
    drop(f);
    let source = File::open(raw)?;
    let parent = onto.memory("memory")?;
    replace_file(
        image,
        TEMP,
        |tmp| -> Result<()> {
            let file = File::create(tmp)?;
            let mut b = Builder::new(file, &top.header().ident, top.header().producer.clone())?;
            b.keep_header(top.header());
            b.set_parent(reference.clone());
            for s in &top.header().sections {
                match s.kind {
                    SectionKind::NvList => b.add_packed(&s.name, &top.read_section(&s.name)?)?,
                    SectionKind::Raw => b.add_raw(&s.name, &top.read_section(&s.name)?)?,
                    SectionKind::Memory if s.name == "memory" => {
                        let options = MemoryOptions::default();
                        b.add_memory_child("memory", &source, &parent, None, options, &mut |_| {})?;
                    }
                    SectionKind::Memory => {
                        bail!("section `{}`: only `memory` can be rebased", s.name)
                    }
                }
            }
            b.finish()?;
            Ok(())
        },
        |path, e| anyhow::Error::new(e).context(format!("cannot write {}", path.display())),
    )
}
