// WallFromSteady: unix milliseconds for a steady-clock reading, so a worker
// thread that already holds a steady time (its batch time, issue 18 item 3)
// need not read the system clock once per call to learn which per-second
// interval an outcome belongs to.
//
// It keeps the offset between the two clocks, measured by reading both
// together, and measures it again once `refresh` has passed on the steady
// clock (one second by default). A step of the system clock (NTP, an
// operator) therefore reaches the stamps at most `refresh` late; until then
// they run on from the old offset, off by the step but monotonic, which is
// what the per-second intervals need. Between refreshes the stamps are as
// exact as the steady clock itself. One per thread: no lock.
#pragma once

#include <chrono>
#include <cstdint>

namespace benchdist::generator {

class WallFromSteady {
public:
    using Steady = std::chrono::steady_clock;
    using System = std::chrono::system_clock;
    // Read both clocks; tests pass fakes.
    using SteadyRead = Steady::time_point (*)();
    using SystemRead = System::time_point (*)();

    explicit WallFromSteady(std::chrono::nanoseconds refresh = std::chrono::seconds(1),
                            SteadyRead steady = &Steady::now, SystemRead system = &System::now)
        : refresh_(refresh), read_steady_(steady), read_system_(system) {}

    std::int64_t ms(Steady::time_point t) {
        if (!measured_ || t >= refresh_at_) measure();
        return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch() + offset_).count();
    }

    // How many times the offset was measured (tests, and the clock-read count).
    std::uint64_t measurements() const { return measurements_; }

private:
    void measure() {
        const auto steady = read_steady_();
        const auto system = read_system_();
        offset_ = std::chrono::duration_cast<std::chrono::nanoseconds>(system.time_since_epoch()) -
                  std::chrono::duration_cast<std::chrono::nanoseconds>(steady.time_since_epoch());
        refresh_at_ = steady + refresh_;
        measured_ = true;
        ++measurements_;
    }

    std::chrono::nanoseconds refresh_;
    SteadyRead read_steady_;
    SystemRead read_system_;
    bool measured_ = false;
    std::chrono::nanoseconds offset_{0};
    Steady::time_point refresh_at_{};
    std::uint64_t measurements_ = 0;
};

}  // namespace benchdist::generator
