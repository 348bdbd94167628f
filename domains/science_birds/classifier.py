"""How much does a level look like a given uppercase letter? A small numpy MLP says.

ChatGPT4PCG 2 scores a level by the probability a vision transformer fine-tuned on
letters gives to the target letter. That model is not available offline, so this is a
stand-in trained here (``python -m domains.science_birds.train_classifier``) on font
glyphs and synthetic block-built letters; ``docs/classifier.md`` describes the data and
its accuracy.

Inference is plain numpy: the weights file is an ``.npz`` of arrays (no pickle), loaded
with ``np.load(path, allow_pickle=False)``. Inputs are the images of
:mod:`domains.science_birds.raster`: ``float32`` ``(32, 32)`` arrays in ``[0, 1]`` with
1 = ink.

Example:
    >>> from domains.science_birds.classifier import LetterClassifier
    >>> from domains.science_birds.level import Block, Level
    >>> from domains.science_birds.raster import rasterize_level
    >>> clf = LetterClassifier.load()
    >>> level = Level(tuple(Block("b11", 0, r) for r in range(8)))
    >>> 0.0 <= clf.similarity(rasterize_level(level), "I") <= 1.0
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["DEFAULT_WEIGHTS", "LETTERS", "NOT_A_LETTER", "LetterClassifier"]

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""The 26 classes, in output order."""

DEFAULT_WEIGHTS = Path(__file__).with_name("classifier_weights.npz")
"""The shipped trained weights."""

NOT_A_LETTER = "none"
"""The name of the extra class of a classifier trained with "not a letter" examples."""

FORMAT_VERSION = 2


def _blur_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(np.ceil(3.0 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return (kernel / kernel.sum()).astype(np.float32)


def blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of a batch ``(n, h, w)``, zero padding, plain numpy.

    Args:
        images: batch of images.
        sigma: standard deviation in pixels; ``0`` returns the input unchanged.

    Returns:
        The blurred batch, same shape, ``float32``.
    """
    images = np.asarray(images, dtype=np.float32)
    if sigma <= 0:
        return images
    kernel = _blur_kernel(sigma)
    radius = len(kernel) // 2
    _, h, w = images.shape
    padded = np.pad(images, ((0, 0), (radius, radius), (radius, radius)))
    rows = sum(kernel[i] * padded[:, i : i + h, :] for i in range(len(kernel)))
    return sum(kernel[i] * rows[:, :, i : i + w] for i in range(len(kernel))).astype(np.float32)


class LetterClassifier:
    """A multilayer perceptron from ``(size, size)`` images to the 26 letters.

    Build one with :meth:`load`; the constructor is for the training script.

    Args:
        weights: one ``(in, out)`` matrix per layer.
        biases: one ``(out,)`` vector per layer.
        mean: per-feature mean subtracted before the first layer.
        scale: per-feature divisor applied after subtracting ``mean``.
        image_size: side of the square input images.
        blur_sigma: Gaussian blur (pixels) applied to the images before flattening.
        with_none: the last output is :data:`NOT_A_LETTER` (27 classes): rubble and
            towers get somewhere to go other than the nearest letter.
        temperature: divides the logits before the softmax; fitted on held-out data so
            that a probability of 0.9 is right about 90% of the time.

    Raises:
        ValueError: when the shapes do not chain up to 26 (27) outputs.
    """

    def __init__(
        self,
        *,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        mean: np.ndarray,
        scale: np.ndarray,
        image_size: int = 32,
        blur_sigma: float = 0.0,
        with_none: bool = False,
        temperature: float = 1.0,
    ) -> None:
        if len(weights) != len(biases) or not weights:
            raise ValueError("need one bias vector per weight matrix, and at least one layer")
        self.weights = [np.asarray(w, dtype=np.float32) for w in weights]
        self.biases = [np.asarray(b, dtype=np.float32) for b in biases]
        self.mean = np.asarray(mean, dtype=np.float32)
        self.scale = np.asarray(scale, dtype=np.float32)
        self.image_size = int(image_size)
        self.blur_sigma = float(blur_sigma)
        self.with_none = bool(with_none)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.temperature = float(temperature)
        self.classes = list(LETTERS) + ([NOT_A_LETTER] if self.with_none else [])
        n_in = self.image_size**2
        for w, b in zip(self.weights, self.biases, strict=True):
            if w.ndim != 2 or w.shape[0] != n_in or b.shape != (w.shape[1],):
                raise ValueError(f"layer shapes do not chain: {w.shape} after {n_in} inputs")
            n_in = w.shape[1]
        if n_in != len(self.classes):
            raise ValueError(f"the last layer has {n_in} outputs, expected {len(self.classes)}")
        if self.mean.shape != (self.image_size**2,) or self.scale.shape != self.mean.shape:
            raise ValueError("mean and scale must have one entry per pixel")

    @classmethod
    def load(cls, path: str | Path = DEFAULT_WEIGHTS) -> LetterClassifier:
        """Load weights written by :meth:`save` (the shipped ones by default).

        Args:
            path: an ``.npz`` file.

        Returns:
            The classifier.

        Raises:
            FileNotFoundError: when the file is missing (train one with
                ``python -m domains.science_birds.train_classifier``).
            ValueError: when the file is not a classifier weights file.
        """
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(
                f"no classifier weights at {path}: train them with "
                "`python -m domains.science_birds.train_classifier --out PATH`"
            )
        with np.load(path, allow_pickle=False) as data:
            try:
                version = int(data["format_version"])
                if version not in (1, FORMAT_VERSION):
                    raise ValueError(
                        f"{path} has weights format {version}, this code reads {FORMAT_VERSION}"
                    )
                if str(data["letters"]) != LETTERS:
                    raise ValueError(f"{path} was trained on classes {data['letters']!s}")
                n_layers = int(data["n_layers"])
                return cls(
                    weights=[data[f"W{i}"] for i in range(n_layers)],
                    biases=[data[f"b{i}"] for i in range(n_layers)],
                    mean=data["mean"],
                    scale=data["scale"],
                    image_size=int(data["image_size"]),
                    blur_sigma=float(data["blur_sigma"]),
                    with_none=version > 1 and bool(data["with_none"]),
                    temperature=float(data["temperature"]) if version > 1 else 1.0,
                )
            except KeyError as err:
                raise ValueError(f"{path} is not a letter-classifier weights file: {err}") from err

    def save(self, path: str | Path, *, dtype: str = "float16") -> None:
        """Write the weights as an ``.npz`` (matrices stored as ``dtype`` to keep it small).

        Args:
            path: destination file.
            dtype: storage type of the weight matrices; biases and normalisation stay
                ``float32``.
        """
        arrays: dict[str, np.ndarray] = {
            "format_version": np.array(FORMAT_VERSION),
            "letters": np.array(LETTERS),
            "n_layers": np.array(len(self.weights)),
            "image_size": np.array(self.image_size),
            "blur_sigma": np.array(self.blur_sigma, dtype=np.float32),
            "with_none": np.array(self.with_none),
            "temperature": np.array(self.temperature),
            "mean": self.mean,
            "scale": self.scale,
        }
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            arrays[f"W{i}"] = w.astype(dtype)
            arrays[f"b{i}"] = b
        # numpy's stub types allow_pickle (bool) as a keyword too; no key here is that name.
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]

    def _batch(self, images: np.ndarray) -> np.ndarray:
        arr = np.asarray(images, dtype=np.float32)
        size = self.image_size
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3 or arr.shape[1:] != (size, size):
            raise ValueError(
                f"expected images of shape ({size}, {size}) or (n, {size}, {size}), got "
                f"{arr.shape}: make them with raster.rasterize_level(level, size={size})"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError("images contain NaN or infinite values")
        return arr

    def features(self, images: np.ndarray) -> np.ndarray:
        """The normalised input vectors the network sees, ``(n, size * size)``.

        Args:
            images: one image ``(size, size)`` or a batch ``(n, size, size)``.

        Returns:
            ``float32`` features.
        """
        return (self.preprocess(self._batch(images), self.blur_sigma) - self.mean) / self.scale

    @staticmethod
    def preprocess(images: np.ndarray, blur_sigma: float) -> np.ndarray:
        """Clip a batch ``(n, h, w)`` to ``[0, 1]``, blur it and flatten it to ``(n, h * w)``."""
        arr = np.clip(np.asarray(images, dtype=np.float32), 0.0, 1.0)
        return blur(arr, blur_sigma).reshape(len(arr), -1)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Unnormalised scores ``(n, classes)``, before the temperature.

        Each image goes through the network on its own (one matrix-vector product per
        layer): a matrix product over the batch sums in an order that depends on the
        batch's size, so an image scored beside 7 others and beside 3 came out a few
        ulps apart, and a run's archive depended on how its batches were cut into
        chunks for worker processes. 3.5x slower per image (0.05 ms), far below the
        physics.
        """
        h = self.features(images)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = np.array([row @ w for row in h], dtype=w.dtype).reshape(len(h), w.shape[1]) + b
            if i < last:
                h = np.maximum(h, 0.0)
        return h

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Softmax probabilities over :attr:`classes` (A-Z, and not a letter if trained so).

        Args:
            images: one image ``(size, size)`` or a batch ``(n, size, size)``, values in
                ``[0, 1]`` with 1 = ink (values outside are clipped).

        Returns:
            ``(n, 26)`` or ``(n, 27)`` ``float64`` rows summing to 1 (``n = 1`` for a
            single image).

        Raises:
            ValueError: for a wrong shape or non-finite values.
        """
        z = self.logits(images).astype(np.float64) / self.temperature
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, images: np.ndarray) -> list[str]:
        """The most probable class for each image: a letter or :data:`NOT_A_LETTER`."""
        return [self.classes[i] for i in self.predict_proba(images).argmax(axis=1)]

    def similarity(self, image: np.ndarray, letter: str) -> float:
        """Probability that ``image`` shows ``letter`` (the ChatGPT4PCG similarity).

        Args:
            image: one ``(size, size)`` image.
            letter: an uppercase letter ``"A"`` .. ``"Z"``.

        Returns:
            The softmax probability of ``letter``, in ``[0, 1]``.

        Raises:
            ValueError: for a letter outside A-Z or an image that is not one
                ``(size, size)`` array.
        """
        if not isinstance(letter, str) or len(letter) != 1 or letter not in LETTERS:
            raise ValueError(f"letter must be one uppercase character A-Z, got {letter!r}")
        arr = np.asarray(image)
        if arr.ndim != 2:
            raise ValueError(
                f"similarity takes one image of shape ({self.image_size}, {self.image_size}), "
                f"got {arr.shape}: use predict_proba for a batch"
            )
        return float(self.predict_proba(arr)[0, LETTERS.index(letter)])
