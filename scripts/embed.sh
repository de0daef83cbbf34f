#!/bin/sh
# scripts/embed.sh NAME FILE -- FILE as C source: the bytes NAME[] and
# their count NAME_len, for what chatd carries inside (the web client).
set -eu
name=$1
file=$2
echo "/* Generated from $file by scripts/embed.sh: do not edit. */"
echo "#include <stddef.h>"
echo "extern const unsigned char ${name}[];"
echo "extern const size_t ${name}_len;"
echo "const unsigned char ${name}[] = {"
od -An -v -tx1 "$file" | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'
echo "};"
echo "const size_t ${name}_len = sizeof(${name});"
