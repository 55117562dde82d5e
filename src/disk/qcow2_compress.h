// Decompression of qcow2 compressed clusters: raw deflate (zlib, window 2^12, no header) or
// zstd frames, as the header's compression type says. The input may run past the end of the
// stream (it is rounded up to 512-byte sectors); decompression stops at a full cluster.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/result.h"
#include "disk/qcow2_format.h"

namespace vmkit::qcow2 {

// Fills exactly `out_len` bytes of `out`, or fails (corrupt data, short stream).
Status decompress_cluster(CompressionType type, const uint8_t* in, size_t in_len, uint8_t* out,
                          size_t out_len);

// Compresses one cluster (for tests and tools); returns the compressed bytes or an empty vector
// when compression does not save space.
Result<std::vector<uint8_t>> compress_cluster(CompressionType type, const uint8_t* in, size_t len);

}  // namespace vmkit::qcow2
