"""Word and bigram frequencies of Debian's license texts (base-files): dicts, lists and strings
grow and die the way an interpreter's heap does."""
import collections
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/common-licenses"
words = []
for name in sorted(os.listdir(root)):
    path = os.path.join(root, name)
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as f:
            words += re.findall(r"[a-z']+", f.read().lower())
counts = collections.Counter(words)
bigrams = collections.Counter(zip(words, words[1:]))
lengths = collections.defaultdict(list)
for w in counts:
    lengths[len(w)].append(w)
for n, (w, c) in enumerate(counts.most_common(10), 1):
    print(f"{n:2} {w:12} {c}")
print("words:", len(words), "bigrams:", len(bigrams), "longest:", sorted(lengths[max(lengths)]))
