#pragma once
// A plan as text: the model's shape, then what each rank owns and needs.
// `tplm plan` prints it; `tplm run -v` prints it before loading.
#include <string>

#include "format/model_file.hpp"
#include "parallel/plan.hpp"

namespace tplm {

std::string plan_text(const ModelFile& model, const Plan& plan);

}  // namespace tplm
