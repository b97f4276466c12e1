#include "json_loader.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace mlff {

using nlohmann::json;

const char* family_name(Family f) { return f == Family::PaiNN ? "painn" : "mlff-distiller"; }

namespace {

const char* const kElements[] = {
    "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",
    "S",  "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn",
    "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh",
    "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd",
    "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re",
    "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th",
    "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db",
    "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};

}  // namespace

int atomic_number(const std::string& symbol) {
  for (int z = 1; z <= 118; ++z)
    if (symbol == kElements[z - 1]) return z;
  return 0;
}

namespace {

std::string type_of(const json& j) {
  if (j.is_null()) return "null";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number_integer() || j.is_number_unsigned()) return "an integer";
  if (j.is_number()) return "a number";
  if (j.is_string()) return "a string";
  if (j.is_array()) return "an array";
  return "an object";
}

std::string shape_str(const std::vector<long>& s) {
  std::ostringstream o;
  o << "[";
  for (size_t k = 0; k < s.size(); ++k) o << (k ? ", " : "") << s[k];
  o << "]";
  return o.str();
}

// Walks a JSON document and reports problems with the full key path.
std::string join(const std::string& path, const std::string& k) {
  return path.empty() ? k : path + "." + k;
}

class Checker {
 public:
  explicit Checker(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw WeightFormatError(file_ + ": " + path + ": " + what);
  }

  const json& key(const json& obj, const std::string& path, const std::string& k) const {
    auto it = obj.find(k);
    if (it == obj.end()) fail(join(path, k), "missing required key");
    return *it;
  }

  void only_keys(const json& obj, const std::string& path,
                 const std::set<std::string>& allowed) const {
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!allowed.count(it.key())) fail(join(path, it.key()), "unknown key");
  }

  const json& object(const json& obj, const std::string& path, const std::string& k) const {
    const json& v = key(obj, path, k);
    if (!v.is_object()) fail(join(path, k), "expected an object, found " + type_of(v));
    return v;
  }

  double number(const json& v, const std::string& path) const {
    if (!v.is_number()) fail(path, "expected a number, found " + type_of(v));
    double x = v.get<double>();
    if (!std::isfinite(x)) fail(path, "expected a finite number, found " + std::to_string(x));
    return x;
  }
  double number(const json& obj, const std::string& path, const std::string& k) const {
    return number(key(obj, path, k), join(path, k));
  }

  long integer(const json& v, const std::string& path, long lo, long hi) const {
    if (!(v.is_number_integer() || v.is_number_unsigned()))
      fail(path, "expected an integer, found " + type_of(v));
    // Compare before converting: a huge unsigned literal must not wrap into the range.
    const bool in_range = v.is_number_unsigned()
                              ? v.get<unsigned long>() <= static_cast<unsigned long>(hi)
                              : v.get<long>() <= hi;
    if (!in_range || v.get<long>() < lo)
      fail(path, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                     "], found " + v.dump());
    return v.get<long>();
  }
  long integer(const json& obj, const std::string& path, const std::string& k, long lo,
               long hi) const {
    return integer(key(obj, path, k), join(path, k), lo, hi);
  }

  bool boolean(const json& obj, const std::string& path, const std::string& k) const {
    const json& v = key(obj, path, k);
    if (!v.is_boolean()) fail(join(path, k), "expected a boolean, found " + type_of(v));
    return v.get<bool>();
  }

  std::string string(const json& obj, const std::string& path, const std::string& k) const {
    const json& v = key(obj, path, k);
    if (!v.is_string()) fail(join(path, k), "expected a string, found " + type_of(v));
    return v.get<std::string>();
  }

  std::vector<double> numbers(const json& obj, const std::string& path, const std::string& k,
                              size_t n) const {
    const json& v = key(obj, path, k);
    const std::string p = join(path, k);
    if (!v.is_array()) fail(p, "expected an array of " + std::to_string(n) + " numbers, found " +
                                   type_of(v));
    if (v.size() != n)
      fail(p, "expected " + std::to_string(n) + " numbers, found " + std::to_string(v.size()));
    std::vector<double> out(n);
    for (size_t i = 0; i < n; ++i) out[i] = number(v[i], p + "[" + std::to_string(i) + "]");
    return out;
  }

 private:
  std::string file_;
};

std::string line_col(const std::string& text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

void read_hyperparameters(const Checker& c, const json& h, ModelSpec& m) {
  const std::string p = "hyperparameters";
  c.only_keys(h, p,
              {"features", "layers", "cutoff", "cutoff_function", "radial_basis", "activation",
               "norm_epsilon", "direction_epsilon", "shared_filters", "shared_interactions",
               "readout", "energy_scale", "energy_shift"});
  m.features = static_cast<int>(c.integer(h, p, "features", 1, 4096));
  m.layers = static_cast<int>(c.integer(h, p, "layers", 1, 64));
  m.cutoff = c.number(h, p, "cutoff");
  if (m.cutoff <= 0.0)
    c.fail(p + ".cutoff", "expected a positive cutoff in Angstrom, found " +
                              std::to_string(m.cutoff));
  std::string fc = c.string(h, p, "cutoff_function");
  if (fc != "cosine") c.fail(p + ".cutoff_function", "expected \"cosine\", found \"" + fc + "\"");

  std::string act = c.string(h, p, "activation");
  if (act == "silu")
    m.activation = Activation::SiLU;
  else if (act == "shifted_softplus")
    m.activation = Activation::ShiftedSoftplus;
  else
    c.fail(p + ".activation", "expected \"silu\" or \"shifted_softplus\", found \"" + act + "\"");

  m.norm_epsilon = c.number(h, p, "norm_epsilon");
  m.direction_epsilon = c.number(h, p, "direction_epsilon");
  if (m.norm_epsilon < 0) c.fail(p + ".norm_epsilon", "expected a number >= 0");
  if (m.direction_epsilon < 0) c.fail(p + ".direction_epsilon", "expected a number >= 0");
  m.shared_filters = c.boolean(h, p, "shared_filters");
  m.shared_interactions = c.boolean(h, p, "shared_interactions");
  m.energy_scale = c.number(h, p, "energy_scale");
  m.energy_shift = c.number(h, p, "energy_shift");

  const json& rb = c.object(h, p, "radial_basis");
  const std::string pb = p + ".radial_basis";
  std::string type = c.string(rb, pb, "type");
  size_t k = static_cast<size_t>(c.integer(rb, pb, "size", 1, 1024));
  if (type == "gaussian") {
    c.only_keys(rb, pb, {"type", "size", "centers", "gammas"});
    m.basis = BasisType::Gaussian;
    m.centers = c.numbers(rb, pb, "centers", k);
    m.gammas = c.numbers(rb, pb, "gammas", k);
    for (size_t i = 0; i < k; ++i)
      if (m.gammas[i] <= 0)
        c.fail(pb + ".gammas[" + std::to_string(i) + "]", "expected a positive number");
  } else if (type == "bessel") {
    c.only_keys(rb, pb, {"type", "size", "frequencies"});
    m.basis = BasisType::Bessel;
    m.frequencies = c.numbers(rb, pb, "frequencies", k);
  } else {
    c.fail(pb + ".type", "expected \"gaussian\" or \"bessel\", found \"" + type + "\"");
  }

  const json& ro = c.key(h, p, "readout");
  if (!ro.is_array() || ro.size() < 2)
    c.fail(p + ".readout", "expected an array of at least 2 layer widths, found " + type_of(ro));
  // Widths are bounded so that they fit an int (a wider value used to be truncated silently).
  for (size_t i = 0; i < ro.size(); ++i)
    m.readout.push_back(
        static_cast<int>(c.integer(ro[i], p + ".readout[" + std::to_string(i) + "]", 1, 1 << 20)));
  if (m.readout.front() != m.features)
    c.fail(p + ".readout[0]", "expected the feature width " + std::to_string(m.features) +
                                  ", found " + std::to_string(m.readout.front()));
  if (m.readout.back() != 1)
    c.fail(p + ".readout[" + std::to_string(ro.size() - 1) + "]",
           "expected 1 (a scalar energy), found " + std::to_string(m.readout.back()));

  if (m.family == Family::Distiller && (m.shared_filters || m.shared_interactions))
    c.fail(p, "mlff-distiller models have neither shared filters nor shared interactions");
}

void read_species(const Checker& c, const json& doc, ModelSpec& m) {
  const json& sp = c.key(doc, "", "species");
  if (!sp.is_array() || sp.empty())
    c.fail("species", "expected a non-empty array, found " + type_of(sp));
  std::set<std::string> seen_el;
  std::set<int> seen_z;
  for (size_t i = 0; i < sp.size(); ++i) {
    const std::string p = "species[" + std::to_string(i) + "]";
    if (!sp[i].is_object()) c.fail(p, "expected an object, found " + type_of(sp[i]));
    c.only_keys(sp[i], p, {"element", "atomic_number", "embedding_row", "reference_energy"});
    Species s;
    s.element = c.string(sp[i], p, "element");
    s.atomic_number = static_cast<int>(c.integer(sp[i], p, "atomic_number", 1, 118));
    s.embedding_row = static_cast<int>(c.integer(sp[i], p, "embedding_row", 0, 1 << 20));
    s.reference_energy = c.number(sp[i], p, "reference_energy");
    if (s.element != kElements[s.atomic_number - 1])
      c.fail(p + ".element", "element \"" + s.element + "\" does not have atomic number " +
                                 std::to_string(s.atomic_number) + " (that is " +
                                 kElements[s.atomic_number - 1] + ")");
    if (!seen_el.insert(s.element).second)
      c.fail(p + ".element", "duplicate element \"" + s.element + "\"");
    if (!seen_z.insert(s.atomic_number).second)
      c.fail(p + ".atomic_number", "duplicate atomic number " + std::to_string(s.atomic_number));
    m.species.push_back(s);
  }
}

// The tensors a family needs, with their shapes; -1 marks a dimension read from the file
// (hidden widths of the mlff-distiller MLPs, embedding rows).
std::map<std::string, std::vector<long>> expected_tensors(const ModelSpec& m) {
  const long F = m.features, K = m.basis_size();
  std::map<std::string, std::vector<long>> t;
  t["embedding.weight"] = {-1, F};
  for (size_t k = 0; k + 1 < m.readout.size(); ++k) {
    const std::string p = "readout." + std::to_string(k);
    t[p + ".weight"] = {m.readout[k + 1], m.readout[k]};
    t[p + ".bias"] = {m.readout[k + 1]};
  }
  if (m.family == Family::PaiNN) {
    const long nf = m.shared_filters ? 1 : m.layers;
    const long nb = m.shared_interactions ? 1 : m.layers;
    t["filter_net.weight"] = {3 * F * nf, K};
    t["filter_net.bias"] = {3 * F * nf};
    for (long l = 0; l < nb; ++l) {
      const std::string pi = "interactions." + std::to_string(l) + ".context.";
      const std::string pm = "mixing." + std::to_string(l) + ".";
      t[pi + "0.weight"] = {F, F};
      t[pi + "0.bias"] = {F};
      t[pi + "1.weight"] = {3 * F, F};
      t[pi + "1.bias"] = {3 * F};
      t[pm + "channel_mix.weight"] = {2 * F, F};
      t[pm + "context.0.weight"] = {F, 2 * F};
      t[pm + "context.0.bias"] = {F};
      t[pm + "context.1.weight"] = {3 * F, F};
      t[pm + "context.1.bias"] = {3 * F};
    }
  } else {
    for (long l = 0; l < m.layers; ++l) {
      const std::string p = "interactions." + std::to_string(l) + ".";
      t[p + "filter.0.weight"] = {-1, K};
      t[p + "filter.0.bias"] = {-1};
      t[p + "filter.1.weight"] = {3 * F, -1};
      t[p + "filter.1.bias"] = {3 * F};
      t[p + "update.0.weight"] = {-1, 2 * F};
      t[p + "update.0.bias"] = {-1};
      t[p + "update.1.weight"] = {3 * F, -1};
      t[p + "update.1.bias"] = {3 * F};
      t[p + "mixing_matrix"] = {3, 3};
    }
  }
  return t;
}

Tensor read_tensor(const Checker& c, const json& v, const std::string& p,
                   const std::vector<long>& want) {
  if (!v.is_object()) c.fail(p, "expected an object {shape, data}, found " + type_of(v));
  c.only_keys(v, p, {"shape", "data"});
  const json& sh = c.key(v, p, "shape");
  if (!sh.is_array()) c.fail(p + ".shape", "expected an array, found " + type_of(sh));
  Tensor t;
  for (size_t i = 0; i < sh.size(); ++i) {
    if (!sh[i].is_number_integer() || sh[i].get<long>() < 1)
      c.fail(p + ".shape[" + std::to_string(i) + "]", "expected a positive integer");
    t.shape.push_back(sh[i].get<long>());
  }
  bool ok = t.shape.size() == want.size();
  for (size_t i = 0; ok && i < want.size(); ++i) ok = want[i] < 0 || want[i] == t.shape[i];
  if (!ok) {
    std::vector<long> shown(want);
    std::string s = "[";
    for (size_t i = 0; i < shown.size(); ++i)
      s += (i ? ", " : "") + (shown[i] < 0 ? std::string("*") : std::to_string(shown[i]));
    c.fail(p + ".shape", "expected " + s + "], found " + shape_str(t.shape));
  }
  // The element count is bounded at every step: a forged shape used to overflow the product,
  // wrap around to the number of values given and be accepted, leaving the engine to read
  // rows that do not exist. 2^40 numbers would need a file of terabytes.
  constexpr size_t kMaxElements = size_t(1) << 40;
  size_t n = 1;
  for (long d : t.shape) {
    if (static_cast<size_t>(d) > kMaxElements / n)
      c.fail(p + ".shape", "shape " + shape_str(t.shape) + " has more than " +
                               std::to_string(kMaxElements) + " elements");
    n *= static_cast<size_t>(d);
  }
  const json& data = c.key(v, p, "data");
  if (!data.is_array()) c.fail(p + ".data", "expected an array, found " + type_of(data));
  const size_t have = data.size();
  if (have != n)
    c.fail(p + ".data", "expected " + std::to_string(n) + " numbers for shape " +
                            shape_str(t.shape) + ", found " + std::to_string(have));
  t.data.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const json& x = data[i];
    if (!x.is_number())
      c.fail(p + ".data[" + std::to_string(i) + "]", "expected a number, found " + type_of(x));
    t.data[i] = x.get<double>();
    if (!std::isfinite(t.data[i]))
      c.fail(p + ".data[" + std::to_string(i) + "]", "expected a finite number, found " +
                                                       std::to_string(t.data[i]));
  }
  return t;
}

void read_tensors(const Checker& c, const json& doc, ModelSpec& m) {
  const json& ts = c.object(doc, "", "tensors");
  const auto want = expected_tensors(m);
  for (auto it = ts.begin(); it != ts.end(); ++it)
    if (!want.count(it.key()))
      c.fail("tensors[\"" + it.key() + "\"]",
             std::string("unknown tensor for family ") + family_name(m.family));
  for (const auto& [name, shape] : want) {
    auto it = ts.find(name);
    if (it == ts.end()) c.fail("tensors[\"" + name + "\"]", "missing required tensor");
    m.tensors[name] = read_tensor(c, *it, "tensors[\"" + name + "\"]", shape);
  }
  // Hidden widths must agree between the two layers of each mlff-distiller MLP.
  if (m.family == Family::Distiller) {
    for (int l = 0; l < m.layers; ++l)
      for (const char* mlp : {"filter", "update"}) {
        const std::string p = "interactions." + std::to_string(l) + "." + mlp;
        long h = m.tensors[p + ".0.weight"].shape[0];
        if (m.tensors[p + ".0.bias"].shape[0] != h || m.tensors[p + ".1.weight"].shape[1] != h)
          c.fail("tensors[\"" + p + ".*\"]", "hidden widths disagree: " + p + ".0.weight has " +
                                                  std::to_string(h) + " rows");
      }
  }
  const long rows = m.tensors["embedding.weight"].shape[0];
  for (size_t i = 0; i < m.species.size(); ++i)
    if (m.species[i].embedding_row >= rows)
      c.fail("species[" + std::to_string(i) + "].embedding_row",
             "expected a row below " + std::to_string(rows) + " (rows of embedding.weight), found " +
                 std::to_string(m.species[i].embedding_row));
}

}  // namespace

ModelSpec parse_model(const std::string& text, const std::string& name) {
  Checker c(name);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    // Keep nlohmann's explanation, not its "[json.exception...] parse error at line..." prefix
    // (which would repeat the position).
    const std::string what = e.what();
    const size_t at = what.find("parse error");
    const size_t colon = at == std::string::npos ? at : what.find(": ", at);
    throw WeightFormatError(name + ": malformed JSON at " + line_col(text, e.byte ? e.byte - 1 : 0) +
                            ": " + (colon == std::string::npos ? what : what.substr(colon + 2)));
  } catch (const json::out_of_range& e) {
    // A literal like 1e999 overflows a double; nlohmann names it but not where it is.
    const std::string what = e.what();
    const size_t q0 = what.find('\''), q1 = what.rfind('\'');
    const std::string lit = q0 < q1 ? what.substr(q0 + 1, q1 - q0 - 1) : "";
    const size_t at = lit.empty() ? std::string::npos : text.find(lit);
    throw WeightFormatError(name + ": non-finite number " + lit +
                            (at == std::string::npos ? "" : " at " + line_col(text, at)) +
                            ": every value must be a finite double");
  }
  if (!doc.is_object()) c.fail("(top level)", "expected an object, found " + type_of(doc));
  c.only_keys(doc, "", {"format", "version", "family", "units", "hyperparameters", "species",
                        "tensors", "metadata"});
  std::string fmt = c.string(doc, "", "format");
  if (fmt != "mlff-painn-weights")
    c.fail("format", "expected \"mlff-painn-weights\", found \"" + fmt + "\"");
  const json& ver = c.key(doc, "", "version");
  if (!ver.is_number_integer()) c.fail("version", "expected an integer, found " + type_of(ver));
  if (ver.get<long>() != kFormatVersion)
    c.fail("version", "this build reads format version " + std::to_string(kFormatVersion) +
                           ", the file has version " + std::to_string(ver.get<long>()) +
                           (ver.get<long>() > kFormatVersion ? " (newer: update mlff/painn)" : ""));

  ModelSpec m;
  m.source = name;
  std::string fam = c.string(doc, "", "family");
  if (fam == "painn")
    m.family = Family::PaiNN;
  else if (fam == "mlff-distiller")
    m.family = Family::Distiller;
  else
    c.fail("family", "expected \"painn\" or \"mlff-distiller\", found \"" + fam + "\"");

  const json& units = c.object(doc, "", "units");
  c.only_keys(units, "units", {"energy", "length"});
  if (c.string(units, "units", "energy") != "eV")
    c.fail("units.energy", "expected \"eV\", found \"" + units["energy"].get<std::string>() + "\"");
  if (c.string(units, "units", "length") != "angstrom")
    c.fail("units.length",
           "expected \"angstrom\", found \"" + units["length"].get<std::string>() + "\"");

  read_hyperparameters(c, c.object(doc, "", "hyperparameters"), m);
  read_species(c, doc, m);
  read_tensors(c, doc, m);
  c.object(doc, "", "metadata");

  if (m.family == Family::Distiller) {
    m.warnings.push_back(
        "mlff-distiller model: its radial filter does not vanish at the cutoff (" +
        std::to_string(m.cutoff) +
        " A), so the energy jumps when a pair crosses it; expect imperfect NVE energy "
        "conservation");
    m.warnings.push_back(
        "mlff-distiller model: its 3x3 mixing matrix acts on x,y,z, so the energy is not "
        "rotation invariant (it depends on the orientation of the system)");
  }
  return m;
}

ModelSpec load_model(const std::string& path) {
  // A directory opens like a file on Linux and reads as empty: say what it is instead.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw WeightFormatError(path + ": is a directory, not a model file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw WeightFormatError(path + ": cannot open the model file for reading");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw WeightFormatError(path + ": error while reading the model file");
  const std::string text = ss.str();
  if (text.empty()) throw WeightFormatError(path + ": the model file is empty");
  return parse_model(text, path);
}

}  // namespace mlff
