"""FID-VID as DisCo computes it ("FVD-3DRN50"): Frechet distance of 3D-ResNet-50 Kinetics features.

The network is Hara et al.'s 3D ResNet-50 (shortcut B; kenshohara/3D-ResNets-PyTorch and the
`resnet-50-kinetics.pth` of video-classification-3d-cnn-pytorch), written here in pure torch under
the same module names, so that checkpoint's state_dict (after DataParallel's `module.` prefix is
dropped) loads strictly. DisCo's recipe: every frame resized to 112 x 112 (bicubic), the video
padded to a multiple of 16 frames by repeating its last frame, the Kinetics pixel mean subtracted
(0-255 scale, no std), the 2048-d pooled features of each 16-frame segment averaged into one
vector per video; FID-VID compares the generated and the ground-truth videos' vectors.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from tasks.base import InputError

SIZE, SEGMENT = 112, 16
PIXEL_MEAN = (114.7748, 107.7354, 99.4750)  # DisCo's Kinetics mean, RGB, 0-255


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv3d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(out)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or inplanes != out:  # shortcut type B: a projection
            self.downsample = nn.Sequential(
                nn.Conv3d(inplanes, out, 1, stride=stride, bias=False), nn.BatchNorm3d(out)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class ResNet3D50(nn.Module):
    """Clips (n, 3, 16, 112, 112) -> pooled features (n, 2048); `fc` is kept for strict loading."""

    def __init__(self, num_classes: int = 400) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(3, 64, 7, stride=(1, 2, 2), padding=3, bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool3d(3, stride=2, padding=1)
        inplanes, layers = 64, []
        for planes, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            stage = [Bottleneck(inplanes, planes, stride)]
            inplanes = planes * Bottleneck.expansion
            stage += [Bottleneck(inplanes, planes) for _ in range(blocks - 1)]
            layers.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AvgPool3d((1, 4, 4), stride=1)  # ceil(16/16), ceil(112/32)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.avgpool(x).flatten(1)


def load_resnet3d(path: str | Path) -> ResNet3D50:
    """The network from resnet-50-kinetics.pth ({'state_dict': ...}) or a bare state_dict."""
    path = Path(path).expanduser()
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        kind = type(err).__name__
        raise InputError(f"--fid-vid-weights {path.name}: unreadable ({kind})") from err
    state = data.get("state_dict", data) if isinstance(data, dict) else None
    if not isinstance(state, dict):
        raise InputError(f"--fid-vid-weights {path.name}: not a state_dict")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    model = ResNet3D50()
    expected = model.state_dict()
    if set(state) != set(expected) or any(state[k].shape != expected[k].shape for k in state):
        raise InputError(
            f"--fid-vid-weights {path.name}: not a 3D-ResNet-50 Kinetics checkpoint "
            "(resnet-50-kinetics.pth)"
        )
    model.load_state_dict(state)
    return model.eval()


def resize(frame: np.ndarray) -> np.ndarray:
    """clean-fid's PIL bicubic resize without quantisation (DisCo's `make_resizer("PIL", False,
    "bicubic")`): each channel resized as float, clipped to 0..255."""
    channels = [
        np.asarray(
            Image.fromarray(frame[..., c].astype(np.float32), mode="F").resize(
                (SIZE, SIZE), Image.Resampling.BICUBIC
            )
        ).clip(0, 255)
        for c in range(3)
    ]
    return np.stack(channels, axis=-1)


def video_tensor(frames: Iterable[np.ndarray]) -> Tensor:
    """(n_segments, 3, 16, 112, 112): DisCo's resize, last-frame padding and mean subtraction."""
    resized = [resize(f) for f in frames]
    if not resized:
        raise InputError("FID-VID: the video has no frames")
    resized += [resized[-1]] * (-len(resized) % SEGMENT)
    video = torch.from_numpy(np.stack(resized)).float() - torch.tensor(PIXEL_MEAN)
    return video.view(-1, SEGMENT, SIZE, SIZE, 3).permute(0, 4, 1, 2, 3).contiguous()


def video_feature(model: ResNet3D50, frames: Iterable[np.ndarray], batch: int = 4) -> np.ndarray:
    """One 2048-d vector per video: the mean of its segments' features."""
    segments = video_tensor(frames)
    with torch.inference_mode():
        feats = torch.cat([model(segments[i : i + batch]) for i in range(0, len(segments), batch)])
    return feats.mean(dim=0).double().numpy()
