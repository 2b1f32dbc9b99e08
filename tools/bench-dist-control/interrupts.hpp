// Ctrl-C in bench-dist-control. One epoch (start-epoch): the first SIGINT
// asks whether to stop the epoch or detach. A campaign (sweep, saturate,
// --runs): the first stops the campaign after the current epoch, the
// second stops that epoch too. Both read one counter, set by the handler.
#pragma once

namespace benchdist::control_tool {

// Installs the SIGINT handler (idempotent).
void install_interrupt_handler();
// How many SIGINTs arrived since the last reset.
int interrupt_count();
void reset_interrupts();

}  // namespace benchdist::control_tool
