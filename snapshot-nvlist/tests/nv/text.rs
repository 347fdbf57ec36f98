use snapshot_nvlist::error::ErrorKind;
use snapshot_nvlist::text::{from_text, to_text};
use snapshot_nvlist::{Flags, NvList, NvString, Value};

/// The line, column and message of a parse error.
fn parse_error(src: &str) -> (u32, u32, String) {
    match from_text(src).expect_err("parsed invalid text").kind() {
        ErrorKind::Parse {
            line,
            column,
            message,
        } => (*line, *column, message.clone()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_type_reads_as_documented() {
    let nv = from_text(
        r##"
        # a comment
        nothing: null
        yes: bool = true          # trailing comment
        n: number = 0x10
        neg: number = -1
        big: number = 1_000_000
        s: string = "tab\there \"q\" \\ \x01 ε"
        bin: binary = <00ff
                       10 20>
        bools: bool[] = [true, false,]
        nums: number[] = [1, 0b11, 0o17]
        strs: string[] = ["a", ""]
        "basic metadata": nvlist = {
            !flags(no-unique)
            d: number = 1
            d: number = 2
        }
        freq_bt.sec: number = 5
        arr: nvlist[] = [{}, { x: number = 1 }]
        "": string = "empty name"
        "\xff": string = "\xfe"
        "##,
    )
    .unwrap();
    nv.get_null("nothing").unwrap();
    assert!(nv.get_bool("yes").unwrap());
    assert_eq!(nv.get_number("n").unwrap(), 16);
    assert_eq!(nv.get_number("neg").unwrap(), u64::MAX);
    assert_eq!(nv.get_number("big").unwrap(), 1_000_000);
    assert_eq!(nv.get_string("s").unwrap(), "tab\there \"q\" \\ \u{1} ε");
    assert_eq!(nv.get_binary("bin").unwrap(), [0x00, 0xff, 0x10, 0x20]);
    assert_eq!(nv.get_bool_array("bools").unwrap(), [true, false]);
    assert_eq!(nv.get_number_array("nums").unwrap(), [1, 3, 15]);
    let meta = nv.get_nvlist("basic metadata").unwrap();
    assert_eq!(meta.flags(), Flags::NO_UNIQUE);
    assert_eq!(meta.len(), 2);
    assert_eq!(nv.get_number("freq_bt.sec").unwrap(), 5);
    assert_eq!(
        nv.get_nvlist_array("arr").unwrap()[1]
            .get_number("x")
            .unwrap(),
        1
    );
    assert_eq!(nv.get_string("").unwrap(), "empty name");
    assert_eq!(nv.get_string_bytes(b"\xff").unwrap(), b"\xfe");
}

#[test]
fn printer_quotes_and_escapes_what_it_must() {
    let nv = NvList::new()
        .with("plain_name.x-1", 1u64)
        .with("has space", "line\nbreak\r\t\u{7f}")
        .with(
            NvString::from(&b"bad\xffutf8"[..]),
            Value::String(NvString::from(&b"\x80"[..])),
        );
    let text = to_text(&nv);
    assert_eq!(
        text,
        "plain_name.x-1: number = 1\n\
         \"has space\": string = \"line\\nbreak\\r\\t\\x7f\"\n\
         \"bad\\xffutf8\": string = \"\\x80\"\n"
    );
    assert_eq!(from_text(&text).unwrap(), nv);
}

#[test]
fn long_binaries_and_arrays_wrap() {
    let page: Vec<u8> = (0..=255).collect();
    let nv = NvList::new()
        .with("page", page)
        .with("nums", (0..20u64).collect::<Vec<_>>())
        .with("inner", NvList::new().with("b", vec![1u8; 40]));
    let text = to_text(&nv);
    assert!(text.lines().all(|l| l.len() <= 100), "{text}");
    assert!(
        text.contains("page: binary = <\n    00010203 04050607"),
        "{text}"
    );
    assert!(text.contains("\n        01010101"), "{text}");
    assert_eq!(from_text(&text).unwrap(), nv);
}

#[test]
fn flags_and_empty_lists_print() {
    let mut nv = NvList::with_flags(Flags::IGNORE_CASE | Flags::NO_UNIQUE);
    nv.push("a", NvList::new());
    nv.push("a", NvList::with_flags(Flags::NO_UNIQUE));
    let text = to_text(&nv);
    assert_eq!(
        text,
        "!flags(ignore-case, no-unique)\na: nvlist = {}\na: nvlist = {\n    !flags(no-unique)\n}\n"
    );
    assert_eq!(from_text(&text).unwrap(), nv);
}

#[test]
fn an_edit_packs_to_what_it_says() {
    let nv = NvList::new().with("a", 1u64).with("b", "x");
    let edited = to_text(&nv).replace("a: number = 1", "a: number = 2\nc: bool = false");
    let back = NvList::unpack(&from_text(&edited).unwrap().pack()).unwrap();
    assert_eq!(
        back,
        NvList::new()
            .with("a", 2u64)
            .with("c", false)
            .with("b", "x")
    );
}

#[test]
fn errors_name_line_column_and_expectation() {
    let cases: &[(&str, (u32, u32), &str)] = &[
        ("a: nmber = 1", (1, 4), "expected a type"),
        ("a: number 1", (1, 11), "expected `=` after the type"),
        ("a: number = x1", (1, 13), "`x1` is not a number"),
        (
            "a: number = 18446744073709551616",
            (1, 13),
            "is not a number",
        ),
        ("a: bool = yes", (1, 11), "expected `true` or `false`"),
        ("\n  a: string = \"abc", (2, 15), "unterminated string"),
        ("a: string = \"\\q\"", (1, 14), "unknown escape"),
        ("a: string = \"\\x00\"", (1, 14), "NUL is not allowed"),
        ("a: string = \"\\x4\"", (1, 14), "two hex digits"),
        ("a: binary = <abc>", (1, 17), "odd number of hex digits"),
        ("a: binary = <0 a>", (1, 16), "cannot be split"),
        ("a: binary = <zz>", (1, 14), "expected a hex digit"),
        ("a: binary = <>", (1, 13), "binary cannot be empty"),
        ("a: number[] = []", (1, 15), "array cannot be empty"),
        ("a: number[] = [1 2]", (1, 18), "expected `,` or `]`"),
        ("a: null\na: null", (2, 1), "already exists"),
        ("!flags(shiny)", (1, 8), "expected `ignore-case`"),
        (
            "a: nvlist = {\n  b: null\n",
            (3, 1),
            "expected a pair name or `}`",
        ),
        ("a: null }", (1, 9), "expected a pair name or the end"),
        ("a = 1", (1, 3), "expected `:` after the pair name"),
        ("a: number = 1 @", (1, 15), "unexpected character '@'"),
        ("a: string = \"ab\ncd\"", (1, 13), "unterminated string"),
    ];
    for (src, (line, column), needle) in cases {
        let (l, c, message) = parse_error(src);
        assert_eq!((l, c), (*line, *column), "{src:?}: {message}");
        assert!(message.contains(needle), "{src:?}: {message}");
    }
}

#[test]
fn ignore_case_duplicates_are_refused_in_text() {
    let (line, _, message) = parse_error("!flags(ignore-case)\nA: null\na: null");
    assert_eq!(line, 3);
    assert!(message.contains("already exists"));
    assert!(from_text("A: null\na: null").is_ok());
}

#[test]
fn nesting_is_bounded() {
    let deep = "a: nvlist = {".repeat(300) + &"}".repeat(300);
    let (_, _, message) = parse_error(&deep);
    assert!(message.contains("nest deeper than 256"), "{message}");
}

#[test]
fn the_documented_example_parses() {
    let doc = include_str!("../../../docs/nvlist.md");
    let section = &doc[doc.find("## 8. The text form").unwrap()..];
    let start = section.find("```\n").unwrap() + 4;
    let example = &section[start..start + section[start..].find("```").unwrap()];
    let nv = from_text(example).unwrap();
    assert_eq!(nv.flags(), Flags::NO_UNIQUE);
    assert_eq!(nv.get_number("addr").unwrap(), 112);
    assert_eq!(nv.get_binary("page").unwrap().len(), 36);
    assert_eq!(nv.get_string_bytes("odd").unwrap(), b"\xff\x01");
    assert_eq!(from_text(&to_text(&nv)).unwrap(), nv);
}
