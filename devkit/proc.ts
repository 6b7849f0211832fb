/**
 * Readings from Linux /proc: the CPU and memory a process uses (the benchmark's figures), and
 * which process holds one end of a local TCP connection (the chaos suite uses it to SIGKILL
 * the very worker whose upload the sandbox is still answering, rather than one that may be idle).
 */
import fs from 'node:fs';

/** utime+stime of a process and all its descendants, in ms (Linux /proc). */
export function cpuMs(rootPid: number): number {
  const hz = 100; // USER_HZ is 100 on every Linux this runs on
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const raw = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // exited meanwhile
    }
  }
  let ticks = 0;
  const queue = [rootPid];
  while (queue.length) {
    const pid = queue.pop()!;
    ticks += stats.get(pid)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === pid) queue.push(child);
  }
  return (ticks * 1000) / hz;
}

/** Resident set size of one process in MB. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Socket inodes of TCP connections from `clientPort` to `serverPort` (IPv4 and IPv6 tables). */
function socketInodes(clientPort: number, serverPort: number): Set<string> {
  const inodes = new Set<string>();
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      if (fields[1]!.endsWith(`:${hex(clientPort)}`) && fields[2]!.endsWith(`:${hex(serverPort)}`)) inodes.add(fields[9]!);
    }
  }
  return inodes;
}

/** The one of `pids` with an open socket from `clientPort` to `serverPort`, if any. */
export function pidHoldingConnection(clientPort: number, serverPort: number, pids: number[]): number | undefined {
  const inodes = socketInodes(clientPort, serverPort);
  if (!inodes.size) return undefined;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // exited meanwhile
    }
    for (const fd of fds) {
      try {
        const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode && inodes.has(inode)) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}
