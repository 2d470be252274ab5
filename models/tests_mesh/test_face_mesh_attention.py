"""The attention face mesh's conversion (animecam_models.face_mesh_attention): the ONNX graph,
MediaPipe's three custom operators included, computes what MediaPipe's own implementation (the
mediapipe wheel, in the virtual environment set-up makes for this check) computes on three real
faces and one with the eyes turned far left; and its irises move with the eyes."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tflite", reason="the converter's packages are not in .venv (make setup)")

from animecam_models import face_mesh_attention as attention  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TFLITE = ROOT / ".cache" / "downloads" / "face_landmark_with_attention.tflite"
REFERENCE = ROOT / ".cache" / "mediapipe-venv" / "bin" / "python"
MEDIA = ROOT / ".cache" / "media"


@pytest.mark.skipif(not (TFLITE.is_file() and REFERENCE.is_file()),
                    reason="the attention mesh or MediaPipe's reference venv is not there (make setup)")
def test_the_onnx_attention_mesh_matches_mediapipe_on_real_faces(tmp_path):
    graph = attention.convert(TFLITE, tmp_path / "attention.onnx")
    crops = attention.verification_crops(MEDIA, graph)
    assert len(crops) == 4
    worst = attention.verify(TFLITE, graph, crops, REFERENCE)
    print(f"max |MediaPipe - ONNX Runtime|: points {worst['points_px']:.1e} px, score {worst['score']:.1e}")
    assert worst["points_px"] <= attention.POINT_TOLERANCE_PX
    assert worst["score"] <= attention.SCORE_TOLERANCE
    # The eyes turned left moved both irises left, by several pixels (of 192), not up or down.
    runner = attention.session(graph)
    names = [name for name, _, _ in attention.OUTPUTS]
    ahead, left = [dict(zip(names, runner.run(None, {"image": (c.astype(np.float32) / 255)[None]})))
                   for c in (crops[1], crops[3])]
    for iris in ("left_iris", "right_iris"):
        moved = left[iris].reshape(-1, 2)[0] - ahead[iris].reshape(-1, 2)[0]
        print(f"{iris}: moved {moved.round(1)} px")
        assert -12 < moved[0] < -3 and abs(moved[1]) < 2, moved
