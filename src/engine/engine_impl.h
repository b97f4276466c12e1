// Engine::compute and its steps. Included by engine.h.
#pragma once

namespace mlff {

template <class Exec, class Real, class Acc>
void Engine<Exec, Real, Acc>::embed(const Input& in) {
  const int F = m_.F;
  auto S = S_[0];
  auto emb = m_.embedding;
  auto row = m_.species_row;
  auto sp = in.species;
  // Local rows only: the first layer's kernels take their neighbours' context by species, and
  // v is zero there (edge_kernels.h, FirstLayer).
  for_entries<Exec>(
      "mlff::embed", in.nlocal, F,
      KOKKOS_LAMBDA(const int a, const int f) { S(a, f) = emb(row(sp(a)), f); });
}

// Neighbour rows are read through pointers with 32-bit offsets (edge_kernels.h): every
// per-atom matrix must be unpadded and small enough.
template <class Real, class Mem>
void check_rows(const Mat<Real, Mem>& m, size_t width, const char* what) {
  if (m.extent(0) == 0) return;
  if (m.extent(1) != width || m.stride(0) != width)
    throw std::logic_error(std::string("edge kernels: ") + what + " is not an unpadded [n, " +
                           std::to_string(width) + "] matrix");
  if (m.extent(0) * width > size_t(INT_MAX))
    throw std::runtime_error(std::string("edge kernels: ") + what + " has more than 2^31 entries (" +
                             std::to_string(m.extent(0)) + " atoms): too many atoms for one device");
}

template <class Exec, class Real, class Acc>
template <int FC>
EdgeCommon<Exec, Real, typename Exec::memory_space, FC> Engine<Exec, Real, Acc>::edge_setup(
    int l, const Input& in, const M2& C, const Kokkos::View<const int*, Mem>& owner) const {
  EdgeCommon<Exec, Real, Mem, FC> e;
  const auto& L = m_.layers[l];
  e.x = in.x;
  e.offsets = in.offsets;
  e.nbrs = in.nbrs;
  e.owner = owner;
  e.nlocal = in.nlocal;
  e.basis = m_.basis;
  e.rc_d = spec_.cutoff;
  e.rc = m_.cutoff;
  e.dir_eps = m_.dir_eps;
  e.painn = m_.family == Family::PaiNN;
  e.F = m_.F;
  e.K = m_.basis.size;
  e.act = m_.act;
  e.S = S_[l];
  e.V = V_[l];
  e.C = C;
  e.C0 = m_.first_context;
  e.species = in.species;
  check_rows(e.S, e.F, "S");
  check_rows(e.V, 3 * e.F, "V");
  check_rows(e.C, 3 * e.F, "context");
  if (e.painn) {
    e.A = L.filter;
    e.AT = L.filter.Wt;
    e.H = 0;
  } else {
    e.B1 = L.filt0;
    e.B2 = L.filt1;
    e.B2T = L.filt1.Wt;
    e.H = L.filt0.out;
  }
  for (int q = 0; q < 3; ++q) e.off[q] = filter_offset(m_.family, e.F, q);
  // Edges per chunk: enough to amortise the team's barriers, small enough that the distiller's
  // hidden layer (2 H numbers per edge) stays in fast scratch memory. A tabulated filter needs
  // no scratch: one chunk is then most atoms' whole neighbour list.
  e.chunk = e.painn ? 32 : 8;
  if (resident()) e.chunk = 64;  // 12 KB of scratch in fp32; the weights load once per chunk
  if (m_.table_points > 0) {
    e.tab = true;
    e.T = L.table;
    e.N = m_.table_points;
    e.inv_h = static_cast<Real>(e.N / spec_.cutoff);
    e.chunk = 64;
  }
  return e;
}

template <class Exec, class Real, class Acc>
void Engine<Exec, Real, Acc>::readout(const Input& in, Output& out) {
  std::vector<const DeviceLinear<Real, Mem>*> layers;
  for (const auto& lin : m_.readout) layers.push_back(&lin);
  M2 Y = readout_mlp_.forward(in.nlocal, layers, Sfin_, m_.act);
  auto eatom = out.eatom;
  auto sp = in.species;
  auto eref = m_.species_eref;
  const double scale = m_.energy_scale, shift = m_.energy_shift;
  Kokkos::parallel_for(
      "mlff::readout", Kokkos::RangePolicy<Exec, Light>(0, in.nlocal),
      KOKKOS_LAMBDA(const int i) { eatom(i) = scale * Acc(Y(i, 0)) + shift + eref(sp(i)); });
}

// totals_ = [energy, virial xx yy zz xy xz yz] (the virial only when wanted). Each sum is split
// into parts of kTotalRows rows, one team each, and the parts are then added in order: the same
// numbers every call, and enough teams to fill a GPU (one team per sum took 0.34 ms at 98k
// atoms). Not a Kokkos parallel_reduce: its device buffer is shared with every other reduction
// of the process, and a later one that grows it would strand a recorded call (call_graph.h).
template <class Exec, class Real, class Acc>
void Engine<Exec, Real, Acc>::sum_totals(int nlocal, const Output& out, bool virial) {
  constexpr int kTotalRows = 2048;
  const int sums = virial ? 7 : 1;
  const int parts = nlocal > kTotalRows ? (nlocal + kTotalRows - 1) / kTotalRows : 1;
  if (parts > 1 && parts_.extent(1) < size_t(parts))
    parts_ = Kokkos::View<double**, Kokkos::LayoutRight, Mem>("mlff::total_parts", 7, parts);
  auto eatom = out.eatom;
  auto v = vir_;
  auto tot = totals_;
  auto part = parts_;
  using Team = typename Kokkos::TeamPolicy<Exec>::member_type;
  Kokkos::parallel_for(
      "mlff::totals", Kokkos::TeamPolicy<Exec, Light>(sums * parts, Kokkos::AUTO),
      KOKKOS_LAMBDA(const Team& t) {
        const int k = t.league_rank() / parts, p = t.league_rank() % parts;
        const int begin = p * kTotalRows;
        const int end = parts == 1 || nlocal - begin < kTotalRows ? nlocal : begin + kTotalRows;
        double sum = 0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(t, begin, end),
            [&](const int i, double& acc) { acc += k == 0 ? double(eatom(i)) : double(v(i, k - 1)); },
            sum);
        Kokkos::single(Kokkos::PerTeam(t), [&]() {
          if (parts == 1)
            tot(k) = sum;
          else
            part(k, p) = sum;
        });
      });
  if (parts == 1) return;
  Kokkos::parallel_for(
      "mlff::totals_parts", Kokkos::RangePolicy<Exec, Light>(0, sums), KOKKOS_LAMBDA(const int k) {
        double sum = 0;
        for (int p = 0; p < parts; ++p) sum += part(k, p);
        tot(k) = sum;
      });
}

// One team per local atom; on GPUs a team's threads cover the feature channels (at most F of
// them: more would idle), on host back ends Kokkos picks.
template <class Exec, class Real, class Acc>
template <class Tag, class Launch, class Functor>
EdgePolicy<Exec, Tag, Real, Acc, Launch> Engine<Exec, Real, Acc>::edge_policy(
    int nlocal, const Functor& f, size_t scratch) const {
  using Policy = EdgePolicy<Exec, Tag, Real, Acc, Launch>;
  const auto per_team = Kokkos::PerTeam(scratch);
  if (Kokkos::SpaceAccessibility<Kokkos::HostSpace, Mem>::accessible)
    return Policy(nlocal, Kokkos::AUTO).set_scratch_size(0, per_team);
  Policy probe(nlocal, 1);
  probe.set_scratch_size(0, per_team);
  const int most = probe.team_size_max(f, Kokkos::ParallelForTag());
  const int want = (m_.F + 31) / 32 * 32;
  return Policy(nlocal, want < most ? want : most).set_scratch_size(0, per_team);
}

// Host back ends have one way to launch; on GPUs see EdgePolicy.
template <class Exec, class Real, class Acc>
template <class Tag, class Functor>
void Engine<Exec, Real, Acc>::launch_edges_with(const char* name, int nlocal, const Functor& f,
                                                size_t scratch) const {
  if constexpr (Kokkos::SpaceAccessibility<Kokkos::HostSpace, Mem>::accessible) {
    Kokkos::parallel_for(name, edge_policy<Tag, Light>(nlocal, f, scratch), f);
  } else {
    // A light-weight launch passes the functor as a kernel argument (under 4 KB in Kokkos).
    static_assert(sizeof(Functor) < 3072, "edge kernel functor too large for a kernel argument");
    if (graph_.recording())
      Kokkos::parallel_for(name, edge_policy<Tag, Light>(nlocal, f, scratch), f);
    else
      Kokkos::parallel_for(name, edge_policy<Tag, Heavy>(nlocal, f, scratch), f);
  }
}

template <class Exec, class Real, class Acc>
template <class Functor>
void Engine<Exec, Real, Acc>::launch_edges(const char* name, int nlocal, const Functor& f,
                                           size_t scratch, bool first) const {
  auto with = [&](auto filter) {
    using Tag = decltype(filter);
    if (first)
      launch_edges_with<FirstLayer<Tag>>(name, nlocal, f, scratch);
    else
      launch_edges_with<Tag>(name, nlocal, f, scratch);
  };
  if (m_.table_points > 0)
    with(TabulatedFilter());
  else if (resident())
    with(ResidentFilter<kResidentK>());
  else
    with(ExactFilter());
}

template <class Exec, class Real, class Acc>
void Engine<Exec, Real, Acc>::compute(const Input& in, GhostExchange<Real, Mem>& exch,
                                      Output& out) {
  const int nl = in.nlocal;
  const size_t nnz = in.nbrs.extent(0);
  if (out.eatom.extent(0) < size_t(nl)) out.eatom = Kokkos::View<Acc*, Mem>("eatom", nl);
  if (out.f.extent(0) < size_t(nl)) out.f = AccMat("f", nl, 3);
  if (!in.want_pair_grad) {
    out.pair_grad = AccMat();
  } else {
    grow2(out.pair_grad, nnz, 3, "pair_grad");  // with slack: the count changes every MD step
  }
  // What fixes every kernel argument of the call (call_graph.h): sizes and the data in and out.
  // Not the neighbour count, which changes every MD step: each atom's range comes from offsets.
  CallGraph::Key key = {size_t(nl), size_t(in.nall), size_t(in.want_pair_grad),
                        size_t(in.want_virial), std::uintptr_t(in.x.data()), std::uintptr_t(in.species.data()),
                        std::uintptr_t(in.offsets.data()), std::uintptr_t(in.nbrs.data()),
                        std::uintptr_t(out.eatom.data()), std::uintptr_t(out.f.data()),
                        std::uintptr_t(out.pair_grad.data())};
  const bool record = graphs_ && nl < kGraphMaxAtoms && exch.recordable(key);
  graph_.run(record, key, [&]() { evaluate(in, exch, out); });
  // The call's one wait for the device: energy and virial come back together.
  double t[7];
  Kokkos::deep_copy(Kokkos::View<double[7], Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(t), totals_);
  out.energy = t[0];
  for (int k = 0; k < 6; ++k) out.virial[k] = in.want_virial ? t[k + 1] : 0.0;
}

template <class Exec, class Real, class Acc>
void Engine<Exec, Real, Acc>::evaluate(const Input& in, GhostExchange<Real, Mem>& exch,
                                       Output& out) {
  const int F = m_.F, L = m_.L, nl = in.nlocal, na = in.nall;
  const bool painn = m_.family == Family::PaiNN;
  // Layer l's context MLP and update block: its own when the call keeps them, else shared.
  const bool keep = nl < keep_below_;
  auto ctx_mlp = [&](int l) -> MlpRunner<Exec, Real, Mem>& { return ctx_mlp_[keep ? l : 0]; };
  auto update = [&](int l) -> UpdateBlock<Exec, Real, Mem>& { return update_[keep ? l : 0]; };
  // Rows of ghosts' features and adjoints: none where ghosts read their owners' rows.
  const auto owner = exch.owners();
  if (owner.extent(0) > 0 && owner.extent(0) != size_t(na - nl))
    throw std::logic_error("engine: the exchange's owner map has " + std::to_string(owner.extent(0)) +
                           " entries for " + std::to_string(na - nl) + " ghosts");
  const bool ghost_rows = owner.extent(0) == 0;
  const int nr = ghost_rows ? na : nl;
  S_.resize(L);
  V_.resize(L);
  Sm_.resize(L);
  Vm_.resize(L);
  // The first layer: s of local atoms only, no v (embed()).
  for (int l = 0; l < L; ++l) {
    ensure(S_[l], l == 0 ? nl : nr, F, "S");
    if (l > 0) ensure(V_[l], nr, 3 * F, "V");
    ensure(Sm_[l], nl, F, "Sm");
    ensure(Vm_[l], nl, 3 * F, "Vm");
  }
  ensure(Sfin_, nl, F, "Sfin");
  if (vir_.extent(0) < size_t(nl)) vir_ = AccMat("vir", nl, 6);

  // ---- forward ----
  embed(in);
  for (int l = 0; l < L; ++l) {
    const auto& Lw = m_.layers[l];
    M2 C;  // the first layer's context is by species (DeviceModel::first_context)
    if (painn && l > 0) C = ctx_mlp(l).forward(nr, {&Lw.ctx0, &Lw.ctx1}, S_[l], m_.act);
    with_width([&](auto fc) {
      constexpr int FC = decltype(fc)::value;
      MessageForward<Exec, Real, Mem, FC> msg;
      static_cast<EdgeCommon<Exec, Real, Mem, FC>&>(msg) = edge_setup<FC>(l, in, C, owner);
      msg.Sm = Sm_[l];
      msg.Vm = Vm_[l];
      launch_edges("mlff::message_forward", nl, msg, msg.radial_bytes(), l == 0);
    });
    const bool last = l + 1 == L;
    // The last layer's vector features reach no output: not computed.
    update(l).forward(nl, l, Sm_[l], Vm_[l], last ? Sfin_ : S_[l + 1], last ? M2() : V_[l + 1]);
    if (!last && ghost_rows) {
      exch.forward(S_[l + 1]);
      exch.forward(V_[l + 1]);
    }
  }
  readout(in, out);

  // ---- backward ----
  // Sbo/Vbo: adjoints of the layer outputs (local rows); Smb/Vmb: of the message outputs;
  // Sbi/Vbi: of the layer inputs (local rows). Smb/Vmb have ghost rows (filled by exchange)
  // where ghosts keep rows; otherwise the update block writes them over Sbo/Vbo, which
  // nothing reads afterwards: no copy and no buffer of their own.
  ensure(Sbo_, nl, F, "Sbo");
  ensure(Vbo_, nl, 3 * F, "Vbo");
  ensure(Sbi_, nl, F, "Sbi");
  ensure(Vbi_, nl, 3 * F, "Vbi");
  if (ghost_rows) {
    ensure(Smb_, na, F, "Smb");
    ensure(Vmb_, na, 3 * F, "Vmb");
  }
  if (Ybar_.extent(0) < size_t(nl)) {  // dE/d(readout output), never written: set once
    ensure(Ybar_, nl, 1, "Ybar");
    fill<Exec>(Ybar_, Real(m_.energy_scale));
  }
  fill<Exec>(Vbo_, Real(0));
  {
    std::vector<const DeviceLinear<Real, Mem>*> layers;
    for (const auto& lin : m_.readout) layers.push_back(&lin);
    readout_mlp_.backward(nl, layers, Ybar_, Sbo_, m_.act, false);
  }
  for (int l = L - 1; l >= 0; --l) {
    const auto& Lw = m_.layers[l];
    // The last layer's context MLP and update block are still in the workspace from the
    // forward pass (only the readout, with its own, ran since): taken as kept even when the
    // other layers compute theirs again.
    const bool kept = keep || l == L - 1;
    const M2 Smb = ghost_rows ? Smb_ : Sbo_, Vmb = ghost_rows ? Vmb_ : Vbo_;
    update(l).backward(nl, l, Sm_[l], Vm_[l], Sbo_, Vbo_, Smb, Vmb, kept);
    if (ghost_rows) {
      exch.forward(Smb);
      exch.forward(Vmb);
    }
    M2 C;
    if (painn && l > 0) {
      C = kept ? ctx_mlp(l).output() : ctx_mlp(l).forward(nr, {&Lw.ctx0, &Lw.ctx1}, S_[l], m_.act);
      ensure(Cbar_, nl, 3 * F, "Cbar");
    }
    check_rows(Smb, F, "Smb");
    check_rows(Vmb, 3 * F, "Vmb");
    with_width([&](auto fc) {
      constexpr int FC = decltype(fc)::value;
      MessageBackward<Exec, Real, Acc, Mem, FC> bwd;
      static_cast<EdgeCommon<Exec, Real, Mem, FC>&>(bwd) = edge_setup<FC>(l, in, C, owner);
      bwd.Smb = Smb;
      bwd.Vmb = Vmb;
      bwd.Cbar = Cbar_;
      bwd.Sbi = Sbi_;
      bwd.Vbi = Vbi_;
      bwd.f = out.f;
      bwd.vir = vir_;
      bwd.want_vir = in.want_virial;
      bwd.pair_grad = out.pair_grad;
      bwd.assign = l == L - 1;  // f, vir and pair_grad start here: no fill before
      launch_edges("mlff::message_backward", nl, bwd, bwd.scratch_bytes(), l == 0);
    });
    // The first layer's input adjoints reach only the embedding, which positions do not move:
    // its kernel does not compute them (FirstLayer).
    if (painn && l > 0)
      ctx_mlp(l).backward(nl, {&Lw.ctx0, &Lw.ctx1}, Cbar_, Sbi_, m_.act, true);
    std::swap(Sbo_, Sbi_);
    std::swap(Vbo_, Vbi_);
  }
  sum_totals(nl, out, in.want_virial);
}

template <class Exec, class Real, class Acc>
size_t Engine<Exec, Real, Acc>::workspace_bytes() const {
  size_t b = 0;
  for (const auto* v : {&S_, &V_, &Sm_, &Vm_})
    for (const auto& m : *v) b += m.span() * sizeof(Real);
  for (const M2* m : {&Sfin_, &Sbo_, &Vbo_, &Sbi_, &Vbi_, &Smb_, &Vmb_, &Cbar_, &Ybar_})
    b += m->span() * sizeof(Real);
  b += vir_.span() * sizeof(Acc);
  for (const auto& u : update_) b += u.bytes();
  for (const auto& c : ctx_mlp_) b += c.bytes();
  return b + readout_mlp_.bytes();
}

template <class Exec, class Real, class Acc>
size_t Engine<Exec, Real, Acc>::estimate_bytes(int nlocal, int nall, bool ghost_rows) const {
  const size_t F = m_.F, L = m_.L, nl = nlocal, na = ghost_rows ? nall : nlocal;
  const bool painn = m_.family == Family::PaiNN;
  // na: rows of per-atom arrays that ghosts may read. Per layer S, V (those rows; the first
  // layer: s of locals, no v) and Sm, Vm (locals); final s and backward features (Smb and Vmb
  // only with ghost rows); Ybar.
  size_t reals = L * 4 * F * (na + nl) - 3 * F * na - F * (na - nl) + F * nl + 8 * F * nl +
                 (ghost_rows ? 4 * F * na : 0) + nl;
  // Update block: ctx and ctxb (2F), Ob (3F), painn's VW and VWb (6F each), and its MLP. One
  // per layer when the call keeps them (kKeepMaxAtoms), else one for all.
  const bool keep = nlocal < keep_below_;
  const auto& L0 = m_.layers[0];
  size_t block = nl * (4 * F + 3 * F + (painn ? 12 * F : 0));
  block += nl * (painn ? mlp_row_width<Real, Mem>({&L0.mix0, &L0.mix1})
                       : mlp_row_width<Real, Mem>({&L0.upd0, &L0.upd1}));
  reals += (keep ? L : 1) * block;
  // painn's context MLP, for layers after the first (the first layer's is by species).
  const size_t ctx_runners = L == 1 ? 0 : keep ? L - 1 : 1;
  if (painn) reals += ctx_runners * na * mlp_row_width<Real, Mem>({&L0.ctx0, &L0.ctx1});
  if (painn) reals += 3 * F * nl;
  std::vector<const DeviceLinear<Real, Mem>*> ro;
  for (const auto& lin : m_.readout) ro.push_back(&lin);
  reals += nl * mlp_row_width(ro);
  return reals * sizeof(Real) + 6 * nl * sizeof(Acc);
}

}  // namespace mlff
