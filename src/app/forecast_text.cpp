#include "app/forecast_text.hpp"

#include <fmt/format.h>

#include <iterator>

namespace tplm {

namespace {

std::string size_text(uint64_t b) {
  const double mib = static_cast<double>(b) / (1024.0 * 1024.0);
  return mib < 1024 ? fmt::format("{:.2f} MiB", mib) : fmt::format("{:.2f} GiB", mib / 1024.0);
}

std::string figures_text(const Forecast& f) {
  const MachineSpeed& s = f.speed;
  if (f.measure_seconds <= 0) {
    std::string out =
        fmt::format("speed: given: a host reads {:.1f} GB/s", s.host_read_bytes_per_s / 1e9);
    if (!s.splits.empty()) {
      const LinkCost& l = s.splits.front().second.link;
      out += fmt::format(", an exchange costs {:.1f} us + bytes / {:.1f} MB/s", l.latency_s * 1e6,
                         l.bytes_per_s / 1e6);
    }
    return out + "\n";
  }
  std::string out =
      fmt::format("speed: measured in {:.2f} s: rank 0's device alone reads {:.1f} GB/s",
                  f.measure_seconds, s.host_read_bytes_per_s / 1e9);
  for (const auto& [tp, split] : s.splits)
    out += fmt::format(
        "; tp {} over {}: {:.1f} GB/s per rank, an exchange costs {:.1f} us + "
        "bytes / {:.1f} MB/s",
        tp, s.transport, split.read_bytes_per_s / 1e9, split.link.latency_s * 1e6,
        split.link.bytes_per_s / 1e6);
  return out + "\n";
}

}  // namespace

std::vector<std::string> forecast_advice(const Forecast& f, int tp) {
  const DecodePrediction* one = f.find(1);
  const DecodePrediction* asked = f.find(tp);
  if (one == nullptr || asked == nullptr) return {};
  return decode_advice(*one, *asked);
}

std::string forecast_text(const Forecast& f, int marked, int cores) {
  std::string out = figures_text(f);
  out +=
      "predicted decode (token = weight bytes per rank / read bandwidth + exchanges x (latency + "
      "bytes / bandwidth)):\n";
  out += fmt::format("  {:>4} {:>10} {:>10} {:>10} {:>16}\n", "tp", "tokens/s", "ms/token",
                     "exchanges", "memory per rank");
  for (const DecodePrediction& d : f.rows) {
    std::string note;
    if (!d.fits)
      note = "  does not fit: " + d.why_not;
    else if (cores > 0 && d.tp > cores)
      note = fmt::format("  (more ranks than the {} cores)", cores);
    fmt::format_to(std::back_inserter(out), "{} {:>4} {:>10.1f} {:>10.2f} {:>9.0f}% {:>16}{}\n",
                   d.tp == marked ? '*' : ' ', d.tp, d.tokens_per_s, d.token_s * 1e3,
                   100.0 * d.exchange_share, size_text(d.memory_per_rank), note);
  }
  for (const std::string& a : forecast_advice(f, marked)) out += "advice: " + a + "\n";
  return out;
}

nlohmann::json forecast_json(const Forecast& f, int marked) {
  nlohmann::json rows = nlohmann::json::array();
  for (const DecodePrediction& d : f.rows)
    rows.push_back({{"tp", d.tp},
                    {"tokens_per_s", d.tokens_per_s},
                    {"token_s", d.token_s},
                    {"compute_s", d.compute_s},
                    {"exchange_s", d.exchange_s},
                    {"exchange_share", d.exchange_share},
                    {"read_bytes_per_rank", d.read_bytes_per_rank},
                    {"memory_per_rank", d.memory_per_rank},
                    {"fits", d.fits},
                    {"why_not", d.why_not}});
  nlohmann::json links = nlohmann::json::array();
  for (const auto& [tp, split] : f.speed.splits)
    links.push_back({{"tp", tp},
                     {"read_bytes_per_s_per_rank", split.read_bytes_per_s},
                     {"latency_s", split.link.latency_s},
                     {"bytes_per_s", split.link.bytes_per_s}});
  return {{"measured", f.measure_seconds > 0},
          {"measure_seconds", f.measure_seconds},
          {"transport", f.speed.transport},
          {"host_read_bytes_per_s", f.speed.host_read_bytes_per_s},
          {"splits", links},
          {"predictions", rows},
          {"advice", forecast_advice(f, marked)}};
}

}  // namespace tplm
