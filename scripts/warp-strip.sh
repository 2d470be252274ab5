#!/usr/bin/env bash
# The README's strip of the landmark warp (docs/warp-strip.png): the demo's job (`make demo`: the
# talking clip drives an anime portrait through `animecam clip`) run on the bundled Sylvie and on
# Ren'Py's Lucy, whose slanted brows the face finder does not take for brows: this script marks
# them in her sidecar, as a user would after `animecam portrait`. Frames are picked where the man
# in the clip turns, nods, looks aside and raises his brows (measured with the attention mesh:
# yaw -11 degrees at frame 32, +11 at 88, gaze 0.39 aside at 116, brows 0.03 over rest at 83, a
# small raise that Lucy shows with the brow gain at 3). The clip has no smile; his mouth corners
# fall most at frame 79, which Lucy shows with the smile gain at 3. Needs `make setup` and a release build (make demo makes both).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ANIMECAM="$ROOT/target/release/animecam"
MEDIA="$ROOT/.cache/media"
WORK="$ROOT/out/strip"
OUTPUT="$ROOT/docs/warp-strip.png"
SIDE=256
export ORT_DISABLE_TELEMETRY=1

[[ -x "$ANIMECAM" ]] || { echo "warp-strip: no $ANIMECAM: run make demo first" >&2; exit 1; }
[[ -f "$MEDIA/lucy_happy.png" ]] || { echo "warp-strip: no portraits in $MEDIA: run make setup" >&2; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK" "$(dirname "$OUTPUT")"

# Lucy with her brows marked (the middle of each stroke, in her picture's pixels).
cp "$MEDIA/lucy_happy.png" "$WORK/lucy.png"
"$ANIMECAM" portrait "$WORK/lucy.png" >/dev/null
"$ROOT/.venv/bin/python" - "$WORK/lucy.png.animecam.json" <<'PY'
import json, sys
path = sys.argv[1]
sidecar = json.load(open(path))
sidecar["face"]["right_brow"] = [186.0, 161.0]
sidecar["face"]["left_brow"] = [243.0, 160.0]
json.dump(sidecar, open(path, "w"), indent=2)
PY

# The demo's job on each portrait.
clip() {
  local portrait="$1" name="$2"
  shift 2
  "$ANIMECAM" clip "$MEDIA/carphone_pristine.mp4" "$WORK/$name.mp4" --portrait "$portrait" \
    --size "$SIDE" --force "$@" >/dev/null 2>&1
  mkdir -p "$WORK/$name"
  gst-launch-1.0 -q filesrc location="$WORK/$name.mp4" ! decodebin ! videoconvert ! \
    videocrop left="$SIDE" ! pngenc ! multifilesink location="$WORK/$name/%03d.png"
}
clip "$MEDIA/sylvie_green_normal.png" sylvie
clip "$WORK/lucy.png" lucy --expression brow=3,smile=3

# Tiles: clip, frame, caption.
TILES=(
  "sylvie 015 at rest"
  "sylvie 032 turned to his right"
  "sylvie 088 turned to his left"
  "sylvie 060 nodding, looking down"
  "sylvie 116 looking aside"
  "lucy 015 at rest"
  "lucy 083 brows raised (gain 3)"
  "lucy 079 corners down (gain 3)"
)
args=()
pads=()
for i in "${!TILES[@]}"; do
  read -r name frame caption <<<"${TILES[$i]}"
  pads+=("sink_$i::xpos=$(( (i % 4) * SIDE ))" "sink_$i::ypos=$(( (i / 4) * SIDE ))")
  args+=(filesrc location="$WORK/$name/$frame.png" ! pngdec ! videoconvert ! \
    textoverlay text="$caption" valignment=bottom halignment=center font-desc="Sans Bold 13" \
    shaded-background=true ! imagefreeze num-buffers=1 ! "strip.sink_$i")
done
gst-launch-1.0 -q compositor name=strip "${pads[@]}" ! videoconvert ! pngenc ! \
  filesink location="$OUTPUT" "${args[@]}"
echo "warp-strip: wrote $OUTPUT"
