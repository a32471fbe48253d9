// Objects, arrays and JSON round trips: V8's young and old generations, and its JIT, at work.
const rows = [];
for (let i = 0; i < 20000; i++) rows.push({ id: i, name: `row-${i}`, tags: [i % 7, i % 11], v: i * 1.5 });
let total = 0;
for (let round = 0; round < 5; round++) {
  const text = JSON.stringify(rows);
  const back = JSON.parse(text);
  total += back.reduce((s, r) => s + r.v, 0) + text.length;
}
const byTag = new Map();
for (const r of rows) byTag.set(r.tags[0], (byTag.get(r.tags[0]) || 0) + 1);
console.log(total, [...byTag.entries()].sort((a, b) => a[0] - b[0]).join(' '));
