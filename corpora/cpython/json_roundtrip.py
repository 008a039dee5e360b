# A JSON round trip: nested dicts, lists and strings through the C encoder
# and decoder, then compared.
import json

doc = {
    "name": "obcheck",
    "tags": ["alloc", "pool", "arena"] * 4,
    "rows": [{"id": i, "score": i * 0.5, "label": "row-%d" % i} for i in range(60)],
}
for _ in range(10):
    text = json.dumps(doc, sort_keys=True)
    back = json.loads(text)
    assert back == doc
print(len(text))
