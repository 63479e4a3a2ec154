"""The digest Json.som must find in JsonDocument.som, computed with Python's own json module
(an independent parser) and the definitions of JsonDigest.som:

    python3 json_digest.py     # run in benches/som/models
"""
import json
import os
import re

here = os.path.dirname(os.path.abspath(__file__))
source = open(os.path.join(here, "..", "JsonDocument.som")).read()
literal = re.search(r"\^'(.*)' \)", source, re.S).group(1)
assert "\\'" not in literal
text = literal.replace("\\\\", "\\")  # the only SOM escape the literal uses


class Number:
    def __init__(self, text, integer):
        self.text, self.integer = text, integer


doc = json.loads(text, parse_int=lambda t: Number(t, True),
                 parse_float=lambda t: Number(t, False))

d = dict(objects=0, arrays=0, strings=0, numbers=0, trues=0, falses=0, nulls=0, members=0,
         characters=0, integerSum=0, otherNumberCharacters=0, maxDepth=0)


def walk(v, depth):
    d["maxDepth"] = max(d["maxDepth"], depth)
    if isinstance(v, dict):
        d["objects"] += 1
        d["members"] += len(v)
        for k, x in v.items():
            d["characters"] += len(k)
            walk(x, depth + 1)
    elif isinstance(v, list):
        d["arrays"] += 1
        for x in v:
            walk(x, depth + 1)
    elif isinstance(v, str):
        d["strings"] += 1
        d["characters"] += len(v)
    elif isinstance(v, Number):
        d["numbers"] += 1
        if v.integer:
            d["integerSum"] += int(v.text)
        else:
            d["otherNumberCharacters"] += len(v.text)
    elif v is True:
        d["trues"] += 1
    elif v is False:
        d["falses"] += 1
    else:
        assert v is None
        d["nulls"] += 1


walk(doc, 1)
print(len(text), "characters")
print(list(d.values()))
print(repr(doc["observatory"]["notes"]), repr(doc["calibration"]["unicode"]))
