"""Vector codecs: compress float32 embeddings to fixed-size ``uint8`` codes and back.

Every codec is sklearn-style: ``fit(X_train) -> self`` (once, on training data),
``encode(X) -> uint8 [n, code_size]``, ``decode(codes) -> float32 [n, d]``, plus
``code_size`` (exact bytes per vector), ``spec`` (canonical spec string), ``hamming``
(codes compared by plain Hamming distance) and ``to_dict()`` / :func:`from_dict`
(JSON, fitted arrays base64-encoded, exact round trip).

Spec strings chain reducers and one quantizer with ``+``:

=========================  ==========================================================
``float32``                identity (4 bytes per dimension), the baseline
``float16``                half precision
``int8`` ``int4`` ``int2`` affine per-dimension min/max (``clip=99.9``: percentiles)
``ternary``                -1/0/+1 at per-dimension thirds, 2-bit thermometer codes
``binary``                 sign bits, ``threshold=zero|mean|median``, np.packbits layout
``thermo``                 thermometer code, Hamming = L1 of levels (``pca:k+thermo``)
``gray``                   Gray-coded affine levels
``pq:m=…,bits=…``          product quantization
``turbo:bits=b``           TurboQuant MSE (rotation + Lloyd-Max codebook + norm)
``rabitq``                 RaBitQ: centred rotated sign bits + ``factors`` for its estimator
``rot``                    Haar random rotation (prefix: ``rot+int4``)
``itq``                    PCA + ITQ rotation (prefix: ``itq+binary``)
``pca:n`` ``svd:n``        principal / singular axes
``rp:n`` ``srp``           Gaussian random projection (``srp+binary``: SimHash)
``select:n``               top-variance features
``norm``                   unit L2 norm (prefix for cosine: ``norm+pca:64+thermo``)
=========================  ==========================================================

Examples
--------
>>> import numpy as np
>>> from terrabit.codecs import parse, from_dict
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 32)).astype(np.float32)
>>> codec = parse("pca:16+int4").fit(X)
>>> codes = codec.encode(X)
>>> codes.dtype, codes.shape, codec.code_size
(dtype('uint8'), (200, 8), 8)
>>> codec.decode(codes).shape
(200, 32)
>>> bool((from_dict(codec.to_dict()).encode(X) == codes).all())
True
"""

from __future__ import annotations

from terrabit.codecs.base import Codec, Param, Quantizer, Reducer, check_matrix
from terrabit.codecs.binary import Binary
from terrabit.codecs.chain import Chain
from terrabit.codecs.itq import ITQ
from terrabit.codecs.pq import PQ
from terrabit.codecs.rabitq import RaBitQ, rabitq_scores
from terrabit.codecs.reduce import (
    PCA,
    SVD,
    Normalize,
    RandomProjection,
    Select,
    SignRandomProjection,
)
from terrabit.codecs.registry import REGISTRY, available, describe, from_dict, parse
from terrabit.codecs.rotation import Rotation, Turbo
from terrabit.codecs.scalar import Float16, Float32, Int2, Int4, Int8, Ternary
from terrabit.codecs.thermo import Gray, Thermo

__all__ = [
    "ITQ",
    "PCA",
    "PQ",
    "REGISTRY",
    "SVD",
    "Binary",
    "Chain",
    "Codec",
    "Float16",
    "Float32",
    "Gray",
    "Int2",
    "Int4",
    "Int8",
    "Normalize",
    "Param",
    "Quantizer",
    "RaBitQ",
    "RandomProjection",
    "Reducer",
    "Rotation",
    "Select",
    "SignRandomProjection",
    "Ternary",
    "Thermo",
    "Turbo",
    "available",
    "check_matrix",
    "describe",
    "from_dict",
    "parse",
    "rabitq_scores",
]
