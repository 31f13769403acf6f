"""Memory figures of bench/pod_startup.py, read from /proc: VmRSS (status) and Rss, Pss,
Private_Clean + Private_Dirty (smaps_rollup) of one process, and a scan of /proc that
describes every process (comm, exe, cmdline, cgroups) so the runtimes can pick theirs."""
import os
import statistics


def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def usage(pid):
    """{'rss','pss','private'} in KiB, or None when the process is gone."""
    status = _read(f"/proc/{pid}/status")
    rollup = _read(f"/proc/{pid}/smaps_rollup")
    if status is None or rollup is None:
        return None
    vals = {}
    for line in rollup.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith(":"):
            vals[parts[0][:-1]] = int(parts[1])
    rss = next((int(l.split()[1]) for l in status.splitlines() if l.startswith("VmRSS:")), 0)
    return {"rss": rss, "pss": vals.get("Pss", 0),
            "private": vals.get("Private_Clean", 0) + vals.get("Private_Dirty", 0)}


class Proc:
    """One process as seen in /proc: pid, ppid, comm, exe (link text or ''), cmdline
    (NUL-separated args joined with spaces), cgroup (the /proc/<pid>/cgroup text)."""

    def __init__(self, pid):
        self.pid = pid
        stat = _read(f"/proc/{pid}/stat") or ""
        self.ppid = int(stat.rsplit(")", 1)[1].split()[1]) if ")" in stat else 0
        self.comm = (_read(f"/proc/{pid}/comm") or "").strip()
        try:
            self.exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            self.exe = ""
        raw = _read(f"/proc/{pid}/cmdline", "rb") or b""
        self.cmdline = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        self.cgroup = _read(f"/proc/{pid}/cgroup") or ""


def processes():
    """Every live process but this one."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            p = Proc(int(d))
            if p.comm:
                out.append(p)
    return out


def summarize(pids):
    """{'count', 'pss', 'private', 'rss'}: means in KiB over the processes still alive."""
    figs = [u for u in (usage(p) for p in pids) if u]
    if not figs:
        return {"count": 0, "pss": 0.0, "private": 0.0, "rss": 0.0}
    return {"count": len(figs),
            "pss": statistics.mean(f["pss"] for f in figs),
            "private": statistics.mean(f["private"] for f in figs),
            "rss": statistics.mean(f["rss"] for f in figs)}
