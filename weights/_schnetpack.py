"""Import the parts of schnetpack we need without `import schnetpack`.

schnetpack/__init__.py pulls in pytorch_lightning, which breaks with Debian's torch 1.13 on
Python 3.11; the representation, Atomwise and transforms do not need it. We register an empty
package module so that submodule imports resolve from the installed sources.
"""
import importlib.util
import sys
import types

if "schnetpack" not in sys.modules:
    _spec = importlib.util.find_spec("schnetpack")
    if _spec is None:
        raise ImportError("schnetpack is not installed")
    _pkg = types.ModuleType("schnetpack")
    _pkg.__path__ = list(_spec.submodule_search_locations)
    try:  # AtomisticModel records spk.__version__
        import importlib.metadata as _md
        _pkg.__version__ = _md.version("schnetpack")
    except Exception:
        _pkg.__version__ = "unknown"
    sys.modules["schnetpack"] = _pkg

import schnetpack.nn as snn  # noqa: E402
import schnetpack.properties as properties  # noqa: E402
from schnetpack.representation.painn import PaiNN  # noqa: E402
from schnetpack.atomistic.atomwise import Atomwise  # noqa: E402
try:  # transform/__init__ needs matscipy; only the whole-model exporter uses these
    from schnetpack.transform.atomistic import AddOffsets, ScaleProperty  # noqa: E402
except ImportError:  # e.g. a training machine with torch and ase only
    AddOffsets = ScaleProperty = None


def version():
    return getattr(sys.modules["schnetpack"], "__version__", "unknown")


def energy_forces(representation, atomwise, Z, R, idx_i, idx_j, offsets,
                  scale=1.0, mean=0.0, atomrefs=None):
    """Run a schnetpack PaiNN + Atomwise on one structure; returns (E, forces) via autograd.

    offsets: Cartesian image shift per pair, so Rij = R[j] - R[i] + offsets (schnetpack's own
    convention). E = sum_i scale*y_i + mean + atomrefs[Z_i]; dtype follows R.
    """
    import torch
    R = R.clone().detach().requires_grad_(True)
    Rij = R[idx_j] - R[idx_i] + offsets
    inputs = {properties.Z: Z, properties.Rij: Rij, properties.idx_i: idx_i,
              properties.idx_j: idx_j,
              properties.idx_m: torch.zeros(len(Z), dtype=torch.long),
              properties.n_atoms: torch.tensor([len(Z)])}
    inputs = representation(inputs)
    inputs = atomwise(inputs)
    y = inputs[atomwise.output_key].sum()
    E = scale * y + mean * len(Z)
    if atomrefs is not None:
        E = E + torch.as_tensor(atomrefs, dtype=R.dtype)[Z].sum()
    (g,) = torch.autograd.grad(E, R)
    return E.detach(), -g


def run_model(model, Z, R, idx_i, idx_j, offsets, energy_key="energy"):
    """Whole schnetpack model (input modules, postprocessors included) on one structure.

    Returns (E, forces) with forces from autograd of the model's own energy output.
    """
    import torch
    dt = next(model.parameters()).dtype
    R = torch.as_tensor(R, dtype=dt).clone().requires_grad_(True)
    inputs = {properties.Z: Z, properties.R: R, properties.idx_i: idx_i,
              properties.idx_j: idx_j, properties.offsets: torch.as_tensor(offsets, dtype=dt),
              properties.idx_m: torch.zeros(len(Z), dtype=torch.long),
              properties.n_atoms: torch.tensor([len(Z)]),
              properties.cell: torch.eye(3, dtype=dt)[None],
              properties.pbc: torch.zeros(1, 3, dtype=torch.bool)}
    E = model(inputs)[energy_key].sum()
    (g,) = torch.autograd.grad(E, R)
    return E.detach(), -g
