//! `snapshot set`: changes one value of an nvlist section in place,
//! checked against the recorded schema of the record holding it (the
//! image's `schemas` section): its type, width, sign, length or variant.
//! A field left out for holding its default can be set, and the record's
//! `.min_reader` then says which readers it needs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use snapshot_core::compat::edit::{
    absent_field_type, check_field, insert_field, update_min_reader, Checked,
};
use snapshot_core::compat::{read_schemas, SCHEMAS_SECTION};
use snapshot_core::nvlist::path::{parse_value, Segment};
use snapshot_core::nvlist::ValuePath;
use snapshot_core::record::Meta;
use snapshot_core::schema::Recorded;
use snapshot_core::text::shown;
use snapshot_core::{NvList, Type, Value};

use crate::commands::common::{open_rw, IdentArgs};
use crate::exit::UsageError;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The image, edited in place (crash-safe: a crash leaves the old or
    /// the new value).
    image: PathBuf,
    /// PATH=VALUE. PATH as for `snapshot get` (quote names holding `.`,
    /// `[`, `]` or spaces: devices."basic metadata".name). VALUE is read
    /// as the type of the value there, in the text form's syntax: 42,
    /// 0x2a, -1, true, <0a0b>, [1, 2]; a string bare or "quoted".
    assignment: String,
    /// Store VALUE as this type, changing the pair's type: bool, number,
    /// string, binary, nvlist, bool[], number[], string[], nvlist[].
    #[arg(long = "type", value_name = "TYPE", value_parser = parse_type)]
    ty: Option<Type>,
    /// Do not check VALUE against the schema of the record holding it (to
    /// repair an image whose values the schema refuses).
    #[arg(long)]
    unchecked: bool,
    #[command(flatten)]
    ident: IdentArgs,
}

fn parse_type(word: &str) -> Result<Type, String> {
    (1..=12)
        .filter_map(Type::from_code)
        .find(|t| t.keyword() == word)
        .ok_or_else(|| format!("unknown type `{word}`"))
}

/// Splits at the first `=` outside a quoted name.
fn split_assignment(text: &str) -> Option<(&str, &str)> {
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '=' if !quoted => return Some((&text[..i], &text[i + 1..])),
            _ => {}
        }
    }
    None
}

pub fn run(args: Args) -> Result<ExitCode> {
    let (path, value) = split_assignment(&args.assignment)
        .ok_or_else(|| UsageError(format!("`{}` is not PATH=VALUE", args.assignment)))?;
    let path = ValuePath::parse(path)?;
    let name = args.image.display().to_string();
    let mut image = open_rw(&args.image, &args.ident)?;
    if args.unchecked {
        image
            .set_text(&path, value, args.ty)
            .with_context(|| name)?;
        return Ok(ExitCode::SUCCESS);
    }
    let has_schemas = image
        .header()
        .sections
        .iter()
        .any(|s| s.name == SCHEMAS_SECTION);
    let schemas = match has_schemas {
        true => read_schemas(
            &image
                .read_nvlist(SCHEMAS_SECTION)
                .with_context(|| name.clone())?,
        ),
        false => Default::default(),
    };
    let mut list = image
        .read_nvlist(&path.section)
        .with_context(|| name.clone())?;
    let note = set_checked(&mut list, &path, value, args.ty, &schemas)
        .map_err(|e| anyhow::anyhow!("{path}: {}", shown(&e.to_string())))
        .with_context(|| name.clone())?;
    if let Some(note) = note {
        eprintln!("note: {path}: {}", shown(&note));
    }
    image
        .replace_section(&path.section, &list.pack())
        .with_context(|| name)?;
    Ok(ExitCode::SUCCESS)
}

/// Sets the value at `path` in the section's `list`, checked against the
/// schema of the record holding it when the image has that schema.
/// Returns a note when the value could not be checked.
fn set_checked(
    list: &mut NvList,
    path: &ValuePath,
    text: &str,
    ty: Option<Type>,
    schemas: &BTreeMap<(String, u32), Recorded>,
) -> Result<Option<String>> {
    let Some((last, prefix)) = path.segments.split_last() else {
        // A whole section: the path reports it.
        return set_plain(list, path, text, ty).map(|()| None);
    };
    let field = last.name.to_string_lossy().into_owned();
    let record = parent(list, prefix).and_then(|p| {
        let meta = Meta::read(p)?;
        Some((meta.name.to_owned(), meta.version))
    });
    let Some((record, version)) = record else {
        // Not a field of a record: there is no schema to check against.
        return set_plain(list, path, text, ty).map(|()| None);
    };
    let Some(schema) = schemas.get(&(record.clone(), version)) else {
        set_plain(list, path, text, ty)?;
        return Ok(Some(format!(
            "the image has no schema of `{record}` v{version} (in its `{SCHEMAS_SECTION}` \
             section): the value is not checked against the field's type"
        )));
    };
    let present = parent(list, prefix).is_some_and(|p| p.contains(last.name.as_bytes()));
    if present {
        set_plain(list, path, text, ty)?;
    } else {
        if last.index.is_some() {
            return Err(UsageError(format!(
                "`{field}` is not stored, so it has no element to set: set the whole field"
            ))
            .into());
        }
        let p = parent(list, prefix).expect("found above");
        let ty = match ty {
            Some(t) => t,
            None => absent_field_type(schema, p, &field).map_err(anyhow::Error::msg)?,
        };
        let value = parse_value(text, ty)?;
        let p = parent_mut(list, prefix).expect("found above");
        insert_field(p, &field, value);
    }
    let p = parent_mut(list, prefix).expect("found above");
    let stored = p.get(last.name.as_bytes()).expect("set above").clone();
    let checked = check_field(schema, p, &field, &stored).map_err(anyhow::Error::msg)?;
    update_min_reader(p, schema);
    Ok(match checked {
        Checked::Fits => None,
        Checked::Unchecked(why) => Some(format!("not checked: {why}")),
    })
}

/// The value at `path` set from `text`, read as the type there (or `ty`).
fn set_plain(list: &mut NvList, path: &ValuePath, text: &str, ty: Option<Type>) -> Result<()> {
    let target = match ty {
        Some(t) => t,
        None => path.target_type(list)?,
    };
    let value = parse_value(text, target).map_err(|e| e.at_path(&path.to_string()))?;
    path.set(list, value, ty.is_some())?;
    Ok(())
}

/// The list the segments lead to.
fn parent<'a>(root: &'a NvList, segments: &[Segment]) -> Option<&'a NvList> {
    segments.iter().try_fold(root, |list, s| {
        match (list.get(s.name.as_bytes())?, s.index) {
            (Value::NvList(l), None) => Some(l),
            (Value::NvListArray(a), Some(i)) => a.get(i),
            _ => None,
        }
    })
}

fn parent_mut<'a>(root: &'a mut NvList, segments: &[Segment]) -> Option<&'a mut NvList> {
    segments.iter().try_fold(root, |list, s| match s.index {
        None => list.get_nvlist_mut(s.name.as_bytes()).ok(),
        Some(i) => list
            .get_nvlist_array_mut(s.name.as_bytes())
            .ok()?
            .get_mut(i),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes() {
        assert_eq!(split_assignment("a.b=1"), Some(("a.b", "1")));
        assert_eq!(
            split_assignment(r#"a."x=\"y"=2=3"#),
            Some((r#"a."x=\"y""#, "2=3"))
        );
        assert_eq!(split_assignment("a.b"), None);
    }

    #[test]
    fn types_by_keyword() {
        assert_eq!(parse_type("number[]"), Ok(Type::NumberArray));
        assert!(parse_type("descriptor").is_ok());
        assert!(parse_type("int").is_err());
    }
}
