//! A dump as text: one file per device type, one fact per line, so that
//! two builds' files compare with `diff` and review in `git`.
//!
//! ```text
//! device "e1000"
//! vmsd "e1000" version 2 minimum 1
//! field "parent_obj" size 2608
//!   vmsd "PCIDevice" version 2 minimum 1
//!   field "config" size 256 conditional
//!   field "irq_state" size 16 since 2
//! field "rxbuf_size" size 4
//! subsection
//!   vmsd "e1000/mit_state" version 1 minimum 1
//!   field "mit_irq_level" size 1
//! ```
//!
//! A struct field's description and a subsection follow their line, two
//! spaces further in. Names are JSON strings. The machine type is kept in
//! a file of its own, `machine`.

use std::path::Path;

use super::{Dump, DumpError, Field, Vmsd};

/// The file of a device type in a directory of text files.
pub const EXTENSION: &str = "vmstate";
/// The file holding the machine type.
pub const MACHINE_FILE: &str = "machine";

/// The text of device type `name`.
pub fn device_text(name: &str, vmsd: &Vmsd) -> String {
    let mut out = format!("device {}\n", quote(name));
    write_vmsd(&mut out, vmsd, 0);
    out
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

fn write_vmsd(out: &mut String, v: &Vmsd, depth: usize) {
    let pad = "  ".repeat(depth);
    out.push_str(&format!(
        "{pad}vmsd {} version {} minimum {}\n",
        quote(&v.name),
        v.version,
        v.minimum
    ));
    for f in &v.fields {
        out.push_str(&format!("{pad}field {} size {}", quote(&f.name), f.size));
        if f.since > 0 {
            out.push_str(&format!(" since {}", f.since));
        }
        if f.conditional {
            out.push_str(" conditional");
        }
        out.push('\n');
        if let Some(n) = &f.nested {
            write_vmsd(out, n, depth + 1);
        }
    }
    for s in &v.subsections {
        out.push_str(&format!("{pad}subsection\n"));
        write_vmsd(out, s, depth + 1);
    }
}

/// One line: its depth and its tokens (words, and strings unquoted).
struct Line {
    number: usize,
    depth: usize,
    tokens: Vec<String>,
}

fn fail(line: usize, message: impl Into<String>) -> DumpError {
    DumpError::Text {
        line,
        message: message.into(),
    }
}

fn tokenize(number: usize, text: &str) -> Result<Line, DumpError> {
    let rest = text.trim_start_matches(' ');
    let indent = text.len() - rest.len();
    if indent % 2 != 0 {
        return Err(fail(number, "indented by an odd number of spaces"));
    }
    let mut tokens = Vec::new();
    let mut rest = rest.trim_end();
    while !rest.is_empty() {
        if rest.starts_with('"') {
            // The end of a JSON string: the first quote not escaped.
            let mut end = None;
            let mut escaped = false;
            for (i, c) in rest.char_indices().skip(1) {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let end = end.ok_or_else(|| fail(number, "a string without its closing quote"))?;
            let s: String = serde_json::from_str(&rest[..=end])
                .map_err(|e| fail(number, format!("a bad string: {e}")))?;
            tokens.push(s);
            rest = &rest[end + 1..];
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            tokens.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
        if !rest.is_empty() && !rest.starts_with(' ') {
            return Err(fail(number, "tokens must be separated by a space"));
        }
        rest = rest.trim_start_matches(' ');
    }
    Ok(Line {
        number,
        depth: indent / 2,
        tokens,
    })
}

/// Reads the text of one device type: its name and description.
pub fn parse_device(text: &str) -> Result<(String, Vmsd), DumpError> {
    let lines: Vec<Line> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| tokenize(i + 1, l))
        .collect::<Result<_, _>>()?;
    let mut at = 0;
    let first = lines.first().ok_or_else(|| fail(1, "an empty file"))?;
    let name = match first.tokens.as_slice() {
        [word, name] if word == "device" && first.depth == 0 => name.clone(),
        _ => return Err(fail(first.number, "expected `device \"NAME\"`")),
    };
    at += 1;
    let vmsd = parse_vmsd(&lines, &mut at, 0)?;
    if let Some(extra) = lines.get(at) {
        return Err(fail(extra.number, "a line after the description"));
    }
    Ok((name, vmsd))
}

fn number(line: &Line, token: Option<&String>, what: &str) -> Result<u64, DumpError> {
    token
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| fail(line.number, format!("expected a number after `{what}`")))
}

fn version(line: &Line, token: Option<&String>, what: &str) -> Result<u32, DumpError> {
    u32::try_from(number(line, token, what)?)
        .map_err(|_| fail(line.number, format!("`{what}` past 2^32")))
}

/// The deepest nesting of structs and subsections read (QEMU's own go a
/// few levels deep), so that a hostile file cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

/// A `vmsd` line at `depth` and the items after it.
fn parse_vmsd(lines: &[Line], at: &mut usize, depth: usize) -> Result<Vmsd, DumpError> {
    let last = lines.last().map_or(1, |l| l.number);
    let head = lines
        .get(*at)
        .ok_or_else(|| fail(last, "expected a `vmsd` line"))?;
    if depth > MAX_DEPTH {
        return Err(fail(
            head.number,
            format!("nested more than {MAX_DEPTH} levels"),
        ));
    }
    let t = &head.tokens;
    if head.depth != depth
        || t.len() != 6
        || t[0] != "vmsd"
        || t[2] != "version"
        || t[4] != "minimum"
    {
        return Err(fail(
            head.number,
            format!(
                "expected `vmsd \"NAME\" version N minimum M`, indented {} spaces",
                2 * depth
            ),
        ));
    }
    let mut vmsd = Vmsd {
        name: t[1].clone(),
        version: version(head, t.get(3), "version")?,
        minimum: version(head, t.get(5), "minimum")?,
        fields: Vec::new(),
        subsections: Vec::new(),
    };
    *at += 1;
    while let Some(line) = lines.get(*at) {
        if line.depth < depth {
            break;
        }
        if line.depth > depth {
            return Err(fail(line.number, "indented further than its place"));
        }
        match line.tokens.first().map(String::as_str) {
            Some("field") => {
                if !vmsd.subsections.is_empty() {
                    return Err(fail(line.number, "a field after the subsections"));
                }
                let field = parse_field(line)?;
                *at += 1;
                let nested = match lines.get(*at) {
                    Some(next) if next.depth == depth + 1 => {
                        Some(parse_vmsd(lines, at, depth + 1)?)
                    }
                    _ => None,
                };
                vmsd.fields.push(Field { nested, ..field });
            }
            Some("subsection") if line.tokens.len() == 1 => {
                *at += 1;
                vmsd.subsections.push(parse_vmsd(lines, at, depth + 1)?);
            }
            _ => {
                return Err(fail(
                    line.number,
                    "expected `field \"NAME\" size N [since V] [conditional]` or `subsection`",
                ))
            }
        }
    }
    Ok(vmsd)
}

fn parse_field(line: &Line) -> Result<Field, DumpError> {
    let t = &line.tokens;
    if t.len() < 4 || t[2] != "size" {
        return Err(fail(line.number, "expected `field \"NAME\" size N`"));
    }
    let mut field = Field {
        name: t[1].clone(),
        size: number(line, t.get(3), "size")?,
        since: 0,
        conditional: false,
        nested: None,
    };
    let mut rest = t[4..].iter();
    while let Some(word) = rest.next() {
        match word.as_str() {
            "since" if field.since == 0 => field.since = version(line, rest.next(), "since")?,
            "conditional" if !field.conditional => field.conditional = true,
            other => {
                return Err(fail(
                    line.number,
                    format!(
                    "unexpected `{other}` (a field takes `since V` and `conditional`, once each)"
                ),
                ))
            }
        }
    }
    Ok(field)
}

/// The file name of device type `name`: its characters outside
/// `A-Za-z0-9._+-` (and a leading dot) as `%XX`, so that any name makes
/// one file inside the directory.
pub fn file_name(name: &str) -> String {
    let mut out = String::new();
    for (i, b) in name.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b"_+-".contains(&b) || (b == b'.' && i > 0);
        if plain {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{out}.{EXTENSION}")
}

/// Writes `dump` into `dir`, which must be new or empty (one directory
/// per build: files of two builds mixed would compare as neither).
/// Returns the number of files written.
pub fn write_dir(dump: &Dump, dir: &Path) -> std::io::Result<usize> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "{} is not empty: give a new directory for each QEMU build",
                dir.display()
            ),
        ));
    }
    std::fs::create_dir_all(dir)?;
    let mut written = 0;
    if let Some(machine) = &dump.machine {
        std::fs::write(dir.join(MACHINE_FILE), format!("{}\n", quote(machine)))?;
        written += 1;
    }
    for (name, vmsd) in &dump.devices {
        std::fs::write(dir.join(file_name(name)), device_text(name, vmsd))?;
        written += 1;
    }
    Ok(written)
}

/// The error of reading a directory of text files: which file, and why.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct DirError {
    /// The file (or the directory).
    pub path: String,
    /// What is wrong with it.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Reads a directory [`write_dir`] wrote. Files of other extensions are
/// not read; a file whose name is not its device's is refused.
pub fn read_dir(dir: &Path) -> Result<Dump, DirError> {
    let err = |path: &Path, e: Box<dyn std::error::Error + Send + Sync>| DirError {
        path: path.display().to_string(),
        source: e,
    };
    let mut dump = Dump::default();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| err(dir, e.into()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| err(dir, e.into()))?;
    entries.sort();
    for path in entries {
        let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| err(p, e.into()));
        if path.file_name().is_some_and(|n| n == MACHINE_FILE) {
            let text = read(&path)?;
            let machine: String =
                serde_json::from_str(text.trim()).map_err(|e| err(&path, e.into()))?;
            dump.machine = Some(machine);
            continue;
        }
        if path.extension().is_none_or(|e| e != EXTENSION) {
            continue;
        }
        let (name, vmsd) = parse_device(&read(&path)?).map_err(|e| err(&path, e.into()))?;
        if path.file_name().and_then(|n| n.to_str()) != Some(file_name(&name).as_str()) {
            let why = format!("holds device `{name}`, whose file is {}", file_name(&name));
            return Err(err(&path, why.into()));
        }
        dump.devices.insert(name, vmsd);
    }
    if dump.devices.is_empty() {
        return Err(err(
            dir,
            format!("holds no .{EXTENSION} files (made by `snapshot schema import qemu`)").into(),
        ));
    }
    Ok(dump)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vmsd {
        let field = |name: &str, size, since| Field {
            name: name.into(),
            size,
            since,
            conditional: false,
            nested: None,
        };
        Vmsd {
            name: "e1000".into(),
            version: 2,
            minimum: 1,
            fields: vec![
                Field {
                    nested: Some(Vmsd {
                        name: "PCI Device \"x\"".into(),
                        version: 2,
                        minimum: 1,
                        fields: vec![field("config", 256, 0), field("irq_state", 16, 2)],
                        subsections: Vec::new(),
                    }),
                    ..field("parent_obj", 2608, 0)
                },
                Field {
                    conditional: true,
                    ..field("unused", 4, 0)
                },
                field("unused", 4, 0),
            ],
            subsections: vec![Vmsd {
                name: "e1000/mit_state".into(),
                version: 1,
                minimum: 1,
                fields: vec![field("mit_irq_level", 1, 0)],
                subsections: Vec::new(),
            }],
        }
    }

    #[test]
    fn text_round_trips() {
        let text = device_text("e1000", &sample());
        assert!(text.contains("  vmsd \"PCI Device \\\"x\\\"\" version 2 minimum 1\n"));
        assert!(text.contains("  field \"irq_state\" size 16 since 2\n"));
        assert!(text.contains("field \"unused\" size 4 conditional\n"));
        assert_eq!(parse_device(&text).unwrap(), ("e1000".into(), sample()));
    }

    #[test]
    fn mistakes_are_named_by_line() {
        let text = device_text("e1000", &sample());
        for (from, to, line, why) in [
            ("size 2608", "size x", 3, "a number after `size`"),
            ("  vmsd \"PCI", "   vmsd \"PCI", 4, "odd number"),
            ("since 2", "since 2 since 3", 6, "unexpected `since`"),
            ("subsection\n", "subsection x\n", 9, "expected `field"),
            ("device \"e1000\"", "device e1000 x", 1, "expected `device"),
        ] {
            let bad = text.replacen(from, to, 1);
            match parse_device(&bad).unwrap_err() {
                DumpError::Text { line: l, message } => {
                    assert_eq!(l, line, "{message}");
                    assert!(message.contains(why), "{message}");
                }
                other => panic!("{other}"),
            }
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut text = String::from("device \"x\"\n");
        for depth in 0..100 {
            let pad = "  ".repeat(depth);
            text.push_str(&format!(
                "{pad}vmsd \"s\" version 1 minimum 1\n{pad}field \"f\" size 1\n"
            ));
        }
        let e = parse_device(&text).unwrap_err().to_string();
        assert!(e.contains("nested more than 32 levels"), "{e}");
    }

    #[test]
    fn file_names_stay_in_the_directory() {
        assert_eq!(file_name("e1000"), "e1000.vmstate");
        assert_eq!(file_name("imx.usbphy"), "imx.usbphy.vmstate");
        assert_eq!(file_name("../x/y"), "%2E.%2Fx%2Fy.vmstate");
    }
}
