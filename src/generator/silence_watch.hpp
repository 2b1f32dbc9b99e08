// Decides whether a WebSocket peer has gone silent, checked by one coarse
// timer instead of a timer per frame.
//
// Beast's own idle timeout cancels and re-arms a timer on every read: a
// cancelled wait handler to run and a fresh one to allocate per message,
// which at one message per transfer was a measurable share of the
// generator's CPU (docs/performance.md). Here a read only sets a flag; a
// timer every half idle timeout looks at it:
//   heard since the last check      -> alive, start over;
//   silent for one check            -> send a ping (the peer must answer);
//   silent for two checks in a row  -> gone.
// A silent peer is therefore given up between one and one and a half idle
// timeouts after its last frame, and a healthy but idle one is pinged
// before SpacetimeDB's own 30 s limit could matter.
#pragma once

namespace benchdist::generator {

class SilenceWatch {
public:
    enum class Verdict { Alive, SendPing, Silent };

    // Any frame from the peer: a message, a ping, a pong, a close.
    void heard() noexcept { heard_ = true; }

    // At each check (every half idle timeout).
    Verdict check() noexcept {
        if (heard_) {
            heard_ = false;
            silent_checks_ = 0;
            return Verdict::Alive;
        }
        ++silent_checks_;
        return silent_checks_ >= 2 ? Verdict::Silent : Verdict::SendPing;
    }

private:
    bool heard_ = false;
    int silent_checks_ = 0;
};

}  // namespace benchdist::generator
