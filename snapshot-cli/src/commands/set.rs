//! `snapshot set`: changes one value of an nvlist section in place.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args as ClapArgs;
use snapshot_core::nvlist::ValuePath;
use snapshot_core::Type;

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
    image
        .set_text(&path, value, args.ty)
        .with_context(|| name)?;
    Ok(ExitCode::SUCCESS)
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
