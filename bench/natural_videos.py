"""Natural-looking videos for the FVD content-bias benchmark: scikit-image's sample photos filmed by a smoothly moving
camera, 16 frames of 224 × 224.

Each video takes one photo (chosen by the seed) and one camera motion: a pan, a zoom, a rotation, or parallax (the
photo as a far layer panning slowly and a soft-edged cut-out of another photo as a near layer panning faster, in
front of it). Speeds, directions and framing are drawn from the seed, so a seed always gives the same video. Frames
are sampled bilinearly from the photo rescaled (with antialiasing) so that the camera never leaves it, and change
from frame to frame about as much as real footage does. scikit-image is needed only here, not by frechet.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
from scipy import ndimage

# colour photos of scikit-image's bundled sample data (no download), then grey ones, made RGB
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "retina",
          "camera", "brick", "grass", "coins", "moon")
MOTIONS = ("pan", "zoom", "rotation", "parallax")
SIZE = 224
FRAMES = 16
_SHORT_SIDE = 340  # the photo's short side after rescaling: room for the camera to move


def _skimage() -> ModuleType:
    """scikit-image, or a one-line error saying how to install it."""
    try:
        import skimage.data
        import skimage.transform
    except ImportError:
        raise SystemExit("natural videos need scikit-image, which frechet does not install: "
                         "pip install scikit-image") from None
    return skimage


def photo(name: str) -> np.ndarray:
    """Sample photo ``name`` as float32 RGB in [0, 1], rescaled with antialiasing to a short side of 340 px."""
    skimage = _skimage()
    image = np.asarray(getattr(skimage.data, name)())
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    image = image[..., :3].astype(np.float32) / (255.0 if image.dtype == np.uint8 else float(image.max() or 1))
    scale = _SHORT_SIDE / min(image.shape[:2])
    return skimage.transform.rescale(image, scale, channel_axis=2, anti_aliasing=True, order=1).astype(np.float32)


def _sample(image: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3) sampled bilinearly at the coordinates ``ys``, ``xs`` (edges repeated)."""
    return np.stack([ndimage.map_coordinates(image[..., c], (ys, xs), order=1, mode="nearest")
                     for c in range(3)], axis=-1)


def _camera(image: np.ndarray, centre: np.ndarray, scale: float, angle: float) -> np.ndarray:
    """The 224 × 224 view of ``image`` centred at ``centre`` (y, x), ``scale`` source pixels per output pixel,
    turned by ``angle`` radians."""
    grid = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) - (SIZE - 1) / 2
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    ys = centre[0] + cos * grid[0] - sin * grid[1]
    xs = centre[1] + sin * grid[0] + cos * grid[1]
    return _sample(image, ys, xs)


def _path(rng: np.random.Generator, speed: tuple[float, float]) -> np.ndarray:
    """A smooth displacement (FRAMES, 2) in pixels: a random direction, a speed in ``speed`` px per frame, eased
    in and out so the camera accelerates and slows like a hand-held one."""
    direction = rng.normal(size=2)
    direction /= np.linalg.norm(direction)
    t = np.arange(FRAMES) / (FRAMES - 1)
    eased = t - np.sin(2 * np.pi * t) / (2 * np.pi) * rng.uniform(0.0, 0.6)
    return np.outer(eased * (FRAMES - 1) * rng.uniform(*speed), direction)


def natural_video(seed: int) -> np.ndarray:
    """One (16, 224, 224, 3) uint8 video: photo ``PHOTOS[seed % 12]`` under a camera motion drawn from the seed."""
    rng = np.random.default_rng(seed)
    image = photo(PHOTOS[seed % len(PHOTOS)])
    motion = MOTIONS[int(rng.integers(len(MOTIONS)))]
    room = (np.array(image.shape[:2]) - SIZE * 1.25) / 2  # how far the centre can move with the view inside
    centre = np.array(image.shape[:2]) / 2 + rng.uniform(-0.3, 0.3, 2) * room
    frames = []
    if motion == "pan":
        path = _path(rng, (0.75, 2.0))
        centre = centre - path[-1] / 2
        frames = [_camera(image, centre + step, 1.0, 0.0) for step in path]
    elif motion == "zoom":
        zoom = rng.choice([-1.0, 1.0]) * rng.uniform(0.08, 0.18)  # the scale changes by this fraction overall
        scales = (1.0 + zoom / 2) * (1.0 + zoom) ** (-np.arange(FRAMES) / (FRAMES - 1))
        frames = [_camera(image, centre, s, 0.0) for s in scales]
    elif motion == "rotation":
        spin = rng.choice([-1.0, 1.0]) * np.deg2rad(rng.uniform(0.5, 1.2))  # per frame
        angles = spin * (np.arange(FRAMES) - (FRAMES - 1) / 2)
        frames = [_camera(image, centre, 0.95, a) for a in angles]
    else:
        near = photo(PHOTOS[(seed + 1 + int(rng.integers(len(PHOTOS) - 1))) % len(PHOTOS)])
        far_path, near_path = _path(rng, (0.3, 0.8)), _path(rng, (1.5, 3.0))
        radii = rng.uniform(45, 75, 2)
        grid = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64) - (SIZE - 1) / 2
        start = rng.uniform(-40, 40, 2) - near_path[-1] / 2  # the layer's centre in the frame at frame 0
        near_centre = np.array(near.shape[:2]) / 2
        for far_step, near_step in zip(far_path, near_path):
            offset = start + near_step
            ellipse = np.hypot((grid[0] - offset[0]) / radii[0], (grid[1] - offset[1]) / radii[1])
            alpha = np.clip((1.0 - ellipse) * 8.0, 0.0, 1.0)[..., None]  # soft edge
            layer = _sample(near, near_centre[0] + grid[0] - offset[0], near_centre[1] + grid[1] - offset[1])
            frames.append(alpha * layer + (1 - alpha) * _camera(image, centre + far_step, 1.0, 0.0))
    return np.round(np.clip(np.stack(frames), 0.0, 1.0) * 255).astype(np.uint8)


def motion_of(seed: int) -> str:
    """The camera motion of ``natural_video(seed)``."""
    return MOTIONS[int(np.random.default_rng(seed).integers(len(MOTIONS)))]
