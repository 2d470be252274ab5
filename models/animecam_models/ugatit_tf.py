"""U-GAT-IT generator A->B with the official TensorFlow implementation's semantics
(github.com/taki0112/UGATIT, the code of the published selfie2anime checkpoint).

It differs from the PyTorch implementation, and the weights only work with these semantics:
- every convolution and fully connected layer has a bias;
- stride-2 convolutions pad reflectively 1 pixel on the top and left only (TF's `conv` helper);
- instance norm is affine (`tf.contrib.layers.instance_norm`, scale and offset, eps 1e-5);
- means and variances are population ones (`tf.nn.moments`);
- the CAM layer multiplies the features by its weight plus its bias;
- AdaLIN clips `rho - 0.1` to [0, 1] ("smoothing", on in the published model);
- the full variant flattens the features in NHWC order before its MLP.

Weights are read from the checkpoint (`generator_B` scope) without TensorFlow, see
`tf_checkpoint.py`. Inputs and outputs are those of `ugatit.ResnetGenerator`: NCHW RGB in [-1, 1].
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import tf_checkpoint
from .architectures import UgatitConfig
# The TF names and layouts are torch-free (the importer builds graphs from them without PyTorch).
from .onnx_ugatit import SCOPE, from_torch, to_torch, variable_map  # noqa: F401

EPS = 1e-5


def moments(x, dims):
    mean = x.mean(dim=dims, keepdim=True)
    variance = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    return mean, variance


def normalized(x, dims):
    mean, variance = moments(x, dims)
    return (x - mean) / torch.sqrt(variance + EPS)


class TfConv(nn.Module):
    """TF's `conv` helper: reflect padding (asymmetric when kernel - stride is odd), then a
    VALID convolution with bias."""

    def __init__(self, in_channels, out_channels, kernel, stride, pad):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=0, bias=True)
        if pad and (kernel - stride) % 2 == 0:
            self.padding = (pad, pad, pad, pad)
        elif pad:
            self.padding = (pad, kernel - stride - pad, pad, kernel - stride - pad)
        else:
            self.padding = None

    def forward(self, x):
        if self.padding:
            x = F.pad(x, self.padding, mode="reflect")
        return self.conv(x)


class TfInstanceNorm(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return normalized(x, [2, 3]) * self.gamma[:, None, None] + self.beta[:, None, None]


def mix(x, rho):
    rho = rho[:, None, None]
    return rho * normalized(x, [2, 3]) + (1 - rho) * normalized(x, [1, 2, 3])


class TfLayerInstanceNorm(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.rho = nn.Parameter(torch.zeros(channels))
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return mix(x, self.rho) * self.gamma[:, None, None] + self.beta[:, None, None]


class TfAdaptiveLayerInstanceNorm(nn.Module):
    def __init__(self, channels, smoothing=True):
        super().__init__()
        self.rho = nn.Parameter(torch.ones(channels))
        self.smoothing = smoothing

    def forward(self, x, gamma, beta):
        rho = torch.clamp(self.rho - 0.1, 0.0, 1.0) if self.smoothing else self.rho
        return mix(x, rho) * gamma[:, :, None, None] + beta[:, :, None, None]


class TfResBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = TfConv(channels, channels, 3, 1, 1)
        self.norm1 = TfInstanceNorm(channels)
        self.conv2 = TfConv(channels, channels, 3, 1, 1)
        self.norm2 = TfInstanceNorm(channels)

    def forward(self, x):
        out = F.relu(self.norm1(self.conv1(x)))
        return self.norm2(self.conv2(out)) + x


class TfAdaptiveResBlock(nn.Module):
    def __init__(self, channels, smoothing):
        super().__init__()
        self.conv1 = TfConv(channels, channels, 3, 1, 1)
        self.norm1 = TfAdaptiveLayerInstanceNorm(channels, smoothing)
        self.conv2 = TfConv(channels, channels, 3, 1, 1)
        self.norm2 = TfAdaptiveLayerInstanceNorm(channels, smoothing)

    def forward(self, x, gamma, beta):
        out = F.relu(self.norm1(self.conv1(x), gamma, beta))
        return self.norm2(self.conv2(out), gamma, beta) + x


class TfResnetGenerator(nn.Module):
    def __init__(self, config: UgatitConfig, smoothing=True):
        super().__init__()
        ch, n_res, size = config.ngf, config.n_blocks, config.image_size
        self.light = config.light
        self.first = TfConv(3, ch, 7, 1, 3)
        self.first_norm = TfInstanceNorm(ch)
        self.down = nn.ModuleList([TfConv(ch, ch * 2, 3, 2, 1), TfConv(ch * 2, ch * 4, 3, 2, 1)])
        self.down_norm = nn.ModuleList([TfInstanceNorm(ch * 2), TfInstanceNorm(ch * 4)])
        channels = ch * 4
        self.res = nn.ModuleList(TfResBlock(channels) for _ in range(n_res))
        self.cam = nn.Linear(channels, 1)
        self.conv1x1 = TfConv(channels * 2, channels, 1, 1, 0)
        # The official MLP width is ch * n_res (equal to ch * 4 for the published n_res = 4).
        mlp = ch * n_res
        mlp_in = channels if self.light else (size // 4) * (size // 4) * channels
        self.mlp = nn.ModuleList([nn.Linear(mlp_in, mlp), nn.Linear(mlp, mlp)])
        self.gamma = nn.Linear(mlp, mlp)
        self.beta = nn.Linear(mlp, mlp)
        self.adaptive = nn.ModuleList(TfAdaptiveResBlock(channels, smoothing) for _ in range(n_res))
        self.up = nn.ModuleList([TfConv(channels, channels // 2, 3, 1, 1), TfConv(channels // 2, channels // 4, 3, 1, 1)])
        self.up_norm = nn.ModuleList([TfLayerInstanceNorm(channels // 2), TfLayerInstanceNorm(channels // 4)])
        self.final = TfConv(ch, 3, 7, 1, 3)

    def forward(self, image):
        x = F.relu(self.first_norm(self.first(image)))
        for conv, norm in zip(self.down, self.down_norm):
            x = F.relu(norm(conv(x)))
        for block in self.res:
            x = block(x)
        cam_weight = (self.cam.weight[0] + self.cam.bias)[None, :, None, None]
        x = torch.cat([x * cam_weight, x * cam_weight], dim=1)
        x = F.relu(self.conv1x1(x))
        if self.light:
            features = x.mean(dim=[2, 3])
        else:
            features = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # TF flattens NHWC
        for layer in self.mlp:
            features = F.relu(layer(features))
        gamma, beta = self.gamma(features), self.beta(features)
        for block in self.adaptive:
            x = block(x, gamma, beta)
        for conv, norm in zip(self.up, self.up_norm):
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = F.relu(norm(conv(x)))
        return torch.tanh(self.final(x))


def load_tf_checkpoint(prefix, config: UgatitConfig, smoothing=True):
    """The A->B generator of an official TF U-GAT-IT checkpoint, every weight accounted for."""
    names = variable_map(config)
    tensors = tf_checkpoint.read_checkpoint(prefix, names=list(names))
    module = TfResnetGenerator(config, smoothing).eval()
    state = {}
    for tf_name, (name, layout) in names.items():
        state[name] = torch.from_numpy(np.ascontiguousarray(to_torch(tensors[tf_name], layout)))
    module.load_state_dict(state, strict=True)
    return module


def randomize_(module, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if name.endswith("rho"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator))
            elif name.endswith("norm.gamma") or name.endswith("gamma") and "norm" in name:
                tensor.copy_(1.0 + 0.1 * torch.randn(tensor.shape, generator=generator))
            else:
                fan_in = max(1, tensor[0].numel()) if tensor.dim() > 1 else 10
                tensor.copy_(torch.randn(tensor.shape, generator=generator) / fan_in**0.5)
    return module


def tf_variables(module, config: UgatitConfig):
    """The module's weights under their TF names and layouts (to write test checkpoints)."""
    state = module.state_dict()
    return {
        tf_name: from_torch(state[name].numpy(), layout)
        for tf_name, (name, layout) in variable_map(config).items()
    }
