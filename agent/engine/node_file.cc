#include "agent/engine/node_file.h"

#include <cerrno>
#include <stdexcept>
#include <string>

#include "agent/base/bounded_json.h"
#include "agent/base/file.h"
#include "agent/engine/local_document.h"
#include "agent/engine/node_schema.h"

namespace vigil::agent {

namespace fs = std::filesystem;
using json = nlohmann::json;

fs::path node_file_path(const fs::path& var_dir) { return var_dir / "node.json"; }

std::optional<json> load_node_file(const fs::path& path) {
  FileContents file;
  try {
    file = read_regular_file(path, kMaxNodeFileBytes);
  } catch (const FileError& e) {
    if (e.error_code() == ENOENT) return std::nullopt;
    throw;  // a FileError: "<path>: <reason>"
  }
  auto refuse = [&path](const std::string& reason) {
    throw std::runtime_error(path.string() + ": " + reason);
  };
  json doc;
  try {
    doc = parse_json_bounded(file.text, LocalDocument::kMaxDepth);
  } catch (const JsonTooDeep& e) {
    refuse(e.what());
  }
  if (doc.is_discarded()) refuse("not valid JSON");
  if (auto problem = node_document_error(doc)) refuse(*problem);
  // The text read may be spaced out by hand; the limit is on the compact form,
  // as for every change (LocalDocument::change).
  if (const auto size = doc.dump().size(); size > LocalDocument::kMaxBytes)
    refuse("the document takes " + std::to_string(size) + " bytes, above the " +
           std::to_string(LocalDocument::kMaxBytes) + "-byte limit");
  return doc;
}

void save_node_file(const fs::path& path, const json& doc) {
  if (auto problem = node_document_error(doc))
    throw std::invalid_argument(path.string() + ": " + *problem);
  std::string text = doc.dump();
  text.push_back('\n');
  write_file_atomically(path, text);
}

}  // namespace vigil::agent
