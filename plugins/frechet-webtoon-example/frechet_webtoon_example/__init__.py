"""Example frechet plugin: embeds tall webtoon panels with your checkpoint by tiling them and averaging the tiles."""

from pathlib import Path

import torch

from frechet import Embedder, Option, hookimpl
from frechet.errors import ConfigError
from frechet.weights import load_state_dict, weights_identity
from frechet_image import resize_float

frechet_requires = ("image",)  # panels are images, read by frechet's image plugin


class PanelNet(torch.nn.Module):
    """The architecture your checkpoint's state dict belongs to (stands in for your own model's code)."""

    def __init__(self, dims: int) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(16, dims, 3, stride=2, padding=1), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        )

    def forward(self, tiles: torch.Tensor) -> torch.Tensor:
        return self.layers(tiles)


class WebtoonPanels(Embedder):
    """A panel is scaled to the tile width, cut top to bottom into square tiles (the last one flush with the bottom
    edge, overlapping its neighbour, so nothing is padded or dropped), and its embedding is the mean of its tiles'."""

    name = "webtoon-panels"
    domain = "image"
    description = "example plugin: tall panels tiled, your PanelNet checkpoint (--weights), mean of tiles"
    outputs = {"panel": None}
    default_output = "panel"
    options = (
        Option("weights", Path, help="your PanelNet checkpoint (a state dict)"),
        Option("tile", int, default=64, help="tile size in pixels: panels are scaled to this width"),
    )

    def __init__(self, weights: Path | None = None, tile: int = 64) -> None:
        super().__init__()
        if weights is None:
            raise ConfigError("webtoon-panels: give your PanelNet checkpoint with --weights PATH")
        state = load_state_dict(weights)
        self.model = PanelNet(dims=state["layers.2.weight"].shape[0])
        self.model.load_state_dict(state)
        self.model.eval()
        self.tile, self.checkpoint = tile, weights_identity(path=weights)
        self.outputs = {"panel": self.model.layers[2].out_channels}

    def transform(self, image):  # uint8 (H, W, 3) -> (tiles, 3, tile, tile)
        height = max(self.tile, round(image.shape[0] * self.tile / image.shape[1]))
        strip = resize_float(image, (height, self.tile), "bilinear")
        tops = sorted({*range(0, height - self.tile, self.tile), height - self.tile})
        return torch.stack([strip[:, top : top + self.tile] for top in tops])

    def collate(self, panels):  # panels have different tile counts: pad with NaN tiles, skipped in forward
        return torch.nn.utils.rnn.pad_sequence(panels, batch_first=True, padding_value=float("nan"))

    def forward(self, batch):  # (B, tiles, 3, t, t) -> mean tile embedding per panel
        real = ~batch[:, :, 0, 0, 0].isnan()
        embedded = self.model(batch[real])
        sums = embedded.new_zeros(batch.shape[0], embedded.shape[1]).index_add_(0, real.nonzero()[:, 0], embedded)
        return {"panel": sums / real.sum(dim=1, keepdim=True)}

    def config(self):
        return {"checkpoint": self.checkpoint, "tile": self.tile}


@hookimpl
def frechet_register_embedders(register):
    register(WebtoonPanels)
