#pragma once
// Predicted decode speed as text and JSON: `tplm plan` prints the table for
// every tp, `tplm bench` the prediction beside the measurement.
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/decode_forecast.hpp"

namespace tplm {

// The figures' source, the table (one row per tp; `marked` gets a '*'), the
// advice for `marked` (lines "advice: ...").
std::string forecast_text(const Forecast& f, int marked, int cores);
nlohmann::json forecast_json(const Forecast& f, int marked);

// Advice for a user who asked for tp (empty when tp 1 or tp is not in f).
std::vector<std::string> forecast_advice(const Forecast& f, int tp);

}  // namespace tplm
