#!/usr/bin/env bash
# Runs a description from pipelines/ with gst-launch-1.0: drops the comment lines and replaces
# each ${NAME} with the environment variable NAME (which must be set).
#
#   INPUT=clip.mp4 OUTPUT=out.mp4 scripts/pipeline.sh pipelines/facetrack-clip.gst
set -euo pipefail
file="${1:?usage: scripts/pipeline.sh pipelines/NAME.gst}"
description="$(grep -v '^\s*#' "$file" | tr '\n' ' ')"
for name in $(grep -o '\${[A-Z_]*}' <<<"$description" | sort -u | tr -d '${}'); do
  [[ -n "${!name:-}" ]] || { echo "error: $file needs the variable $name" >&2; exit 2; }
  description="${description//\$\{$name\}/${!name}}"
done
# Word splitting is wanted: gst-launch-1.0 takes the description as separate arguments.
# shellcheck disable=SC2086
exec gst-launch-1.0 -e $description
