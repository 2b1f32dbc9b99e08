#include "benchdist/generator/call_pipeline.hpp"

#include <algorithm>
#include <string>

#include "benchdist/bsatn/writer.hpp"
#include "benchdist/stdb/client_message_view.hpp"
#include "benchdist/stdb/transfer_module.hpp"

namespace benchdist::generator {

std::string_view call_status_name(CallStatus s) {
    switch (s) {
        case CallStatus::Committed:
            return "committed";
        case CallStatus::ModuleError:
            return "module error";
        case CallStatus::InternalError:
            return "internal error";
        case CallStatus::Timeout:
            return "timeout";
        case CallStatus::Disconnected:
            return "disconnected";
    }
    return "unknown";
}

CallPipeline::CallPipeline(std::size_t max_inflight) : slots_(std::max<std::size_t>(1, max_inflight)) {}

void CallPipeline::raise_max_inflight(std::size_t max_inflight) {
    if (max_inflight > slots_.size()) slots_.resize(max_inflight);
}

std::uint32_t CallPipeline::add_transfer(std::uint32_t from, std::uint32_t to, std::int64_t amount,
                                         Clock::time_point deadline, std::chrono::milliseconds timeout,
                                         CallHandler done) {
    const std::uint32_t id = next_request_id_++;
    for (auto& slot : slots_) {
        if (slot.active) continue;
        slot.active = true;
        slot.request_id = id;
        slot.deadline = deadline;
        slot.timeout = timeout;
        slot.done = std::move(done);
        break;
    }
    ++in_flight_;

    const std::size_t before = outbox_.size();
    bsatn::Writer w(outbox_);
    const auto args = stdb::transfer::transfer_args_bytes({from, to, amount});
    stdb::encode_call_reducer(w, id, stdb::transfer::kTransferReducer, args);
    outbox_sizes_.push_back(outbox_.size() - before);
    return id;
}

std::span<const std::uint8_t> CallPipeline::start_write(stdb::ProtocolVersion protocol) {
    return start_write(protocol, 0);
}

std::span<std::uint8_t> CallPipeline::start_write(stdb::ProtocolVersion protocol, std::size_t headroom) {
    std::size_t take_bytes = 0;
    std::size_t take_calls = 0;
    while (take_calls < outbox_sizes_.size()) {
        const std::size_t next = outbox_sizes_[take_calls];
        if (take_calls > 0 && (protocol == stdb::ProtocolVersion::V2 || take_bytes + next > kMaxV3FrameBytes)) break;
        take_bytes += next;
        ++take_calls;
    }
    write_buffer_.resize(headroom + take_bytes);
    std::copy(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(take_bytes),
              write_buffer_.begin() + static_cast<std::ptrdiff_t>(headroom));
    outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(take_bytes));
    outbox_sizes_.erase(outbox_sizes_.begin(), outbox_sizes_.begin() + static_cast<std::ptrdiff_t>(take_calls));
    ++frames_sent_;
    calls_sent_ += take_calls;
    writing_ = true;
    return std::span<std::uint8_t>(write_buffer_).subspan(headroom);
}

void CallPipeline::clear_outbox() {
    outbox_.clear();
    outbox_sizes_.clear();
}

bool CallPipeline::complete(std::uint32_t request_id, CallStatus status, std::string_view text) {
    for (auto& slot : slots_) {
        if (slot.active && slot.request_id == request_id) {
            end_call(slot, status, text, dispatching() ? batch_time_ : Clock::time_point{});
            return true;
        }
    }
    return false;
}

CallPipeline::DeadlineCheck CallPipeline::check_deadlines(Clock::time_point now) const {
    DeadlineCheck out;
    for (const auto& slot : slots_) {
        if (!slot.active) continue;
        if (slot.deadline <= now) {
            out.expired = true;
        } else if (!out.next || slot.deadline < *out.next) {
            out.next = slot.deadline;
        }
    }
    return out;
}

void CallPipeline::time_out_expired(Clock::time_point now) {
    for (auto& slot : slots_) {
        if (!slot.active || slot.deadline > now) continue;
        end_call(slot, CallStatus::Timeout, "no ReducerResult within " + std::to_string(slot.timeout.count()) + " ms",
                 now);
    }
}

void CallPipeline::fail_all(std::string_view why) {
    for (auto& slot : slots_) {
        if (slot.active) end_call(slot, CallStatus::Disconnected, why, Clock::time_point{});
    }
}

void CallPipeline::drop_all() {
    for (auto& slot : slots_) {
        slot.active = false;
        slot.done = nullptr;
    }
    in_flight_ = 0;
}

void CallPipeline::end_call(Slot& slot, CallStatus status, std::string_view text, Clock::time_point at) {
    slot.active = false;
    --in_flight_;
    auto done = std::move(slot.done);
    slot.done = nullptr;
    if (done) done(CallOutcome{status, text, at});
}

}  // namespace benchdist::generator
