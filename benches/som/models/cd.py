"""The figures CD.som must find, by brute force.

It flies the same aircraft as CDSimulator.som, with the same floating-point operations in
the same order (Python floats are IEEE doubles, math.sin/cos the C library's), and for each
frame finds every voxel each motion passes over by testing every voxel near its bounding
box (not by a flood), the pairs of motions that share a voxel, and which of those collide.

    python3 cd.py 200 100    # the benchmark size
    python3 cd.py 20 30      # the tiny size
"""
import math
import sys

RADIUS = 1.0
VOXEL = 2.0


def frame_at(n, time):
    frame = []
    for k in range(n):
        i = k * 37 % n
        lane = i // 2
        x = 2.0 + time + (lane * 0.5)
        if i % 2 == 0:
            y = (lane * 3) + (2.0 * math.cos(time)) + 2.0
            z = 10.0
        else:
            y = (lane * 3) + (2.0 * math.sin(time)) + 2.0
            z = 10.0 + (0.4 * math.sin((1.5 * time) + lane))
        frame.append((i, (x, y, z)))
    return frame


def sub(a, b):
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def dot(a, b):
    return (a[0] * b[0]) + (a[1] * b[1]) + (a[2] * b[2])


def collide(m1, m2):
    d = sub(m1[0], m2[0])
    v = sub(sub(m1[1], m1[0]), sub(m2[1], m2[0]))
    vv = dot(v, v)
    t = 0.0
    if vv > 0.0:
        t = 0.0 - (dot(d, v) / vv)
        t = min(max(t, 0.0), 1.0)
    c = (d[0] + v[0] * t, d[1] + v[1] * t, d[2] + v[2] * t)
    return dot(c, c) <= RADIUS * RADIUS


def clip(p, delta, low, high, span):
    if delta == 0.0:
        return not (p < low or p > high)
    t0 = (low - p) / delta
    t1 = (high - p) / delta
    if t0 > t1:
        t0, t1 = t1, t0
    span[0] = max(span[0], t0)
    span[1] = min(span[1], t1)
    return True


def passes_over(m, ix, iy):
    half = RADIUS / 2.0
    one, two = m
    span = [0.0, 1.0]
    if not clip(one[0], two[0] - one[0], ix * VOXEL - half, (ix + 1) * VOXEL + half, span):
        return False
    if not clip(one[1], two[1] - one[1], iy * VOXEL - half, (iy + 1) * VOXEL + half, span):
        return False
    return span[0] <= span[1]


def run(n, frames):
    last = {}
    collisions = key_sum = compared = frames_with = 0
    for f in range(frames):
        motions = []
        for sign, pos in frame_at(n, f * 0.1):
            motions.append((sign, (last.get(sign, pos), pos)))
            last[sign] = pos
        voxels = {}
        for sign, m in motions:
            xs = [m[0][0], m[1][0]]
            ys = [m[0][1], m[1][1]]
            for ix in range(math.floor(min(xs) / VOXEL) - 2, math.floor(max(xs) / VOXEL) + 3):
                for iy in range(math.floor(min(ys) / VOXEL) - 2, math.floor(max(ys) / VOXEL) + 3):
                    if passes_over(m, ix, iy):
                        voxels.setdefault((ix, iy), []).append((sign, m))
        pairs = set()
        for members in voxels.values():
            for a in range(len(members)):
                for b in range(a + 1, len(members)):
                    s1, s2 = members[a][0], members[b][0]
                    pairs.add((min(s1, s2), max(s1, s2)))
        motion_of = dict(motions)
        hits = [p for p in pairs if collide(motion_of[p[0]], motion_of[p[1]])]
        collisions += len(hits)
        key_sum += sum(a * 100000 + b for a, b in hits)
        compared += len(pairs)
        frames_with += bool(hits)
    return [collisions, key_sum, compared, frames_with, n]


if __name__ == "__main__":
    print(run(int(sys.argv[1]), int(sys.argv[2])))
