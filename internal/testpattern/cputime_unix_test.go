//go:build unix

package testpattern

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time, user and system, that this process has used
// so far. Benchmarks report it next to wall time because a busy machine
// stretches wall time but not the work done.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
