package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTick is the unit of /proc/PID/stat's utime and stime. USER_HZ is
// 100 on every Linux architecture Go supports (it is fixed in the ABI,
// unlike the kernel's HZ), and reading sysconf(_SC_CLK_TCK) would need cgo.
const clockTick = 10 * time.Millisecond

// procCPU returns the CPU time that process pid has used so far, summed
// over its threads. It reads each thread's schedstat, which counts in
// nanoseconds; /proc/PID/stat counts in 10 ms ticks, too coarse for a few
// seconds of a nearly idle server, and is the fallback. (A thread that
// exits takes its schedstat with it; the Go runtime does not end threads
// unless a goroutine locked to one exits, which neither server does.)
func procCPU(pid int) (time.Duration, error) {
	if d, err := schedCPU(pid); err == nil {
		return d, nil
	}
	return statCPU(pid)
}

// schedCPU sums the first field (time on CPU, ns) of every thread's
// /proc/PID/task/TID/schedstat.
func schedCPU(pid int) (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("read cpu time: %w", err)
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if errors.Is(err, os.ErrNotExist) {
			continue // the thread ended between ReadDir and now
		}
		if err != nil {
			return 0, fmt.Errorf("read cpu time: %w", err)
		}
		f, _, _ := strings.Cut(string(b), " ")
		ns, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read cpu time: %w", err)
		}
		sum += ns
	}
	return time.Duration(sum), nil
}

// statCPU returns utime+stime of process pid from /proc/PID/stat.
func statCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time: %w", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces, so
	// count fields after its closing parenthesis: state is field 3, utime
	// 14 and stime 15 (proc(5)).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("read cpu time: malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("read cpu time: short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("read cpu time: %w", err)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// procRSS returns the resident set size of process pid in bytes.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, fmt.Errorf("read rss: short /proc/%d/statm", pid)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}

// cpuTimes are the jiffies of all CPUs together from /proc/stat's first
// line.
type cpuTimes struct {
	// task is user, nice and system time: what processes are charged.
	task uint64
	// irq is hard and soft interrupt time. Loopback TCP delivers each
	// segment to the receiver in softirq context; where the kernel
	// accounts interrupt time apart (CONFIG_IRQ_TIME_ACCOUNTING), that
	// work is charged to no process.
	irq uint64
	// total is every state, idle included.
	total uint64
}

// busy is every state but idle and iowait.
func (c cpuTimes) busy() uint64 { return c.task + c.irq }

// machineCPU reads the machine's CPU times.
func machineCPU() (cpuTimes, error) {
	var c cpuTimes
	f, err := os.Open("/proc/stat")
	if err != nil {
		return c, fmt.Errorf("read machine cpu: %w", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return c, fmt.Errorf("read machine cpu: %w", err)
	}
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return c, errors.New("read machine cpu: unexpected /proc/stat")
	}
	// user nice system idle iowait irq softirq steal [guest guest_nice];
	// guest time is already counted in user time.
	for i, s := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return c, fmt.Errorf("read machine cpu: %w", err)
		}
		c.total += v
		switch i {
		case 0, 1, 2, 7: // user, nice, system, steal
			c.task += v
		case 5, 6: // irq, softirq
			c.irq += v
		}
	}
	return c, nil
}

// child is a subprocess the bench started: the gateway or the ceiling.
// stop must be called on every path; it is safe to call more than once.
type child struct {
	name string
	cmd  *exec.Cmd
	log  *tailBuffer
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done

	stopOnce sync.Once
	killed   bool // stop had to send SIGKILL
}

// stopGrace is how long a child may take to exit after SIGTERM.
const stopGrace = 5 * time.Second

// startChild starts bin with args. Its stderr (and stdout unless the
// caller takes it) goes to a tail buffer for the report. The child gets
// SIGKILL if the bench dies without stopping it.
func startChild(name, bin string, args []string, stdout io.Writer) (*child, error) {
	c := &child{name: name, log: &tailBuffer{max: 64 << 10}, done: make(chan struct{})}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Stderr = c.log
	c.cmd.Stdout = c.log
	if stdout != nil {
		c.cmd.Stdout = stdout
	}
	c.cmd.SysProcAttr = childAttr()
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// pid returns the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the child has already ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to stopGrace, then sends SIGKILL, and waits
// for the process (and so for the goroutine that waits on it).
func (c *child) stop() {
	c.stopOnce.Do(func() {
		if !c.exited() {
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
			t := time.NewTimer(stopGrace)
			defer t.Stop()
			select {
			case <-c.done:
			case <-t.C:
				c.killed = true
				_ = c.cmd.Process.Kill()
			}
		}
		<-c.done
	})
}

// tailBuffer keeps the last max bytes written to it. It is safe for
// concurrent use.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	lines int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines += bytes.Count(p, []byte{'\n'})
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// tail returns the last n lines and the count of lines ever written.
func (t *tailBuffer) tail(n int) ([]string, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimRight(string(t.buf), "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		lines = nil
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, t.lines
}
