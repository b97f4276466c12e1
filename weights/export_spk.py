"""schnetpack 2.x PaiNN + Atomwise -> format v1 document (family "painn")."""
import numpy as np
import torch
import torch.nn.functional as tF

from weights.export_common import ExportError, document, species_table, tensor
from weights import _schnetpack as spk


def _act_name(act, where):
    """"silu", "shifted_softplus" or None (identity) for a Dense activation."""
    if act is None or isinstance(act, torch.nn.Identity):
        return None
    if act is tF.silu or isinstance(act, torch.nn.SiLU):
        return "silu"
    if act is spk.snn.shifted_softplus:
        return "shifted_softplus"
    raise ExportError(f"{where}: unsupported activation {getattr(act, '__name__', act)!r} "
                      "(supported: silu, shifted_softplus)")


def _np(t):
    return t.detach().cpu().double().numpy()


def _dense(layer, where, acts, want_act):
    """Weight/bias tensors of an snn.Dense; records its activation in `acts`."""
    a = _act_name(getattr(layer, "activation", None), where)
    if want_act and a is None:
        raise ExportError(f"{where}: expected a hidden layer with an activation")
    if not want_act and a is not None:
        raise ExportError(f"{where}: expected no activation, found {a}")
    if a is not None:
        acts.add(a)
    w = _np(layer.weight)
    b = _np(layer.bias) if layer.bias is not None else np.zeros(w.shape[0])
    return tensor(w, where + ".weight"), tensor(b, where + ".bias")


def _radial(rb):
    if isinstance(rb, (spk.snn.GaussianRBF, spk.snn.GaussianRBFCentered)):
        mu, w = _np(rb.offsets), _np(rb.widths)
        return {"type": "gaussian", "size": int(mu.size), "centers": mu.tolist(),
                "gammas": (0.5 / w ** 2).tolist()}
    if isinstance(rb, spk.snn.BesselRBF):
        f = _np(rb.freqs)
        return {"type": "bessel", "size": int(f.size), "frequencies": f.tolist()}
    raise ExportError(f"unsupported radial basis {type(rb).__name__} "
                      "(supported: GaussianRBF, GaussianRBFCentered, BesselRBF)")


def export_schnetpack(representation, atomwise, elements, mean=0.0, atomrefs=None, scale=1.0,
                      source=None, provenance="", notes=None):
    """Format v1 document of a schnetpack PaiNN + Atomwise; E_i = scale*y_i + mean + atomrefs[Z_i]."""
    rep, aw = representation, atomwise
    if not isinstance(rep, spk.PaiNN):
        raise ExportError(f"representation is {type(rep).__name__}, expected schnetpack PaiNN")
    if not isinstance(rep.cutoff_fn, spk.snn.CosineCutoff):
        raise ExportError(f"unsupported cutoff function {type(rep.cutoff_fn).__name__} "
                          "(supported: CosineCutoff)")
    if len(rep.electronic_embeddings) or not isinstance(rep.embedding, torch.nn.Embedding) \
            or rep.embedding.max_norm is not None:
        raise ExportError("unsupported embedding: only a plain nn.Embedding of the atomic "
                          "number (no electronic embeddings) is supported")
    if aw.n_out != 1 or aw.aggregation_mode != "sum":
        raise ExportError(f"Atomwise must have n_out=1 and aggregation_mode='sum' "
                          f"(found {aw.n_out}, {aw.aggregation_mode!r})")
    F, L = rep.n_atom_basis, rep.n_interactions
    shared_i = L > 1 and all(m is rep.interactions[0] for m in rep.interactions)
    n_b = 1 if shared_i else L
    acts, t = set(), {}
    t["embedding.weight"] = tensor(_np(rep.embedding.weight), "embedding.weight")
    t["filter_net.weight"], t["filter_net.bias"] = _dense(rep.filter_net, "filter_net", acts, False)
    for l in range(n_b):
        ic, mx = rep.interactions[l].interatomic_context_net, rep.mixing[l].intraatomic_context_net
        for k in (0, 1):
            t[f"interactions.{l}.context.{k}.weight"], t[f"interactions.{l}.context.{k}.bias"] = \
                _dense(ic[k], f"interactions.{l}.context.{k}", acts, k == 0)
            t[f"mixing.{l}.context.{k}.weight"], t[f"mixing.{l}.context.{k}.bias"] = \
                _dense(mx[k], f"mixing.{l}.context.{k}", acts, k == 0)
        t[f"mixing.{l}.channel_mix.weight"] = tensor(_np(rep.mixing[l].mu_channel_mix.weight))
    layers = list(aw.outnet)
    readout = [F]
    for k, layer in enumerate(layers):
        t[f"readout.{k}.weight"], t[f"readout.{k}.bias"] = \
            _dense(layer, f"readout.{k}", acts, k < len(layers) - 1)
        readout.append(int(layer.weight.shape[0]))
    if len(acts) > 1:
        raise ExportError(f"mixed activations {sorted(acts)}; the format has one activation")
    hyper = {
        "features": int(F), "layers": int(L), "cutoff": float(rep.cutoff_fn.cutoff),
        "cutoff_function": "cosine", "radial_basis": _radial(rep.radial_basis),
        "activation": acts.pop() if acts else "silu",
        "norm_epsilon": float(rep.mixing[0].epsilon), "direction_epsilon": 0.0,
        "shared_filters": bool(rep.share_filters), "shared_interactions": bool(shared_i),
        "readout": readout, "energy_scale": float(scale), "energy_shift": float(mean),
    }
    rows = t["embedding.weight"]["shape"][0]
    refs = None if atomrefs is None else np.asarray(atomrefs, dtype=np.float64).ravel()
    species = species_table(elements, rows, refs)
    source = source or {"kind": "schnetpack", "file": "", "sha256": ""}
    return document("painn", hyper, species, t, source, provenance, notes or [],
                    {"schnetpack_version": spk.version()})


def find_parts(model):
    """(PaiNN, Atomwise, {scale, mean, atomrefs}) of a whole schnetpack model."""
    reps = [m for m in model.modules() if isinstance(m, spk.PaiNN)]
    if len(reps) != 1:
        raise ExportError(f"model holds {len(reps)} schnetpack PaiNN representations, expected 1")
    aws = [m for m in model.modules() if isinstance(m, spk.Atomwise)]
    if len(aws) > 1:
        aws = [m for m in aws if m.output_key == "energy"]
    if len(aws) != 1:
        raise ExportError("cannot find the energy output: expected one schnetpack Atomwise "
                          "(or one with output_key 'energy')")
    aw, key = aws[0], aws[0].output_key
    scale, mean, atomrefs = 1.0, 0.0, None
    post = model.postprocessors if getattr(model, "do_postprocessing", False) else []
    # fold the postprocessors, in order, into E = scale*y + mean*n + sum(atomrefs[Z])
    for pp in post:
        if isinstance(pp, spk.AddOffsets) and pp._property == key:
            if not pp.is_extensive:
                raise ExportError("AddOffsets with is_extensive=False is not supported")
            if pp.add_mean:
                mean += float(pp.mean.reshape(-1)[0])
            if pp.add_atomrefs:
                ar = _np(pp.atomref).ravel()
                atomrefs = ar if atomrefs is None else _padd(atomrefs, ar)
        elif isinstance(pp, spk.ScaleProperty) and key in (pp.input_key, pp.output_key):
            if pp.input_key != pp.output_key:
                raise ExportError("ScaleProperty writing the energy to another key is not supported")
            s = float(pp.scale.reshape(-1)[0])
            scale, mean = scale * s, mean * s
            atomrefs = None if atomrefs is None else atomrefs * s
        elif type(pp).__name__ not in ("CastTo32", "CastTo64", "CastMap"):
            raise ExportError(f"unsupported postprocessor {type(pp).__name__}")
    return reps[0], aw, {"scale": scale, "mean": mean, "atomrefs": atomrefs}


def _padd(a, b):
    n = max(len(a), len(b))
    return np.pad(a, (0, n - len(a))) + np.pad(b, (0, n - len(b)))


def from_module(model, elements, source, provenance):
    rep, aw, post = find_parts(model)
    return export_schnetpack(rep, aw, elements, post["mean"], post["atomrefs"], post["scale"],
                             source, provenance)
