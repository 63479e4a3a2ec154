"""The checksum DeltaBlue.som must compute, from the equations its two tests check
(see the class comment of benches/som/DeltaBlue.som).

    python3 deltablue.py 1200    # 10791792
"""
import sys


def checksum(n):
    chain = (n + 1) + sum(range(100))
    projection = (1170 + 5 + 2 + 2 + 2 * (n + 1)
                  + sum(5 * i + 1000 for i in range(n - 1)) + 1025
                  + sum(5 * i + 2000 for i in range(n - 1)) + 2025)
    return chain + projection


if __name__ == "__main__":
    print(checksum(int(sys.argv[1])))
