"""In-memory repairs of mlff-distiller ONNX graphs, so ONNX Runtime can serve as a reference.

The seed export has two defects (see the tests in unittest/python/test_seed_onnx.py):
  * EyeLike on a bool tensor, which ONNX Runtime does not implement -> patch_eyelike();
  * ScatterElements without `reduction` (opset 14), i.e. last write wins instead of the sum
    the model was trained with -> scatter_add() sets reduction="add" and raises the opset to 16.
to_float64() turns a copy into a float64 graph so finite differences of its energy are precise.
Nothing here is written to disk by the project; models stay where the user keeps them.
"""
import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _producers(graph):
    return {o: n for n in graph.node for o in n.output}


def patch_eyelike(model):
    """Cast(bool->float) -> EyeLike -> Cast(->bool) around every EyeLike fed by a bool tensor."""
    g = model.graph
    prod = _producers(g)
    nodes = []
    for n in g.node:
        src = prod.get(n.input[0]) if n.op_type == "EyeLike" else None
        is_bool = (src is not None and src.op_type == "ConstantOfShape" and src.attribute
                   and src.attribute[0].t.data_type == TensorProto.BOOL)
        if not is_bool:
            nodes.append(n)
            continue
        fin, fout = n.input[0] + "__as_float", n.output[0] + "__float"
        nodes.append(helper.make_node("Cast", [n.input[0]], [fin], to=TensorProto.FLOAT))
        nodes.append(helper.make_node("EyeLike", [fin], [fout]))
        nodes.append(helper.make_node("Cast", [fout], [n.output[0]], to=TensorProto.BOOL))
    del g.node[:]
    g.node.extend(nodes)
    return model


def scatter_add(model, opset=16):
    """Make every ScatterElements a sum (reduction="add" needs opset >= 16)."""
    for n in model.graph.node:
        if n.op_type == "ScatterElements":
            for a in list(n.attribute):
                if a.name == "reduction":
                    n.attribute.remove(a)
            n.attribute.append(helper.make_attribute("reduction", "add"))
    for op in model.opset_import:
        if op.domain in ("", "ai.onnx") and op.version < opset:
            op.version = opset
    return model


def _f64(t):
    a = numpy_helper.to_array(t).astype(np.float64)
    # the exported float32 pi in the cosine cutoff: use the real one, as the engine does
    a = np.where(a == np.float64(np.float32(math.pi)), math.pi, a)
    return numpy_helper.from_array(a, t.name)


def to_float64(model):
    """Every float32 tensor, constant, input/output and Cast target becomes float64."""
    g = model.graph
    for k, t in enumerate(g.initializer):
        if t.data_type == TensorProto.FLOAT:
            g.initializer[k].CopyFrom(_f64(t))
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT:
                a.t.CopyFrom(_f64(a.t))
            if n.op_type == "Cast" and a.name == "to" and a.i == TensorProto.FLOAT:
                a.i = TensorProto.DOUBLE
    for v in list(g.input) + list(g.output):
        if v.type.tensor_type.elem_type == TensorProto.FLOAT:
            v.type.tensor_type.elem_type = TensorProto.DOUBLE
    del g.value_info[:]  # stale float32 type annotations
    return model


def load_repaired(path, sum_scatter=True, float64=False):
    """The graph at `path`, loadable by ONNX Runtime, optionally with the sum and in float64."""
    model = patch_eyelike(onnx.load(path))
    if sum_scatter:
        scatter_add(model)
    if float64:
        to_float64(model)
    return model


def session(model):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def energy(sess, numbers, positions):
    """Energy of one molecule from an mlff-distiller ONNX session (dtype of the graph input)."""
    inp = {i.name: i for i in sess.get_inputs()}
    dt = np.float64 if inp["positions"].type == "tensor(double)" else np.float32
    out = sess.run(None, {"atomic_numbers": np.asarray(numbers, np.int64),
                          "positions": np.asarray(positions, dt)})
    return float(out[0])
