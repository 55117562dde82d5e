// `vmkit disk info` (human or JSON, with qemu-img's field names) and `vmkit disk check`.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/size.h"
#include "cli/disk_command.h"
#include "disk/disk_open.h"
#include "disk/image_file.h"
#include "disk/qcow2_image.h"

namespace vmkit::cli {

namespace {

nlohmann::ordered_json to_json(const ImageInfo& info) {
  nlohmann::ordered_json j;
  j["virtual-size"] = info.virtual_size;
  j["filename"] = info.filename;
  if (info.qcow2) j["cluster-size"] = info.qcow2->cluster_size();
  j["format"] = info.format;
  j["actual-size"] = info.actual_size;
  if (!info.backing_filename.empty()) {
    j["backing-filename"] = info.backing_filename;
    j["full-backing-filename"] = info.full_backing_filename;
    if (!info.backing_format.empty()) j["backing-filename-format"] = info.backing_format;
  }
  if (info.qcow2) {
    const qcow2::Header& h = *info.qcow2;
    nlohmann::ordered_json data;
    data["compat"] = h.version >= 3 ? "1.1" : "0.10";
    data["compression-type"] =
        h.compression_type == qcow2::CompressionType::kZstd ? "zstd" : "zlib";
    if (h.version >= 3) data["lazy-refcounts"] = h.lazy_refcounts();
    data["refcount-bits"] = h.refcount_bits();
    if (h.version >= 3) {
      data["corrupt"] = h.corrupt();
      data["extended-l2"] = (h.incompatible_features & qcow2::kIncompatExtendedL2) != 0;
    }
    j["format-specific"] = {{"type", "qcow2"}, {"data", data}};
  }
  j["dirty-flag"] = info.qcow2 ? info.qcow2->dirty() : false;
  return j;
}

void print_human(const ImageInfo& info) {
  std::printf("image: %s\n", info.filename.c_str());
  std::printf("file format: %s\n", info.format.c_str());
  std::printf("virtual size: %s (%llu bytes)\n", format_size(info.virtual_size).c_str(),
              static_cast<unsigned long long>(info.virtual_size));
  std::printf("disk size: %s (%llu bytes)\n", format_size(info.actual_size).c_str(),
              static_cast<unsigned long long>(info.actual_size));
  if (info.qcow2) {
    const qcow2::Header& h = *info.qcow2;
    std::printf("cluster_size: %llu\n", static_cast<unsigned long long>(h.cluster_size()));
    if (!info.backing_filename.empty()) {
      std::printf("backing file: %s (actual path: %s)\n", info.backing_filename.c_str(),
                  info.full_backing_filename.c_str());
      if (!info.backing_format.empty()) {
        std::printf("backing file format: %s\n", info.backing_format.c_str());
      }
    }
    std::printf("compat: %s\n", h.version >= 3 ? "1.1" : "0.10");
    std::printf("refcount bits: %u\n", h.refcount_bits());
    std::printf("compression type: %s\n",
                h.compression_type == qcow2::CompressionType::kZstd ? "zstd" : "zlib");
    std::printf("lazy refcounts: %s\n", h.lazy_refcounts() ? "true" : "false");
    std::printf("corrupt: %s\n", h.corrupt() ? "true" : "false");
    std::printf("internal snapshots: %u\n", h.nb_snapshots);
    std::printf("encrypted: %s\n", h.crypt_method != 0 ? "yes" : "no");
    std::printf("dirty flag: %s\n", h.dirty() ? "yes" : "no");
  }
}

}  // namespace

int run_disk_info(const DiskInfoArgs& args) {
  auto chain = inspect_image_chain(args.file, args.format);
  if (!chain.ok()) return fail(chain.error().message());
  if (args.json) {
    nlohmann::ordered_json j = to_json(chain->front());
    nlohmann::ordered_json backing = nlohmann::ordered_json::array();
    for (size_t i = 1; i < chain->size(); ++i) backing.push_back(to_json((*chain)[i]));
    j["backing-chain"] = backing;  // vmkit's addition: every backing image, nearest first
    std::printf("%s\n", j.dump(4).c_str());
    return 0;
  }
  print_human(chain->front());
  if (chain->size() > 1) {
    std::printf("backing chain:\n");
    for (size_t i = 1; i < chain->size(); ++i) {
      const ImageInfo& b = (*chain)[i];
      std::printf("  %s (%s, %s)\n", b.filename.c_str(), b.format.c_str(),
                  format_size(b.virtual_size).c_str());
    }
  }
  return 0;
}

int run_disk_check(const DiskCheckArgs& args) {
  std::string format = args.format;
  if (format.empty()) {
    auto detected = detect_format(args.file);
    if (!detected.ok()) return fail(detected.error().message());
    format = *detected;
  }
  if (format == "raw") {
    std::printf("%s is a raw image: it has no metadata to check.\n", args.file.c_str());
    return 0;
  }
  if (format != "qcow2") return fail("unknown image format '" + format + "'");
  auto file = ImageFile::open(args.file, args.repair, CacheMode::kWriteback);
  if (!file.ok()) return fail(file.error().message());
  auto size = file->size();
  if (!size.ok()) return fail(size.error().message());
  std::vector<uint8_t> head(static_cast<size_t>(std::min<uint64_t>(*size, 2 << 20)));
  Status s = file->read(head.data(), head.size(), 0);
  if (!s.ok()) return fail(s.error().message());
  auto header = qcow2::parse_header(head, *size);
  if (!header.ok()) return fail(args.file + ": " + header.error().message());
  // The backing chain is not needed to check this image's own metadata.
  auto image =
      Qcow2Image::open(std::move(file).value(), std::move(header).value(), nullptr, args.repair);
  if (!image.ok()) return fail(args.file + ": " + image.error().message());
  auto result = (*image)->check(args.repair);
  if (!result.ok()) return fail(args.file + ": " + result.error().message());
  for (const auto& line : result->messages) std::printf("%s\n", line.c_str());
  uint64_t corruptions = result->corruptions - result->corruptions_fixed;
  uint64_t leaks = result->leaks - result->leaks_fixed;
  if (args.repair && (result->corruptions_fixed || result->leaks_fixed)) {
    std::printf(
        "The following inconsistencies were found and repaired:\n\n"
        "    %llu leaked clusters\n    %llu corruptions\n\n",
        static_cast<unsigned long long>(result->leaks_fixed),
        static_cast<unsigned long long>(result->corruptions_fixed));
  }
  if (args.repair && corruptions == 0) {
    s = (*image)->clear_corrupt_flag();
    if (!s.ok()) return fail(s.error().message());
  }
  if (corruptions == 0 && leaks == 0) std::printf("No errors were found on the image.\n");
  if (corruptions > 0) {
    std::printf(
        "\n%llu errors were found on the image.\nData may be corrupted, or further "
        "writes to the image may corrupt it.\n",
        static_cast<unsigned long long>(corruptions));
  }
  if (leaks > 0) {
    std::printf(
        "\n%llu leaked clusters were found on the image.\nThis means waste of disk "
        "space, but no harm to data.\n",
        static_cast<unsigned long long>(leaks));
  }
  double pct = result->total_clusters ? 100.0 * static_cast<double>(result->allocated_clusters) /
                                            static_cast<double>(result->total_clusters)
                                      : 0.0;
  std::printf("%llu/%llu = %.2f%% allocated\nImage end offset: %llu\n",
              static_cast<unsigned long long>(result->allocated_clusters),
              static_cast<unsigned long long>(result->total_clusters), pct,
              static_cast<unsigned long long>(result->image_end_offset));
  // Exit codes as qemu-img check: 2 corruption, 3 leaks only.
  if (corruptions > 0) return 2;
  if (leaks > 0) return 3;
  return 0;
}

}  // namespace vmkit::cli
