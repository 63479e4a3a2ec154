"""The figures Havlak.som must find, by a method other than Havlak's algorithm.

It builds the same graph as Havlak.som (the same blocks and edges in the same order) and
finds its loops as nested strongly connected components: every strongly connected
component with more than one block, or with an edge from a block to itself, is a loop; its
header is the block of the component that a depth-first walk from the entry (following each
block's edges in the order they were added) reaches first; the loop is irreducible when an
edge from outside the component enters it anywhere but at the header; its inner loops are
the components of its blocks other than the header, once the edges to the header are
removed. Havlak's algorithm finds the same loops for graphs like this one.

    python3 havlak.py 4 10 10    # the benchmark size
    python3 havlak.py 2 2 2      # the tiny size
"""
import sys


class Graph:
    def __init__(self):
        self.succ = []
        self.edges = 0

    def new(self):
        self.succ.append([])
        return len(self.succ) - 1

    def edge(self, a, b):
        self.succ[a].append(b)
        self.edges += 1

    def straight(self, a):
        b = self.new()
        self.edge(a, b)
        return b

    def diamond(self, a, self_loop):
        left, right, join = self.new(), self.new(), self.new()
        self.edge(a, left)
        self.edge(a, right)
        self.edge(left, join)
        self.edge(right, join)
        if self_loop:
            self.edge(left, left)
        return join

    def irreducible(self, a):
        p, q = self.new(), self.new()
        self.edge(a, p)
        self.edge(a, q)
        self.edge(p, q)
        self.edge(q, p)
        return self.straight(q)

    def base_loop(self, entry):
        header = self.straight(entry)
        join1 = self.diamond(header, False)
        self.edge(join1, header)
        middle = self.straight(join1)
        join2 = self.diamond(middle, True)
        self.edge(join2, middle)
        footer = self.straight(join2)
        self.edge(footer, entry)
        return self.straight(footer)


def build(trees, loops, base_loops):
    g = Graph()
    start = g.new()
    exit_block = g.new()
    dispatch = g.straight(start)
    for _ in range(trees):
        entry = g.straight(dispatch)
        n = g.irreducible(entry)
        for _ in range(loops):
            top = g.straight(n)
            m = top
            for _ in range(base_loops):
                m = g.base_loop(m)
            bottom = g.straight(m)
            g.edge(bottom, top)
            n = bottom
        g.edge(n, entry)
        g.edge(n, exit_block)
    return g


def preorder(g):
    order = {0: 0}
    stack = [(0, iter(g.succ[0]))]
    while stack:
        _, it = stack[-1]
        for t in it:
            if t not in order:
                order[t] = len(order)
                stack.append((t, iter(g.succ[t])))
                break
        else:
            stack.pop()
    return order


def sccs(nodes, succ):
    """Tarjan's algorithm, iteratively, over the subgraph of `nodes`; succ(v) lists v's
    successors within it."""
    index, low, on, st, out = {}, {}, set(), [], []
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ(root)))]
        index[root] = low[root] = len(index)
        st.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = len(index)
                    st.append(w)
                    on.add(w)
                    work.append((w, iter(succ(w))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = st.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    return out


def loops(g):
    order = preorder(g)
    preds = [[] for _ in g.succ]
    for a, ts in enumerate(g.succ):
        for b in ts:
            preds[b].append(a)
    found = []  # [depth, irreducible, blocks directly in the loop, all its blocks]

    def decompose(nodes, removed_headers, depth):
        inside = set(nodes)

        def succ(v):
            return [t for t in g.succ[v] if t in inside and t not in removed_headers]

        for comp in sccs(nodes, succ):
            cs = set(comp)
            if len(comp) == 1 and comp[0] not in succ(comp[0]):
                continue
            header = min(comp, key=lambda v: order[v])
            irreducible = any(p not in cs for v in comp if v != header for p in preds[v])
            entry = len(found)
            found.append([depth, irreducible, 0, cs])
            inner_start = len(found)
            rest = [v for v in comp if v != header]
            decompose(rest, removed_headers | {header}, depth + 1)
            inner_blocks = set()
            for d in found[inner_start:]:
                inner_blocks |= d[3]
            # the blocks directly in this loop: those in none of its inner loops
            found[entry][2] = len(cs - inner_blocks)

    reachable = sorted(order, key=lambda v: order[v])
    decompose(reachable, frozenset(), 1)
    n = len(found)
    irreducible = sum(1 for d in found if d[1])
    in_loops = sum(d[2] for d in found)
    max_depth = max(d[0] for d in found)
    depth_sum = sum(d[0] for d in found)
    return [n, irreducible, in_loops, max_depth, depth_sum, max_depth]


if __name__ == "__main__":
    sys.setrecursionlimit(100000)
    t, l, b = (int(a) for a in sys.argv[1:4])
    g = build(t, l, b)
    print(loops(g), len(g.succ), g.edges)
