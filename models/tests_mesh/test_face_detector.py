"""The full-range face detector's conversion (animecam_models.face_detector) against the TFLite
interpreter on real photos, as set-up runs it, and the converted graph finding a small face."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tflite", reason="the converter's packages are not in .venv (make setup)")
pytest.importorskip("ai_edge_litert", reason="no TFLite interpreter in .venv (make setup)")
pytest.importorskip("cv2", reason="OpenCV is not in .venv (make setup)")

from animecam_models import face_detector  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TFLITE = ROOT / ".cache" / "downloads" / "face_detection_full_range_sparse.tflite"
MEDIA = ROOT / ".cache" / "media"


@pytest.mark.skipif(not TFLITE.is_file(), reason="face_detection_full_range_sparse.tflite not fetched (make setup)")
def test_the_onnx_detector_matches_tflite_on_real_photos(tmp_path):
    graph = face_detector.convert(TFLITE, tmp_path / "full_range.onnx")
    pictures = face_detector._pictures(MEDIA)
    worst = face_detector.verify(TFLITE, graph, pictures)
    print(f"max |TFLite - ONNX Runtime|: scores {worst['scores']:.1e}, boxes {worst['boxes_px']:.1e} px")
    assert worst["scores"] <= face_detector.TOLERANCES["scores"]
    assert worst["boxes_px"] <= face_detector.TOLERANCES["boxes_px"]
    # Not a graph that agrees by saying nothing: the astronaut's face is found, full size and
    # shrunk to 64 px in a corner (the anchor of the best score lies inside her face).
    import onnxruntime

    session = onnxruntime.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    for picture, (left, top, side) in zip(pictures[:2], [(0, 0, 192), (110, 10, 64)]):
        scores, boxes = session.run(None, {"image": picture[None]})
        best = int(np.argmax(scores[0, :, 0]))
        assert 1 / (1 + np.exp(-scores[0, best, 0])) > 0.6
        cell_x, cell_y = (best % 48 + 0.5) * 4, (best // 48 + 0.5) * 4
        x, y = cell_x + boxes[0, best, 0], cell_y + boxes[0, best, 1]
        assert left <= x <= left + side and top <= y <= top + side, (x, y)
