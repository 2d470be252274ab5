#!/usr/bin/env bash
# The README's screenshot of `animecam studio` (docs/studio.png): the window on an X server of its
# own (Xvfb), a new user's first start (the portraits folder made with set-up's portraits, the
# defaults), the talking clip as the camera; grabbed 5 s in, cropped to the window. Needs
# `make setup` and a release build (make demo makes both).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ANIMECAM="$ROOT/target/release/animecam"
CLIP="$ROOT/.cache/media/carphone_pristine.mp4"
OUTPUT="$ROOT/docs/studio.png"
export ORT_DISABLE_TELEMETRY=1

[[ -x "$ANIMECAM" ]] || { echo "studio-screenshot: no $ANIMECAM: run make demo first" >&2; exit 1; }
[[ -f "$CLIP" ]] || { echo "studio-screenshot: no $CLIP: run make setup" >&2; exit 1; }
WORK="$(mktemp -d)"
XVFB=""
cleanup() {
  [[ -n "$XVFB" ]] && kill "$XVFB" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# The clip three times over (12 s, no re-encoding): a camera that outlasts the screenshot.
# (gst-launch-1.0 escapes each argument, so a path with spaces stays one value.)
CAMERA_CLIP="$WORK/face.mp4"
concat=(concat name=c '!' h264parse '!' mp4mux '!' filesink "location=$CAMERA_CLIP")
for _ in 1 2 3; do concat+=(filesrc "location=$CLIP" '!' qtdemux '!' h264parse '!' c.); done
gst-launch-1.0 -q "${concat[@]}"

# A screen larger than the window, so that the pointer (at the screen's centre) is off it.
exec 3> "$WORK/display"
Xvfb -displayfd 3 -screen 0 2800x1800x24 -nolisten tcp 2>/dev/null &
XVFB=$!
for _ in $(seq 50); do [[ -s "$WORK/display" ]] && break; sleep 0.1; done
export DISPLAY=":$(cat "$WORK/display")"

HOME="$WORK" XDG_CONFIG_HOME="$WORK/config" "$ANIMECAM" studio --seconds 7 \
  --camera "filesrc location=\"$CAMERA_CLIP\" ! decodebin ! videoconvert ! clocksync" &
STUDIO=$!
sleep 5
geometry="$(xwininfo -root -tree | grep '"animecam studio"' | head -n1 | grep -oE '[0-9]+x[0-9]+\+[0-9]+\+[0-9]+' | head -n1)"
[[ -n "$geometry" ]] || { echo "studio-screenshot: the studio's window did not open" >&2; exit 1; }
IFS='x+' read -r width height x y <<< "$geometry"
mkdir -p "$(dirname "$OUTPUT")"
gst-launch-1.0 -q ximagesrc display-name="$DISPLAY" startx="$x" starty="$y" \
  endx=$((x + width - 1)) endy=$((y + height - 1)) use-damage=false num-buffers=1 ! \
  videoconvert ! pngenc ! filesink location="$OUTPUT"
wait "$STUDIO"
echo "studio-screenshot: $OUTPUT (${width}x${height})"
