//! `snapshot demo`: a guided tour of what the tool does, on data bundled
//! with it, leaving its files behind for the commands it suggests.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{ensure, Context, Result};
use clap::Args as ClapArgs;
use snapshot_core::{text, NvList};

/// Bytes made by FreeBSD's libnv (`nvlist_pack`), bundled for the tour.
const NESTED: &[u8] = include_bytes!("../../../snapshot-core/tests/data/libnv/valid/nested.nv");
const ARRAYS: &[u8] = include_bytes!("../../../snapshot-core/tests/data/libnv/valid/arrays.nv");
const BAD_MAGIC: &[u8] =
    include_bytes!("../../../snapshot-core/tests/data/libnv/invalid/bad_magic.nv");
const DUPLICATE: &[u8] =
    include_bytes!("../../../snapshot-core/tests/data/libnv/invalid/duplicate_name.nv");

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Directory for the files the tour writes.
    #[arg(long, default_value = "snapshot-demo")]
    dir: PathBuf,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    };

    println!(
        "1. A nested nvlist packed by FreeBSD's libnv ({} bytes), in the text form:\n",
        NESTED.len()
    );
    let nested = NvList::unpack(NESTED)?;
    let dump = text::to_text(&nested);
    for line in dump.lines() {
        println!("     {line}");
    }

    let repacked = text::from_text(&dump)?.pack();
    ensure!(
        repacked == NESTED,
        "the unedited dump did not pack to libnv's bytes"
    );
    println!(
        "\n2. Packing that text again gives libnv's {} bytes exactly.",
        repacked.len()
    );

    let edited = dump.replace("tail: string = \"end\"", "tail: string = \"edited\"");
    let edited_nv = text::from_text(&edited)?;
    let edited_bytes = edited_nv.pack();
    println!(
        "\n3. Edited `tail` to \"edited\": packs to {} bytes; unpacked, tail = {:?}.",
        edited_bytes.len(),
        NvList::unpack(&edited_bytes)?.get_string("tail")?
    );

    println!("\n4. Damaged buffers are refused with the rule and the byte offset:");
    for (name, bytes) in [
        ("bad_magic.nv", BAD_MAGIC),
        ("duplicate_name.nv", DUPLICATE),
    ] {
        let err = NvList::unpack(bytes).expect_err("a bundled invalid vector decoded");
        println!("     {name}: {err}");
    }

    let arrays = NvList::unpack(ARRAYS)?;
    let json = serde_json::to_value(&arrays)?;
    println!(
        "\n5. The JSON rendering, for jq: the first pair of arrays.nv is {}",
        json["pairs"][0]
    );

    let nested_path = write("nested.nv", NESTED)?;
    let text_path = write("nested.txt", dump.as_bytes())?;
    write("arrays.nv", ARRAYS)?;
    let bad_path = write("bad_magic.nv", BAD_MAGIC)?;
    println!("\nFiles left in {}/. Try:", dir.display());
    println!("  snapshot nv dump {}", nested_path.display());
    println!(
        "  snapshot nv dump --json {}",
        dir.join("arrays.nv").display()
    );
    println!(
        "  snapshot nv pack {} -o {}",
        text_path.display(),
        dir.join("edited.nv").display()
    );
    println!(
        "  snapshot nv dump {}     # exit status 1",
        bad_path.display()
    );
    println!("(with cargo: cargo run --release -p snapshot-cli -- nv dump ...)");
    Ok(ExitCode::SUCCESS)
}
