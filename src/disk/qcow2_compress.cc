#include "disk/qcow2_compress.h"

#include <zlib.h>
#include <zstd.h>

#include <vector>

namespace vmkit::qcow2 {

namespace {

Status inflate_raw(const uint8_t* in, size_t in_len, uint8_t* out, size_t out_len) {
  z_stream s{};
  if (inflateInit2(&s, -12) != Z_OK) return Error("zlib: inflateInit2 failed", EIO);
  s.next_in = const_cast<Bytef*>(in);
  s.avail_in = static_cast<uInt>(in_len);
  s.next_out = out;
  s.avail_out = static_cast<uInt>(out_len);
  int rc = inflate(&s, Z_FINISH);
  bool full = s.avail_out == 0;
  inflateEnd(&s);
  if ((rc == Z_STREAM_END || rc == Z_BUF_ERROR || rc == Z_OK) && full) return {};
  return Error("corrupt zlib-compressed cluster", EIO);
}

Status zstd_decompress(const uint8_t* in, size_t in_len, uint8_t* out, size_t out_len) {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (!ctx) return Error("zstd: out of memory", ENOMEM);
  ZSTD_inBuffer input{in, in_len, 0};
  ZSTD_outBuffer output{out, out_len, 0};
  Status status;
  while (output.pos < output.size) {
    size_t in_pos = input.pos, out_pos = output.pos;
    size_t rc = ZSTD_decompressStream(ctx, &output, &input);
    if (ZSTD_isError(rc) || (input.pos == in_pos && output.pos == out_pos)) {
      status = Error("corrupt zstd-compressed cluster", EIO);
      break;
    }
  }
  ZSTD_freeDCtx(ctx);
  return status;
}

}  // namespace

Status decompress_cluster(CompressionType type, const uint8_t* in, size_t in_len, uint8_t* out,
                          size_t out_len) {
  if (type == CompressionType::kZstd) return zstd_decompress(in, in_len, out, out_len);
  return inflate_raw(in, in_len, out, out_len);
}

Result<std::vector<uint8_t>> compress_cluster(CompressionType type, const uint8_t* in, size_t len) {
  std::vector<uint8_t> out(len);
  if (type == CompressionType::kZstd) {
    size_t n = ZSTD_compress(out.data(), out.size(), in, len, 3);
    if (ZSTD_isError(n)) return std::vector<uint8_t>{};
    out.resize(n);
    return out;
  }
  z_stream s{};
  if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Error("zlib: deflateInit2 failed", EIO);
  }
  s.next_in = const_cast<Bytef*>(in);
  s.avail_in = static_cast<uInt>(len);
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&s, Z_FINISH);
  size_t produced = out.size() - s.avail_out;
  deflateEnd(&s);
  if (rc != Z_STREAM_END) return std::vector<uint8_t>{};
  out.resize(produced);
  return out;
}

}  // namespace vmkit::qcow2
