"""Published reference statistics by name (``ref:NAME``): where each file lives, what made it, and how to read it.

The catalogue lists the statistics papers compare against — TTUR's, clean-fid's hosted ones, the ADM evaluator's
reference batches, EDM's and EDM2's dataset references, MOSES' test statistics — with their provenance: the producing tool, the dataset and
split, the item count and resolution, and the embedder and preprocessing mode that reproduce them. Files are fetched
through the weights store (:mod:`frechet.weights`: cached, verified, atomic, ``FRECHET_MIRROR``, ``FRECHET_OFFLINE``);
none of the image publishers gives a checksum, so each of their files is pinned to the sha256 of its first download,
once that download has been read as the statistics its entry describes (:mod:`frechet.reference_files`); MOSES'
files ship in the molsets wheel on PyPI, whose files' digests they are checked against, and an installed molsets'
copy is used as it is.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frechet.caller import from_command_line, spell, spell_embedder_option
from frechet.errors import ConfigError, StatsFileError
from frechet.io import file_sha256
from frechet.optional import package_file
from frechet.pickled_stats import read_moses_stats
from frechet.reference_files import check_reference_file
from frechet.stats import FeatureStats
from frechet.statsformats import read_stats
from frechet.weights import WeightsSpec, file_status, pins_path, resolve_weights

if TYPE_CHECKING:
    from frechet.registry import Registry
    from frechet.settings import Settings

log = logging.getLogger("frechet")

PREFIX = "ref:"
#: File formats: frechet/pytorch-fid/TTUR/clean-fid statistics, an ADM evaluator batch, an EDM2 pickle, cd-fvd's
#: statistics pickle, MOSES' pickled statistics dict.
FORMATS = ("stats-npz", "adm-batch", "edm2-pkl", "cdfvd-pkl", "moses-npz")
#: How the FID Inception weights are named in its embedder's id (the sha256 prefix of the canonical file).
_INCEPTION_WEIGHTS = "6726825d"


@dataclass(frozen=True)
class Reference:
    """One named reference: its file (``url``, ``format``, statistics ``key`` inside it) and its provenance."""

    name: str
    url: str
    format: str
    tool: str
    dataset: str
    split: str
    items: int | None  # samples behind the statistics; None where the publisher does not say
    resolution: str | None  # of the images the statistics were computed from, e.g. "32x32"
    embedder: str
    options: Mapping[str, Any] = field(default_factory=dict)  # embedder options that reproduce it
    weights: str | None = _INCEPTION_WEIGHTS  # the weights identity in the embedder's id; None: not recorded
    output: str | None = "pool"  # None: the embedder's default output
    key: str | None = None  # which statistics of a file holding several (EDM2: "fid", "fd_dinov2")
    fd_key: str = "fid"  # the name the distance goes by with this embedder
    sha256: str | None = None  # None: not published, pinned at the first download
    notes: str = ""
    dim: int = 2048  # of the features behind the statistics (Inception pool3 unless said otherwise)
    package_file: str | None = None  # the same file inside an installed Python package ("moses/dataset/…")

    @property
    def spec(self) -> WeightsSpec:
        """The file, as the weights store fetches it."""
        return WeightsSpec(
            f"ref:{self.name}", self.url, sha256=self.sha256, pin=self.sha256 is None, kind="reference statistics",
            check=functools.partial(_check_file, self.url),
        )

    @property
    def config(self) -> dict[str, Any]:
        """What the embedder's config must hold for its statistics to be comparable with these."""
        return {**self.options, **({"weights": self.weights} if self.weights else {})}

    @property
    def flags(self) -> str:
        """The ``frechet compute`` options that reproduce the published numbers."""
        flags = [f"--embedder {self.embedder}"] + [
            f"--preprocess {value}" if key == "preprocess" else f"--embedder-option {key}={value}"
            for key, value in self.options.items()
        ]
        return " ".join(flags)

    def describe(self) -> dict[str, Any]:
        """Provenance fields, JSON-serialisable (what ``frechet refs`` prints)."""
        return {
            "name": self.name, "tool": self.tool, "dataset": self.dataset, "split": self.split, "items": self.items,
            "resolution": self.resolution, "embedder": self.embedder, "options": dict(self.options),
            "reproduce_with": self.flags,
            "output": self.output, "dim": self.dim, "format": self.format, "key": self.key,
            "file": self.spec.file_name,
            "url": self.url, "sha256": self.sha256, "notes": self.notes,
            **({"package_file": self.package_file} if self.package_file else {}),
        }


def _inception(mode: str) -> dict[str, Any]:
    return {"embedder": "inception", "options": {"preprocess": mode}}


# ---------------------------------------------------------------------------------------------------- TTUR
_TTUR = "http://bioinf.jku.at/research/ttur/ttur_stats"  # as TTUR's README publishes it
_TTUR_TOOL = "TTUR fid.py (TensorFlow 1.x, Inception 2015-12-05 graph)"


def _ttur() -> list[Reference]:
    table = [  # name, file, dataset, split, items, resolution, notes
        ("cifar10-train", "fid_stats_cifar10_train.npz", "CIFAR-10", "train", 50_000, "32x32", ""),
        ("celeba", "fid_stats_celeba.npz", "CelebA (cropped)", "all", 202_599, "64x64", ""),
        ("lsun-bedroom-train", "fid_stats_lsun_train.npz", "LSUN bedroom", "train", 3_033_042, None, ""),
        ("svhn-train", "fid_stats_svhn_train.npz", "SVHN", "train", 73_257, "32x32", ""),
        ("imagenet-train", "fid_stats_imagenet_train.npz", "ImageNet (ILSVRC2012)", "train", 1_281_167, None, ""),
        ("imagenet-valid", "fid_stats_imagenet_valid.npz", "ImageNet (ILSVRC2012)", "validation", 50_000, None, ""),
    ]
    return [
        Reference(
            f"ttur-{name}", f"{_TTUR}/{file}", "stats-npz", _TTUR_TOOL, dataset, split, items, resolution,
            **_inception("tf"),
            notes=notes or "TTUR: 'calculated on all samples' of the split; the count is the split's size",
        )
        for name, file, dataset, split, items, resolution, notes in table
    ]


# ---------------------------------------------------------------------------------------------------- clean-fid
_CLEAN_FID = "https://www.cs.cmu.edu/~clean-fid/stats"
_CLEAN_FID_TOOL = "clean-fid (its hosted statistics; URL scheme of clean-fid 0.1.35)"
#: clean-fid's mode -> frechet's --preprocess that computes the same network input.
_CLEAN_FID_MODES = {"clean": "clean", "legacy_tensorflow": "tf", "legacy_pytorch": "pytorch-fid"}
_ALL_MODES = tuple(_CLEAN_FID_MODES)


def _clean_fid() -> list[Reference]:
    table = [  # clean-fid dataset name, dataset, resolutions, split, items, modes (its README's table)
        ("cifar10", "CIFAR-10", (32,), "train", 50_000, _ALL_MODES),
        ("cifar10", "CIFAR-10", (32,), "test", 10_000, _ALL_MODES),
        ("ffhq", "FFHQ", (1024, 256), "trainval", 50_000, _ALL_MODES),
        ("ffhq", "FFHQ", (1024, 256), "trainval70k", 70_000, _ALL_MODES),
        ("lsun_church", "LSUN church", (256,), "train", 50_000, _ALL_MODES),
        ("lsun_church", "LSUN church", (256,), "trainfull", 126_227, ("clean",)),
        ("lsun_horse", "LSUN horse", (256,), "train", 50_000, _ALL_MODES),
        ("lsun_horse", "LSUN horse", (256,), "trainfull", 2_000_340, ("clean",)),
        ("lsun_cat", "LSUN cat", (256,), "train", 50_000, _ALL_MODES),
        ("lsun_cat", "LSUN cat", (256,), "trainfull", 1_657_264, _ALL_MODES),
        ("afhq_cat", "AFHQ cat", (512,), "train", 5_153, _ALL_MODES),
        ("afhq_dog", "AFHQ dog", (512,), "train", 4_739, _ALL_MODES),
        ("afhq_wild", "AFHQ wild", (512,), "train", 4_738, _ALL_MODES),
        ("brecahad", "BreCaHAD", (512,), "train", 1_944, _ALL_MODES),
        ("metfaces", "MetFaces", (1024,), "train", 1_336, _ALL_MODES),
        ("horse2zebra", "horse2zebra", (256,), "test", 140, _ALL_MODES),
        ("cat2dog", "cat2dog", (256,), "test", 500, _ALL_MODES),
    ]
    references = []
    for dataset_name, dataset, resolutions, split, items, modes in table:
        for resolution in resolutions:
            for mode in modes:
                file = f"{dataset_name}_{mode}_{split}_{resolution}.npz"
                name = f"cleanfid-{dataset_name}-{mode}-{split}-{resolution}".replace("_", "-")
                notes = (
                    "clean-fid's legacy_tensorflow resizes with a grid_sample emulation of TensorFlow's bilinear "
                    "resize inside NVIDIA's TorchScript port of the graph"
                    if mode == "legacy_tensorflow" else ""
                )
                references.append(Reference(
                    name, f"{_CLEAN_FID}/{file}", "stats-npz", _CLEAN_FID_TOOL, dataset, split, items,
                    f"{resolution}x{resolution}", **_inception(_CLEAN_FID_MODES[mode]), notes=notes,
                ))
    return references


# ---------------------------------------------------------------------------------------------------- ADM evaluator
_ADM = "https://openaipublic.blob.core.windows.net/diffusion/jul-2021/ref_batches"
_ADM_TOOL = "guided-diffusion evaluations/evaluator.py (TensorFlow, classify_image_graph_def.pb)"
_ADM_NOTES = (
    "mu/sigma (pool3) and mu_s/sigma_s (sFID) over the whole dataset (count not stated); arr_0 holds 10,000 "
    "images for precision/recall"
)


def _adm() -> list[Reference]:
    table = [  # name, path, dataset, resolution
        ("imagenet64", "imagenet/64/VIRTUAL_imagenet64_labeled.npz", "ImageNet (ILSVRC2012)", "64x64"),
        ("imagenet128", "imagenet/128/VIRTUAL_imagenet128_labeled.npz", "ImageNet (ILSVRC2012)", "128x128"),
        ("imagenet256", "imagenet/256/VIRTUAL_imagenet256_labeled.npz", "ImageNet (ILSVRC2012)", "256x256"),
        ("imagenet512", "imagenet/512/VIRTUAL_imagenet512.npz", "ImageNet (ILSVRC2012)", "512x512"),
        ("lsun-bedroom256", "lsun/bedroom/VIRTUAL_lsun_bedroom256.npz", "LSUN bedroom", "256x256"),
        ("lsun-cat256", "lsun/cat/VIRTUAL_lsun_cat256.npz", "LSUN cat", "256x256"),
        ("lsun-horse256", "lsun/horse/VIRTUAL_lsun_horse256.npz", "LSUN horse", "256x256"),
    ]
    return [
        Reference(
            f"adm-{name}", f"{_ADM}/{path}", "adm-batch", _ADM_TOOL, dataset, "train", None, resolution,
            **_inception("tf"), notes=_ADM_NOTES,
        )
        for name, path, dataset, resolution in table
    ]


# ---------------------------------------------------------------------------------------------------- EDM and EDM2
_EDM = "https://nvlabs-fi-cdn.nvidia.com/edm/fid-refs"
_EDM2 = "https://nvlabs-fi-cdn.nvidia.com/edm2/dataset-refs"


def _edm() -> list[Reference]:
    table = [  # name, file, dataset, items, resolution
        ("cifar10-32", "cifar10-32x32.npz", "CIFAR-10", 50_000, "32x32"),
        ("ffhq-64", "ffhq-64x64.npz", "FFHQ", 70_000, "64x64"),
        ("afhqv2-64", "afhqv2-64x64.npz", "AFHQv2", 15_803, "64x64"),
        ("imagenet-64", "imagenet-64x64.npz", "ImageNet (ILSVRC2012)", 1_281_167, "64x64"),
    ]
    return [
        Reference(
            f"edm-{name}", f"{_EDM}/{file}", "stats-npz", "EDM fid.py ref (StyleGAN3's port of the Inception graph)",
            dataset, "train", items, resolution, **_inception("tf"),
            notes="the training set EDM trains on (the count is that dataset's size)",
        )
        for name, file, dataset, items, resolution in table
    ]


def _edm2() -> list[Reference]:
    references = []
    for name, resolution in (("img64", "64x64"), ("img512", "512x512")):
        common = {
            "url": f"{_EDM2}/{name}.pkl", "format": "edm2-pkl", "tool": "EDM2 calculate_metrics.py ref",
            "dataset": "ImageNet (ILSVRC2012), center-crop-dhariwal", "split": "train", "items": 1_281_167,
            "resolution": resolution,
        }
        references.append(Reference(f"edm2-{name}", **common, **_inception("tf"), key="fid"))
        references.append(Reference(
            f"edm2-{name}-dinov2", **common, embedder="dinov2-vitl14", options={"preprocess": "edm2"}, weights=None,
            output=None, key="fd_dinov2", fd_key="fd_dinov2", dim=1024,
            notes="FD_DINOv2: DINOv2 ViT-L/14 features, torch bicubic antialiased resize to 224, ImageNet scaling",
        ))
    return references


# ---------------------------------------------------------------------------------------------------- cd-fvd
_CDFVD = "https://content-debiased-fvd.github.io/files"
_CDFVD_DATASETS = {  # cd-fvd's name -> dataset, split (its README's table)
    "ucf101": ("UCF-101", "train+test"), "sky": ("Sky Time-lapse", "train"), "taichi": ("Taichi-HD", "train"),
    "kinetics": ("Kinetics-400", "train"), "ffs": ("FaceForensics", "train"),
}


@dataclass(frozen=True)
class _CdfvdModel:
    """One of cd-fvd's models (``cdfvd(model=...)``) as its statistics file names and frechet's embedders see it."""

    prefix: str  # cd-fvd's model name, the first word of its file names
    tag: str  # in frechet's names after "cdfvd-" ("" for I3D, the first published)
    tool: str
    embedder: str
    output: str
    fd_key: str
    dim: int
    network: str = ""  # what the network does after the loader, where the I3D notes do not say it


_CDFVD_MODELS = (
    _CdfvdModel("i3d", "", "cd-fvd 0.1.1 (I3D, TATS's weights)", "i3d", "logits", "fvd", 400),
    _CdfvdModel("videomae", "videomae-", "cd-fvd 0.1.1 (VideoMAE-v2 ViT-g/14 SSv2, vit_g_hybrid_pt_1200e_ssv2_ft)",
                "videomae-v2-g", "features", "fd_videomae", 1408,
                "; then torch bilinear to 224x224, [0, 1] without normalisation, VideoMAE-v2's mean-pooled fc_norm "
                "features (1408)"),
)


def _cdfvd() -> list[Reference]:
    """cd-fvd's statistics, I3D's and VideoMAE-v2's alike (its README's table lists both models for every row): every
    dataset at 128 and 256 pixels, 16 and 128 frames, of 2048 videos or the whole split (Kinetics at 128 frames:
    2048 only), named as cd-fvd's ``load_videos(..., data_type='stats_pkl')`` fetches them
    (``{model}_{dataset}_{count}_res{R}_len{L}_skip1_seed0.pkl``)."""
    references = []
    for model in _CDFVD_MODELS:
        for name, (dataset, split) in _CDFVD_DATASETS.items():
            for frames in (16, 128):
                for resolution in (128, 256):
                    for count in ("2048", "full"):
                        if name == "kinetics" and frames == 128 and count == "full":
                            continue
                        references.append(_cdfvd_reference(model, name, dataset, split, resolution, frames, count))
    return references


def _cdfvd_reference(
    model: _CdfvdModel, name: str, dataset: str, split: str, resolution: int, frames: int, count: str
) -> Reference:
    file = f"{model.prefix}_{name}_{count}_res{resolution}_len{frames}_skip1_seed0.pkl"
    options = {"preprocess": "cd-fvd", "crop": resolution, **({"frames": frames} if frames != 16 else {})}
    return Reference(
        f"cdfvd-{model.tag}{name}-{resolution}-{frames}f{'-2048' if count == '2048' else ''}",
        f"{_CDFVD}/{file}", "cdfvd-pkl", model.tool, dataset, split, 2048 if count == "2048" else None,
        f"{resolution}x{resolution}", model.embedder, options, weights=None, output=model.output,
        fd_key=model.fd_key, dim=model.dim,
        notes=f"cd-fvd's video loader: shorter side to {resolution} (antialiased), centre crop, one random "
              f"{frames}-frame clip per video (Python's random, seed 0){model.network}; covariance divided by N "
              "(recorded: the distance divides by N again)",
    )


# ---------------------------------------------------------------------------------------------------- MOSES
_MOSES = "https://github.com/molecularsets/moses/raw/master/moses/dataset/data"
_MOSES_TOOL = "MOSES (molsets 0.3.1) compute_intermediate_statistics: fcd_torch 1.0.7 FCD.precalc"


def _moses() -> list[Reference]:
    table = [  # name, file, split, items, sha256 of the file in the molsets 0.3.1 wheel
        ("moses-test", "test_stats.npz", "test", 176_074,
         "ded25073225a895d4ed17bf1d4223d27560e87ff4cb85786346ca1cc8efa03d3"),
        ("moses-test-scaffolds", "test_scaffolds_stats.npz", "test_scaffolds", 176_225,
         "7b7aba6c1474634a019bebf16f389d554cb9dd1021dfc8c1d1e54430a9f0e7f8"),
    ]
    return [
        Reference(
            name, f"{_MOSES}/{file}", "moses-npz", _MOSES_TOOL, "MOSES (ZINC Clean Leads)", split, items, None,
            "chemnet", {"preprocess": "moses"}, weights="ddad1e83", output="features", key="FCD", fd_key="fcd",
            sha256=sha256, dim=512, package_file=f"moses/dataset/data/{file}",
            notes="MOSES' FCD/Test and FCD/TestSF reference: ChemNet features of RDKit-canonical SMILES as fcd_torch "
                  "prepares them; mu float32, sigma float64 as saved; used from an installed molsets when present",
        )
        for name, file, split, items, sha256 in table
    ]


CATALOGUE: dict[str, Reference] = {
    ref.name: ref for ref in [*_ttur(), *_clean_fid(), *_adm(), *_edm(), *_edm2(), *_cdfvd(), *_moses()]
}


# ---------------------------------------------------------------------------------------------------- use
def _check_file(url: str, path: Path) -> None:
    """Check ``path`` against every catalogue entry whose file is at ``url`` (an EDM2 pickle serves two)."""
    check_reference_file(path, [ref for ref in CATALOGUE.values() if ref.url == url])


def is_reference(value: Any) -> bool:
    """True for a ``ref:NAME`` string."""
    return isinstance(value, str) and value.startswith(PREFIX)


def lookup(name: str) -> Reference:
    """The catalogue entry for ``NAME`` or ``ref:NAME``; an unknown name suggests the nearest ones."""
    key = name[len(PREFIX):] if name.startswith(PREFIX) else name
    if key in CATALOGUE:
        return CATALOGUE[key]
    words = [word for word in key.lower().replace("_", "-").split("-") if word]
    near = [ref for ref in CATALOGUE if all(word in ref for word in words)] or difflib.get_close_matches(
        key, list(CATALOGUE), n=6, cutoff=0.5
    )
    hint = f"; did you mean {', '.join(f'ref:{ref}' for ref in near[:6])}" if near else ""
    raise ConfigError(f"unknown reference 'ref:{key}'{hint} (`frechet refs` lists them all)")


def local_path(reference: Reference, *, progress: bool = True) -> Path:
    """The reference's file: an installed package's copy with the published checksum, a verified cached copy, or a
    verified download (through the weights store)."""
    installed = _installed_copy(reference)
    if installed is not None:
        return installed
    return resolve_weights(
        reference.spec, progress=progress, instead=f"pass the file's path in place of ref:{reference.name}"
    )


def _installed_copy(reference: Reference) -> Path | None:
    """The file inside an installed package (found without importing it), when its sha256 is the published one."""
    if reference.package_file is None or reference.sha256 is None:
        return None
    candidate = package_file(*reference.package_file.split("/", 1))
    if candidate is None:
        return None
    if file_sha256(candidate) == reference.sha256:
        return candidate
    log.warning("%s: not the file ref:%s names (its sha256 differs); using the weights folder's copy",
                candidate, reference.name)
    return None


def is_cached(reference: Reference) -> bool:
    """True when the file is in the weights folder (not hashed here)."""
    return file_status(reference.spec, check=False).path is not None


def reference_meta(reference: Reference) -> dict[str, Any]:
    """The ``meta`` of a reference's statistics: which embedder, configuration and output they match, and where they
    come from."""
    meta = {**_embedder_meta(reference), "reference": reference.name, "dataset": f"{reference.dataset} "
            f"({reference.split})"}
    if reference.items is not None:
        meta["n_items"] = reference.items
    return meta


def format_meta(format: str, key: str | None = None) -> dict[str, Any]:
    """What any file of ``format`` (statistics ``key``) says about its embedder, for formats whose tool always uses
    the same one (an ADM batch, an EDM2 pickle's entries); empty for formats that do not tell."""
    for reference in CATALOGUE.values():
        if reference.format == format and reference.key == key and format != "stats-npz":
            return _embedder_meta(reference)
    return {}


def key_for_embedder(format: str, embedder_name: str | None) -> str | None:
    """Which statistics of a multi-statistics ``format`` belong to ``embedder_name`` (EDM2: "fid" for inception,
    "fd_dinov2" for dinov2-vitl14); None when none does."""
    keys = [ref.key for ref in CATALOGUE.values() if ref.format == format and ref.embedder == embedder_name]
    return keys[0] if keys else None


def _embedder_meta(reference: Reference) -> dict[str, Any]:
    meta = {
        "embedder_name": reference.embedder, "config": reference.config, "fd_key": reference.fd_key,
        "made_by": reference.tool,
    }
    if reference.output is not None:
        meta["output"] = reference.output
    return meta


def load(reference: Reference, *, progress: bool = True) -> FeatureStats:
    """The reference's statistics (downloaded if needed), with :func:`reference_meta` as their ``meta``."""
    path = local_path(reference, progress=progress)
    try:
        stats = (read_moses_stats(path, reference.key or "FCD") if reference.format == "moses-npz"
                 else read_stats(path, key=reference.key))
    except StatsFileError as error:  # a copy pinned before downloads were read, or damaged since
        reason = str(error).replace(f"{path}: ", "").split("; ")[0]
        raise StatsFileError(
            f"{path}: not usable as ref:{reference.name} ({reason}); delete it and its line in {pins_path()} to "
            f"download it again"
        ) from None
    stats.meta = {**stats.meta, **reference_meta(reference)}
    return stats


def settings_for(registry: Registry, settings: Settings, inputs: Iterable[Any]) -> Settings:
    """A run's settings completed from its first ``ref:NAME`` input: the reference's embedder when none is named,
    its options where the caller gave none, and its output, so the published numbers are reproduced by default."""
    named = [lookup(value) for value in inputs if is_reference(value)]
    if not named:
        return settings
    reference = named[0]
    if settings.embedder not in (None, (reference.embedder,)):
        return settings
    try:
        registry.embedder_info(reference.embedder)
    except ConfigError:
        raise ConfigError(
            f"ref:{reference.name} was made with embedder {reference.embedder} ({_options(reference.options)}), "
            "which is not installed; install the plugin that provides it (`frechet embedders` lists the installed "
            f"ones), or name another {spell('embedder', '…')} and pass {spell('force')} to compare anyway"
        ) from None
    options = {**reference.options, **settings.embedder_options}
    if settings.embedder is None or options != dict(settings.embedder_options):
        own = {key: value for key, value in settings.embedder_options.items()
               if str(reference.options.get(key)) != str(value)}
        uses = f"this run uses that embedder with your {_options(own)}" if own else "this run uses the same"
        log.info("ref:%s was computed with embedder %s (%s); %s", reference.name, reference.embedder,
                 _options(reference.options), uses)
    return dataclasses.replace(
        settings, embedder=(reference.embedder,), embedder_options=options, layer=settings.layer or reference.output
    )


def _options(options: Mapping[str, Any]) -> str:
    return ", ".join(spell_option(key, value) for key, value in options.items())


def spell_option(key: str, value: Any) -> str:
    """An embedder option as the caller writes it, with the command line's shorthand for the preprocessing mode."""
    return f"--preprocess {value}" if key == "preprocess" and from_command_line() else spell_embedder_option(key, value)
