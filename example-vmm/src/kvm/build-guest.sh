#!/bin/sh
# Assembles the guest program (GNU binutils): guest.bin, loaded at
# 0x1000, and its listing guest.lst. The bytes are committed, so a build
# needs no assembler; the test `guest_bytes_match_the_source` checks them
# against guest.S where binutils is installed.
set -eu
cd "$(dirname "$0")"
out=${1:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
as --32 -o "$tmp/guest.o" -al="$tmp/guest.lst" guest.S
ld -m elf_i386 -Ttext=0x1000 -e start --oformat binary -o "$out/guest.bin" "$tmp/guest.o"
sed 's/[[:space:]]*$//' "$tmp/guest.lst" > "$out/guest.lst"
