#include "net/connection_admission.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>

namespace benchdist::net {

ConnectionAdmission::ConnectionAdmission(AdmissionLimits limits) : limits_(limits) {
    limits_.max_pending = std::max<std::size_t>(1, limits_.max_pending);
}

void ConnectionAdmission::forget_pending(Id id) {
    const auto it = pending_.find(id);
    if (it == pending_.end()) return;
    const auto by = pending_by_source_.find(it->second);
    if (by != pending_by_source_.end()) {
        by->second.erase(id);
        if (by->second.empty()) pending_by_source_.erase(by);
    }
    pending_.erase(it);
}

ConnectionAdmission::Arrival ConnectionAdmission::arrive(const std::string& source) {
    Arrival out;
    out.id = next_id_++;
    // Its own source's oldest first: a crowd from one address pays for
    // itself before it costs anyone else a connection.
    if (limits_.max_pending_per_source > 0) {
        const auto mine = pending_by_source_.find(source);
        if (mine != pending_by_source_.end()) {
            while (mine->second.size() >= limits_.max_pending_per_source) {
                const Id oldest = *mine->second.begin();
                // Erases `mine` only when it empties, which the cap (>= 1)
                // stops before.
                forget_pending(oldest);
                out.evict.push_back(oldest);
            }
        }
    }
    while (pending_.size() >= limits_.max_pending) {
        const Id oldest = pending_.begin()->first;
        forget_pending(oldest);
        out.evict.push_back(oldest);
    }
    evicted_total_ += out.evict.size();
    pending_.emplace(out.id, source);
    pending_by_source_[source].insert(out.id);
    return out;
}

ConnectionAdmission::Admit ConnectionAdmission::admit(Id id) {
    if (admitted_.count(id) != 0) return Admit::Admitted;
    if (pending_.count(id) == 0) return Admit::Gone;
    if (admitted_.size() >= limits_.max_admitted) return Admit::Full;
    forget_pending(id);
    admitted_.insert(id);
    return Admit::Admitted;
}

void ConnectionAdmission::leave(Id id) {
    forget_pending(id);
    admitted_.erase(id);
}

std::string source_key(std::string_view ip) {
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(std::string(ip), ec);
    if (ec) return std::string(ip);
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
    }
    if (address.is_v4()) return address.to_string();
    auto bytes = address.to_v6().to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), static_cast<unsigned char>(0));
    return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

}  // namespace benchdist::net
