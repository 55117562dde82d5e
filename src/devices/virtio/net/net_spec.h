// virtio-net constants and layouts (virtio 1.2, 5.1), little-endian.
#pragma once

#include <cstdint>

namespace vmkit::net {

// Feature bits (5.1.3).
inline constexpr uint64_t bit(unsigned n) {
  return uint64_t{1} << n;
}
inline constexpr uint64_t kFeatureCsum = bit(0);
inline constexpr uint64_t kFeatureGuestCsum = bit(1);
inline constexpr uint64_t kFeatureCtrlGuestOffloads = bit(2);
inline constexpr uint64_t kFeatureMtu = bit(3);
inline constexpr uint64_t kFeatureMac = bit(5);
inline constexpr uint64_t kFeatureGuestTso4 = bit(7);
inline constexpr uint64_t kFeatureGuestTso6 = bit(8);
inline constexpr uint64_t kFeatureGuestEcn = bit(9);
inline constexpr uint64_t kFeatureGuestUfo = bit(10);
inline constexpr uint64_t kFeatureHostTso4 = bit(11);
inline constexpr uint64_t kFeatureHostTso6 = bit(12);
inline constexpr uint64_t kFeatureHostEcn = bit(13);
inline constexpr uint64_t kFeatureHostUfo = bit(14);
inline constexpr uint64_t kFeatureMrgRxbuf = bit(15);
inline constexpr uint64_t kFeatureStatus = bit(16);
inline constexpr uint64_t kFeatureCtrlVq = bit(17);
inline constexpr uint64_t kFeatureCtrlRx = bit(18);
inline constexpr uint64_t kFeatureCtrlVlan = bit(19);
inline constexpr uint64_t kFeatureCtrlRxExtra = bit(20);
inline constexpr uint64_t kFeatureGuestAnnounce = bit(21);
inline constexpr uint64_t kFeatureMq = bit(22);
inline constexpr uint64_t kFeatureCtrlMacAddr = bit(23);
inline constexpr uint64_t kFeatureGuestUso4 = bit(54);
inline constexpr uint64_t kFeatureGuestUso6 = bit(55);
inline constexpr uint64_t kFeatureHostUso = bit(56);

// The offloads VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET may switch (the GUEST_* bits).
inline constexpr uint64_t kGuestOffloadBits =
    kFeatureGuestCsum | kFeatureGuestTso4 | kFeatureGuestTso6 | kFeatureGuestEcn |
    kFeatureGuestUfo | kFeatureGuestUso4 | kFeatureGuestUso6;

// Status field (5.1.4).
inline constexpr uint16_t kStatusLinkUp = 1;
inline constexpr uint16_t kStatusAnnounce = 2;

#pragma pack(push, 1)
struct Config {
  uint8_t mac[6];
  uint16_t status;
  uint16_t max_virtqueue_pairs;
};
#pragma pack(pop)
static_assert(sizeof(Config) == 10);

// Control queue (5.1.6.5).
inline constexpr uint8_t kAckOk = 0;
inline constexpr uint8_t kAckErr = 1;

inline constexpr uint8_t kCtrlRx = 0;
inline constexpr uint8_t kCtrlRxPromisc = 0;
inline constexpr uint8_t kCtrlRxAllmulti = 1;
inline constexpr uint8_t kCtrlRxAlluni = 2;
inline constexpr uint8_t kCtrlRxNomulti = 3;
inline constexpr uint8_t kCtrlRxNouni = 4;
inline constexpr uint8_t kCtrlRxNobcast = 5;

inline constexpr uint8_t kCtrlMac = 1;
inline constexpr uint8_t kCtrlMacTableSet = 0;
inline constexpr uint8_t kCtrlMacAddrSet = 1;

inline constexpr uint8_t kCtrlVlan = 2;
inline constexpr uint8_t kCtrlVlanAdd = 0;
inline constexpr uint8_t kCtrlVlanDel = 1;

inline constexpr uint8_t kCtrlAnnounce = 3;
inline constexpr uint8_t kCtrlAnnounceAck = 0;

inline constexpr uint8_t kCtrlMq = 4;
inline constexpr uint8_t kCtrlMqVqPairsSet = 0;

inline constexpr uint8_t kCtrlGuestOffloads = 5;
inline constexpr uint8_t kCtrlGuestOffloadsSet = 0;

inline constexpr uint16_t kMaxVlanId = 4095;

}  // namespace vmkit::net
