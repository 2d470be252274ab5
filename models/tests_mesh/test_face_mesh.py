"""The face mesh converter: the ONNX graph computes what MediaPipe's TFLite graph computes, on
real face crops. Needs `make face-mesh` (the converter's packages and the fetched wheel);
skipped, with the reason, without them."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TFLITE = ROOT / ".cache" / "downloads" / "face_landmark.tflite"

pytest.importorskip("tflite", reason="the converter's packages are not in .venv (make face-mesh)")
pytest.importorskip("ai_edge_litert", reason="no TFLite interpreter in .venv (make face-mesh)")
pytest.importorskip("cv2", reason="OpenCV is not in .venv (make face-mesh)")


@pytest.mark.skipif(not TFLITE.is_file(), reason="face_landmark.tflite not fetched (make face-mesh)")
def test_the_onnx_mesh_matches_tflite_on_real_faces(tmp_path):
    from animecam_models import face_mesh

    graph = face_mesh.convert(TFLITE, tmp_path / "face_mesh.onnx")
    faces = [(ROOT / ".cache" / "media" / name, box) for name, box in face_mesh.FACES]
    assert all(path.is_file() for path, _ in faces), "run `make setup` for the photos"
    worst = face_mesh.verify(TFLITE, graph, face_mesh._face_crops(faces))
    assert worst["landmarks"] <= face_mesh.TOLERANCE, worst
    assert worst["face_score"] <= face_mesh.TOLERANCE, worst


def test_same_padding_is_tensorflows():
    from animecam_models.face_mesh import _same_pads

    # 192 wide, 3x3 kernel, stride 2: output 96, one pixel of padding, after the image.
    assert _same_pads(192, 3, 2) == (0, 1)
    assert _same_pads(192, 3, 1) == (1, 1)
    assert _same_pads(7, 2, 2) == (0, 1)
