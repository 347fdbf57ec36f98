//! `snapshot info`: what an image holds, from its header and chunk tables.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use serde_json::{json, Value as Json};
use snapshot_core::image::{Chain, Image, MemoryStats, SectionKind};
use snapshot_core::text::shown;

use crate::commands::common::{open, IdentArgs};
use crate::exit::FAILED;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The image.
    image: PathBuf,
    /// Print JSON (for jq and scripts).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    ident: IdentArgs,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let image = open(&args.image, &args.ident)?;
    let name = args.image.display().to_string();
    // Blocks allocated, holes excluded: what the image costs on disk.
    let disk_used = std::fs::metadata(&args.image)
        .with_context(|| name.clone())?
        .blocks()
        * 512;
    // A damaged chunk table does not hide the rest: it is reported, its
    // statistics left out, and the exit code says so.
    let mut memory = Vec::new();
    let mut damaged = false;
    for s in &image.header().sections {
        if s.kind == SectionKind::Memory {
            match image.memory(&s.name) {
                Ok(m) => memory.push((s.name.clone(), m.stats())),
                Err(e) => {
                    eprintln!("snapshot: {name}: {e}");
                    damaged = true;
                }
            }
        }
    }
    let chain: ChainView = image.header().parent.as_ref().map(|_| {
        Chain::open(&args.image, &args.ident.options())
            .map(|c| {
                c.images()
                    .skip(1)
                    .map(|(p, _)| p.display().to_string())
                    .collect()
            })
            .map_err(|e| e.to_string())
    });
    if let Some(Err(e)) = &chain {
        eprintln!("snapshot: {name}: {e}");
        damaged = true;
    }
    let rendered = if args.json {
        let mut s = serde_json::to_string_pretty(&to_json(&image, &memory, disk_used, &chain))?;
        s.push('\n');
        s
    } else {
        human(&name, &image, &memory, disk_used, &chain)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(rendered.as_bytes())?;
    out.flush()?;
    Ok(if damaged {
        ExitCode::from(FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

fn stats_json(stats: &MemoryStats) -> Json {
    json!({
        "size": stats.size,
        "chunks": stats.chunks,
        "zero_chunks": stats.zero_chunks,
        "compressed_chunks": stats.compressed_chunks,
        "parent_chunks": stats.parent_chunks,
        "partial_chunks": stats.partial_chunks,
        "stored_bytes": stats.stored_bytes,
    })
}

/// The chain below a child: each parent's path, or why it cannot be
/// followed.
type ChainView = Option<std::result::Result<Vec<String>, String>>;

fn chain_json(chain: &ChainView) -> Json {
    match chain {
        None => Json::Null,
        Some(Ok(paths)) => json!(paths),
        Some(Err(e)) => json!({ "error": e }),
    }
}

fn to_json(
    image: &Image,
    memory: &[(String, MemoryStats)],
    disk_used: u64,
    chain: &ChainView,
) -> Json {
    let h = image.header();
    let sections: Vec<Json> = h
        .sections
        .iter()
        .map(|s| {
            let mut o = json!({
                "name": s.name,
                "type": s.kind.keyword(),
                "offset": s.offset,
                "size": s.size,
                "codec": s.codec.keyword(),
                "crc32c": format!("{:08x}", s.crc32c),
                "blake3": s.digest.map(|d| d.to_string()),
            });
            if let Some(m) = s.memory {
                o["chunk_size"] = json!(m.chunk_size);
                o["table_offset"] = json!(m.table_offset);
                if let Some((_, stats)) = memory.iter().find(|(n, _)| *n == s.name) {
                    o["memory"] = stats_json(stats);
                }
            }
            o
        })
        .collect();
    json!({
        "ident": h.ident,
        "format_version": h.version.to_string(),
        "generation": h.generation,
        "slot": image.slot(),
        "producer": h.producer,
        "created": h.created,
        "incompatible_features": h.incompatible,
        "index_extent": h.index.map(|i| json!({
            "offset": i.offset,
            "size": i.size,
            "crc32c": format!("{:08x}", i.crc32c),
        })),
        "parent": h.parent,
        "chain": chain_json(chain),
        "root_blake3": h.root.map(|d| d.to_string()),
        "root_holds": h.root.is_some() && h.root == h.computed_root(),
        "file_size": image.file_len(),
        "disk_used": disk_used,
        "sections": sections,
    })
}

fn human(
    name: &str,
    image: &Image,
    memory: &[(String, MemoryStats)],
    disk_used: u64,
    chain: &ChainView,
) -> String {
    use std::fmt::Write as _;
    let h = image.header();
    let mut o = String::new();
    let _ = writeln!(o, "image:       {name}");
    let _ = writeln!(o, "ident:       {}", shown(&h.ident));
    let _ = writeln!(o, "format:      {}", h.version);
    let _ = writeln!(
        o,
        "generation:  {} (header slot {})",
        h.generation,
        image.slot()
    );
    if let Some(p) = &h.producer {
        let _ = writeln!(o, "producer:    {}", shown(p));
    }
    if let Some(t) = h.created {
        let _ = writeln!(o, "created:     {}", created(t));
    }
    if !h.incompatible.is_empty() {
        let _ = writeln!(o, "features:    {}", shown(&h.incompatible.join(", ")));
    }
    if let Some(p) = &h.parent {
        let _ = writeln!(o, "parent:      {}", shown(p));
        match chain {
            Some(Ok(paths)) => {
                let _ = writeln!(
                    o,
                    "chain:       {} (each parent found, its memory digest as recorded)",
                    paths.join(" <- ")
                );
            }
            Some(Err(e)) => {
                let _ = writeln!(o, "chain:       broken: {e}");
            }
            None => {}
        }
    }
    match (h.root, h.root == h.computed_root()) {
        (Some(root), true) => {
            let _ = writeln!(o, "root:        blake3 {root}");
        }
        (Some(root), false) => {
            let _ = writeln!(o, "root:        blake3 {root} (stale: a section changed under a tool that does not keep digests)");
        }
        (None, _) => {
            let _ = writeln!(o, "root:        none (written without digests)");
        }
    }
    if let Some(i) = h.index {
        let _ = writeln!(
            o,
            "index:       {} sections in {} bytes at offset {} (crc32c {:08x})",
            h.sections.len(),
            i.size,
            i.offset,
            i.crc32c
        );
    }
    let _ = writeln!(
        o,
        "file size:   {} bytes ({disk_used} on disk)",
        image.file_len()
    );
    let _ = writeln!(o, "sections:");
    // The name column fits the longest name (QEMU's RAM blocks run long).
    let width = h
        .sections
        .iter()
        .map(|s| shown(&s.name).to_string().chars().count())
        .fold(12, usize::max);
    let _ = writeln!(
        o,
        "  {:<width$} {:<7} {:>14} {:>14} {:<5} CRC32C",
        "NAME", "TYPE", "OFFSET", "SIZE", "CODEC"
    );
    for s in &h.sections {
        let _ = writeln!(
            o,
            "  {:<width$} {:<7} {:>14} {:>14} {:<5} {:08x}",
            shown(&s.name).to_string(),
            s.kind.keyword(),
            s.offset,
            s.size,
            s.codec.keyword(),
            s.crc32c
        );
    }
    for (section, st) in memory {
        let chunk = h
            .section(section)
            .and_then(|s| s.memory)
            .map_or(0, |m| m.chunk_size);
        let _ = writeln!(
            o,
            "memory `{}`: {} chunks of {chunk} bytes, {} zero, {} compressed; {} bytes stored of {}",
            shown(section),
            st.chunks, st.zero_chunks, st.compressed_chunks, st.stored_bytes, st.size
        );
        if st.parent_chunks + st.partial_chunks > 0 {
            let _ = writeln!(
                o,
                "memory `{}`: {} chunks wholly the parent's, {} partly",
                shown(section),
                st.parent_chunks,
                st.partial_chunks
            );
        }
        if let Some(d) = h.section(section).and_then(|s| s.digest) {
            let _ = writeln!(
                o,
                "memory `{}`: blake3 {d} (of its page digests)",
                shown(section)
            );
        }
    }
    o
}

/// A creation time as a UTC date, with the stored number beside it (what
/// `set` and the JSON output use).
fn created(seconds: u64) -> String {
    let at = std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(seconds));
    match at {
        Some(at) if seconds <= MAX_DATE => {
            format!("{} ({seconds})", humantime::format_rfc3339_seconds(at))
        }
        // A date past year 9999 cannot be written as RFC 3339: the number
        // alone, as stored.
        _ => format!("{seconds} (seconds since 1970)"),
    }
}

/// 9999-12-31T23:59:59Z, the last second RFC 3339 can write.
const MAX_DATE: u64 = 253_402_300_799;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_times_read_as_dates_up_to_the_last_one_rfc3339_has() {
        assert_eq!(created(0), "1970-01-01T00:00:00Z (0)");
        assert_eq!(created(1_795_771_652), "2026-11-27T09:27:32Z (1795771652)");
        assert_eq!(created(MAX_DATE), "9999-12-31T23:59:59Z (253402300799)");
        assert_eq!(created(MAX_DATE + 1), "253402300800 (seconds since 1970)");
        assert_eq!(
            created(u64::MAX),
            "18446744073709551615 (seconds since 1970)"
        );
    }
}
