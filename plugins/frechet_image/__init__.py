"""frechet's image inputs: decoding, image sources, and the resize/normalize kernels image embedders share."""

from frechet_image.preprocess import DEFAULT_PREPROCESS, PREPROCESS_MODES, resize_float, to_model_input

__all__ = ["DEFAULT_PREPROCESS", "PREPROCESS_MODES", "resize_float", "to_model_input"]
