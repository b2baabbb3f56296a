"""In-memory image batches are transformed at once on their own device, with exactly the network input that the
per-item path gives, for every preprocessing mode of every image embedder (modes that resize with Pillow keep the
per-item path: they have no batched form)."""

import numpy as np
import pytest
import torch
from frechet_clip.embedder import ClipVitB32
from frechet_clip.preprocess import MODES as CLIP_MODES
from frechet_dinov2.embedder import DinoV2ViTS14
from frechet_dinov2.preprocess import PREPROCESS_MODES as DINOV2_MODES
from frechet_image.preprocess import PREPROCESS_MODES as INCEPTION_MODES
from frechet_image.sources import ImageArraySource
from frechet_inception.embedder import InceptionEmbedder

from frechet.errors import InputError
from frechet.scorer import Scorer

EMBEDDERS = (
    [(InceptionEmbedder, mode) for mode in INCEPTION_MODES]
    + [(ClipVitB32, mode) for mode in CLIP_MODES]
    + [(DinoV2ViTS14, mode) for mode in DINOV2_MODES]
)
#: Batch shapes: upsampling, the network's own size, shrinking less and more than 2× (TF1's two orders of work).
SHAPES = [(1, 3, 17, 23), (3, 3, 224, 224), (2, 3, 299, 299), (2, 3, 512, 384), (5, 3, 64, 700)]


def _per_item(embedder, source, start, stop):
    return embedder.collate([embedder.transform(source.load(index)) for index in range(start, stop)])


@pytest.mark.parametrize(("kind", "mode"), EMBEDDERS, ids=[f"{kind.name}-{mode}" for kind, mode in EMBEDDERS])
def test_the_batched_network_input_equals_the_per_item_one_bit_for_bit(kind, mode):
    embedder = kind(preprocess=mode)
    batched = {"inception": ("tf", "pytorch-fid"), "clip-vitb32": ("torch-fidelity",),
               "dinov2-vits14": ("edm2", "torch-fidelity")}[kind.name]
    assert embedder.transforms_batches() == (mode in batched)
    if not embedder.transforms_batches():
        return
    rng = np.random.default_rng(len(mode))
    for shape in SHAPES:
        images = torch.from_numpy(rng.integers(0, 256, shape, dtype=np.uint8))
        source = ImageArraySource(images)
        items = source.load_batch(0, len(source))
        assert items.dtype == torch.uint8 and items.data_ptr() == images.data_ptr()  # the caller's tensor, no copy
        got = embedder.transform_batch(items)
        expected = _per_item(embedder, source, 0, len(source))
        assert got.dtype == torch.float32 and torch.equal(got, expected), (mode, shape)
        channels_last = ImageArraySource(images.permute(0, 2, 3, 1).numpy())  # (N, H, W, 3) numpy: a strided view
        assert torch.equal(embedder.transform_batch(channels_last.load_batch(1, len(source))), expected[1:])


def test_float_batches_round_to_the_levels_the_per_item_path_reads_and_bad_values_name_the_item():
    rng = np.random.default_rng(5)
    images = torch.from_numpy(rng.random((4, 3, 40, 30)).astype(np.float32))
    images[0, 0, 0, :4] = torch.tensor([0.0, 1.0, 0.5 / 255, 1.5 / 255])  # the extremes, and exact half levels
    source = ImageArraySource(images)
    expected = torch.stack([torch.from_numpy(source.load(index)).permute(2, 0, 1) for index in range(4)])
    assert torch.equal(source.load_batch(0, 4), expected)
    images[2, 1, 5, 5] = 1.5
    with pytest.raises(InputError, match=r"\[2\]: float images must hold values in \[0, 1\]"):
        ImageArraySource(images).load_batch(0, 4)


def test_scorer_update_feeds_the_network_the_batched_input(monkeypatch):
    scorer = Scorer.__new__(Scorer)  # only the input path: no network is built
    scorer.embedder = InceptionEmbedder(preprocess="tf")
    images = torch.from_numpy(np.random.default_rng(6).integers(0, 256, (3, 3, 50, 60), dtype=np.uint8))
    source = ImageArraySource(images)
    monkeypatch.setattr(ImageArraySource, "load", lambda *_: pytest.fail("loaded an item on its own"))
    items, prepare = scorer._batch(source, 0, 3)
    got = prepare(items)
    monkeypatch.undo()
    assert torch.equal(got, _per_item(scorer.embedder, source, 0, 3))
