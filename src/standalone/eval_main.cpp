// mlff_painn_eval: energy, forces and virial of one configuration, printed as JSON.
// Used by the Python tests to compare the engine with schnetpack, ONNX Runtime and the
// PyTorch reference, and handy to check a model file outside LAMMPS.
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../weights/json_loader.h"
#include "evaluate.h"

namespace {

using nlohmann::json;

const char* kUsage =
    "usage: mlff_painn_eval --model MODEL.json --structure STRUCTURE.json "
    "[--precision fp64|fp32|mixed] [--table N]\n"
    "STRUCTURE.json: {\"symbols\": [..], \"positions\": [[x,y,z],..], "
    "\"cell\": [[..],[..],[..]] or null, \"pbc\": [bool,bool,bool]}\n";

mlff::System read_structure(const std::string& path, const mlff::ModelSpec& spec) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open the structure file");
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    throw std::runtime_error(path + ": malformed JSON: " + e.what());
  }
  mlff::System sys;
  const auto& sym = doc.at("symbols");
  const auto& pos = doc.at("positions");
  if (sym.size() != pos.size())
    throw std::runtime_error(path + ": symbols and positions have different lengths");
  for (size_t i = 0; i < sym.size(); ++i) {
    const std::string el = sym[i].get<std::string>();
    const int s = spec.species_index(el);
    if (s < 0)
      throw std::runtime_error(path + ": atom " + std::to_string(i) + " is element " + el +
                               ", which the model " + spec.source + " does not contain");
    sys.species.push_back(s);
    sys.x.push_back({pos[i].at(0).get<double>(), pos[i].at(1).get<double>(),
                     pos[i].at(2).get<double>()});
  }
  if (doc.contains("cell") && !doc["cell"].is_null()) {
    for (int a = 0; a < 3; ++a)
      for (int k = 0; k < 3; ++k) sys.cell[a][k] = doc["cell"].at(a).at(k).get<double>();
    sys.pbc = {true, true, true};
    if (doc.contains("pbc"))
      for (int a = 0; a < 3; ++a) sys.pbc[a] = doc["pbc"].at(a).get<bool>();
  }
  return sys;
}

template <class EngineT>
json run(const mlff::ModelSpec& spec, const mlff::System& sys, int table) {
  EngineT engine(spec, table);
  const mlff::Result r = mlff::evaluate(engine, sys);
  json out;
  out["energy"] = r.energy;
  out["atom_energies"] = r.eatom;
  out["forces"] = r.forces;
  out["virial"] = r.virial;
  out["warnings"] = spec.warnings;
  out["pairs"] = r.pairs;
  out["workspace_bytes"] = r.workspace_bytes;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, structure, precision = "fp64", table = "0";
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if ((a == "--model" || a == "--structure" || a == "--precision" || a == "--table") && k + 1 < argc) {
      (a == "--model" ? model : a == "--structure" ? structure : a == "--table" ? table : precision) = argv[++k];
    } else if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else {
      std::cerr << "mlff_painn_eval: unexpected argument '" << a << "'\n" << kUsage;
      return 2;
    }
  }
  if (model.empty() || structure.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  Kokkos::initialize();
  int rc = 0;
  try {
    const mlff::ModelSpec spec = mlff::load_model(model);
    const mlff::System sys = read_structure(structure, spec);
    json out;
    switch (mlff::parse_precision(precision)) {
      case mlff::Precision::FP64: out = run<mlff::EngineFP64>(spec, sys, std::stoi(table)); break;
      case mlff::Precision::FP32: out = run<mlff::EngineFP32>(spec, sys, std::stoi(table)); break;
      case mlff::Precision::Mixed: out = run<mlff::EngineMixed>(spec, sys, std::stoi(table)); break;
    }
    std::cout << out.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "mlff_painn_eval: " << e.what() << "\n";
    rc = 2;
  }
  Kokkos::finalize();
  return rc;
}
