// SIGINT/SIGTERM handling shared by the long-running executables. The stop
// signals are blocked in the calling thread before any other thread exists,
// so every thread inherits the mask and the signal can only be consumed
// where someone waits for it (sigwait), never interrupting a worker mid-call.
#pragma once

#include <pthread.h>
#include <csignal>

namespace benchdist::net {

// Call first thing in main(); returns the set to pass to sigwait/sigtimedwait.
inline sigset_t block_stop_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    return signals;
}

// Blocks until SIGINT or SIGTERM arrives; returns which.
inline int wait_for_stop_signal(const sigset_t& signals) {
    int sig = 0;
    sigwait(&signals, &sig);
    return sig;
}

}  // namespace benchdist::net
