// <var_dir>/node.json: this node's own document, kept across restarts, so
// that labels, `data` and `frozen` survive a restart (an OpenSVC operator
// expects a frozen node to stay frozen).
//
//   {"labels": {...}, "frozen": true, "frozen_at": "2026-11-30T14:00:00.000Z",
//    "boot_at": "...", "version": "...", "data": {...}}
//
// The file holds the document of the last commit, in the node document
// schema (engine/node_schema.h) and within the document limits
// (engine/local_document.h). It is written with mode 0600, atomically
// (agent/base/file.h, write_file_atomically), off the protocol thread (engine/document_saver.h).
#ifndef VIGIL_AGENT_ENGINE_NODE_FILE_H_
#define VIGIL_AGENT_ENGINE_NODE_FILE_H_

#include <cstddef>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

namespace vigil::agent {

/// The largest node.json read, in bytes (1 MiB: a document takes at most
/// LocalDocument::kMaxBytes, 512 KiB, written compact).
constexpr std::size_t kMaxNodeFileBytes = 1 << 20;

/// The node document file in `var_dir`: <var_dir>/node.json.
std::filesystem::path node_file_path(const std::filesystem::path& var_dir);

/// Reads `path`. std::nullopt when it does not exist (a first start).
/// Throws std::runtime_error("<path>: <reason>") when it cannot be used: it
/// cannot be read, is not a regular file of at most kMaxNodeFileBytes
/// (agent/base/file.h), is not JSON ("not valid JSON"), nests
/// deeper than LocalDocument::kMaxDepth, is larger than
/// LocalDocument::kMaxBytes once compact, or breaks the node document schema
/// (the reason then starts with the JSON pointer of the field, e.g.
/// "/labels/rack: label values are strings").
std::optional<nlohmann::json> load_node_file(const std::filesystem::path& path);

/// Writes `doc` to `path` as one line of compact JSON, with mode 0600,
/// atomically (write_file_atomic). Blocking. Throws std::runtime_error as
/// write_file_atomic() does, and std::invalid_argument when `doc` breaks the
/// schema (such a file would be refused at the next start).
void save_node_file(const std::filesystem::path& path, const nlohmann::json& doc);

}  // namespace vigil::agent

#endif  // VIGIL_AGENT_ENGINE_NODE_FILE_H_
