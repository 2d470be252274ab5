"""U-GAT-IT generator A->B (selfie2anime; Kim et al., ICLR 2020), written for export.

`ResnetGenerator` reproduces the PyTorch implementation (github.com/znxlwm/UGATIT-pytorch,
`networks.py`) so that the `genA2B` entry of its `*_params_*.pt` checkpoints loads with
`strict=True`, with its semantics: convolutions without bias, unbiased variance in the
instance/layer norms, and `rho` used as stored (training clips it; inference does not).

Input: RGB in [-1, 1], [1, 3, 256, 256]; output: tanh, in [-1, 1].
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parameter import Parameter

from .architectures import FULL, LIGHT, TINY_FULL, TINY_LIGHT, TINY_TF, UgatitConfig  # noqa: F401
from .checkpoint import read_torch


def instance_and_layer_stats(x):
    """Means and unbiased variances over (H, W) and over (C, H, W), as torch.var computes them."""
    in_mean = x.mean(dim=[2, 3], keepdim=True)
    in_var = x.var(dim=[2, 3], keepdim=True)
    ln_mean = x.mean(dim=[1, 2, 3], keepdim=True)
    ln_var = x.var(dim=[1, 2, 3], keepdim=True)
    return in_mean, in_var, ln_mean, ln_var


class ILN(nn.Module):
    def __init__(self, features, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.rho = Parameter(torch.full((1, features, 1, 1), 0.0))
        self.gamma = Parameter(torch.full((1, features, 1, 1), 1.0))
        self.beta = Parameter(torch.full((1, features, 1, 1), 0.0))

    def forward(self, x):
        in_mean, in_var, ln_mean, ln_var = instance_and_layer_stats(x)
        out_in = (x - in_mean) / torch.sqrt(in_var + self.eps)
        out_ln = (x - ln_mean) / torch.sqrt(ln_var + self.eps)
        out = self.rho * out_in + (1 - self.rho) * out_ln
        return out * self.gamma + self.beta


class AdaILN(nn.Module):
    def __init__(self, features, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.rho = Parameter(torch.full((1, features, 1, 1), 0.9))

    def forward(self, x, gamma, beta):
        in_mean, in_var, ln_mean, ln_var = instance_and_layer_stats(x)
        out_in = (x - in_mean) / torch.sqrt(in_var + self.eps)
        out_ln = (x - ln_mean) / torch.sqrt(ln_var + self.eps)
        out = self.rho * out_in + (1 - self.rho) * out_ln
        return out * gamma[:, :, None, None] + beta[:, :, None, None]


class ResnetBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=0, bias=False),
            nn.InstanceNorm2d(dim),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=0, bias=False),
            nn.InstanceNorm2d(dim),
        )

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetAdaILNBlock(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.pad1 = nn.ReflectionPad2d(1)
        self.conv1 = nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=0, bias=False)
        self.norm1 = AdaILN(dim)
        self.relu1 = nn.ReLU(True)
        self.pad2 = nn.ReflectionPad2d(1)
        self.conv2 = nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=0, bias=False)
        self.norm2 = AdaILN(dim)

    def forward(self, x, gamma, beta):
        out = self.relu1(self.norm1(self.conv1(self.pad1(x)), gamma, beta))
        out = self.norm2(self.conv2(self.pad2(out)), gamma, beta)
        return out + x


class ResnetGenerator(nn.Module):
    def __init__(self, config: UgatitConfig = FULL):
        super().__init__()
        ngf, n_blocks, size = config.ngf, config.n_blocks, config.image_size
        self.light = config.light
        self.n_blocks = n_blocks
        down = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(3, ngf, kernel_size=7, stride=1, padding=0, bias=False),
            nn.InstanceNorm2d(ngf),
            nn.ReLU(True),
        ]
        for i in range(2):
            mult = 2**i
            down += [
                nn.ReflectionPad2d(1),
                nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=0, bias=False),
                nn.InstanceNorm2d(ngf * mult * 2),
                nn.ReLU(True),
            ]
        mult = 4
        down += [ResnetBlock(ngf * mult) for _ in range(n_blocks)]
        self.gap_fc = nn.Linear(ngf * mult, 1, bias=False)
        self.gmp_fc = nn.Linear(ngf * mult, 1, bias=False)
        self.conv1x1 = nn.Conv2d(ngf * mult * 2, ngf * mult, kernel_size=1, stride=1, bias=True)
        self.relu = nn.ReLU(True)
        fc_in = ngf * mult if self.light else (size // mult) * (size // mult) * ngf * mult
        fc = [
            nn.Linear(fc_in, ngf * mult, bias=False),
            nn.ReLU(True),
            nn.Linear(ngf * mult, ngf * mult, bias=False),
            nn.ReLU(True),
        ]
        self.gamma = nn.Linear(ngf * mult, ngf * mult, bias=False)
        self.beta = nn.Linear(ngf * mult, ngf * mult, bias=False)
        for i in range(n_blocks):
            setattr(self, f"UpBlock1_{i + 1}", ResnetAdaILNBlock(ngf * mult))
        up = []
        for i in range(2):
            mult = 2 ** (2 - i)
            up += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.ReflectionPad2d(1),
                nn.Conv2d(ngf * mult, ngf * mult // 2, kernel_size=3, stride=1, padding=0, bias=False),
                ILN(ngf * mult // 2),
                nn.ReLU(True),
            ]
        up += [
            nn.ReflectionPad2d(3),
            nn.Conv2d(ngf, 3, kernel_size=7, stride=1, padding=0, bias=False),
            nn.Tanh(),
        ]
        self.DownBlock = nn.Sequential(*down)
        self.FC = nn.Sequential(*fc)
        self.UpBlock2 = nn.Sequential(*up)

    def forward(self, image):
        """The stylized image; the CAM logits and heatmap are training aids and are dropped."""
        x = self.DownBlock(image)
        gap = x * self.gap_fc.weight[:, :, None, None]
        gmp = x * self.gmp_fc.weight[:, :, None, None]
        x = self.relu(self.conv1x1(torch.cat([gap, gmp], dim=1)))
        if self.light:
            pooled = F.adaptive_avg_pool2d(x, 1)
            features = self.FC(pooled.view(pooled.shape[0], -1))
        else:
            features = self.FC(x.view(x.shape[0], -1))
        gamma, beta = self.gamma(features), self.beta(features)
        for i in range(self.n_blocks):
            x = getattr(self, f"UpBlock1_{i + 1}")(x, gamma, beta)
        return self.UpBlock2(x)


def load_checkpoint(path, config: UgatitConfig):
    """The `genA2B` entry of a UGATIT-pytorch `*_params_*.pt` checkpoint, loaded strictly. The file
    is read as data (checkpoint.read_torch, no torch.load: a pickle may run code while it loads)."""
    checkpoint = read_torch(path)
    if "genA2B" not in checkpoint:
        raise ValueError(
            f"{path} is not a UGATIT-pytorch checkpoint: it has no genA2B entry "
            f"(found: {', '.join(sorted(checkpoint)) or 'nothing'})"
        )
    generator = ResnetGenerator(config).eval()
    generator.load_state_dict({key: torch.tensor(value) for key, value in checkpoint["genA2B"].items()}, strict=True)
    return generator


def randomize_(module, seed):
    """Seeded random weights (rho in [0, 1] as training keeps it), for tests and benchmarks."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if name.endswith("rho"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator))
            elif name.endswith(".gamma") or name.endswith(".beta"):
                base = 1.0 if name.endswith(".gamma") else 0.0
                tensor.copy_(base + 0.1 * torch.randn(tensor.shape, generator=generator))
            else:
                fan_in = max(1, tensor[0].numel())
                tensor.copy_(torch.randn(tensor.shape, generator=generator) / fan_in**0.5)
    return module
