// Creates the backend a NetOptions describes: opens (or creates) the tap, or starts user-mode
// networking and binds its host forwards. Nothing is left behind on error.
#pragma once

#include <memory>

#include "base/result.h"
#include "net/net_backend.h"
#include "net/net_options.h"

namespace vmkit {

Result<std::unique_ptr<NetBackend>> open_net_backend(const NetOptions& options);

}  // namespace vmkit
