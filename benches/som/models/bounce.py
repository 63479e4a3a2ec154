"""An independent model of benches/som/Bounce.som, used once to derive its expected result.

    python3 bounce.py 1000 400    # the benchmark size: (101889, 499498)
    python3 bounce.py 100 50      # the classic size: 1331 bounces
"""
import sys


def run(balls, steps, seed=74755):
    state = [seed]

    def rnd():
        state[0] = (state[0] * 1309 + 13849) & 65535
        return state[0]

    bs = []
    for _ in range(balls):
        x = rnd() % 500
        y = rnd() % 500
        vx = rnd() % 300 - 150
        vy = rnd() % 300 - 150
        bs.append([x, y, vx, vy])
    bounces = 0
    for _ in range(steps):
        for b in bs:
            hit = False
            b[0] += b[2]
            b[1] += b[3]
            if b[0] > 500:
                b[0], b[2], hit = 500, -abs(b[2]), True
            if b[0] < 0:
                b[0], b[2], hit = 0, abs(b[2]), True
            if b[1] > 500:
                b[1], b[3], hit = 500, -abs(b[3]), True
            if b[1] < 0:
                b[1], b[3], hit = 0, abs(b[3]), True
            if hit:
                bounces += 1
    return bounces, sum(b[0] + b[1] for b in bs)


if __name__ == "__main__":
    print(run(int(sys.argv[1]), int(sys.argv[2])))
