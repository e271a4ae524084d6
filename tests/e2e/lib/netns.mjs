// Network namespaces the tests make (root only; docs/TESTING.md).
import { execFileSync } from 'node:child_process';

// Makes namespace `ns`, IPv4 only. A fresh veth's IPv6 link-local address
// finishes its duplicate-address check a second or two after the link
// comes up; Chromium counts that as a network change, and a page load
// under way then fails with ERR_NETWORK_CHANGED (seen in the https test
// on CI and in scripts/bench/links). The tests use IPv4 addresses only.
// Written through /proc/sys from a shell: no procps on a minimal system.
export function addNetns(ns) {
  execFileSync('ip', ['netns', 'add', ns], { stdio: ['ignore', 'ignore', 'pipe'] });
  for (const k of ['all', 'default']) {
    execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', `echo 1 > /proc/sys/net/ipv6/conf/${k}/disable_ipv6`],
      { stdio: ['ignore', 'ignore', 'pipe'] });
  }
}
