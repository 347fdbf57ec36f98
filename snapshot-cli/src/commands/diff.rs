//! `snapshot diff`: two images compared section by section, value by
//! value, memory chunk by chunk.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use snapshot_core::image::{ChunkKind, Image, SectionEntry, SectionKind};
use snapshot_core::nvlist::quote_name;
use snapshot_core::{NvList, Value};

use crate::commands::common::{open, render_value, IdentArgs};
use crate::exit::FAILED;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The first image (`-` lines).
    a: PathBuf,
    /// The second image (`+` lines).
    b: PathBuf,
    #[command(flatten)]
    ident: IdentArgs,
}

/// Prints one line per difference (`~ path: old -> new`, `- path: old`,
/// `+ path: new`) and exits 1 when there is any, as diff(1) does.
pub fn run(args: Args) -> Result<ExitCode> {
    let a = open(&args.a, &args.ident)?;
    let b = open(&args.b, &args.ident)?;
    let mut lines = Vec::new();
    let (ha, hb) = (a.header(), b.header());
    if ha.ident != hb.ident {
        lines.push(format!("~ ident: {} -> {}", ha.ident, hb.ident));
    }
    if ha.version != hb.version {
        lines.push(format!("~ format: {} -> {}", ha.version, hb.version));
    }
    for sa in &ha.sections {
        match hb.section(&sa.name) {
            None => lines.push(format!("- section {}", sa.name)),
            Some(sb) => section(&a, &b, sa, sb, &mut lines)
                .with_context(|| format!("comparing section `{}`", sa.name))?,
        }
    }
    for sb in &hb.sections {
        if ha.section(&sb.name).is_none() {
            lines.push(format!("+ section {}", sb.name));
        }
    }
    let mut out = std::io::stdout().lock();
    for line in &lines {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(if lines.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILED)
    })
}

fn section(
    a: &Image,
    b: &Image,
    sa: &SectionEntry,
    sb: &SectionEntry,
    lines: &mut Vec<String>,
) -> Result<()> {
    let name = &sa.name;
    if sa.kind != sb.kind {
        lines.push(format!("~ {name}: type {} -> {}", sa.kind, sb.kind));
        return Ok(());
    }
    match sa.kind {
        SectionKind::NvList => {
            let (la, lb) = (a.read_nvlist(name)?, b.read_nvlist(name)?);
            lists(&quote_name(&name.as_str().into()), &la, &lb, lines);
        }
        SectionKind::Raw => {
            if a.read_section(name)? != b.read_section(name)? {
                lines.push(format!("~ {name}: raw bytes differ"));
            }
        }
        SectionKind::Memory => memory(a, b, name, lines)?,
    }
    Ok(())
}

fn lists(path: &str, a: &NvList, b: &NvList, lines: &mut Vec<String>) {
    for (name, va) in a {
        let p = format!("{path}.{}", quote_name(name));
        match b.get(name.as_bytes()) {
            None => lines.push(format!("- {p}: {}", short(va))),
            Some(vb) => values(&p, va, vb, lines),
        }
    }
    for (name, vb) in b {
        if a.get(name.as_bytes()).is_none() {
            lines.push(format!("+ {path}.{}: {}", quote_name(name), short(vb)));
        }
    }
}

fn values(path: &str, a: &Value, b: &Value, lines: &mut Vec<String>) {
    match (a, b) {
        (Value::NvList(la), Value::NvList(lb)) => lists(path, la, lb, lines),
        (Value::NvListArray(xa), Value::NvListArray(xb)) if xa.len() == xb.len() => {
            for (i, (la, lb)) in xa.iter().zip(xb).enumerate() {
                lists(&format!("{path}[{i}]"), la, lb, lines);
            }
        }
        _ if a != b => lines.push(format!("~ {path}: {} -> {}", short(a), short(b))),
        _ => {}
    }
}

/// A value on one line: nested lists are summarised.
fn short(v: &Value) -> String {
    match v {
        Value::NvList(l) => format!("nvlist ({} pairs)", l.len()),
        Value::NvListArray(a) => format!("nvlist[] ({} elements)", a.len()),
        v => render_value(v).replace('\n', " "),
    }
}

fn memory(a: &Image, b: &Image, name: &str, lines: &mut Vec<String>) -> Result<()> {
    let (ma, mb) = (a.memory(name)?, b.memory(name)?);
    if ma.entry().size != mb.entry().size || ma.chunk_size() != mb.chunk_size() {
        lines.push(format!(
            "~ {name}: {} bytes in chunks of {} -> {} bytes in chunks of {}",
            ma.entry().size,
            ma.chunk_size(),
            mb.entry().size,
            mb.chunk_size()
        ));
        return Ok(());
    }
    let mut differ = Vec::new();
    let (mut xa, mut xb, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (ea, eb)) in ma.table().iter().zip(mb.table()).enumerate() {
        if ea.kind == ChunkKind::Zero && eb.kind == ChunkKind::Zero {
            continue;
        }
        let i = i as u64;
        ma.read_chunk(i, &mut xa, &mut scratch)?;
        mb.read_chunk(i, &mut xb, &mut scratch)?;
        if xa != xb {
            differ.push(i);
        }
    }
    if !differ.is_empty() {
        lines.push(format!(
            "~ {name}: chunks {} differ ({} of {})",
            ranges(&differ),
            differ.len(),
            ma.table().len()
        ));
    }
    Ok(())
}

/// `1, 3-5, 9` from sorted numbers.
fn ranges(n: &[u64]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < n.len() {
        let mut j = i;
        while j + 1 < n.len() && n[j + 1] == n[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            n[i].to_string()
        } else {
            format!("{}-{}", n[i], n[j])
        });
        i = j + 1;
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_ranges() {
        assert_eq!(ranges(&[1, 3, 4, 5, 9]), "1, 3-5, 9");
        assert_eq!(ranges(&[0]), "0");
    }
}
