"""Test-only plugin: tiny deterministic embedders for the report and sanity tests, and a report section.

``tiny-conv`` — two seeded random 3×3 convolutions with ReLU, pooled: sees texture, edges and colour (16 dims);
``mean-colour`` — the image averaged to one colour (3 dims): deliberately blind to anything that keeps the average,
such as blur and swirl; ``clip-frames`` — audio, one row per 0.25 s frame of a clip (log RMS and mean absolute
difference), several rows per item. Forward calls are counted in ``CALLS``. ``SECTIONS`` set to a list of
:class:`frechet.report.Section` makes the plugin add them to reports; ``FAIL_SECTIONS`` makes that hook raise.
"""

import numpy as np
import torch

from frechet import Embedder, hookimpl

CALLS = 0
SECTIONS = None
FAIL_SECTIONS = False


class TinyConv(Embedder):
    """test: two seeded random convolutions, 16 dims"""

    name = "tiny-conv"
    domain = "image"
    outputs = {"features": 16}
    default_output = "features"

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 3), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        )
        with torch.no_grad():
            for parameter in self.net.parameters():
                parameter.copy_(0.3 * torch.randn(parameter.shape, generator=generator))

    def transform(self, item):
        return torch.from_numpy(np.ascontiguousarray(item)).permute(2, 0, 1).float() / 255.0

    def forward(self, batch):
        global CALLS
        CALLS += 1
        return {"features": self.net(batch)}


class MeanColour(Embedder):
    """test: the mean colour of the image, 3 dims"""

    name = "mean-colour"
    domain = "image"
    outputs = {"colour": 3}
    default_output = "colour"
    parallel_transform = False

    def transform(self, item):
        return torch.from_numpy(item.reshape(-1, 3).mean(axis=0) / 255.0).float()

    def forward(self, batch):
        global CALLS
        CALLS += 1
        return {"colour": batch}


class ClipFrames(Embedder):
    """test: per 0.25 s frame of a mono clip, log RMS and mean absolute difference"""

    name = "clip-frames"
    domain = "audio"
    outputs = {"frames": 2}
    default_output = "frames"
    multiple_examples = True

    def transform(self, clip):
        samples = np.concatenate([block.mean(axis=1) for block in clip.blocks(1 << 16)])
        frame = clip.sample_rate // 4
        frames = samples[: len(samples) // frame * frame].reshape(-1, frame)
        rms = np.log(np.sqrt(np.mean(frames**2, axis=1)) + 1e-6)
        return torch.from_numpy(np.stack([rms, np.abs(np.diff(frames, axis=1)).mean(axis=1)], axis=1)).float()

    def forward(self, batch):
        global CALLS
        CALLS += 1
        return {"frames": batch}


@hookimpl
def frechet_register_embedders(register):
    register(TinyConv)
    register(MeanColour)
    register(ClipFrames)


@hookimpl
def frechet_report_sections(report):
    if FAIL_SECTIONS:
        raise RuntimeError("this plugin's section broke")
    return SECTIONS
