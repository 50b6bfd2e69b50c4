package bench

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinAway moves every thread of this process off the CPUs of list (as
// taskset takes it) and onto the others; threads made later inherit it.
// The bench then loads the server from CPUs of its own.
func pinAway(list string) error {
	server, err := parseCPUList(list)
	if err != nil {
		return err
	}
	var all, rest unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		return err
	}
	for cpu := range 1024 {
		if all.IsSet(cpu) && !server[cpu] {
			rest.Set(cpu)
		}
	}
	if rest.Count() == 0 {
		return fmt.Errorf("%w: --server-cpus %s leaves the bench no CPU", ErrOptions, list)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, task := range tasks {
		tid, err := strconv.Atoi(task.Name())
		if err != nil {
			continue
		}
		// A thread that exited meanwhile is no error.
		if err := unix.SchedSetaffinity(tid, &rest); err != nil && err != unix.ESRCH {
			return fmt.Errorf("pin the bench away from CPUs %s: %w", list, err)
		}
	}
	return nil
}
