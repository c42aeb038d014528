"""all-MiniLM-L6-v2 written out as an ONNX graph, from the weights the package ships.

Why: the same six BERT layers run in ONNX Runtime 3.5x faster than in numpy on one
thread (a one-word query 6.9 -> 2.5 ms, a three-part query 22 -> 6.7 ms, 16 sentences
270 -> 72 ms; the vectors agree to cosine 1.00000), and a query's embedding was most of a
search's time. The package ships safetensors only, and an export through torch would
import torch; the graph is small enough to write down here.

Queries run a second graph whose layer weights are 8-bit (see `quantized`): a query is a
few tokens, so the float graph spends its time reading 42 MB of weights; 8-bit ones (12 MB
with their scales) stay in the processor's cache. Catalogue text keeps the float graph, so
stored vectors do not change.

Building needs the `onnx` package (0.7 s to import), so the graph is built once and kept
in a cache folder (see `compiled_graph`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnx

# Bump when the graphs below change: the cached folder's name carries it.
GRAPH_VERSION = 2
LAYERS, DIM, HEADS = 6, 384, 12
# The query graph's weights: 8 bits, one scale per 32 weights of a column, multiplied in
# int8 (ONNX Runtime's MatMulNBits, accuracy level 4). One thread, a one-word query 3.1 ->
# 1.5 ms, a three-part one 7.6 -> 5.9 ms; against the float graph's vectors cosine >= 0.999
# over the sample corpus's queries and video descriptions (4-bit weights: 0.947).
BLOCK = 32
GRAPHS = {False: "model.onnx", True: "query.onnx"}  # by `for_queries`


def compiled_graph(weights_file: Path, cache_dir: Path, for_queries: bool = False
                   ) -> str | bytes:
    """The graph for these weights (the query graph when `for_queries`), both built on
    first use: the path of its .onnx file in the cache (its weights beside it in a file
    that ONNX Runtime maps instead of reading: a session opens in 0.05 s instead of 0.15 s),
    or the model itself when the cache cannot be written. Several processes may build at
    once: each in its own temporary folder, renamed into place; a loser of that race uses
    the winner's."""
    stat = weights_file.stat()
    folder = cache_dir / f"minilm-l6-v{GRAPH_VERSION}-{stat.st_size}-{stat.st_mtime_ns}"
    model = folder / GRAPHS[for_queries]
    if model.exists():
        return str(model)
    import onnx
    from safetensors.numpy import load_file

    weights = load_file(str(weights_file))
    graphs = {q: build_graph(weights, for_queries=q) for q in GRAPHS}
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".minilm-"))
    except OSError:  # no writable cache: this process keeps the model in memory
        return graphs[for_queries].SerializeToString()
    try:
        for q, name in GRAPHS.items():
            onnx.save_model(graphs[q], str(partial / name), save_as_external_data=True,
                            all_tensors_to_one_file=True, location=f"{Path(name).stem}.bin")
        os.rename(partial, folder)
    except OSError:
        if not model.exists():  # built anew: saving moved the weights out of `graphs`
            return build_graph(weights, for_queries).SerializeToString()
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return str(model)


def quantized(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A (K, N) float weight as MatMulNBits takes it: per column, blocks of BLOCK values
    stored as uint8 around 128 (N x K/BLOCK x BLOCK), and each block's scale (N x K/BLOCK).
    Written here because ONNX Runtime's quantizer needs the onnx-ir package and sets the
    root logger to INFO when imported."""
    k, n = weight.shape
    blocks = weight.T.reshape(n, k // BLOCK, BLOCK)
    scales = np.abs(blocks).max(axis=2) / 127
    steps = np.rint(blocks / np.where(scales > 0, scales, 1)[..., None])
    return (steps + 128).astype(np.uint8), scales.astype(np.float32)


def build_graph(weights: dict[str, np.ndarray], for_queries: bool = False) -> onnx.ModelProto:
    """BERT's encoder, then mean pooling over the real tokens and L2 normalisation, as
    sentence-transformers does. Inputs: input_ids, attention_mask (int64, batch x length).
    `for_queries`: the layers' weights in 8 bits (see BLOCK)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    initializers: list = []
    nodes: list = []

    def const(name: str, value) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(kind: str, inputs: list[str], **attrs) -> str:
        out = f"t{len(nodes)}"
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def weight(name: str) -> str:
        value = weights[name].astype(np.float32)
        # torch keeps a linear layer as (out, in); MatMul wants (in, out).
        return const(name, value.T.copy() if name.endswith(".weight") and value.ndim == 2
                     and name.startswith("encoder.") else value)

    def dense(x: str, prefix: str) -> str:
        if not for_queries:
            product = op("MatMul", [x, weight(prefix + ".weight")])
        else:
            matrix = weights[prefix + ".weight"].astype(np.float32).T  # (in, out)
            steps, scales = quantized(matrix)
            product = op("MatMulNBits", [x, const(prefix + ".steps", steps),
                                         const(prefix + ".scales", scales)],
                         domain="com.microsoft", K=matrix.shape[0], N=matrix.shape[1], bits=8,
                         block_size=BLOCK, accuracy_level=4)
        return op("Add", [product, weight(prefix + ".bias")])

    def layer_norm(x: str, prefix: str) -> str:
        return op("LayerNormalization", [x, weight(prefix + ".weight"), weight(prefix + ".bias")],
                  epsilon=1e-12, axis=-1)

    head_dim = DIM // HEADS
    one = const("one", np.array(1, np.int64))
    length = op("Gather", [op("Shape", ["input_ids"]), one], axis=0)
    positions = op("Range", [const("zero", np.array(0, np.int64)), length, one])
    x = op("Add", [op("Gather", [weight("embeddings.word_embeddings.weight"), "input_ids"]),
                   op("Gather", [weight("embeddings.position_embeddings.weight"), positions])])
    x = op("Add", [x, const("token_type", weights["embeddings.token_type_embeddings.weight"][0]
                            .astype(np.float32))])
    x = layer_norm(x, "embeddings.LayerNorm")
    mask = op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    # Padding gets -1e9 before the softmax, so it takes no attention.
    pad_bias = op("Mul", [op("Sub", [const("one_f", np.array(1.0, np.float32)), mask]),
                          const("minus_big", np.array(-1e9, np.float32))])
    pad_bias = op("Unsqueeze", [pad_bias, const("axes_1_2", np.array([1, 2], np.int64))])
    to_heads = const("to_heads", np.array([0, 0, HEADS, head_dim], np.int64))
    from_heads = const("from_heads", np.array([0, 0, DIM], np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(head_dim), np.float32))
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."

        def heads(t: str, perm: tuple[int, ...] = (0, 2, 1, 3)) -> str:
            return op("Transpose", [op("Reshape", [t, to_heads])], perm=list(perm))

        q = heads(dense(x, p + "attention.self.query"))
        k = heads(dense(x, p + "attention.self.key"), (0, 2, 3, 1))
        v = heads(dense(x, p + "attention.self.value"))
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), scale]), pad_bias])
        context = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        context = op("Reshape", [op("Transpose", [context], perm=[0, 2, 1, 3]), from_heads])
        x = layer_norm(op("Add", [x, dense(context, p + "attention.output.dense")]),
                       p + "attention.output.LayerNorm")
        hidden = op("Gelu", [dense(x, p + "intermediate.dense")])
        x = layer_norm(op("Add", [x, dense(hidden, p + "output.dense")]),
                       p + "output.LayerNorm")
    token_axis = const("axis_1", np.array([1], np.int64))
    mask3 = op("Unsqueeze", [mask, const("axis_2", np.array([2], np.int64))])
    summed = op("ReduceSum", [op("Mul", [x, mask3]), token_axis], keepdims=0)
    pooled = op("Div", [summed, op("Max", [op("ReduceSum", [mask3, token_axis], keepdims=0),
                                           "one_f"])])
    norm = op("ReduceL2", [pooled, const("last_axis", np.array([-1], np.int64))], keepdims=1)
    norm = op("Max", [norm, const("tiny", np.array(1e-12, np.float32))])
    nodes.append(helper.make_node("Div", [pooled, norm], ["embedding"]))
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "length"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "length"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", DIM])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20),
                                                    helper.make_opsetid("com.microsoft", 1)])
    onnx.checker.check_model(model)
    return model
