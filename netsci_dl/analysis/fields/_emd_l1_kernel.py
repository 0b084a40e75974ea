"""The compiled kernels of the EMD-L1 engine (private; see ``_emd_l1``; imports numba).

- ``solve``: one pair, coarse to fine. The supplies are summed over ``2 x 2`` blocks (fewer at
  an odd edge) level by level; the coarsest grid starts from its fixed first tree, and the
  optimal tree of each level, lifted to the next finer grid (``lift``), is that grid's first
  tree. Any spanning tree is a feasible basis for any supplies, so every level is exact; the
  finest one gives the value.
- ``solve_pairs``: all the pairs of a tile in one call (no Python between pairs).
- ``simplex``: LEMON's network simplex, see ``_emd_l1``; ``build_tree``: LEMON's thread
  (preorder, circular), subtree sizes, last successors and the arcs to the parents, from a
  parent array.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["build_tree", "coarsen", "lift", "simplex", "solve", "solve_pairs"]

_jit = numba.njit(cache=True, nogil=True)


@_jit
def build_tree(parent, tgt, thread, rev_thread, size, last, up):
    """The tree arrays of the spanning tree ``parent`` (root: the last node, parent -1).

    ``up[u]`` is the arc from ``u`` to its parent: a grid arc ``4 u + d`` (``tgt[4 u + d]``
    is the parent), or the artificial arc ``4 n_pixels + u`` for a child of the root. False
    (and the arrays unusable) when ``parent`` is not a spanning tree of grid arcs."""
    n = parent.shape[0]
    npix = n - 1
    root = npix
    start = np.zeros(n + 1, dtype=np.int32)  # children of each node, CSR
    for u in range(npix):
        start[parent[u] + 1] += 1
    for i in range(n):
        start[i + 1] += start[i]
    kids = np.empty(max(npix, 1), dtype=np.int32)
    fill = start[:n].copy()
    for u in range(npix):
        p = parent[u]
        kids[fill[p]] = u
        fill[p] += 1
    pre = np.empty(n, dtype=np.int32)  # preorder by an explicit stack
    stack = np.empty(n, dtype=np.int32)
    stack[0] = root
    sp = 1
    k = 0
    while sp > 0:
        sp -= 1
        u = stack[sp]
        pre[k] = u
        k += 1
        for c in range(start[u + 1] - 1, start[u] - 1, -1):
            stack[sp] = kids[c]
            sp += 1
    if k != n:  # a cycle: some nodes do not reach the root
        return False
    for i in range(n - 1):
        thread[pre[i]] = pre[i + 1]
    thread[pre[n - 1]] = root
    for i in range(n):
        rev_thread[thread[i]] = i
        size[i] = 1
    for i in range(n - 1, 0, -1):
        u = pre[i]
        size[parent[u]] += size[u]
    for i in range(n):
        u = pre[i]
        last[u] = pre[i + size[u] - 1]
    up[root] = -1
    for u in range(npix):
        p = parent[u]
        up[u] = 4 * npix + u
        if p != root:
            up[u] = -1
            for d in range(4):
                if tgt[4 * u + d] == p and p != u:
                    up[u] = 4 * u + d
            if up[u] < 0:  # not a grid arc
                return False
    return True


@_jit
def coarsen(sup, h, w):
    """Supplies summed over the ``2 x 2`` blocks of the ``h x w`` grid (``ceil`` halves)."""
    wc = (w + 1) // 2
    out = np.zeros(((h + 1) // 2) * wc, dtype=np.int64)
    for r in range(h):
        for c in range(w):
            out[(r >> 1) * wc + (c >> 1)] += sup[r * w + c]
    return out


@_jit
def lift(cpar, ctgt, h, w, fpar):
    """The coarse tree ``cpar`` (``ceil(h/2) x ceil(w/2)`` grid, arcs ``ctgt``) lifted to a
    spanning tree ``fpar`` of the ``h x w`` grid.

    Each block's *port* is its pixel next to the parent block (the top-left one for a child
    of the root), hung from the adjacent pixel of that block (or the root); the other pixels
    of the block hang from their neighbour in the port's row or, in that row, from the port."""
    wc = (w + 1) // 2
    nc = cpar.shape[0] - 1
    n = h * w
    fpar[n] = -1
    for cb in range(nc):
        br = cb // wc
        r0 = 2 * br
        c0 = 2 * (cb - br * wc)
        bh = min(2, h - r0)
        bw = min(2, w - c0)
        p = cpar[cb]
        port = r0 * w + c0
        if p == nc:
            fpar[port] = n
        elif ctgt[4 * cb] == p:  # the parent block is to the right
            port += bw - 1
            fpar[port] = port + 1
        elif ctgt[4 * cb + 1] == p:  # left
            fpar[port] = port - 1
        elif ctgt[4 * cb + 2] == p:  # below
            port += (bh - 1) * w
            fpar[port] = port + w
        else:  # above
            fpar[port] = port - w
        pr = port // w
        pc = port - pr * w
        for r in range(r0, r0 + bh):
            for c in range(c0, c0 + bw):
                x = r * w + c
                if x == port:
                    continue
                if r == pr:
                    fpar[x] = x + 1 if pc > c else x - 1
                else:
                    fpar[x] = x + w if pr > r else x - w


@_jit
def simplex(sup, tgt, parent, thread, rev_thread, succ_num, last_succ, up0):
    """Min-cost flow value (integer units) on the grid for int64 supplies ``sup`` (sum 0),
    from the first tree given by the ``build_tree`` arrays (changed in place); -1 when the
    supplies do not balance.

    A port of LEMON's ``NetworkSimplex`` (first eligible arc) to unit costs, unbounded capacities
    and a real first tree."""
    n = sup.shape[0] + 1  # the pixels and the artificial root
    root = n - 1
    m = tgt.shape[0]  # grid arcs; the artificial arcs 4 n_pixels + c follow
    art = 2 * n  # cost of an artificial arc into a tile centre (> any path's cost)
    INF = np.int64(2**62)
    pred = np.empty(n, dtype=np.int32)
    pred_dir = np.zeros(n, dtype=np.int32)  # +1: the tree arc points to the parent
    flow = np.zeros(m + n, dtype=np.int64)
    pi = np.zeros(n, dtype=np.int32)
    sub = np.zeros(n, dtype=np.int64)
    sub[: n - 1] = sup
    u = rev_thread[root]
    while u != root:  # children before parents: the flow of each tree edge
        p = parent[u]
        sub[p] += sub[u]
        e = up0[u]
        if sub[u] >= 0:
            pred_dir[u] = 1
            flow[e] = sub[u]
        else:
            if e < m:
                e = 4 * p + ((e & 3) ^ 1)
            pred_dir[u] = -1
            flow[e] = -sub[u]
        pred[u] = e
        u = rev_thread[u]
    pred[root] = -1
    u = thread[root]
    while u != root:  # potentials: pi[target] = pi[source] + cost on tree arcs
        if pred[u] < m:
            pi[u] = pi[parent[u]] - pred_dir[u]
        else:  # artificial: cost 0 to the root, art from it
            pi[u] = 0 if pred_dir[u] == 1 else art
        u = thread[u]
    path1 = np.empty(n, dtype=np.int32)
    path2 = np.empty(n, dtype=np.int32)
    dirty = np.empty(n + 1, dtype=np.int32)
    next_arc = 0
    while True:
        # the entering arc: the first with reduced cost 1 + pi[u] - pi[v] < 0 from where the
        # last search stopped (LEMON's block search with blocks of one arc)
        in_arc = -1
        e = next_arc
        for _ in range(m):
            if pi[tgt[e]] - pi[e >> 2] > 1:
                in_arc = e
                break
            e += 1
            if e == m:
                e = 0
        if in_arc < 0:
            break
        next_arc = in_arc + 1 if in_arc + 1 < m else 0
        first = in_arc >> 2
        second = tgt[in_arc]
        # join node; the two paths up to it are recorded
        u = first
        v = second
        n1 = 0
        n2 = 0
        while u != v:
            if succ_num[u] < succ_num[v]:
                path1[n1] = u
                n1 += 1
                u = parent[u]
            else:
                path2[n2] = v
                n2 += 1
                v = parent[v]
        join = u
        # leaving arc (LEMON's rule: keeps the tree strongly feasible)
        delta = INF
        result = 0
        u_out = -1
        for k in range(n1):
            x = path1[k]
            if pred_dir[x] == 1:
                d = flow[pred[x]]
                if d < delta:
                    delta = d
                    u_out = x
                    result = 1
        for k in range(n2):
            x = path2[k]
            if pred_dir[x] == -1:
                d = flow[pred[x]]
                if d <= delta:
                    delta = d
                    u_out = x
                    result = 2
        if result == 1:
            u_in = first
            v_in = second
        else:
            u_in = second
            v_in = first
        if delta > 0:
            flow[in_arc] += delta
            for k in range(n1):
                x = path1[k]
                flow[pred[x]] -= pred_dir[x] * delta
            for k in range(n2):
                x = path2[k]
                flow[pred[x]] += pred_dir[x] * delta
        # tree update (LEMON's updateTreeStructure)
        old_rev_thread = rev_thread[u_out]
        old_succ_num = succ_num[u_out]
        old_last_succ = last_succ[u_out]
        v_out = parent[u_out]
        if u_in == u_out:
            parent[u_in] = v_in
            pred[u_in] = in_arc
            pred_dir[u_in] = 1 if u_in == first else -1
            if thread[v_in] != u_out:
                after = thread[old_last_succ]
                thread[old_rev_thread] = after
                rev_thread[after] = old_rev_thread
                after = thread[v_in]
                thread[v_in] = u_out
                rev_thread[u_out] = v_in
                thread[old_last_succ] = after
                rev_thread[after] = old_last_succ
        else:
            thread_continue = thread[old_last_succ] if old_rev_thread == v_in else thread[v_in]
            stem = u_in
            par_stem = v_in
            last = last_succ[u_in]
            after = thread[last]
            thread[v_in] = u_in
            nd = 1
            dirty[0] = v_in
            while stem != u_out:
                next_stem = parent[stem]
                thread[last] = next_stem
                dirty[nd] = last
                nd += 1
                before = rev_thread[stem]
                thread[before] = after
                rev_thread[after] = before
                parent[stem] = par_stem
                par_stem = stem
                stem = next_stem
                if last_succ[stem] == last_succ[par_stem]:
                    last = rev_thread[par_stem]
                else:
                    last = last_succ[stem]
                after = thread[last]
            parent[u_out] = par_stem
            thread[last] = thread_continue
            rev_thread[thread_continue] = last
            last_succ[u_out] = last
            if old_rev_thread != v_in:
                thread[old_rev_thread] = after
                rev_thread[after] = old_rev_thread
            for k in range(nd):
                x = dirty[k]
                rev_thread[thread[x]] = x
            tmp_sc = 0
            tmp_ls = last_succ[u_out]
            x = u_out
            p = parent[x]
            while x != u_in:
                pred[x] = pred[p]
                pred_dir[x] = -pred_dir[p]
                tmp_sc += succ_num[x] - succ_num[p]
                succ_num[x] = tmp_sc
                last_succ[p] = tmp_ls
                x = p
                p = parent[x]
            pred[u_in] = in_arc
            pred_dir[u_in] = 1 if u_in == first else -1
            succ_num[u_in] = old_succ_num
        up_limit_out = join if last_succ[join] == v_in else -1
        last_succ_out = last_succ[u_out]
        x = v_in
        while x != -1 and last_succ[x] == v_in:
            last_succ[x] = last_succ_out
            x = parent[x]
        if join != old_rev_thread and v_in != old_rev_thread:
            x = v_out
            while x != up_limit_out and last_succ[x] == old_last_succ:
                last_succ[x] = old_rev_thread
                x = parent[x]
        elif last_succ_out != old_last_succ:
            x = v_out
            while x != up_limit_out and last_succ[x] == old_last_succ:
                last_succ[x] = last_succ_out
                x = parent[x]
        x = v_in
        while x != join:
            succ_num[x] += old_succ_num
            x = parent[x]
        x = v_out
        while x != join:
            succ_num[x] -= old_succ_num
            x = parent[x]
        # potentials: shift the moved subtree, or the rest when that is smaller
        sigma = pi[v_in] - pi[u_in] - pred_dir[u_in]
        end = thread[last_succ[u_in]]
        if 2 * succ_num[u_in] <= n:
            x = u_in
            while x != end:
                pi[x] += sigma
                x = thread[x]
        else:
            x = end
            while x != u_in:
                pi[x] -= sigma
                x = thread[x]
    total = np.int64(0)
    for e in range(m):
        total += flow[e]
    for e in range(m, m + n):
        if flow[e] != 0:
            return np.int64(-1)  # infeasible: supplies that do not balance
    return total


@_jit
def _solve_tree(sup, tgt, parent):
    n = parent.shape[0]
    thread = np.empty(n, dtype=np.int32)
    rev_thread = np.empty(n, dtype=np.int32)
    size = np.empty(n, dtype=np.int32)
    last = np.empty(n, dtype=np.int32)
    up = np.empty(n, dtype=np.int32)
    if not build_tree(parent, tgt, thread, rev_thread, size, last, up):
        return np.int64(-2)
    return simplex(sup, tgt, parent, thread, rev_thread, size, last, up)


@_jit
def solve(sup, dims, tgts, offs, start):
    """EMD-L1 in integer units (-1: unbalanced, -2: a first tree that is not one) of the supplies ``sup`` on the grid of
    ``dims[0]``, coarse to fine through the grids ``dims[1:]`` (each the ``2 x 2`` blocks of
    the one before). ``tgts[offs[k]:offs[k + 1]]``: the arcs of level ``k``; ``start``: the
    first tree (parent array) of the coarsest level."""
    nlev = dims.shape[0]
    sups = [sup.astype(np.int64)]
    for k in range(nlev - 1):
        sups.append(coarsen(sups[k], dims[k, 0], dims[k, 1]))
    top = nlev - 1
    parent = start.copy()
    total = _solve_tree(sups[top], tgts[offs[top] : offs[top + 1]], parent)
    for k in range(top - 1, -1, -1):
        if total < 0:
            return total
        fine = np.empty(dims[k, 0] * dims[k, 1] + 1, dtype=np.int32)
        lift(parent, tgts[offs[k + 1] : offs[k + 2]], dims[k, 0], dims[k, 1], fine)
        parent = fine
        total = _solve_tree(sups[k], tgts[offs[k] : offs[k + 1]], parent)
    return total


@_jit
def solve_pairs(units, rows, cols, dims, tgts, offs, start):
    """``solve`` of ``units[rows[k]] - units[cols[k]]`` for every k (0 for equal rows)."""
    out = np.zeros(rows.shape[0], dtype=np.int64)
    sup = np.empty(units.shape[1], dtype=np.int64)
    for k in range(rows.shape[0]):
        nz = False
        for x in range(units.shape[1]):
            sup[x] = units[rows[k], x] - units[cols[k], x]
            nz = nz or sup[x] != 0
        if nz:
            out[k] = solve(sup, dims, tgts, offs, start)
    return out
