// Reads GET /metrics text with a Prometheus text-format parser that is not
// ours: the prometheus_client Python library Debian packages
// (python3-prometheus-client, scripts/install-deps.sh), whose
// text_string_to_metric_families is what Prometheus' own Python tooling
// uses. A line it cannot read fails the test.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

// Debian's interpreter: the package installs into its dist-packages (a
// python3 earlier on PATH, e.g. pyenv's, would not see it).
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const SCRIPT = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        out.append({"family": fam.name, "type": fam.type, "name": s.name,
                    "labels": s.labels, "value": s.value})
print(json.dumps(out))
`;

// [{family, type, name, labels, value}] for every sample; throws with the
// parser's message on malformed text.
export function parseMetrics(text) {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, ['-c', SCRIPT], { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) { reject(new Error(`prometheus_client could not parse /metrics: ${stderr || err.message}`)); return; }
        try { resolve(JSON.parse(stdout)); } catch (e) { reject(e); }
      });
    child.stdin.end(text);
  });
}

// The value of the one sample with that name and these labels (a subset),
// or undefined.
export function sample(samples, name, labels = {}) {
  const hits = samples.filter((s) => s.name === name &&
    Object.entries(labels).every(([k, v]) => s.labels[k] === String(v)));
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${hits.length} samples`);
  return hits.length ? hits[0].value : undefined;
}
