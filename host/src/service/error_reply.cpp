#include "service/error_reply.h"

#include "store/database.h"
#include "util/log.h"

namespace stoflow::service {

ErrorReply error_reply(const std::exception& error, const std::string& context) {
  if (const auto* app = dynamic_cast<const AppError*>(&error)) {
    return {app->code(), app->what(), app->data()};
  }
  log::error(context + ": " + error.what());
  const char* prefix =
      dynamic_cast<const store::DatabaseError*>(&error) ? "database error: " : "internal error: ";
  return {ErrorCode::kInternal, prefix + std::string(error.what()), nullptr};
}

}  // namespace stoflow::service
