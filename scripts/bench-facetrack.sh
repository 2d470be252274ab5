#!/usr/bin/env bash
# Face tracking speed at 640x480 on this machine: facetrack (BlazeFace, Haar) side by side with
# GStreamer's own OpenCV `facedetect`, on the same frames (the carphone clip scaled to 640x480,
# decoded once into memory-mapped raw video so decoding is not measured), one run each.
#
#   scripts/bench-facetrack.sh [repeats]        (after `make build`)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GST_PLUGIN_PATH="$ROOT/target/release${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
REPEATS="${1:-5}"
RAW="$(mktemp -d)/frames.bgrx"
trap 'rm -rf "$(dirname "$RAW")"' EXIT
gst-launch-1.0 -q filesrc location="$ROOT/.cache/media/carphone_pristine.mp4" ! decodebin ! videoconvert ! \
  videoscale ! video/x-raw,format=BGRx,width=640,height=480 ! filesink location="$RAW"
for _ in $(seq 2 "$REPEATS"); do head -c $((640 * 480 * 4 * 120)) "$RAW" >> "$RAW.more"; done
[[ -f "$RAW.more" ]] && cat "$RAW.more" >> "$RAW" && rm "$RAW.more"
FRAMES=$(( $(stat -c %s "$RAW") / (640 * 480 * 4) ))
SOURCE="filesrc location=$RAW blocksize=$((640 * 480 * 4)) ! rawvideoparse format=bgrx width=640 height=480 framerate=30/1"

seconds() {
  local start end
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  gst-launch-1.0 -q $SOURCE ! "$@" ! fakesink sync=false >/dev/null 2>&1
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}

baseline=$(seconds identity)
printf '%-48s %10s %10s\n' "element (640x480, $FRAMES frames)" "ms/frame" "fps"
row() {
  local name="$1"
  shift
  local total
  total=$(seconds "$@")
  local per_frame
  awk -v t="$total" -v b="$baseline" -v n="$FRAMES" -v name="$name" \
    'BEGIN { ms = (t - b) * 1000 / n; printf "%-48s %10.2f %10.1f\n", name, ms, 1000 / ms }'
}
row "facetrack landmarks=blazeface (detect every 5)" facetrack landmarks=blazeface
row "facetrack landmarks=mesh (detect every 5, mesh every frame)" facetrack landmarks=mesh
row "facetrack detector=blazeface detect-interval=1" facetrack landmarks=blazeface detect-interval=1
row "facetrack detector=haar (detect every 5)" facetrack detector=haar
row "facetrack detector=haar detect-interval=1" facetrack detector=haar detect-interval=1
row "facedetect (gst-plugins-bad OpenCV, every frame)" videoconvert ! facedetect display=false ! videoconvert
awk -v b="$baseline" -v n="$FRAMES" 'BEGIN { printf "baseline (source + fakesink): %.2f ms/frame, subtracted\n", b * 1000 / n }'
