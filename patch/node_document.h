// The local node's own document with a staging copy. Local changes go to the
// staging copy; commit() turns them into one RFC 6902 delta and a new gen.
#ifndef VIGIL_PATCH_NODE_DOCUMENT_H_
#define VIGIL_PATCH_NODE_DOCUMENT_H_

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "patch/journal.h"

namespace vigil::patch {

class NodeDocument {
 public:
  /// `initial` is gen 1.
  explicit NodeDocument(nlohmann::json initial, std::size_t journal_entries = 4096);

  /// The last committed document (what peers see at gen()).
  const nlohmann::json& committed() const { return committed_; }
  /// The working copy; edit freely, then commit().
  const nlohmann::json& staging() const { return staging_; }

  /// Applies RFC 6902 ops to the staging copy atomically. Throws PatchError.
  void apply(const nlohmann::json& ops);
  /// Sets the value at a RFC 6901 pointer in the staging copy, creating
  /// missing parent objects (an empty pointer replaces the whole copy).
  /// Throws PatchError when an existing parent is not an object (arrays
  /// included); the staging copy is then unchanged.
  void set(const nlohmann::json::json_pointer& ptr, nlohmann::json value);

  /// When staging differs from committed: records the diff (RFC 6902 ops from
  /// nlohmann::json::diff) as the next gen in the journal, makes staging
  /// committed, and returns the ops. Otherwise nullopt.
  std::optional<nlohmann::json> commit();

  uint64_t gen() const { return journal_.gen(); }
  Journal& journal() { return journal_; }
  const Journal& journal() const { return journal_; }

 private:
  nlohmann::json committed_;
  nlohmann::json staging_;
  Journal journal_;
};

}  // namespace vigil::patch

#endif  // VIGIL_PATCH_NODE_DOCUMENT_H_
