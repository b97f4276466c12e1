"""mlff-distiller family: ONNX initializers or a state_dict -> format v1 document.

Source names (seed naming, optionally under a prefix such as `model.`):
  embedding.weight, rbf.centers, rbf.widths,
  interactions.{l}.message.rbf_to_scalar.{0,2}.{weight,bias},
  interactions.{l}.update.update_mlp.{0,2}.{weight,bias}, interactions.{l}.update.mixing_matrix,
  energy_head.{0,2,4,...}.{weight,bias}
"""
import re

import numpy as np

from weights.export_common import ExportError, document, species_table, tensor

# ONNX ops that would mean a different activation, basis or cutoff than this family's
_FOREIGN_OPS = {"Relu", "Tanh", "Softplus", "Elu", "Selu", "LeakyRelu", "Gelu", "Erf", "Sin",
                "HardSigmoid", "HardSwish", "Mish", "Celu", "PRelu", "ThresholdedRelu"}


def _strip_prefix(params):
    keys = [k for k in params if k.endswith("embedding.weight")]
    for k in keys:
        prefix = k[: -len("embedding.weight")]
        if prefix + "rbf.centers" in params:
            return {n[len(prefix):]: v for n, v in params.items() if n.startswith(prefix)}
    raise ExportError("not an mlff-distiller model: no `embedding.weight` with `rbf.centers` "
                      "beside it (with or without a prefix such as `model.`)")


def _get(p, name, shape=None):
    if name not in p:
        raise ExportError(f"missing initializer/tensor `{name}`")
    a = p[name]
    if shape is not None and list(a.shape) != list(shape):
        raise ExportError(f"`{name}` has shape {list(a.shape)}, expected {list(shape)}")
    return a


def convert(params, elements, source, provenance):
    """params: name -> numpy array (any float dtype)."""
    p = {k: np.asarray(v, dtype=np.float64) for k, v in _strip_prefix(params).items()}
    emb = _get(p, "embedding.weight")
    if emb.ndim != 2:
        raise ExportError(f"`embedding.weight` has shape {list(emb.shape)}, expected [rows, F]")
    rows, F = emb.shape
    centers, widths = _get(p, "rbf.centers"), _get(p, "rbf.widths")
    K = centers.size
    if centers.ndim != 1 or widths.shape != centers.shape:
        raise ExportError(f"`rbf.centers` {list(centers.shape)} and `rbf.widths` "
                          f"{list(widths.shape)} must be vectors of one length")
    if not np.all(widths > 0) or not centers[-1] > 0:
        raise ExportError("rbf.widths must be > 0 and the last rbf center (the cutoff) > 0")
    L = 0
    while f"interactions.{L}.message.rbf_to_scalar.0.weight" in p:
        L += 1
    if L == 0:
        raise ExportError("missing initializer/tensor `interactions.0.message.rbf_to_scalar.0.weight`")
    t, notes = {"embedding.weight": tensor(emb, "embedding.weight")}, []
    for l in range(L):
        src = f"interactions.{l}."
        hf = _get(p, src + "message.rbf_to_scalar.0.weight").shape[0]
        hu = _get(p, src + "update.update_mlp.0.weight").shape[0]
        pairs = [("filter.0", "message.rbf_to_scalar.0", hf, K),
                 ("filter.1", "message.rbf_to_scalar.2", 3 * F, hf),
                 ("update.0", "update.update_mlp.0", hu, 2 * F),
                 ("update.1", "update.update_mlp.2", 3 * F, hu)]
        for dst, s, n_out, n_in in pairs:
            t[f"{src}{dst}.weight"] = tensor(_get(p, f"{src}{s}.weight", [n_out, n_in]))
            t[f"{src}{dst}.bias"] = tensor(_get(p, f"{src}{s}.bias", [n_out]))
        mname = src + "update.mixing_matrix"
        if mname not in p and l == L - 1:
            M = np.zeros((3, 3))
            notes.append(f"`{mname}` absent in the source (its vector update cannot reach the "
                         "energy in the last layer); written as zeros")
        else:
            M = _get(p, mname, [3, 3])
        t[f"interactions.{l}.mixing_matrix"] = tensor(M, mname)
    heads = sorted(int(m.group(1)) for k in p
                   if (m := re.fullmatch(r"energy_head\.(\d+)\.weight", k)))
    if not heads:
        raise ExportError("missing initializer/tensor `energy_head.0.weight`")
    widths_out = [F]
    for k, idx in enumerate(heads):
        w = _get(p, f"energy_head.{idx}.weight")
        if w.ndim != 2 or w.shape[1] != widths_out[-1]:
            raise ExportError(f"`energy_head.{idx}.weight` has shape {list(w.shape)}, expected "
                              f"[n, {widths_out[-1]}]")
        t[f"readout.{k}.weight"] = tensor(w)
        t[f"readout.{k}.bias"] = tensor(_get(p, f"energy_head.{idx}.bias", [w.shape[0]]))
        widths_out.append(int(w.shape[0]))
    if widths_out[-1] != 1:
        raise ExportError(f"energy head ends with width {widths_out[-1]}, expected 1")
    hyper = {
        "features": int(F), "layers": L, "cutoff": float(centers[-1]),
        "cutoff_function": "cosine",
        "radial_basis": {"type": "gaussian", "size": int(K), "centers": centers.tolist(),
                         "gammas": (1.0 / widths ** 2).tolist()},
        "activation": "silu", "norm_epsilon": 0.0, "direction_epsilon": 1e-8,
        "shared_filters": False, "shared_interactions": False,
        "readout": widths_out, "energy_scale": 1.0, "energy_shift": 0.0,
    }
    return document("mlff-distiller", hyper, species_table(elements, rows), t, source,
                    provenance, notes)


def from_onnx(model, elements, source, provenance):
    from onnx import numpy_helper
    foreign = sorted({n.op_type for n in model.graph.node} & _FOREIGN_OPS)
    if foreign:
        raise ExportError(f"unsupported activation/radial basis in the ONNX graph: ops {foreign} "
                          "(the mlff-distiller family uses SiLU, Gaussian rbf, cosine cutoff)")
    params = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    return convert(params, elements, source, provenance)


def from_state_dict(sd, elements, source, provenance):
    for key in ("state_dict", "model_state_dict"):  # common checkpoint wrappers
        if isinstance(sd.get(key), dict):
            sd = sd[key]
    params = {}
    for k, v in sd.items():
        if hasattr(v, "detach"):
            params[k] = v.detach().cpu().double().numpy()
    if not params:
        raise ExportError("the state_dict holds no tensors")
    if any(k.endswith("representation.filter_net.weight") for k in params):
        raise ExportError("this is a schnetpack state_dict: export the whole model saved with "
                          "torch.save(model) instead (the state_dict lacks the hyperparameters)")
    return convert(params, elements, source, provenance)
