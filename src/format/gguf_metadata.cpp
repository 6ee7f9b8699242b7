#include "format/gguf_metadata.hpp"

#include <fmt/format.h>

#include <limits>

#include "format/format_error.hpp"

namespace tplm {

namespace {

// Nested arrays deeper than this are refused: no real file needs them, and the
// bound keeps the recursion below off the stack limit.
constexpr int kMaxArrayDepth = 8;
// Smallest encodings, used to reject counts the remaining bytes cannot hold.
constexpr uint64_t kMinStringBytes = 8;      // uint64 length, no bytes
constexpr uint64_t kMinArrayBytes = 12;      // uint32 type + uint64 count
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;  // empty key, type, one byte of value

bool is_signed(GgufType t) {
  return t == GgufType::Int8 || t == GgufType::Int16 || t == GgufType::Int32 ||
         t == GgufType::Int64;
}

// Reads one fixed-size value into bits (integers, sign-extended; BOOL) or number.
void read_scalar(Cursor& cur, GgufType t, GgufValue& v) {
  switch (t) {
    case GgufType::Uint8:
      v.bits = cur.read<uint8_t>("UINT8 value");
      break;
    case GgufType::Int8:
      v.bits = static_cast<uint64_t>(int64_t{cur.read<int8_t>("INT8 value")});
      break;
    case GgufType::Uint16:
      v.bits = cur.read<uint16_t>("UINT16 value");
      break;
    case GgufType::Int16:
      v.bits = static_cast<uint64_t>(int64_t{cur.read<int16_t>("INT16 value")});
      break;
    case GgufType::Uint32:
      v.bits = cur.read<uint32_t>("UINT32 value");
      break;
    case GgufType::Int32:
      v.bits = static_cast<uint64_t>(int64_t{cur.read<int32_t>("INT32 value")});
      break;
    case GgufType::Uint64:
      v.bits = cur.read<uint64_t>("UINT64 value");
      break;
    case GgufType::Int64:
      v.bits = static_cast<uint64_t>(cur.read<int64_t>("INT64 value"));
      break;
    case GgufType::Bool:
      v.bits = cur.read<uint8_t>("BOOL value") != 0 ? 1 : 0;
      break;
    case GgufType::Float32:
      v.number = double{cur.read<float>("FLOAT32 value")};
      break;
    case GgufType::Float64:
      v.number = cur.read<double>("FLOAT64 value");
      break;
    case GgufType::String:
    case GgufType::Array:
      break;
  }
}

GgufType read_type(Cursor& cur, const char* what) {
  const uint64_t at = cur.pos();
  const uint32_t t = cur.read<uint32_t>(what);
  if (t >= kGgufTypeCount)
    throw FormatError(
        cur.file(), at,
        fmt::format("{} is {}, not a GGUF value type (0..{})", what, t, kGgufTypeCount - 1));
  return static_cast<GgufType>(t);
}

// Walks count elements of type t without keeping them, checking every length.
void skip_elements(Cursor& cur, GgufType t, uint64_t count, int depth) {
  const uint64_t unit = t == GgufType::String  ? kMinStringBytes
                        : t == GgufType::Array ? kMinArrayBytes
                                               : gguf_type_size(t);
  if (count > cur.remaining() / unit)
    cur.fail(
        fmt::format("array of {} {} elements needs at least {} bytes per element but only "
                    "{} bytes remain: the count is corrupt or the file is truncated",
                    count, gguf_type_name(static_cast<uint32_t>(t)), unit, cur.remaining()));
  if (t == GgufType::String) {
    for (uint64_t i = 0; i < count; ++i) read_gguf_string(cur, "array string");
  } else if (t == GgufType::Array) {
    if (depth >= kMaxArrayDepth)
      cur.fail(fmt::format("arrays nested more than {} deep", kMaxArrayDepth));
    for (uint64_t i = 0; i < count; ++i) {
      const GgufType inner = read_type(cur, "nested array element type");
      skip_elements(cur, inner, cur.read<uint64_t>("nested array count"), depth + 1);
    }
  } else {
    cur.skip(count * unit, "array elements");
  }
}

std::string escaped(std::string_view s, size_t max_len) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max_len; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\n')
      out += "\\n";
    else if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  if (s.size() > max_len) out += fmt::format("... ({} bytes)", s.size());
  return out;
}

std::string scalar_text(const GgufValue& v) {
  switch (v.type) {
    case GgufType::Bool:
      return v.bits ? "true" : "false";
    case GgufType::Float32:
      return fmt::format("{}", static_cast<float>(v.number));
    case GgufType::Float64:
      return fmt::format("{}", v.number);
    case GgufType::String:
      return escaped(v.text, 256);
    default:
      return is_signed(v.type) ? fmt::format("{}", static_cast<int64_t>(v.bits))
                               : fmt::format("{}", v.bits);
  }
}

}  // namespace

std::string_view read_gguf_string(Cursor& cur, const char* what) {
  const uint64_t len = cur.read<uint64_t>(what);
  if (len > cur.remaining())
    cur.fail(
        fmt::format("{} has length {} but only {} bytes remain in the file: the length is "
                    "corrupt or the file is truncated",
                    what, len, cur.remaining()));
  return cur.bytes(len, what);
}

void GgufMetadata::parse(Cursor& cur, uint64_t n_kv) {
  file_ = cur.file();
  base_ = cur;
  if (n_kv > cur.remaining() / kMinKvBytes)
    cur.fail(
        fmt::format("the header counts {} metadata pairs but the {} bytes left can hold at "
                    "most {}: the count is corrupt or the file is truncated",
                    n_kv, cur.remaining(), cur.remaining() / kMinKvBytes));
  for (uint64_t i = 0; i < n_kv; ++i) {
    GgufKv kv;
    kv.offset = cur.pos();
    kv.key = std::string(read_gguf_string(cur, "metadata key"));
    if (index_.count(kv.key))
      throw FormatError(file_, kv.offset, fmt::format("metadata key {} appears twice", kv.key));
    GgufValue& v = kv.value;
    v.type = read_type(cur, "metadata value type");
    v.offset = cur.pos();
    if (v.type == GgufType::String) {
      v.text = read_gguf_string(cur, "metadata string");
    } else if (v.type == GgufType::Array) {
      v.elem_type = read_type(cur, "array element type");
      v.count = cur.read<uint64_t>("array count");
      v.elems_offset = cur.pos();
      skip_elements(cur, v.elem_type, v.count, 1);
    } else {
      read_scalar(cur, v.type, v);
    }
    index_.emplace(kv.key, items_.size());
    items_.push_back(std::move(kv));
  }
}

const GgufKv* GgufMetadata::find(std::string_view key) const {
  auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &items_[it->second];
}

void GgufMetadata::wrong_type(const GgufKv& kv, const char* wanted) const {
  std::string got = gguf_type_name(static_cast<uint32_t>(kv.value.type));
  if (kv.value.type == GgufType::Array)
    got = fmt::format("ARRAY of {}", gguf_type_name(static_cast<uint32_t>(kv.value.elem_type)));
  throw FormatError(file_, kv.offset,
                    fmt::format("metadata key {} has type {} but must be {}", kv.key, got, wanted));
}

std::optional<int64_t> GgufMetadata::get_int(std::string_view key) const {
  const GgufKv* kv = find(key);
  if (!kv) return std::nullopt;
  if (!gguf_is_integer(kv->value.type)) wrong_type(*kv, "an integer");
  if (!is_signed(kv->value.type) && kv->value.bits > uint64_t{std::numeric_limits<int64_t>::max()})
    throw FormatError(file_, kv->value.offset,
                      fmt::format("metadata key {} = {} is too large", key, kv->value.bits));
  return static_cast<int64_t>(kv->value.bits);
}

std::optional<double> GgufMetadata::get_float(std::string_view key) const {
  const GgufKv* kv = find(key);
  if (!kv) return std::nullopt;
  const GgufType t = kv->value.type;
  if (t == GgufType::Float32 || t == GgufType::Float64) return kv->value.number;
  if (!gguf_is_integer(t)) wrong_type(*kv, "a number");
  return is_signed(t) ? static_cast<double>(static_cast<int64_t>(kv->value.bits))
                      : static_cast<double>(kv->value.bits);
}

std::optional<std::string> GgufMetadata::get_string(std::string_view key) const {
  const GgufKv* kv = find(key);
  if (!kv) return std::nullopt;
  if (kv->value.type != GgufType::String) wrong_type(*kv, "a STRING");
  return std::string(kv->value.text);
}

std::optional<bool> GgufMetadata::get_bool(std::string_view key) const {
  const GgufKv* kv = find(key);
  if (!kv) return std::nullopt;
  if (kv->value.type != GgufType::Bool) wrong_type(*kv, "a BOOL");
  return kv->value.bits != 0;
}

const GgufKv* GgufMetadata::find_array(std::string_view key, GgufType elem,
                                       const char* wanted) const {
  const GgufKv* kv = find(key);
  if (!kv) return nullptr;
  const bool ok = kv->value.type == GgufType::Array &&
                  (kv->value.elem_type == elem ||
                   (elem == GgufType::Int32 && gguf_is_integer(kv->value.elem_type)) ||
                   (elem == GgufType::Float32 && kv->value.elem_type == GgufType::Float64));
  if (!ok) wrong_type(*kv, wanted);
  return kv;
}

std::optional<std::vector<std::string>> GgufMetadata::get_strings(std::string_view key) const {
  const GgufKv* kv = find_array(key, GgufType::String, "an ARRAY of STRING");
  if (!kv) return std::nullopt;
  Cursor cur = base_;
  cur.seek(kv->value.elems_offset);
  std::vector<std::string> out;
  out.reserve(kv->value.count);  // bounded: parse() checked count against the file
  for (uint64_t i = 0; i < kv->value.count; ++i)
    out.emplace_back(read_gguf_string(cur, "array string"));
  return out;
}

std::optional<std::vector<float>> GgufMetadata::get_floats(std::string_view key) const {
  const GgufKv* kv = find_array(key, GgufType::Float32, "an ARRAY of FLOAT32");
  if (!kv) return std::nullopt;
  Cursor cur = base_;
  cur.seek(kv->value.elems_offset);
  std::vector<float> out;
  out.reserve(kv->value.count);
  GgufValue v;
  for (uint64_t i = 0; i < kv->value.count; ++i) {
    read_scalar(cur, kv->value.elem_type, v);
    out.push_back(static_cast<float>(v.number));
  }
  return out;
}

std::optional<std::vector<int32_t>> GgufMetadata::get_int32s(std::string_view key) const {
  const GgufKv* kv = find_array(key, GgufType::Int32, "an ARRAY of integers");
  if (!kv) return std::nullopt;
  Cursor cur = base_;
  cur.seek(kv->value.elems_offset);
  std::vector<int32_t> out;
  out.reserve(kv->value.count);
  GgufValue v;
  for (uint64_t i = 0; i < kv->value.count; ++i) {
    read_scalar(cur, kv->value.elem_type, v);
    const auto x = static_cast<int64_t>(v.bits);
    if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max() ||
        (!is_signed(kv->value.elem_type) && v.bits > uint64_t{std::numeric_limits<int32_t>::max()}))
      throw FormatError(file_, kv->offset,
                        fmt::format("metadata key {} element {} does not fit in INT32", key, i));
    out.push_back(static_cast<int32_t>(x));
  }
  return out;
}

std::string GgufMetadata::printable(const GgufKv& kv) const {
  const GgufValue& v = kv.value;
  if (v.type != GgufType::Array) return scalar_text(v);
  std::string out =
      fmt::format("[{} x {}]", v.count, gguf_type_name(static_cast<uint32_t>(v.elem_type)));
  constexpr uint64_t kShown = 8;
  Cursor cur = base_;
  cur.seek(v.elems_offset);
  for (uint64_t i = 0; i < v.count && i < kShown; ++i) {
    GgufValue e;
    e.type = v.elem_type;
    if (e.type == GgufType::String) {
      out += fmt::format("{}\"{}\"", i ? ", " : " ",
                         escaped(read_gguf_string(cur, "array string"), 32));
      continue;
    }
    if (e.type == GgufType::Array) {
      e.elem_type = read_type(cur, "nested array element type");
      e.count = cur.read<uint64_t>("nested array count");
      skip_elements(cur, e.elem_type, e.count, 2);
      out += fmt::format("{}[{} x {}]", i ? ", " : " ", e.count,
                         gguf_type_name(static_cast<uint32_t>(e.elem_type)));
      continue;
    }
    read_scalar(cur, e.type, e);
    out += (i ? ", " : " ") + scalar_text(e);
  }
  if (v.count > kShown) out += ", ...";
  return out;
}

}  // namespace tplm
