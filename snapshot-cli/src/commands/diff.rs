//! `snapshot diff`: two images compared section by section, value by
//! value, memory chunk by chunk.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use snapshot_core::image::{ChunkKind, Image, SectionEntry, SectionKind};
use snapshot_core::nvlist::{pair_path, quote_str};
use snapshot_core::text::shown;
use snapshot_core::{Flags, NvList, NvString, Value};

use crate::commands::common::{open, write_value, IdentArgs, OneLine};
use crate::exit::FAILED;
use crate::io::Stream;

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
/// `+ path: new`) as it finds them, and exits 1 when there is any, as
/// diff(1) does. Names from the files are shown escaped.
pub fn run(args: Args) -> Result<ExitCode> {
    let a = open(&args.a, &args.ident)?;
    let b = open(&args.b, &args.ident)?;
    let mut out = Lines {
        stream: Stream::stdout(),
        count: 0,
    };
    let (ha, hb) = (a.header(), b.header());
    if ha.ident != hb.ident {
        out.line(format_args!("~ ident: {} -> {}", ha.ident, hb.ident))?;
    }
    if ha.version != hb.version {
        out.line(format_args!("~ format: {} -> {}", ha.version, hb.version))?;
    }
    for sa in &ha.sections {
        match hb.section(&sa.name) {
            None => out.line(format_args!("- section {}", sa.name))?,
            Some(sb) => section(&a, &b, sa, sb, &mut out)
                .with_context(|| format!("comparing section `{}`", shown(&sa.name)))?,
        }
    }
    for sb in &hb.sections {
        if ha.section(&sb.name).is_none() {
            out.line(format_args!("+ section {}", sb.name))?;
        }
    }
    let differ = out.count > 0;
    out.stream.finish()?;
    Ok(match differ {
        false => ExitCode::SUCCESS,
        true => ExitCode::from(FAILED),
    })
}

/// The difference lines, written as found.
struct Lines {
    stream: Stream,
    count: u64,
}

impl Lines {
    /// Writes one line, shown escaped: it holds names from the files.
    fn line(&mut self, text: std::fmt::Arguments<'_>) -> Result<()> {
        self.count += 1;
        let text = text.to_string();
        let written = writeln!(self.stream, "{}", shown(&text));
        self.stream.check(written)
    }
}

fn section(
    a: &Image,
    b: &Image,
    sa: &SectionEntry,
    sb: &SectionEntry,
    out: &mut Lines,
) -> Result<()> {
    let name = &sa.name;
    if sa.kind != sb.kind {
        return out.line(format_args!("~ {name}: type {} -> {}", sa.kind, sb.kind));
    }
    match sa.kind {
        SectionKind::NvList => {
            let (la, lb) = (a.read_nvlist(name)?, b.read_nvlist(name)?);
            lists(&quote_str(name), &la, &lb, out)?;
        }
        SectionKind::Raw => {
            if a.read_section(name)? != b.read_section(name)? {
                out.line(format_args!("~ {name}: raw bytes differ"))?;
            }
        }
        SectionKind::Memory => memory(a, b, name, out)?,
    }
    Ok(())
}

/// Compares two lists pair by pair. Pairs are matched by name and, among
/// pairs of one name (a NO_UNIQUE list), by position: the second `x` of
/// one list is compared with the second `x` of the other. Linear in the
/// pairs of both: a pair's path is written out only for a line, or once
/// for a list it leads into.
fn lists(path: &str, a: &NvList, b: &NvList, out: &mut Lines) -> Result<()> {
    if a.flags() != b.flags() {
        let (fa, fb) = (flag_names(a.flags()), flag_names(b.flags()));
        out.line(format_args!("~ {path}: flags {fa} -> {fb}"))?;
    }
    let b_pairs: Vec<(&NvString, &Value)> = b.iter().collect();
    let mut in_b: HashMap<&[u8], VecDeque<usize>> = HashMap::with_capacity(b_pairs.len());
    for (j, (name, _)) in b_pairs.iter().enumerate() {
        in_b.entry(name.as_bytes()).or_default().push_back(j);
    }
    let mut matched = vec![false; b_pairs.len()];
    let mut seen: HashMap<&[u8], usize> = HashMap::with_capacity(a.len());
    for (name, va) in a {
        let nth = seen.entry(name.as_bytes()).or_default();
        *nth += 1;
        let p = || pair_path(path, name, *nth);
        match in_b.get_mut(name.as_bytes()).and_then(VecDeque::pop_front) {
            None => out.line(format_args!("- {}: {}", p(), short(va)))?,
            Some(j) => {
                matched[j] = true;
                values(&p, va, b_pairs[j].1, out)?;
            }
        }
    }
    let mut seen_b: HashMap<&[u8], usize> = HashMap::new();
    for (j, (name, vb)) in b_pairs.iter().enumerate() {
        let nth = seen_b.entry(name.as_bytes()).or_default();
        *nth += 1;
        if !matched[j] {
            let p = pair_path(path, name, *nth);
            out.line(format_args!("+ {p}: {}", short(vb)))?;
        }
    }
    Ok(())
}

fn values(path: &dyn Fn() -> String, a: &Value, b: &Value, out: &mut Lines) -> Result<()> {
    match (a, b) {
        (Value::NvList(la), Value::NvList(lb)) => lists(&path(), la, lb, out),
        (Value::NvListArray(xa), Value::NvListArray(xb)) if xa.len() == xb.len() => {
            let path = path();
            for (i, (la, lb)) in xa.iter().zip(xb).enumerate() {
                lists(&format!("{path}[{i}]"), la, lb, out)?;
            }
            Ok(())
        }
        _ if a != b => out.line(format_args!("~ {}: {} -> {}", path(), short(a), short(b))),
        _ => Ok(()),
    }
}

/// Characters of a value a difference line shows; longer ones are cut.
const SHOWN_VALUE: usize = 200;

/// A value on one line, cut after [`SHOWN_VALUE`] characters (rendering
/// stops there: a value of a gigabyte costs no more): nested lists are
/// summarised.
fn short(v: &Value) -> String {
    match v {
        Value::NvList(l) => format!("nvlist ({} pairs)", l.len()),
        Value::NvListArray(a) => format!("nvlist[] ({} elements)", a.len()),
        v => {
            let mut line = OneLine::new(String::new(), Some(SHOWN_VALUE));
            let cut = write_value(v, &mut line).is_err();
            let mut text = line.into_inner();
            if cut {
                text.push_str(" ...");
            }
            text
        }
    }
}

/// A list's flags as the text form names them.
fn flag_names(flags: Flags) -> String {
    let mut names = Vec::new();
    if flags.contains(Flags::IGNORE_CASE) {
        names.push("ignore-case");
    }
    if flags.contains(Flags::NO_UNIQUE) {
        names.push("no-unique");
    }
    match names.is_empty() {
        true => "none".into(),
        false => names.join(", "),
    }
}

/// Compares memory as readers read it: each chunk through its table (so
/// a zero chunk reads as zeros), after checking it as verify does, since
/// a mapping reads a zero chunk's file bytes instead; a chunk that would
/// read two ways is an error, not a difference.
fn memory(a: &Image, b: &Image, name: &str, out: &mut Lines) -> Result<()> {
    let (ma, mb) = (a.memory(name)?, b.memory(name)?);
    if ma.entry().size != mb.entry().size || ma.chunk_size() != mb.chunk_size() {
        return out.line(format_args!(
            "~ {name}: {} bytes in chunks of {} -> {} bytes in chunks of {}",
            ma.entry().size,
            ma.chunk_size(),
            mb.entry().size,
            mb.chunk_size()
        ));
    }
    let mut differ = Vec::new();
    let (mut xa, mut xb, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (ea, eb)) in ma.table().iter().zip(mb.table()).enumerate() {
        let i = i as u64;
        for (m, e) in [(&ma, ea), (&mb, eb)] {
            if e.kind == ChunkKind::Zero {
                m.check_chunk(i)?;
            }
        }
        if ea.kind == ChunkKind::Zero && eb.kind == ChunkKind::Zero {
            continue;
        }
        ma.read_chunk(i, &mut xa, &mut scratch)?;
        mb.read_chunk(i, &mut xb, &mut scratch)?;
        if xa != xb {
            differ.push(i);
        }
    }
    if !differ.is_empty() {
        out.line(format_args!(
            "~ {name}: chunks {} differ ({} of {})",
            ranges(&differ),
            differ.len(),
            ma.table().len()
        ))?;
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
