#include "net/net_open.h"

#include "net/slirp_backend.h"
#include "net/tap_backend.h"

namespace vmkit {

Result<std::unique_ptr<NetBackend>> open_net_backend(const NetOptions& options) {
  switch (options.kind) {
    case NetBackendKind::kTap:
      return std::unique_ptr<NetBackend>(TRY(TapBackend::open(options.ifname, options.queues)));
    case NetBackendKind::kUser: {
      SlirpParams params;
      params.hostfwd = options.hostfwd;
      return std::unique_ptr<NetBackend>(TRY(SlirpBackend::create(params)));
    }
  }
  return Error("unknown network backend");
}

}  // namespace vmkit
