"""The architectures' hyper-parameters: FOMM's `model_params` and U-GAT-IT's generator sizes.

Torch-free, shared by the PyTorch exporters (fomm.py, ugatit.py, ugatit_tf.py) and the graph
builders the importer uses without PyTorch.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class KeypointConfig:
    block_expansion: int = 32
    max_features: int = 1024
    num_blocks: int = 5
    temperature: float = 0.1
    scale_factor: float = 0.25


@dataclass(frozen=True)
class DenseMotionConfig:
    block_expansion: int = 64
    max_features: int = 1024
    num_blocks: int = 5
    scale_factor: float = 0.25


@dataclass(frozen=True)
class GeneratorConfig:
    block_expansion: int = 64
    max_features: int = 512
    num_down_blocks: int = 2
    num_bottleneck_blocks: int = 6
    dense_motion: DenseMotionConfig = field(default_factory=DenseMotionConfig)


@dataclass(frozen=True)
class FommConfig:
    """`model_params` of the official config/vox-256.yaml (vox-adv-256.yaml is the same)."""

    name: str = "vox-256"
    image_size: int = 256
    num_kp: int = 10
    num_channels: int = 3
    keypoint: KeypointConfig = field(default_factory=KeypointConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)

    @property
    def feature_channels(self):
        g = self.generator
        return min(g.max_features, g.block_expansion * 2**g.num_down_blocks)

    @property
    def feature_size(self):
        return self.image_size // 2**self.generator.num_down_blocks

    @property
    def occlusion_size(self):
        return int(self.image_size * self.generator.dense_motion.scale_factor)


VOX_256 = FommConfig()

# The same graphs at small widths and 64x64, for tests: same inputs and outputs but for the spatial
# size and the feature channels, which the manifest states.
TINY = FommConfig(
    name="tiny",
    image_size=64,
    keypoint=KeypointConfig(block_expansion=8, max_features=32, num_blocks=2),
    generator=GeneratorConfig(
        block_expansion=8,
        max_features=32,
        num_down_blocks=2,
        num_bottleneck_blocks=1,
        dense_motion=DenseMotionConfig(block_expansion=8, max_features=32, num_blocks=2),
    ),
)


@dataclass(frozen=True)
class UgatitConfig:
    name: str = "full"
    light: bool = False
    ngf: int = 64
    n_blocks: int = 4
    image_size: int = 256


FULL = UgatitConfig()
LIGHT = UgatitConfig(name="light", light=True)
# Small widths and 64x64 for tests: same inputs and outputs but the spatial size.
TINY_FULL = UgatitConfig(name="tiny-full", ngf=4, n_blocks=1, image_size=64)
TINY_LIGHT = UgatitConfig(name="tiny-light", light=True, ngf=4, n_blocks=1, image_size=64)
# The TensorFlow code sizes its MLP as ngf * n_blocks, which only fits with 4 blocks.
TINY_TF = UgatitConfig(name="tiny-tf", light=True, ngf=4, n_blocks=4, image_size=64)
