#pragma once
// A Hugging Face folder's chat template, where transformers keeps it.
#include <filesystem>
#include <string>

namespace tplm {

// chat_template.jinja when the folder has one (transformers >= 4.43 saves it
// there), else tokenizer_config.json's "chat_template": a string, or a list of
// {"name", "template"} of which the one named "default" is taken (as
// transformers does when no name is asked for). "" when there is none; a
// "chat_template" of another type throws FormatError naming the file. A
// tokenizer_config.json that is not JSON is left to the tokenizer's reader.
std::string read_hf_chat_template(const std::filesystem::path& folder);

}  // namespace tplm
