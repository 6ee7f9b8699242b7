#include "format/hf_chat_template.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "format/format_error.hpp"

namespace tplm {

std::string read_hf_chat_template(const std::filesystem::path& folder) {
  if (std::ifstream in(folder / "chat_template.jinja"); in) {
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  const auto cfg_path = folder / "tokenizer_config.json";
  std::ifstream in(cfg_path);
  if (!in) return "";
  const auto cfg = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded() || !cfg.is_object() || !cfg.contains("chat_template")) return "";
  const auto& t = cfg["chat_template"];
  if (t.is_null()) return "";
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array()) {
    for (const auto& named : t)
      if (named.is_object() && named.value("name", "") == "default" && named.contains("template") &&
          named["template"].is_string())
        return named["template"].get<std::string>();
    return "";  // named templates, none of them "default": none to take unasked
  }
  throw FormatError(cfg_path.string(),
                    "\"chat_template\" is neither a string nor a list of {\"name\", \"template\"}");
}

}  // namespace tplm
