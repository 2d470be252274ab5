"""First Order Motion Model (Siarohin et al., NeurIPS 2019), written for export.

The modules reproduce the official architecture so that their `state_dict` matches the official
checkpoints (`vox-cpk.pth.tar`, `vox-adv-cpk.pth.tar`: entries `kp_detector` and `generator`) key
for key and shape for shape, and load with `strict=True`. The trained numerics are kept:
`grid_sample` with `align_corners=True` (the models were trained under torch 1.0, whose only
behaviour that was), nearest upsampling in the decoders, eval-mode batch norm. Where ONNX has no
operator (`torch.inverse`) the 2x2 inverse is written in closed form.

For export, the generator is split so that the source portrait is encoded once:
`encode(source)` gives the feature map, `animate(source, features, kp_source, kp_driving)` the
frame. Relative motion (normalising the driving keypoints) is not in any graph: the Rust side
does it.
"""

import torch
import torch.nn.functional as F
from torch import nn

# The configurations are torch-free (the importer builds the same graphs without PyTorch).
from .architectures import TINY, VOX_256, DenseMotionConfig, FommConfig, GeneratorConfig, KeypointConfig  # noqa: F401
from .checkpoint import read_torch, strip_module_prefix


def coordinate_grid(height, width, like):
    """[h, w, 2] grid of (x, y) in [-1, 1], x along the width."""
    x = torch.arange(width, dtype=like.dtype, device=like.device)
    y = torch.arange(height, dtype=like.dtype, device=like.device)
    x = 2 * (x / (width - 1)) - 1
    y = 2 * (y / (height - 1)) - 1
    yy = y.view(-1, 1).expand(height, width)
    xx = x.view(1, -1).expand(height, width)
    return torch.stack([xx, yy], dim=2)


def keypoint_gaussians(values, height, width, variance):
    """Eq. 6: an isotropic Gaussian around each keypoint, [b, k, h, w]."""
    grid = coordinate_grid(height, width, values).view(1, 1, height, width, 2)
    offset = grid - values.view(values.shape[0], values.shape[1], 1, 1, 2)
    return torch.exp(-0.5 * (offset**2).sum(-1) / variance)


def inverse_2x2(matrix):
    """Inverse of [..., 2, 2] matrices in closed form (ONNX has no inverse operator)."""
    a, b = matrix[..., 0, 0], matrix[..., 0, 1]
    c, d = matrix[..., 1, 0], matrix[..., 1, 1]
    determinant = a * d - b * c
    rows = [torch.stack([d, -b], dim=-1), torch.stack([-c, a], dim=-1)]
    return torch.stack(rows, dim=-2) / determinant[..., None, None]


def grid_sample(image, grid):
    # torch 1.0, under which the checkpoints were trained, sampled with align_corners=True.
    return F.grid_sample(image, grid, align_corners=True)


class ResBlock2d(nn.Module):
    def __init__(self, features, kernel_size, padding):
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, kernel_size, padding=padding)
        self.conv2 = nn.Conv2d(features, features, kernel_size, padding=padding)
        self.norm1 = nn.BatchNorm2d(features, affine=True)
        self.norm2 = nn.BatchNorm2d(features, affine=True)

    def forward(self, x):
        out = self.conv1(F.relu(self.norm1(x)))
        out = self.conv2(F.relu(self.norm2(out)))
        return out + x


class UpBlock2d(nn.Module):
    def __init__(self, in_features, out_features, kernel_size=3, padding=1):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size, padding=padding)
        self.norm = nn.BatchNorm2d(out_features, affine=True)

    def forward(self, x):
        out = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return F.relu(self.norm(self.conv(out)))


class DownBlock2d(nn.Module):
    def __init__(self, in_features, out_features, kernel_size=3, padding=1):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size, padding=padding)
        self.norm = nn.BatchNorm2d(out_features, affine=True)
        self.pool = nn.AvgPool2d(kernel_size=(2, 2))

    def forward(self, x):
        return self.pool(F.relu(self.norm(self.conv(x))))


class SameBlock2d(nn.Module):
    def __init__(self, in_features, out_features, kernel_size=3, padding=1):
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size, padding=padding)
        self.norm = nn.BatchNorm2d(out_features, affine=True)

    def forward(self, x):
        return F.relu(self.norm(self.conv(x)))


class Encoder(nn.Module):
    def __init__(self, block_expansion, in_features, num_blocks, max_features):
        super().__init__()
        widths = [in_features] + [
            min(max_features, block_expansion * 2 ** (i + 1)) for i in range(num_blocks)
        ]
        self.down_blocks = nn.ModuleList(
            DownBlock2d(widths[i], widths[i + 1]) for i in range(num_blocks)
        )

    def forward(self, x):
        outs = [x]
        for block in self.down_blocks:
            outs.append(block(outs[-1]))
        return outs


class Decoder(nn.Module):
    def __init__(self, block_expansion, in_features, num_blocks, max_features):
        super().__init__()
        blocks = []
        for i in reversed(range(num_blocks)):
            in_filters = (1 if i == num_blocks - 1 else 2) * min(
                max_features, block_expansion * 2 ** (i + 1)
            )
            blocks.append(UpBlock2d(in_filters, min(max_features, block_expansion * 2**i)))
        self.up_blocks = nn.ModuleList(blocks)
        self.out_filters = block_expansion + in_features

    def forward(self, skips):
        skips = list(skips)
        out = skips.pop()
        for block in self.up_blocks:
            out = torch.cat([block(out), skips.pop()], dim=1)
        return out


class Hourglass(nn.Module):
    def __init__(self, block_expansion, in_features, num_blocks, max_features):
        super().__init__()
        self.encoder = Encoder(block_expansion, in_features, num_blocks, max_features)
        self.decoder = Decoder(block_expansion, in_features, num_blocks, max_features)
        self.out_filters = self.decoder.out_filters

    def forward(self, x):
        return self.decoder(self.encoder(x))


class AntiAliasInterpolation2d(nn.Module):
    """Gaussian blur then subsampling by an integer factor; the kernel is a stored buffer."""

    def __init__(self, channels, scale):
        super().__init__()
        sigma = (1 / scale - 1) / 2
        kernel_size = 2 * round(sigma * 4) + 1
        self.ka = kernel_size // 2
        self.kb = self.ka - 1 if kernel_size % 2 == 0 else self.ka
        axis = torch.arange(kernel_size, dtype=torch.float32)
        mean = (kernel_size - 1) / 2
        gaussian = torch.exp(-((axis - mean) ** 2) / (2 * sigma**2))
        kernel = gaussian[:, None] * gaussian[None, :]
        kernel = kernel / kernel.sum()
        self.register_buffer("weight", kernel.view(1, 1, kernel_size, kernel_size).repeat(channels, 1, 1, 1))
        self.groups = channels
        self.scale = scale
        self.step = int(1 / scale)

    def forward(self, x):
        if self.scale == 1.0:
            return x
        out = F.pad(x, (self.ka, self.kb, self.ka, self.kb))
        out = F.conv2d(out, weight=self.weight, groups=self.groups)
        return out[:, :, :: self.step, :: self.step]


class KPDetector(nn.Module):
    """Keypoints in [-1, 1] (x along the width) and the Jacobian around each."""

    def __init__(self, config: FommConfig):
        super().__init__()
        kp = config.keypoint
        self.predictor = Hourglass(kp.block_expansion, config.num_channels, kp.num_blocks, kp.max_features)
        self.kp = nn.Conv2d(self.predictor.out_filters, config.num_kp, kernel_size=(7, 7), padding=0)
        self.num_jacobian_maps = config.num_kp
        self.jacobian = nn.Conv2d(
            self.predictor.out_filters, 4 * config.num_kp, kernel_size=(7, 7), padding=0
        )
        # The official initialisation: every Jacobian starts as the identity.
        self.jacobian.weight.data.zero_()
        self.jacobian.bias.data.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0] * config.num_kp))
        self.temperature = kp.temperature
        self.down = AntiAliasInterpolation2d(config.num_channels, kp.scale_factor)

    def forward(self, image):
        feature_map = self.predictor(self.down(image))
        prediction = self.kp(feature_map)
        b, k, h, w = prediction.shape
        heatmap = F.softmax(prediction.view(b, k, -1) / self.temperature, dim=2).view(b, k, h, w)
        grid = coordinate_grid(h, w, heatmap).view(1, 1, h, w, 2)
        value = (heatmap.unsqueeze(-1) * grid).sum(dim=(2, 3))
        jacobian_map = self.jacobian(feature_map).reshape(b, self.num_jacobian_maps, 4, h, w)
        jacobian = (heatmap.unsqueeze(2) * jacobian_map).view(b, k, 4, -1).sum(dim=-1)
        return value, jacobian.view(b, k, 2, 2)


class DenseMotionNetwork(nn.Module):
    def __init__(self, config: FommConfig, kp_variance=0.01):
        super().__init__()
        dense = config.generator.dense_motion
        self.num_kp = config.num_kp
        self.hourglass = Hourglass(
            dense.block_expansion,
            (config.num_kp + 1) * (config.num_channels + 1),
            dense.num_blocks,
            dense.max_features,
        )
        self.mask = nn.Conv2d(self.hourglass.out_filters, config.num_kp + 1, kernel_size=(7, 7), padding=(3, 3))
        self.occlusion = nn.Conv2d(self.hourglass.out_filters, 1, kernel_size=(7, 7), padding=(3, 3))
        self.kp_variance = kp_variance
        self.down = AntiAliasInterpolation2d(config.num_channels, dense.scale_factor)

    def forward(self, source, kp_source, kp_driving):
        """Returns the deformation [b, h, w, 2] and the occlusion map [b, 1, h, w]."""
        source = self.down(source)
        b, c, h, w = source.shape
        k = self.num_kp
        source_value, source_jacobian = kp_source
        driving_value, driving_jacobian = kp_driving

        # Eq. 6: heatmaps, a zero one for the background first.
        heatmap = keypoint_gaussians(driving_value, h, w, self.kp_variance) - keypoint_gaussians(
            source_value, h, w, self.kp_variance
        )
        heatmap = torch.cat([torch.zeros_like(heatmap[:, :1]), heatmap], dim=1).unsqueeze(2)

        # Eq. 4: sparse motions, the identity (background) first.
        identity = coordinate_grid(h, w, source).view(1, 1, h, w, 2)
        offset = identity - driving_value.view(b, k, 1, 1, 2)
        jacobian = torch.matmul(source_jacobian, inverse_2x2(driving_jacobian)).view(b, k, 1, 1, 2, 2)
        offset = torch.matmul(jacobian, offset.unsqueeze(-1)).squeeze(-1)
        driving_to_source = offset + source_value.view(b, k, 1, 1, 2)
        sparse_motions = torch.cat([identity.expand(b, 1, h, w, 2), driving_to_source], dim=1)

        # Eq. 7: the source warped by each sparse motion.
        repeated = source.unsqueeze(1).expand(b, k + 1, c, h, w).reshape(b * (k + 1), c, h, w)
        deformed = grid_sample(repeated, sparse_motions.reshape(b * (k + 1), h, w, 2))
        deformed = deformed.view(b, k + 1, c, h, w)

        prediction = self.hourglass(torch.cat([heatmap, deformed], dim=2).view(b, -1, h, w))
        mask = F.softmax(self.mask(prediction), dim=1).unsqueeze(2)
        deformation = (sparse_motions.permute(0, 1, 4, 2, 3) * mask).sum(dim=1).permute(0, 2, 3, 1)
        occlusion = torch.sigmoid(self.occlusion(prediction))
        return deformation, occlusion


class OcclusionAwareGenerator(nn.Module):
    def __init__(self, config: FommConfig):
        super().__init__()
        g = config.generator
        self.dense_motion_network = DenseMotionNetwork(config)
        self.first = SameBlock2d(config.num_channels, g.block_expansion, kernel_size=(7, 7), padding=(3, 3))
        self.down_blocks = nn.ModuleList(
            DownBlock2d(
                min(g.max_features, g.block_expansion * 2**i),
                min(g.max_features, g.block_expansion * 2 ** (i + 1)),
                kernel_size=(3, 3),
                padding=(1, 1),
            )
            for i in range(g.num_down_blocks)
        )
        self.up_blocks = nn.ModuleList(
            UpBlock2d(
                min(g.max_features, g.block_expansion * 2 ** (g.num_down_blocks - i)),
                min(g.max_features, g.block_expansion * 2 ** (g.num_down_blocks - i - 1)),
                kernel_size=(3, 3),
                padding=(1, 1),
            )
            for i in range(g.num_down_blocks)
        )
        self.bottleneck = nn.Sequential()
        bottleneck_features = min(g.max_features, g.block_expansion * 2**g.num_down_blocks)
        for i in range(g.num_bottleneck_blocks):
            self.bottleneck.add_module(f"r{i}", ResBlock2d(bottleneck_features, kernel_size=(3, 3), padding=(1, 1)))
        self.final = nn.Conv2d(g.block_expansion, config.num_channels, kernel_size=(7, 7), padding=(3, 3))

    def encode(self, source):
        """The source's feature map: depends on the source alone, so it is computed once."""
        out = self.first(source)
        for block in self.down_blocks:
            out = block(out)
        return out

    def animate(self, source, features, kp_source, kp_driving):
        """The frame for one driving pose: prediction [b, 3, h, w] in [0, 1] and occlusion map."""
        prediction, occlusion, _ = self.animate_with_deformation(source, features, kp_source, kp_driving)
        return prediction, occlusion

    def animate_with_deformation(self, source, features, kp_source, kp_driving):
        """animate(), and the deformation [b, h, w, 2] it sampled the features with (where each
        point of the frame comes from in the source, in [-1, 1], x along the width)."""
        deformation, occlusion = self.dense_motion_network(source, kp_source, kp_driving)
        h, w = features.shape[2:]
        if deformation.shape[1:3] != (h, w):
            # torch 1.0's default for bilinear interpolation: align_corners=False.
            deformation = F.interpolate(
                deformation.permute(0, 3, 1, 2), size=(h, w), mode="bilinear", align_corners=False
            ).permute(0, 2, 3, 1)
        out = grid_sample(features, deformation)
        if occlusion.shape[2:] != (h, w):
            out = out * F.interpolate(occlusion, size=(h, w), mode="bilinear", align_corners=False)
        else:
            out = out * occlusion
        out = self.bottleneck(out)
        for block in self.up_blocks:
            out = block(out)
        return torch.sigmoid(self.final(out)), occlusion, deformation

    def forward(self, source, kp_source, kp_driving):
        return self.animate(source, self.encode(source), kp_source, kp_driving)


class KeypointGraph(nn.Module):
    """fomm_kp: image [1, 3, H, W] in [0, 1] -> kp_value [1, K, 2], kp_jacobian [1, K, 2, 2]."""

    def __init__(self, kp_detector):
        super().__init__()
        self.kp_detector = kp_detector

    def forward(self, image):
        return self.kp_detector(image)


class EncoderGraph(nn.Module):
    """fomm_encoder: source [1, 3, H, W] in [0, 1] -> features [1, C, H/4, W/4]."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator

    def forward(self, source):
        return self.generator.encode(source)


class GeneratorGraph(nn.Module):
    """fomm_generator: source, its features and keypoints, driving keypoints -> prediction, occlusion,
    deformation (what moves the portrait's alpha with the generated face)."""

    def __init__(self, generator):
        super().__init__()
        self.generator = generator

    def forward(self, source, features, source_value, source_jacobian, driving_value, driving_jacobian):
        return self.generator.animate_with_deformation(
            source, features, (source_value, source_jacobian), (driving_value, driving_jacobian)
        )


def build(config: FommConfig = VOX_256):
    """(kp_detector, generator) in eval mode."""
    return KPDetector(config).eval(), OcclusionAwareGenerator(config).eval()


def load_checkpoint(path, config: FommConfig = VOX_256):
    """The official checkpoint's `kp_detector` and `generator`, loaded strictly. The file is read
    as data (checkpoint.read_torch, no torch.load: a pickle may run code while it loads)."""
    checkpoint = read_torch(path)
    missing = [name for name in ("kp_detector", "generator") if name not in checkpoint]
    if missing:
        raise ValueError(
            f"{path} is not a FOMM checkpoint: it has no {', '.join(missing)} entry "
            f"(found: {', '.join(sorted(checkpoint)) or 'nothing'})"
        )
    kp_detector, generator = build(config)
    for module, entry in ((kp_detector, "kp_detector"), (generator, "generator")):
        state = {key: torch.tensor(value) for key, value in strip_module_prefix(checkpoint[entry]).items()}
        module.load_state_dict(state, strict=True)
    return kp_detector, generator


def randomize_(module, seed, spread=False):
    """Seeded random weights and batch-norm statistics, for tests and benchmarks.

    `spread` makes every output span its range as trained weights do, for judging int8 against
    fp32 (a flat output quantises well whatever the quantiser does): keypoints across the face
    instead of huddled at the centre, Jacobians that vary around the identity instead of being
    it, an occlusion map and a motion mask that choose instead of averaging."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if name.endswith("num_batches_tracked") or name.endswith("down.weight"):
                continue  # a counter, and the fixed anti-alias kernel
            if name.endswith("running_var"):
                tensor.copy_(0.5 + torch.rand(tensor.shape, generator=generator))
            elif name.endswith("running_mean") or name.endswith("bias"):
                tensor.copy_(0.1 * torch.randn(tensor.shape, generator=generator))
            elif name.endswith("norm1.weight") or name.endswith("norm2.weight") or name.endswith("norm.weight"):
                tensor.copy_(1.0 + 0.1 * torch.randn(tensor.shape, generator=generator))
            else:
                fan_in = max(1, tensor[0].numel())
                tensor.copy_(torch.randn(tensor.shape, generator=generator) / fan_in**0.5)
        if isinstance(module, OcclusionAwareGenerator):
            # Random decoders average towards grey; a stronger last layer spreads the output over
            # [0, 1], so that tests can see it follow the motion and the source.
            module.final.weight.mul_(6.0)
        if isinstance(module, KPDetector):
            module.jacobian.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0] * module.num_jacobian_maps))
            if spread:
                # Measured on the registry faces: keypoints then span about [-0.75, 0.9] (x1: [-0.3,
                # 0.3]) and Jacobian entries vary by about 0.27 around the identity.
                module.kp.weight.mul_(3.0)
            else:
                # Keep Jacobians near the identity, as trained ones are.
                module.jacobian.weight.mul_(0.01)
        if isinstance(module, OcclusionAwareGenerator) and spread:
            module.dense_motion_network.mask.weight.mul_(3.0)
            module.dense_motion_network.occlusion.weight.mul_(10.0)
    return module
