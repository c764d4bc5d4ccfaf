package main

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// rss is the process's resident set size in KiB.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS in /proc/" + strconv.Itoa(pid) + "/status")
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuTime is the process's CPU time in nanoseconds: what its threads have
// spent on a CPU by their scheduler statistics, exact to the nanosecond, or
// where those cannot be read, its user plus system time in ticks of 10 ms.
// Ticks are too coarse for the CPU time of setting up a few dozen sessions
// (a tick over 40 sessions is 250 µs each). The scheduler statistics miss
// threads that have exited, which neither a Go daemon nor Prosody commonly
// lets happen.
func cpuTime(pid int) (int64, error) {
	if ns, ok := schedTime(pid); ok {
		return ns, nil
	}
	return statTime(pid)
}

// schedTime adds up the first field of /proc/PID/task/*/schedstat, each
// thread's time on a CPU in nanoseconds.
func schedTime(pid int) (int64, bool) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task/"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, false
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(dir + t.Name() + "/schedstat")
		if errors.Is(err, fs.ErrNotExist) {
			continue // the thread exited meanwhile
		}
		if err != nil {
			return 0, false
		}
		ns, ok := parseSchedstat(string(b))
		if !ok {
			return 0, false
		}
		sum += ns
	}
	// A kernel without scheduler statistics reads 0.
	return sum, sum > 0
}

// parseSchedstat reads a thread's time on a CPU, in nanoseconds, from the
// line of its schedstat: run time, wait time, time slices.
func parseSchedstat(line string) (int64, bool) {
	f := strings.Fields(line)
	if len(f) != 3 {
		return 0, false
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	return ns, err == nil && ns >= 0
}

// statTime is the process's user plus system CPU time, threads that have
// exited included, from /proc/PID/stat, in nanoseconds (10 ms resolution).
func statTime(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("bad /proc/" + strconv.Itoa(pid) + "/stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc/" + strconv.Itoa(pid) + "/stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return (ut + st) * (1e9 / clockTicks), nil
}

// procSample is one reading of a process from /proc.
type procSample struct {
	RSSKiB int64 `json:"rss_kib"`
	CPUNs  int64 `json:"cpu_ns"`
}

// sample reads a process's RSS and CPU time; pid 0 gives a zero sample.
func sample(pid int) (procSample, error) {
	if pid == 0 {
		return procSample{}, nil
	}
	r, err := rss(pid)
	if err != nil {
		return procSample{}, err
	}
	c, err := cpuTime(pid)
	if err != nil {
		return procSample{}, err
	}
	return procSample{RSSKiB: r, CPUNs: c}, nil
}

// machineBusy is the CPU time all CPUs together have spent other than
// idle or waiting for I/O, from the first line of /proc/stat, in
// nanoseconds. Less the CPU time of the processes under test it tells how
// busy the rest of the machine was.
func machineBusy() (int64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseBusy(line)
}

// parseBusy reads the "cpu" line of /proc/stat: user nice system idle
// iowait irq softirq steal …; guest time is already in user.
func parseBusy(line string) (int64, error) {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, errors.New("bad /proc/stat: " + line)
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, err
		}
		busy += v
	}
	return busy * (1e9 / clockTicks), nil
}

// openFDs is the number of the process's open file descriptors.
func openFDs(pid int) (int, error) {
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		return 0, err
	}
	return len(fds), nil
}
