#pragma once
// manifest.json of every results directory (a sweep's, a training run's): one writer, so each starts with the same
// record of what produced it — {"mhclab": {version, commit, build_type, compiler, flags, native}, …} — followed by
// the producer's own fields in the order given.
#include <string>
#include <utility>
#include <vector>

namespace mhclab {

/// The current time in UTC, ISO 8601 to the second ("2026-12-02T12:00:00Z").
[[nodiscard]] std::string utc_now();

/// The manifest's text (2-space indented JSON, '\n' at the end): the "mhclab" build record, then `fields` — each
/// value given as JSON text (a string's quotes included). InputError naming the field if a value is not JSON.
[[nodiscard]] std::string manifest_json(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace mhclab
