#!/usr/bin/env bash
# Runs a description from pipelines/ with gst-launch-1.0: drops the comment lines and expands the
# variables with the shell's own rules (${NAME}, ${NAME:-default}, ${NAME:?message}), so a missing
# required variable stops with its message.
#
#   PORTRAIT=portrait.png scripts/pipeline.sh pipelines/webcam.gst
set -euo pipefail
file="${1:?usage: scripts/pipeline.sh pipelines/NAME.gst}"
description="$(grep -v '^\s*#' "$file" | tr '\n' ' ')"
# The descriptions are ours and hold no quotes or command substitutions: expanding them is safe.
expanded="$(eval "printf '%s' \"$description\"")"
# Word splitting is wanted: gst-launch-1.0 takes the description as separate arguments.
# shellcheck disable=SC2086
exec gst-launch-1.0 -e $expanded
