# Regular expressions: compiling many patterns (the sre compiler is pure
# Python), matching, substituting and splitting.
import re

words = ["alpha", "beta", "gamma", "delta", "epsilon"] * 40
text = " ".join(words)
total = 0
for i in range(60):
    pat = re.compile(r"(?P<w>%s)\s+(\w{%d,})" % (words[i % 5][: 2 + i % 3], 1 + i % 4))
    total += len(pat.findall(text))
    text2 = pat.sub(lambda m: m.group("w").upper(), text)
    total += len(re.split(r"[aeiou]+", text2[:400]))
re.purge()
print(total)
