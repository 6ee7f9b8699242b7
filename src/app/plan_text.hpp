#pragma once
// A plan as text: the model's shape, the context and kv type, then what each
// rank owns and needs.
// `tplm plan` prints it; `tplm run -v` prints it before loading.
#include <string>

#include "format/model_file.hpp"
#include "parallel/plan.hpp"
#include "runtime/capacity.hpp"

namespace tplm {

// With a capacity: each rank's memory need and each host's (GPU's) total
// against its budget.
std::string plan_text(const ModelFile& model, const Plan& plan, const Capacity* capacity = nullptr);

}  // namespace tplm
