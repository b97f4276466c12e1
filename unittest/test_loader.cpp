// The loader accepts what the exporters write and rejects damaged files with a message that
// names the file, the key path and what was expected versus found.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "model_factory.h"
#include "weights/json_loader.h"

using namespace mlff;
using namespace mlff::test;
using nlohmann::json;

namespace {

json valid_doc(Family fam = Family::PaiNN) {
  ModelOptions o;
  o.family = fam;
  return to_json(random_model(o));
}

// Parses `text` and returns the error message ("" if it loaded).
std::string error_of(const std::string& text) {
  try {
    parse_model(text, "model.json");
  } catch (const WeightFormatError& e) {
    return e.what();
  }
  return "";
}

void expect_error(const json& doc, const std::vector<std::string>& parts) {
  const std::string msg = error_of(doc.dump(1));
  ASSERT_FALSE(msg.empty()) << "the damaged file was accepted";
  for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg;
}

TEST(Loader, AcceptsValidFilesOfBothFamilies) {
  for (Family fam : {Family::PaiNN, Family::Distiller}) {
    const json doc = valid_doc(fam);
    const ModelSpec m = parse_model(doc.dump(), "ok.json");
    EXPECT_EQ(m.family, fam);
    EXPECT_EQ(m.species.size(), 4u);
    EXPECT_EQ(m.tensors.size(), doc["tensors"].size());
    // Values survive the round trip bit for bit.
    const auto& t = doc["tensors"]["embedding.weight"]["data"];
    EXPECT_EQ(m.tensor("embedding.weight").data[5], t[5].get<double>());
  }
}

TEST(Loader, TruncatedJsonGivesLineAndColumn) {
  const std::string text = valid_doc().dump(1);
  const std::string msg = error_of(text.substr(0, text.size() / 2));
  EXPECT_NE(msg.find("model.json: malformed JSON at line "), std::string::npos) << msg;
  EXPECT_NE(msg.find("column"), std::string::npos) << msg;
}

TEST(Loader, MalformedJsonExactMessage) {
  // The position is given once (nlohmann's own "parse error at line ..." prefix is dropped).
  EXPECT_EQ(error_of("{\n  \"format\": }\n"),
            "model.json: malformed JSON at line 2, column 13: syntax error while parsing value - "
            "unexpected '}'; expected '[', '{', or a literal");
}

TEST(Loader, WrongVersion) {
  json d = valid_doc();
  d["version"] = 2;
  expect_error(d, {"model.json: version", "reads format version 1", "has version 2", "newer"});
}

TEST(Loader, MissingTensor) {
  json d = valid_doc();
  d["tensors"].erase("mixing.1.context.0.bias");
  expect_error(d, {"tensors[\"mixing.1.context.0.bias\"]", "missing required tensor"});
}

TEST(Loader, WrongShape) {
  json d = valid_doc();
  d["tensors"]["filter_net.weight"]["shape"] = {48, 5};
  expect_error(d, {"tensors[\"filter_net.weight\"].shape", "expected [48, 6], found [48, 5]"});
  json e = valid_doc();
  e["tensors"]["readout.0.bias"]["data"].erase(0);
  expect_error(e, {"tensors[\"readout.0.bias\"].data", "expected 4 numbers", "found 3"});
}

TEST(Loader, NonFiniteValues) {
  // JSON has no NaN/Inf literals: 1e999 overflows to inf, a bare NaN is malformed JSON.
  std::string text = valid_doc().dump();
  const std::string key = "\"readout.1.bias\":{\"data\":[";
  const size_t at = text.find(key);
  ASSERT_NE(at, std::string::npos);
  std::string inf = text;
  inf.insert(at + key.size(), "1e999,");
  inf.replace(inf.find("\"shape\":[1]", at), 11, "\"shape\":[2]");
  const std::string msg = error_of(inf);
  EXPECT_NE(msg.find("model.json: non-finite number 1e999 at line 1, column "), std::string::npos)
      << msg;
  std::string nan = text;
  nan.insert(at + key.size(), "NaN,");
  EXPECT_NE(error_of(nan).find("malformed JSON"), std::string::npos);
  json d = valid_doc();
  d["hyperparameters"]["energy_shift"] = "nan";
  expect_error(d, {"hyperparameters.energy_shift", "expected a number, found a string"});
}

TEST(Loader, UnknownFamily) {
  json d = valid_doc();
  d["family"] = "mace";
  expect_error(d, {"family", "expected \"painn\" or \"mlff-distiller\", found \"mace\""});
}

TEST(Loader, DuplicateElement) {
  json d = valid_doc();
  d["species"][2] = d["species"][1];
  expect_error(d, {"species[2].element", "duplicate element \"C\""});
}

TEST(Loader, NegativeCutoff) {
  json d = valid_doc();
  d["hyperparameters"]["cutoff"] = -4.0;
  expect_error(d, {"hyperparameters.cutoff", "expected a positive cutoff", "-4"});
}

TEST(Loader, OtherMistakes) {
  json d = valid_doc();
  d["hyperparameters"]["feature"] = 8;
  expect_error(d, {"hyperparameters.feature", "unknown key"});
  d = valid_doc();
  d["species"][0]["atomic_number"] = 2;
  expect_error(d, {"species[0].element", "does not have atomic number 2", "He"});
  d = valid_doc();
  d["species"][0]["embedding_row"] = 10;
  expect_error(d, {"species[0].embedding_row", "below 10"});
  d = valid_doc();
  d["tensors"]["extra"] = {{"shape", {1}}, {"data", {1.0}}};
  expect_error(d, {"tensors[\"extra\"]", "unknown tensor for family painn"});
  d = valid_doc();
  d.erase("units");
  expect_error(d, {"units", "missing required key"});
  d = valid_doc(Family::Distiller);
  d["tensors"]["interactions.0.filter.1.weight"]["shape"] = {24, 13};
  d["tensors"]["interactions.0.filter.1.weight"]["data"] = std::vector<double>(24 * 13, 0.1);
  expect_error(d, {"interactions.0.filter", "hidden widths disagree"});
}

TEST(Loader, NewerVersionExactMessage) {
  json d = valid_doc();
  d["version"] = 7;
  EXPECT_EQ(error_of(d.dump()),
            "model.json: version: this build reads format version 1, the file has version 7 "
            "(newer: update mlff/painn)");
}

// Found by review while writing the fuzz target: a shape whose element count overflows 64
// bits used to wrap around to the number of values given ((2^61 + 10) * 8 = 80 mod 2^64) and
// be accepted, so the engine would later read embedding rows that do not exist. Now the
// count is bounded at every step.
TEST(Loader, ForgedShapeCannotOverflowTheElementCount) {
  json d = valid_doc();  // F = 8, embedding.weight [10, 8]
  d["tensors"]["embedding.weight"]["shape"] = {(1L << 61) + 10, 8};
  EXPECT_EQ(error_of(d.dump()),
            "model.json: tensors[\"embedding.weight\"].shape: shape [2305843009213693962, 8] "
            "has more than 1099511627776 elements");
}

// Also found by review then: readout widths were read with get<int>(), so 2^32 + 1
// became 1 and a file with one-wide readout tensors was accepted as if it said so.
TEST(Loader, ReadoutWidthOutOfRange) {
  json d = valid_doc();
  d["hyperparameters"]["readout"][1] = 4294967297L;
  EXPECT_EQ(error_of(d.dump()),
            "model.json: hyperparameters.readout[1]: expected an integer in [1, 1048576], "
            "found 4294967297");
  d["hyperparameters"]["readout"][1] = 18446744073709551615UL;  // would wrap to -1 as a long
  expect_error(d, {"hyperparameters.readout[1]", "found 18446744073709551615"});
  d["hyperparameters"]["readout"][1] = 2.5;
  expect_error(d, {"hyperparameters.readout[1]", "expected an integer, found a number"});
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The fuzzer's seeds must be valid models (otherwise it fuzzes only the first check), and the
// inputs that once got through must stay rejected with a WeightFormatError.
TEST(Loader, FuzzSeedsLoadAndRegressionInputsAreRejected) {
  namespace fs = std::filesystem;
  int seeds = 0, regressions = 0;
  for (const auto& e : fs::directory_iterator(fs::path(MLFF_FUZZ_INPUTS) / "corpus")) {
    EXPECT_NO_THROW(parse_model(read_text(e.path()), e.path().string())) << e.path();
    ++seeds;
  }
  for (const auto& e : fs::directory_iterator(fs::path(MLFF_FUZZ_INPUTS) / "regressions")) {
    EXPECT_THROW(parse_model(read_text(e.path()), e.path().string()), WeightFormatError)
        << e.path();
    ++regressions;
  }
  EXPECT_GE(seeds, 5);
  EXPECT_GE(regressions, 2);
}

TEST(Loader, MissingFile) {
  try {
    load_model("/nonexistent/dir/model.json");
    FAIL() << "no error for a missing file";
  } catch (const WeightFormatError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/model.json: cannot open"),
              std::string::npos);
  }
}

TEST(Loader, DirectoryOrEmptyFile) {
  // Per process: other checkouts may run this test at the same time.
  const auto dir = std::filesystem::temp_directory_path() /
                   ("mlff_loader_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  try {
    load_model(dir.string());
    FAIL() << "no error for a directory";
  } catch (const WeightFormatError& e) {
    EXPECT_EQ(std::string(e.what()), dir.string() + ": is a directory, not a model file");
  }
  const auto empty = dir / "empty.json";
  std::ofstream(empty).close();
  try {
    load_model(empty.string());
    FAIL() << "no error for an empty file";
  } catch (const WeightFormatError& e) {
    EXPECT_EQ(std::string(e.what()), empty.string() + ": the model file is empty");
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
