// Calls whose spelling changed in LAMMPS in 2022 (neighbor requests, pair communication).
// Each helper picks the spelling the LAMMPS headers in use provide, by overload resolution on
// the expression (SFINAE), so one source builds against 29Sep2021 (Debian 12) and develop.
#pragma once

#include "comm.h"
#include "neigh_request.h"
#include "neighbor.h"
#include "pair.h"

namespace mlff_compat {

// --- full neighbor list request ---------------------------------------------------------
// Since 2022: neighbor->add_request(pair, flags) returns the request.
template <class N>
auto request_full_list(N* nb, LAMMPS_NS::Pair* p, int, int) -> decltype(nb->add_request(p), void()) {
  nb->add_request(p)->enable_full();
}
// Before: neighbor->request(pair, instance) returns an index into neighbor->requests.
template <class N>
auto request_full_list(N* nb, LAMMPS_NS::Pair* p, int instance, long)
    -> decltype(nb->requests[nb->request(p, instance)]->full, void()) {
  const int irq = nb->request(p, instance);
  nb->requests[irq]->half = 0;
  nb->requests[irq]->full = 1;
}

// --- pair forward communication --------------------------------------------------
template <class C>
auto forward_comm(C* c, LAMMPS_NS::Pair* p, int) -> decltype(c->forward_comm(p), void()) {
  c->forward_comm(p);
}
template <class C>
auto forward_comm(C* c, LAMMPS_NS::Pair* p, long) -> decltype(c->forward_comm_pair(p), void()) {
  c->forward_comm_pair(p);
}

}  // namespace mlff_compat

namespace mlff {
// The int literal prefers the first (modern) overload when both are viable.
inline void request_full_list(LAMMPS_NS::Neighbor* nb, LAMMPS_NS::Pair* p, int instance) {
  mlff_compat::request_full_list(nb, p, instance, 0);
}
inline void forward_comm(LAMMPS_NS::Comm* c, LAMMPS_NS::Pair* p) {
  mlff_compat::forward_comm(c, p, 0);
}
}  // namespace mlff
