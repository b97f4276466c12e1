// KOKKOS-package calls whose spelling changed in LAMMPS in 2022 (see src/lammps/lammps_compat.h
// for the host ones): a full neighbor list built by the KOKKOS package on the pair's device.
#pragma once

#include "neigh_request.h"
#include "neighbor.h"
#include "pair.h"

namespace mlff_compat {

// Since 2022: the request object has setters.
template <class N>
auto request_full_list_kk(N* nb, LAMMPS_NS::Pair* p, int, bool host, bool device, int)
    -> decltype(nb->add_request(p)->set_kokkos_device(device), void()) {
  auto* rq = nb->add_request(p);
  rq->enable_full();
  rq->set_kokkos_host(host);
  rq->set_kokkos_device(device);
}
// Before: flags of neighbor->requests[index].
template <class N>
auto request_full_list_kk(N* nb, LAMMPS_NS::Pair* p, int instance, bool host, bool device, long)
    -> decltype(nb->requests[nb->request(p, instance)]->kokkos_device, void()) {
  const int irq = nb->request(p, instance);
  nb->requests[irq]->half = 0;
  nb->requests[irq]->full = 1;
  nb->requests[irq]->kokkos_host = host;
  nb->requests[irq]->kokkos_device = device;
}

}  // namespace mlff_compat

namespace mlff {
inline void request_full_list_kk(LAMMPS_NS::Neighbor* nb, LAMMPS_NS::Pair* p, int instance,
                                 bool host, bool device) {
  mlff_compat::request_full_list_kk(nb, p, instance, host, device, 0);
}
}  // namespace mlff
