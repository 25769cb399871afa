// manifest.json: see mhclab/core/run_manifest.hpp.
#include "mhclab/core/run_manifest.hpp"

#include <nlohmann/json.hpp>

#include <ctime>

#include "mhclab/core/build_info.hpp"
#include "mhclab/core/error.hpp"

namespace mhclab {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string manifest_json(const std::vector<std::pair<std::string, std::string>>& fields) {
  const BuildInfo b = build_info();
  nlohmann::ordered_json j;
  j["mhclab"] = {{"version", b.version},   {"commit", b.commit}, {"build_type", b.build_type},
                 {"compiler", b.compiler}, {"flags", b.flags},   {"native", b.native}};
  for (const auto& [key, value] : fields) {
    try {
      j[key] = nlohmann::ordered_json::parse(value);
    } catch (const nlohmann::json::exception& e) {
      throw InputError("internal: manifest field '" + key + "' is not JSON: " + e.what());
    }
  }
  return j.dump(2) + "\n";
}

}  // namespace mhclab
