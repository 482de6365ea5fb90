// CRC-32C (Castagnoli), the checksum of every segment record. The same
// polynomial as iSCSI and ext4 metadata, so external tools can verify it.

#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dmq {

// Extends `crc` (0 to start) over `size` bytes at `data`.
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data,
                            std::size_t size);

inline std::uint32_t crc32c(std::string_view bytes) {
    return crc32c_extend(0, bytes.data(), bytes.size());
}

}  // namespace dmq
