"""What each graph takes and gives, as the manifest states it and the Rust side reads it: the
contract the PyTorch exporters and the torch-free graph builders both write."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import manifest  # noqa: E402  (models/manifest.py)

FOMM_GRAPHS = ("fomm_kp", "fomm_encoder", "fomm_generator")


def fomm(config):
    """{graph: (input specs, output specs)} of the three FOMM graphs at `config`'s sizes."""
    size, k = config.image_size, config.num_kp

    def image(name, description):
        return manifest.tensor(name, [1, 3, size, size], layout="nchw", normalization="unit", description=description)

    def keypoints(prefix, who):
        return [
            manifest.tensor(f"{prefix}_value", [1, k, 2], description=f"{who} keypoints, (x, y) in [-1, 1], x along the width"),
            manifest.tensor(f"{prefix}_jacobian", [1, k, 2, 2], description=f"{who} keypoint Jacobians"),
        ]

    features = manifest.tensor(
        "features", [1, config.feature_channels, config.feature_size, config.feature_size],
        description="the generator's encoding of the source portrait",
    )
    return {
        "fomm_kp": (
            [image("image", "a face crop, RGB")],
            [
                manifest.tensor("kp_value", [1, k, 2], description="keypoints, (x, y) in [-1, 1], x along the width"),
                manifest.tensor("kp_jacobian", [1, k, 2, 2], description="Jacobian of the motion around each keypoint"),
            ],
        ),
        "fomm_encoder": ([image("source", "the source portrait, RGB")], [features]),
        "fomm_generator": (
            [image("source", "the source portrait, RGB"), features]
            + keypoints("source", "source")
            + keypoints("driving", "driving (after relative motion)"),
            [
                image("prediction", "the animated portrait, RGB"),
                manifest.tensor(
                    "occlusion", [1, 1, config.occlusion_size, config.occlusion_size],
                    description="occlusion map in [0, 1]",
                ),
                manifest.tensor(
                    "deformation", [1, config.feature_size, config.feature_size, 2],
                    description="where each point of the frame comes from in the source, (x, y) in [-1, 1] "
                                "(grid_sample's align_corners=True), x along the width",
                ),
            ],
        ),
    }


def ugatit_graph(config):
    """The U-GAT-IT graph's id in a model set: ugatit_full or ugatit_light."""
    return f"ugatit_{'light' if config.light else 'full'}"


def ugatit(config):
    """(input specs, output specs) of the U-GAT-IT A->B generator at `config`'s size."""
    size = config.image_size
    return (
        [manifest.tensor("image", [1, 3, size, size], layout="nchw", normalization="symmetric", description="a face crop, RGB")],
        [manifest.tensor("stylized", [1, 3, size, size], layout="nchw", normalization="symmetric", description="the face in anime style, RGB")],
    )


def names(specs):
    return [spec["name"] for spec in specs]
