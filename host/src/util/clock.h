#pragma once
#include <cstdint>
#include <string>

namespace stoflow {

// Milliseconds since the Unix epoch. Lease and retry deadlines are compared as
// integers in SQL, so they are stored in this unit rather than as text.
int64_t now_ms();

// ISO-8601 UTC with milliseconds ("2026-11-29T10:00:00.123Z"): sortable as text
// and what the seed's API returns for created_at.
std::string iso8601(int64_t epoch_ms);
inline std::string now_iso() {
  return iso8601(now_ms());
}

}  // namespace stoflow
