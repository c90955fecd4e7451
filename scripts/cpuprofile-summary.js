// Self time by function from a V8 .cpuprofile (node --cpu-prof), counting only the samples taken under
// one function (default `run`, the sigma bench's match loop, so rule loading and compiling stay out), and
// garbage collection that interrupts it. Usage:
//   node scripts/cpuprofile-summary.js FILE.cpuprofile [TOP=30] [UNDER=run]
// A profile's total differs from run to run on a shared machine; compare shares, not milliseconds.
const fs = require('node:fs');

function summarise(file, top, under) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inside = new Map();
  const isInside = (id) => {
    if (inside.has(id)) return inside.get(id);
    const here = byId.get(id).callFrame.functionName === under;
    const r = here || (parent.has(id) && isInside(parent.get(id)));
    inside.set(id, r);
    return r;
  };
  const self = new Map();
  let total = 0;
  let previousInside = false;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id).callFrame;
    // The collector's samples have no JS caller: they count when they interrupt the measured code.
    const counted = frame.functionName === '(garbage collector)' ? previousInside : isInside(id);
    previousInside = counted;
    if (!counted) return;
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  console.log(`${(total / 1000).toFixed(0)} ms sampled under ${under}`);
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
}

const [file, top = '30', under = 'run'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/cpuprofile-summary.js FILE.cpuprofile [TOP] [UNDER]');
  process.exit(2);
}
summarise(file, Number(top), under);
