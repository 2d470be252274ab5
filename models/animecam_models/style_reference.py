"""The two style networks `animecam models import` takes as PyTorch weights, written as their
authors' code has them, for reference only: the torch-free builders (onnx_style.py) are tested
against these modules. Needs PyTorch; nothing the importer runs imports this file.

- `AnimeGanGenerator`: AnimeGANv2's generator as the PyTorch port has it
  (github.com/bryandlee/animegan2-pytorch, model.py `Generator`): its state dicts
  (face_paint_512_v2.pt, paprika.pt, celeba_distill.pt, face_paint_512_v1.pt) load with
  strict=True. RGB in [-1, 1] in, tanh out ([-1, 1], RGB). Group norms of one group (layer norm
  over C, H, W with a per-channel affine), LeakyReLU 0.2, two bilinear upsamplings: with
  `align_corners=True` (the module's default, what `torch.hub`'s face2paint runs) to the encoder's
  sizes, or with False (test.py's `--upsample_align` default) by a scale of 2.
- `CartoonGanTransformer`: CartoonGAN's generator as the official test repository has it
  (github.com/Yijunmaverick/CartoonGAN-Test-Pytorch-Torch, network/Transformer.py): the
  *_net_G_float.pth weights (Hayao, Hosoda, Paprika, Shinkai) load with strict=True. Its own
  instance norm (biased variance, eps 1e-9, `scale` and `shift`), eight residual blocks, two
  transposed convolutions. It takes BGR in [-1, 1] and gives BGR (test.py swaps the channels on
  both sides).
"""

import torch
import torch.nn.functional as F
from torch import nn


# ---------------------------------------------------------------------------------------------
# AnimeGANv2 (animegan2-pytorch)


class ConvNormLReLU(nn.Sequential):
    """Pad, convolution (bias only where asked), GroupNorm(1), LeakyReLU(0.2): indices 0-3 of the
    state dict keys (`.1.weight`, `.2.weight`, `.2.bias`)."""

    def __init__(self, in_ch, out_ch, kernel_size=3, stride=1, padding=1, groups=1, bias=False):
        super().__init__(
            nn.ReflectionPad2d(padding),
            nn.Conv2d(in_ch, out_ch, kernel_size=kernel_size, stride=stride, padding=0, groups=groups, bias=bias),
            nn.GroupNorm(num_groups=1, num_channels=out_ch, affine=True),
            nn.LeakyReLU(0.2, inplace=True),
        )


class InvertedResBlock(nn.Module):
    """1x1 expansion, 3x3 depthwise (with bias), 1x1 projection and GroupNorm; residual when the
    widths agree."""

    def __init__(self, in_ch, out_ch, expansion_ratio=2):
        super().__init__()
        self.use_res_connect = in_ch == out_ch
        bottleneck = int(round(in_ch * expansion_ratio))
        layers = []
        if expansion_ratio != 1:
            layers.append(ConvNormLReLU(in_ch, bottleneck, kernel_size=1, padding=0))
        layers.append(ConvNormLReLU(bottleneck, bottleneck, groups=bottleneck, bias=True))
        layers.append(nn.Conv2d(bottleneck, out_ch, kernel_size=1, padding=0, bias=False))
        layers.append(nn.GroupNorm(num_groups=1, num_channels=out_ch, affine=True))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        out = self.layers(x)
        return x + out if self.use_res_connect else out


class AnimeGanGenerator(nn.Module):
    """model.py's `Generator`; `align_corners` is fixed per module (forward's argument there)."""

    def __init__(self, align_corners=True):
        super().__init__()
        self.align_corners = align_corners
        self.block_a = nn.Sequential(
            ConvNormLReLU(3, 32, kernel_size=7, padding=3),
            ConvNormLReLU(32, 64, stride=2, padding=(0, 1, 0, 1)),
            ConvNormLReLU(64, 64),
        )
        self.block_b = nn.Sequential(
            ConvNormLReLU(64, 128, stride=2, padding=(0, 1, 0, 1)),
            ConvNormLReLU(128, 128),
        )
        self.block_c = nn.Sequential(
            ConvNormLReLU(128, 128),
            InvertedResBlock(128, 256, 2),
            InvertedResBlock(256, 256, 2),
            InvertedResBlock(256, 256, 2),
            InvertedResBlock(256, 256, 2),
            ConvNormLReLU(256, 128),
        )
        self.block_d = nn.Sequential(ConvNormLReLU(128, 128), ConvNormLReLU(128, 128))
        self.block_e = nn.Sequential(
            ConvNormLReLU(128, 64),
            ConvNormLReLU(64, 64),
            ConvNormLReLU(64, 32, kernel_size=7, padding=3),
        )
        self.out_layer = nn.Sequential(nn.Conv2d(32, 3, kernel_size=1, stride=1, padding=0, bias=False), nn.Tanh())

    def forward(self, x):
        out = self.block_a(x)
        half_size = out.size()[-2:]
        out = self.block_c(self.block_b(out))
        if self.align_corners:
            out = F.interpolate(out, half_size, mode="bilinear", align_corners=True)
        else:
            out = F.interpolate(out, scale_factor=2, mode="bilinear", align_corners=False)
        out = self.block_d(out)
        if self.align_corners:
            out = F.interpolate(out, x.size()[-2:], mode="bilinear", align_corners=True)
        else:
            out = F.interpolate(out, scale_factor=2, mode="bilinear", align_corners=False)
        return self.out_layer(self.block_e(out))


# ---------------------------------------------------------------------------------------------
# CartoonGAN (CartoonGAN-Test-Pytorch-Torch)


class InstanceNormalization(nn.Module):
    """The test repository's instance norm: biased variance (torch.var times (n - 1) / n), eps
    1e-9 inside the square root, per-channel `scale` and `shift`."""

    def __init__(self, dim, eps=1e-9):
        super().__init__()
        self.scale = nn.Parameter(torch.empty(dim).uniform_())
        self.shift = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x):
        n = x.size(2) * x.size(3)
        t = x.view(x.size(0), x.size(1), n)
        mean = torch.mean(t, 2).unsqueeze(2).unsqueeze(3).expand_as(x)
        var = torch.var(t, 2).unsqueeze(2).unsqueeze(3).expand_as(x) * ((n - 1) / float(n))
        scale = self.scale.unsqueeze(1).unsqueeze(1).unsqueeze(0).expand_as(x)
        shift = self.shift.unsqueeze(1).unsqueeze(1).unsqueeze(0).expand_as(x)
        return (x - mean) / torch.sqrt(var + self.eps) * scale + shift


CARTOONGAN_RESIDUAL_BLOCKS = range(4, 12)  # conv04_* ... conv11_*


class CartoonGanTransformer(nn.Module):
    """network/Transformer.py's `Transformer`, the same attribute names (state dict keys); the
    residual blocks are made in a loop instead of written out, in the same order."""

    def __init__(self):
        super().__init__()
        self.refpad01_1 = nn.ReflectionPad2d(3)
        self.conv01_1 = nn.Conv2d(3, 64, 7)
        self.in01_1 = InstanceNormalization(64)
        self.conv02_1 = nn.Conv2d(64, 128, 3, 2, 1)
        self.conv02_2 = nn.Conv2d(128, 128, 3, 1, 1)
        self.in02_1 = InstanceNormalization(128)
        self.conv03_1 = nn.Conv2d(128, 256, 3, 2, 1)
        self.conv03_2 = nn.Conv2d(256, 256, 3, 1, 1)
        self.in03_1 = InstanceNormalization(256)
        for block in CARTOONGAN_RESIDUAL_BLOCKS:
            for half in (1, 2):
                setattr(self, f"refpad{block:02d}_{half}", nn.ReflectionPad2d(1))
                setattr(self, f"conv{block:02d}_{half}", nn.Conv2d(256, 256, 3))
                setattr(self, f"in{block:02d}_{half}", InstanceNormalization(256))
        self.deconv01_1 = nn.ConvTranspose2d(256, 128, 3, 2, 1, 1)
        self.deconv01_2 = nn.Conv2d(128, 128, 3, 1, 1)
        self.in12_1 = InstanceNormalization(128)
        self.deconv02_1 = nn.ConvTranspose2d(128, 64, 3, 2, 1, 1)
        self.deconv02_2 = nn.Conv2d(64, 64, 3, 1, 1)
        self.in13_1 = InstanceNormalization(64)
        self.refpad12_1 = nn.ReflectionPad2d(3)
        self.deconv03_1 = nn.Conv2d(64, 3, 7)

    def forward(self, x):
        y = F.relu(self.in01_1(self.conv01_1(self.refpad01_1(x))))
        y = F.relu(self.in02_1(self.conv02_2(self.conv02_1(y))))
        t = F.relu(self.in03_1(self.conv03_2(self.conv03_1(y))))
        for block in CARTOONGAN_RESIDUAL_BLOCKS:
            part = lambda kind, half: getattr(self, f"{kind}{block:02d}_{half}")  # noqa: E731
            y = F.relu(part("in", 1)(part("conv", 1)(part("refpad", 1)(t))))
            t = part("in", 2)(part("conv", 2)(part("refpad", 2)(y))) + t
        y = F.relu(self.in12_1(self.deconv01_2(self.deconv01_1(t))))
        y = F.relu(self.in13_1(self.deconv02_2(self.deconv02_1(y))))
        return torch.tanh(self.deconv03_1(self.refpad12_1(y)))


def randomize_(module, seed):
    """Seeded random weights for tests: convolutions N(0, 1 / fan in), norm scales 1 + N(0, 0.1^2)
    and every bias and shift N(0, 0.1^2), so that the norms' affine parameters and the biases
    count in the comparison."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            owner = module.get_submodule(name.rsplit(".", 1)[0])
            is_scale = name.endswith(".scale") or (isinstance(owner, nn.GroupNorm) and name.endswith(".weight"))
            if is_scale:
                tensor.copy_(1.0 + 0.1 * torch.randn(tensor.shape, generator=generator))
            elif tensor.dim() == 1:  # conv biases, group-norm biases, instance-norm shifts
                tensor.copy_(0.1 * torch.randn(tensor.shape, generator=generator))
            else:
                # Conv2d weights are [out, in / groups, k, k], ConvTranspose2d's [in, out, k, k].
                fan_in = tensor[0].numel() if not isinstance(owner, nn.ConvTranspose2d) else tensor[:, 0].numel()
                tensor.copy_(torch.randn(tensor.shape, generator=generator) / fan_in**0.5)
    return module
