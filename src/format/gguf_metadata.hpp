#pragma once
// The key/value section of a GGUF file. Parsing walks every value once,
// checking every length against the bytes left in the file before anything is
// allocated; arrays stay in the file (a view) until a typed getter copies one.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "format/gguf_types.hpp"
#include "format/mapped_file.hpp"

namespace tplm {

struct GgufValue {
  GgufType type = GgufType::Uint8;
  uint64_t offset = 0;                   // file offset of the value (after its type id)
  uint64_t bits = 0;                     // integers (sign-extended when signed) and BOOL
  double number = 0.0;                   // FLOAT32 / FLOAT64
  std::string_view text;                 // STRING: a view into the mapped file
  GgufType elem_type = GgufType::Uint8;  // ARRAY
  uint64_t count = 0;                    // ARRAY: number of elements
  uint64_t elems_offset = 0;             // ARRAY: file offset of the first element
};

struct GgufKv {
  std::string key;
  uint64_t offset = 0;  // file offset of the key
  GgufValue value;
};

class GgufMetadata {
 public:
  // Reads n_kv pairs at the cursor; the mapped bytes must outlive this object.
  void parse(Cursor& cur, uint64_t n_kv);

  const std::vector<GgufKv>& items() const { return items_; }
  const GgufKv* find(std::string_view key) const;

  // Typed getters: nullopt when the key is absent, FormatError at the value's
  // offset when it has another type. Integers accept any integer type.
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;  // FLOAT32/64 or integer
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::vector<std::string>> get_strings(std::string_view key) const;
  std::optional<std::vector<float>> get_floats(std::string_view key) const;
  std::optional<std::vector<int32_t>> get_int32s(std::string_view key) const;

  // The value as one printable line: arrays as "[N x TYPE] first, values, ...".
  std::string printable(const GgufKv& kv) const;

 private:
  [[noreturn]] void wrong_type(const GgufKv& kv, const char* wanted) const;
  const GgufKv* find_array(std::string_view key, GgufType elem, const char* wanted) const;

  std::string file_;
  Cursor base_{"", nullptr, 0};  // a cursor over the whole file, copied to read arrays
  std::vector<GgufKv> items_;
  std::unordered_map<std::string, size_t> index_;  // key -> position in items_
};

// A GGUF string (uint64 length + bytes) as a view into the file. The length is
// checked against the bytes left before anything else happens.
std::string_view read_gguf_string(Cursor& cur, const char* what);

}  // namespace tplm
