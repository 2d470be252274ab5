#!/usr/bin/env bash
# Runs a description from pipelines/ with gst-launch-1.0: drops the comment lines and expands the
# variables with the shell's own rules (${NAME}, ${NAME:-default}, ${NAME:?message}), so a missing
# required variable stops with its message.
#
#   PORTRAIT=portrait.png scripts/pipeline.sh pipelines/webcam.gst
#
# Values (file names above all) are escaped with gst-launch's own rule, a backslash before every
# character its parser could read as syntax, as the animecam CLI does: a file named
# "a.png ! filesink location=x" is a file name, never pipeline elements.
set -euo pipefail
file="${1:?usage: scripts/pipeline.sh pipelines/NAME.gst}"
description="$(grep -v '^\s*#' "$file" | tr '\n' ' ')"

# escape VALUE: the value as one literal token of gst-launch syntax.
escape() {
  local value="$1" escaped="" character i
  local LC_ALL=C
  for ((i = 0; i < ${#value}; i++)); do
    character="${value:i:1}"
    # Bytes >= 0x80 (parts of UTF-8 names) pass as they are, as in the CLI.
    if [[ "$character" =~ [A-Za-z0-9/._-] || "$character" > $'\x7f' ]]; then
      escaped+="$character"
    else
      escaped+="\\$character"
    fi
  done
  printf '%s' "$escaped"
}

# The variables that hold paths: made absolute (a file named NULL, or one in quotes, would
# otherwise be one of the parser's special values), with no control characters.
PATHS=" INPUT OUTPUT PORTRAIT MODELS DEVICE "
for name in $(grep -o '\${[A-Z_][A-Z_0-9]*' <<<"$description" | cut -c3- | sort -u); do
  if [[ -n "${!name:-}" ]]; then
    value="${!name}"
    if [[ "$PATHS" == *" $name "* ]]; then
      [[ "$value" == /* ]] || value="$PWD/$value"
      if [[ "$value" =~ [[:cntrl:]] ]]; then
        echo "pipeline.sh: $name holds a control character (a line break or a tab): rename the file" >&2
        exit 1
      fi
    fi
    printf -v "$name" '%s' "$(escape "$value")"
  fi
done
# The descriptions are ours and hold no quotes or command substitutions: expanding them is safe,
# and the values' own characters are not evaluated again.
expanded="$(eval "printf '%s' \"$description\"")"
# gst-launch-1.0 joins its arguments with single spaces and parses the result: split on spaces
# only (an escaped space, "\ ", is rejoined as it was) and never expand * or ? in file names.
set -f
IFS=' '
# shellcheck disable=SC2086
exec gst-launch-1.0 -e $expanded
