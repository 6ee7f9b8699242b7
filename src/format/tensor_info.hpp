#pragma once
// Where one tensor lives in a model file. Readers fill these without touching
// the weights; a rank later reads only the byte ranges of its own slice.
#include <cstdint>
#include <string>
#include <vector>

#include "format/dtype.hpp"
#include "format/tensor_contract.hpp"

namespace tplm {

// Row order of the Q and K projections (weights and biases) as stored.
// GGUF and llama2.c store each head's rows interleaved: rotation pairs are rows
// (2i, 2i+1). Hugging Face stores them rotate-half: pairs are rows (i, i + hd/2).
// Readers record which; the shard loader normalizes to Interleaved, so the
// kernels see one layout.
enum class RopeLayout : uint8_t { Interleaved, RotateHalf };

struct TensorInfo {
  // Canonical name: the GGUF name (token_embd.weight, blk.N.attn_q.weight,
  // blk.N.attn_q.bias, attn_k, attn_v, attn_output, attn_norm, ffn_gate,
  // ffn_up, ffn_down, ffn_norm, output_norm.weight, output.weight).
  std::string name;
  std::string source_name;  // the name in the file, for messages
  TensorId id;              // what the contract says it is (set by the reader)
  DType dtype = DType::F32;
  // Row-major, outermost first; shape.back() is contiguous. Linear weights are
  // [out_features, in_features] in every format; embeddings [vocab, dim].
  std::vector<int64_t> shape;
  std::string path;     // the file that holds the bytes
  uint64_t offset = 0;  // absolute byte offset of the first element in that file
  uint64_t nbytes = 0;
  RopeLayout rope_layout = RopeLayout::Interleaved;  // meaningful for attn_q / attn_k only

  int64_t rows() const;  // product of all but the last dimension (1 for a vector)
  int64_t cols() const;  // last dimension
  int64_t elements() const;
};

}  // namespace tplm
